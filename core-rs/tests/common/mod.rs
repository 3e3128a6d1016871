//! A small harness around the bar venue: hand-built bars, commands sent "during" a bar, events
//! rendered as short strings so the tests can write the expected sequences out.

#![allow(dead_code, reason = "each test file uses part of the harness")]

use _core::model::{
    Bar, Command, Fill, Instrument, Liquidity, OrderEvent, OrderEventKind, OrderKind, OrderSpec,
    Side,
};
use _core::portfolio::{Account, Funding, MarginConfig, Portfolio};
use _core::venue::{SimVenue, VenueConfig};

pub const MIN: i64 = 60_000_000_000;

pub struct Sim {
    pub v: SimVenue,
    /// The account behind the venue: a margin account deep enough never to limit a fill (these
    /// tests are about matching; the account's rule has its own tests in `accounting.rs`).
    pub acct: Portfolio,
    pub insts: Vec<Instrument>,
    pub events: Vec<OrderEvent>,
    pub fills: Vec<Fill>,
    /// Events already rendered by `take`.
    seen: usize,
    pub idx: u64,
    pub cur: Option<Bar>,
    pub ts: i64,
}

impl Sim {
    /// One instrument with integer prices and quantities (tick = lot = 1).
    pub fn new(cfg: VenueConfig) -> Self {
        let insts = vec![Instrument::new("X", 0, 0).unwrap()];
        let mut acct = Portfolio::new(1_000_000_000_000 * 1_000_000_000_000_000_000, insts.len());
        acct.set_account(Account::Margin(
            MarginConfig::new(100.0, 0.0, 0.0, Funding::None).unwrap(),
        ));
        Self {
            v: SimVenue::new(cfg, &insts),
            acct,
            insts,
            events: Vec::new(),
            fills: Vec::new(),
            seen: 0,
            idx: 0,
            cur: None,
            ts: 0,
        }
    }

    /// Send a command now (during the current bar, or before the first).
    pub fn send(&mut self, cmd: Command) {
        let ts = self.cur.map_or(self.ts, |b| b.ts);
        let cur = self.cur;
        self.v.command(
            &mut self.acct,
            &self.insts,
            cmd,
            cur.as_ref(),
            self.idx,
            ts,
            &mut self.events,
            &mut self.fills,
        );
    }

    /// The venue settles the next bar; it then becomes the current one (commands sent after
    /// this are sent "during" it).
    pub fn bar(&mut self, ts: i64, o: i64, h: i64, l: i64, c: i64, volume: f64) {
        self.idx += 1;
        let b = Bar {
            instrument: 0,
            ts,
            open: o,
            high: h,
            low: l,
            close: c,
            volume,
        };
        self.v.on_bar(
            &mut self.acct,
            &self.insts,
            &b,
            self.idx,
            &mut self.events,
            &mut self.fills,
        );
        self.cur = Some(b);
        self.ts = ts;
    }

    /// Events since the last call, rendered: "id kind[ reason][ qty@px M|T]".
    pub fn take(&mut self) -> Vec<String> {
        let out = self.events[self.seen..]
            .iter()
            .map(|e| render(e, &self.fills))
            .collect();
        self.seen = self.events.len();
        out
    }

    pub fn pos(&self) -> i64 {
        self.v.orders.position(0)
    }
}

pub fn render(e: &OrderEvent, fills: &[Fill]) -> String {
    let mut s = format!("{} {}", e.id, e.kind.as_str());
    match e.kind {
        OrderEventKind::PartiallyFilled { fill_index } | OrderEventKind::Filled { fill_index } => {
            let f = &fills[fill_index];
            let liq = if f.liquidity == Liquidity::Maker {
                "M"
            } else {
                "T"
            };
            s += &format!(" {}@{} {liq}", f.qty, f.px);
        }
        OrderEventKind::Expired => {}
        k => {
            if let Some(r) = k.reason() {
                s += &format!(" {r:?}");
            }
        }
    }
    s
}

pub fn spec(id: u64, side: Side, kind: OrderKind, qty: i64) -> OrderSpec {
    OrderSpec::new(id, 0, side, kind, qty)
}

pub fn submit(id: u64, side: Side, kind: OrderKind, qty: i64) -> Command {
    Command::Submit(spec(id, side, kind, qty))
}

pub fn lim(px: i64) -> OrderKind {
    OrderKind::Limit { px }
}
