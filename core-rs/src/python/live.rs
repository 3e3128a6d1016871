//! Binding of the live session (`trader._core.LiveSession`): the live node's engine. The node's
//! feed pushes decoded events into the session's ring (`push_line` for a recorded Binance line,
//! `push_trade` / `push_quote` for ticks); `pump` hands them to the same loop the tick/L2
//! backtests run ([`crate::live::LiveEngine`] over [`crate::engine_l2::L2Backtest`]), which calls
//! the strategy and routes its orders through the risk engine to the paper venue (the Rust
//! matcher). The operator's controls (`set_state`, `cancel_all`, `flatten`) act on that engine;
//! `finish` ends the run and returns the report of `run_l2_backtest`. For the store:
//! `set_journal` (the write-ahead of every command), `checkpoint` / `restore` (the engine's
//! state as bytes), and the incremental readers (`fills_since`, `events_since`, `audit_since`,
//! `orders`, `order`, `open_orders`, `position`, `balances`, `risk_state`).

use std::sync::Arc;

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use super::l2::{ErrSlot, NativeMm, PyStrategy, RunKw, py_strategy, report_dict, risk_engine};
use crate::book::{Level, MarketKind};
use crate::engine_l2::{
    Journal, L2Backtest, L2Strategy, L2View, Outbox, TopOfBook, TradePrint, Wants,
    checkpoint_error, l2_instrument, ticks_instrument,
};
use crate::error::{CoreError, CoreResult};
use crate::live::{FeedEvent, LineBuf, LineRef, LiveEngine, Prefetch, RecordingLines, Stream};
use crate::model::MONEY_DP;
use crate::model::fixed::{format_fixed, from_raw, money_to_f64, to_raw};
use crate::model::order::{Command, Fill, Order, OrderEvent, OrderEventKind};
use crate::model::{AggressorSide, Bar, Instrument};
use crate::risk::{StateChange, TradingState};

/// The strategy a live session runs: a Python strategy or the native market maker.
enum LiveStrategy {
    Py(PyStrategy),
    Native(NativeMm),
    /// No strategy: the session only matches what the venue's side places (the local exchange).
    Idle,
}

impl L2Strategy for LiveStrategy {
    fn wants(&self) -> Wants {
        match self {
            Self::Py(s) => s.wants(),
            Self::Native(s) => s.wants(),
            Self::Idle => Wants {
                book: false,
                trades: false,
                quotes: false,
                bars: false,
                events: false,
            },
        }
    }
    fn on_elapse(&mut self, v: &L2View<'_>, o: &mut Outbox) -> CoreResult<()> {
        match self {
            Self::Py(s) => s.on_elapse(v, o),
            Self::Native(s) => s.on_elapse(v, o),
            Self::Idle => Ok(()),
        }
    }
    fn on_trade(&mut self, v: &L2View<'_>, t: &TradePrint, o: &mut Outbox) -> CoreResult<()> {
        match self {
            Self::Py(s) => s.on_trade(v, t, o),
            Self::Native(s) => s.on_trade(v, t, o),
            Self::Idle => Ok(()),
        }
    }
    fn on_quote(&mut self, v: &L2View<'_>, q: &TopOfBook, o: &mut Outbox) -> CoreResult<()> {
        match self {
            Self::Py(s) => s.on_quote(v, q, o),
            Self::Native(s) => s.on_quote(v, q, o),
            Self::Idle => Ok(()),
        }
    }
    fn on_bar(&mut self, v: &L2View<'_>, b: &Bar, o: &mut Outbox) -> CoreResult<()> {
        match self {
            Self::Py(s) => s.on_bar(v, b, o),
            Self::Native(s) => s.on_bar(v, b, o),
            Self::Idle => Ok(()),
        }
    }
    fn on_fill(&mut self, v: &L2View<'_>, f: &Fill, o: &mut Outbox) -> CoreResult<()> {
        match self {
            Self::Py(s) => s.on_fill(v, f, o),
            Self::Native(s) => s.on_fill(v, f, o),
            Self::Idle => Ok(()),
        }
    }
    fn on_event(&mut self, v: &L2View<'_>, e: &OrderEvent, o: &mut Outbox) -> CoreResult<()> {
        match self {
            Self::Py(s) => s.on_event(v, e, o),
            Self::Native(s) => s.on_event(v, e, o),
            Self::Idle => Ok(()),
        }
    }
    fn on_timer(&mut self, v: &L2View<'_>, n: &str, ts: i64, o: &mut Outbox) -> CoreResult<()> {
        match self {
            Self::Py(s) => s.on_timer(v, n, ts, o),
            Self::Native(s) => s.on_timer(v, n, ts, o),
            Self::Idle => Ok(()),
        }
    }
    fn on_trading_state(
        &mut self,
        v: &L2View<'_>,
        c: &StateChange,
        o: &mut Outbox,
    ) -> CoreResult<()> {
        match self {
            Self::Py(s) => s.on_trading_state(v, c, o),
            Self::Native(s) => s.on_trading_state(v, c, o),
            Self::Idle => Ok(()),
        }
    }
    /// A tag byte (0: Python, 1: native) and the strategy's own state.
    fn save(&self) -> CoreResult<Option<Vec<u8>>> {
        let (tag, st) = match self {
            Self::Py(s) => (0u8, s.save()?),
            Self::Native(s) => (1u8, s.save()?),
            Self::Idle => (2u8, None),
        };
        Ok(st.map(|b| {
            let mut out = Vec::with_capacity(b.len() + 1);
            out.push(tag);
            out.extend_from_slice(&b);
            out
        }))
    }
    fn reserve_ids(&mut self, next: crate::model::order::OrderId) {
        match self {
            Self::Py(s) => s.reserve_ids(next),
            Self::Native(s) => s.reserve_ids(next),
            Self::Idle => {}
        }
    }
    fn load(&mut self, state: &[u8]) -> CoreResult<()> {
        match (self, state.split_first()) {
            (Self::Py(s), Some((0, b))) => s.load(b),
            (Self::Native(s), Some((1, b))) => s.load(b),
            (Self::Idle, _) => Ok(()),
            _ => Err(checkpoint_error(
                "the checkpoint holds another kind of strategy (Python or native)".into(),
            )),
        }
    }
}

/// The write-ahead journal of a session: the node's callback
/// `cb(kind, order_id, request_json, ts)`, called for every command before it leaves. Its
/// exception stops the command and is kept to be raised by the call that sent it.
struct PyJournal {
    cb: Py<PyAny>,
    error: ErrSlot,
}

/// A command's kind ("submit", "submit_list", "modify", "cancel", "cancel_all") and the order
/// it is about (a list's first leg; 0 for a cancel-all).
impl Journal for PyJournal {
    fn write_ahead(&mut self, cmd: &Command, ts: i64) -> CoreResult<()> {
        let (kind, id) = crate::journal::command_kind(cmd);
        let json = serde_json::to_string(cmd).map_err(|e| CoreError::InvalidArgument {
            name: "journal",
            reason: format!("cannot encode the command: {e}"),
        })?;
        Python::attach(|py| self.cb.bind(py).call1((kind, id, json, ts)).map(|_| ())).map_err(|e| {
            let msg = e.to_string();
            *self.error.borrow_mut() = Some(e);
            CoreError::InvalidArgument {
                name: "journal",
                reason: msg,
            }
        })
    }
}

/// Exact decimal text of a raw value at `dp` decimals.
fn dec(raw: i128, dp: u8) -> String {
    format_fixed(raw, dp as u32)
}

/// A decimal string at `dp` decimals as a raw value (exact; more decimals are an error).
fn parse_dec(text: &str, dp: u8, name: &'static str) -> PyResult<i64> {
    Ok(crate::data::decimal::parse_fixed(text.trim(), dp, name)?)
}

/// A decimal string of the quote currency as money (1e-18 units; a sign allowed, up to 18
/// decimals).
fn parse_money(text: &str) -> PyResult<i128> {
    let bad = || -> PyErr {
        CoreError::InvalidArgument {
            name: "fee",
            reason: format!(
                "must be a decimal number with at most {MONEY_DP} decimals, got {text:?}"
            ),
        }
        .into()
    };
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || frac.len() > MONEY_DP as usize
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let scale = 10i128.pow(MONEY_DP);
    let i: i128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let f: i128 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i128>().map_err(|_| bad())? * 10i128.pow(MONEY_DP - frac.len() as u32)
    };
    let v = i
        .checked_mul(scale)
        .and_then(|v| v.checked_add(f))
        .ok_or_else(bad)?;
    Ok(if neg { -v } else { v })
}

/// Money (1e-18 of the quote currency) as exact decimal text.
fn money(m: i128) -> String {
    format_fixed(m, MONEY_DP)
}

/// The status an event leaves its order in (None: the event does not change it).
fn event_status(kind: &OrderEventKind) -> Option<&'static str> {
    use crate::model::order::OrderStatus as S;
    Some(
        match kind {
            OrderEventKind::Denied(_) => S::Denied,
            OrderEventKind::Submitted => S::Submitted,
            OrderEventKind::Accepted => S::Accepted,
            OrderEventKind::Rejected(_) => S::Rejected,
            OrderEventKind::Triggered => S::Triggered,
            OrderEventKind::PartiallyFilled { .. } => S::PartiallyFilled,
            OrderEventKind::Filled { .. } => S::Filled,
            OrderEventKind::Canceled(_) => S::Canceled,
            OrderEventKind::Expired => S::Expired,
            OrderEventKind::Updated
            | OrderEventKind::ModifyRejected(_)
            | OrderEventKind::CancelRejected(_) => return None,
        }
        .as_str(),
    )
}

/// A fill's trade id: unique in the session, the same after a checkpoint and restore.
fn trade_id(index: usize) -> String {
    format!("F{index}")
}

/// One live session: the ring and the engine of a node's strategy.
#[pyclass(module = "trader._core", name = "LiveSession", unsendable)]
pub struct PyLiveSession {
    inner: Option<LiveEngine<LiveStrategy>>,
    /// The Python strategy (None: the native market maker) and the slot of its exception.
    strategy: Option<Py<PyAny>>,
    error: Option<ErrSlot>,
    log: super::risk::LayerLog,
    inst: Instrument,
    /// "l2" (recorded lines: the depth book) or "quotes" (trade and quote ticks).
    mode: &'static str,
    /// Order events already counted by `take_order_events`.
    events_seen: usize,
    /// The journal callback's exception, when it raised.
    journal_error: Option<ErrSlot>,
    /// The write-ahead log's next seq (with `set_log_journal`).
    journal_seq: Option<std::rc::Rc<std::cell::Cell<i64>>>,
    /// The write-ahead log's rows not yet drained (with `set_log_journal`).
    journal_rows: Option<std::rc::Rc<std::cell::RefCell<Vec<crate::journal::LogRecord>>>>,
}

impl PyLiveSession {
    fn live(&mut self) -> PyResult<&mut LiveEngine<LiveStrategy>> {
        self.inner.as_mut().ok_or_else(|| {
            CoreError::InvalidArgument {
                name: "session",
                reason: "the session has finished".into(),
            }
            .into()
        })
    }

    fn live_ref(&self) -> PyResult<&LiveEngine<LiveStrategy>> {
        self.inner.as_ref().ok_or_else(|| {
            CoreError::InvalidArgument {
                name: "session",
                reason: "the session has finished".into(),
            }
            .into()
        })
    }

    /// Whether order `order_id` is known and not closed (the venue side's amend and cancel).
    fn is_open(&self, order_id: u64) -> PyResult<bool> {
        let orders = self.live_ref()?.engine().orders();
        Ok(orders.get(order_id).is_some_and(|o| !o.status.is_closed()))
    }

    /// A core error, the journal's own exception (as raised), or the strategy's own exception
    /// when it raised.
    fn error(&self, py: Python<'_>, e: CoreError) -> PyErr {
        if let Some(je) = self
            .journal_error
            .as_ref()
            .and_then(|s| s.borrow_mut().take())
        {
            return je;
        }
        match self.error.as_ref().and_then(|s| s.borrow_mut().take()) {
            Some(pe) => crate::python::strategy_error(py, pe),
            None => e.into(),
        }
    }

    fn raw(&self, v: f64, dp: u8, name: &'static str) -> PyResult<i64> {
        to_raw(v, dp).filter(|&r| r >= 0).ok_or_else(|| {
            CoreError::InvalidArgument {
                name,
                reason: format!("must be a finite number >= 0, got {v}"),
            }
            .into()
        })
    }

    /// A fill's trade id: the venue's own behind a real venue, else "F" + its index.
    fn trade_id_of(&self, index: usize) -> String {
        self.inner
            .as_ref()
            .and_then(|l| l.engine().external())
            .and_then(|x| x.trade_ids.get(index))
            .filter(|t| !t.is_empty())
            .cloned()
            .unwrap_or_else(|| trade_id(index))
    }

    /// A command for the execution client, as a dict (decimals as exact strings).
    fn command_dict<'py>(&self, py: Python<'py>, c: &Command) -> PyResult<Bound<'py, PyDict>> {
        use crate::model::order::{OrderKind as K, TrailingOffset as T};
        let (pdp, sdp) = (self.inst.price_dp, self.inst.size_dp);
        let d = PyDict::new(py);
        let px = |v: i64| dec(v as i128, pdp);
        match c {
            Command::Submit(spec) => {
                d.set_item("op", "submit")?;
                d.set_item("order_id", spec.id)?;
                d.set_item("symbol", self.inst.symbol.as_str())?;
                d.set_item("side", spec.side.as_str().to_ascii_lowercase())?;
                d.set_item("kind", spec.kind.as_str().to_ascii_lowercase())?;
                d.set_item("qty", dec(spec.qty as i128, sdp))?;
                d.set_item("price", spec.kind.limit_px().map(px))?;
                d.set_item("trigger", spec.kind.trigger_px().map(px))?;
                let (trail, trail_type, activation) = match spec.kind {
                    K::TrailingStopMarket { offset, activation }
                    | K::TrailingStopLimit {
                        offset, activation, ..
                    } => {
                        let (v, t) = match offset {
                            T::Price(p) => (px(p), "price"),
                            T::Bps(b) => (format_fixed(b.0 as i128, 6), "bps"),
                            T::Ticks(n) => (n.to_string(), "ticks"),
                        };
                        (Some(v), Some(t), activation.map(px))
                    }
                    _ => (None, None, None),
                };
                d.set_item("trail", trail)?;
                d.set_item("trail_type", trail_type)?;
                d.set_item("activation", activation)?;
                d.set_item("tif", spec.tif.as_str())?;
                d.set_item(
                    "expire_ns",
                    match spec.tif {
                        crate::model::order::TimeInForce::Gtd { expire_ts } => Some(expire_ts),
                        _ => None,
                    },
                )?;
                d.set_item("post_only", spec.post_only)?;
                d.set_item("reduce_only", spec.reduce_only)?;
            }
            Command::Cancel { id } => {
                d.set_item("op", "cancel")?;
                d.set_item("order_id", *id)?;
                d.set_item("symbol", self.inst.symbol.as_str())?;
            }
            Command::Modify {
                id,
                qty,
                px: p,
                trigger,
            } => {
                d.set_item("op", "modify")?;
                d.set_item("order_id", *id)?;
                d.set_item("symbol", self.inst.symbol.as_str())?;
                d.set_item("qty", qty.map(|q| dec(q as i128, sdp)))?;
                d.set_item("price", p.map(px))?;
                d.set_item("trigger", trigger.map(px))?;
            }
            // the engine sends legs and cancels one by one to a real venue
            Command::SubmitList { .. } | Command::CancelAll { .. } => {
                return Err(CoreError::InvalidArgument {
                    name: "command",
                    reason: "lists and cancel-alls are emulated, never sent whole".into(),
                }
                .into());
            }
        }
        Ok(d)
    }

    fn push(&mut self, ev: FeedEvent) -> PyResult<bool> {
        Ok(self.live()?.push(ev).is_ok())
    }

    /// An order as the store keeps it (prices and quantities exact at the instrument's precision).
    fn order_dict<'py>(&self, py: Python<'py>, o: &Order) -> PyResult<Bound<'py, PyDict>> {
        let (pdp, sdp) = (self.inst.price_dp, self.inst.size_dp);
        let d = PyDict::new(py);
        d.set_item("id", o.spec.id)?;
        d.set_item("side", o.spec.side.as_str())?;
        d.set_item("kind", o.spec.kind.as_str())?;
        d.set_item("price", o.spec.kind.limit_px().map(|p| dec(p as i128, pdp)))?;
        d.set_item(
            "trigger",
            o.spec.kind.trigger_px().map(|p| dec(p as i128, pdp)),
        )?;
        d.set_item("qty", dec(o.spec.qty as i128, sdp))?;
        d.set_item("filled", dec(o.filled as i128, sdp))?;
        d.set_item("status", o.status.as_str())?;
        d.set_item("tif", o.spec.tif.as_str())?;
        d.set_item("reduce_only", o.spec.reduce_only)?;
        d.set_item("post_only", o.spec.post_only)?;
        d.set_item("reason", o.reason.map(|r| r.code()))?;
        d.set_item("ts_init", o.ts_init)?;
        d.set_item("ts", o.ts_last)?;
        Ok(d)
    }
}

fn aggressor(side: Option<&str>) -> PyResult<AggressorSide> {
    Ok(match side.map(|s| s.to_ascii_lowercase()) {
        None => AggressorSide::NoAggressor,
        Some(s) if s == "buy" || s == "buyer" => AggressorSide::Buyer,
        Some(s) if s == "sell" || s == "seller" => AggressorSide::Seller,
        Some(s) => {
            return Err(CoreError::InvalidArgument {
                name: "side",
                reason: format!("the aggressor side must be buy, sell or None, got {s:?}"),
            }
            .into());
        }
    })
}

#[pymethods]
impl PyLiveSession {
    /// A session. `mode="l2"`: recorded Binance lines (`push_line`), the depth book rebuilt as
    /// in `run_l2_backtest`; `mode="quotes"`: trade and quote ticks (`push_trade`,
    /// `push_quote`), as in `run_tick_backtest`. The other keywords are those runs' own.
    /// `strategy=None` runs the native market maker (`qty`, `max_position`, `offset_ticks`).
    #[new]
    #[pyo3(signature = (strategy = None, *, mode = "quotes", market = "usdm", queue = "risk_averse",
        elapse_ns = 100_000_000, maker_fee_bps = 0.0, taker_fee_bps = 0.0, qty = 0.001, max_position = 0.01,
        offset_ticks = 0, price_precision = 2, size_precision = 3, latency = None, risk = None, cash = 0.0,
        symbol = None, bar_ns = None, account = "cash", leverage = 1.0, maintenance_margin = 0.005,
        capacity = 65_536, venue = "sim", idle = false))]
    #[allow(clippy::too_many_arguments)] // reason: keyword arguments of one Python entry point
    fn new(
        py: Python<'_>,
        strategy: Option<Bound<'_, PyAny>>,
        mode: &str,
        market: &str,
        queue: &str,
        elapse_ns: i64,
        maker_fee_bps: f64,
        taker_fee_bps: f64,
        qty: f64,
        max_position: f64,
        offset_ticks: i64,
        price_precision: u8,
        size_precision: u8,
        latency: Option<Bound<'_, PyDict>>,
        risk: Option<Bound<'_, PyDict>>,
        cash: f64,
        symbol: Option<String>,
        bar_ns: Option<i64>,
        account: &str,
        leverage: f64,
        maintenance_margin: f64,
        capacity: i64,
        venue: &str,
        idle: bool,
    ) -> PyResult<Self> {
        let external = match venue {
            "sim" => false,
            "external" => true,
            other => {
                return Err(CoreError::InvalidArgument {
                    name: "venue",
                    reason: format!("must be sim or external, got {other:?}"),
                }
                .into());
            }
        };
        let quotes = match mode {
            "quotes" => true,
            "l2" => false,
            other => {
                return Err(CoreError::InvalidArgument {
                    name: "mode",
                    reason: format!("must be l2 or quotes, got {other:?}"),
                }
                .into());
            }
        };
        if !(1..=(1 << 24)).contains(&capacity) {
            return Err(CoreError::InvalidArgument {
                name: "capacity",
                reason: format!("must be within 1..16777216 events, got {capacity}"),
            }
            .into());
        }
        let (pdp, sdp) = (price_precision, size_precision);
        let mut cfg = RunKw {
            market: if quotes {
                MarketKind::UsdM
            } else {
                MarketKind::parse(market)?
            },
            latency: latency.as_ref(),
            queue,
            elapse_ns,
            maker_fee_bps,
            taker_fee_bps,
            cash,
            account,
            leverage,
            maintenance_margin,
            symbol,
            bar_ns,
        }
        .config()?;
        cfg.price_dp = Some(pdp);
        cfg.size_dp = Some(sdp);
        cfg.external = external;
        let inst = if quotes {
            ticks_instrument(cfg.symbol.as_deref(), pdp, sdp)?
        } else {
            l2_instrument(cfg.symbol.as_deref(), pdp, sdp)?
        };
        let log: super::risk::LayerLog = Default::default();
        let engine = risk_engine(risk.as_ref(), &inst, &log)?;
        let (strat, obj, error) = match strategy {
            _ if idle => (LiveStrategy::Idle, None, None),
            None => (
                LiveStrategy::Native(NativeMm::new(qty, max_position, offset_ticks)),
                None,
                None,
            ),
            Some(obj) => {
                let (s, error) = py_strategy(py, &obj, &inst, cfg.initial_cash)?;
                (LiveStrategy::Py(s), Some(obj.unbind()), Some(error))
            }
        };
        let mut bt = if quotes {
            L2Backtest::new_quotes(cfg, pdp, sdp, strat)?
        } else {
            L2Backtest::new(cfg, strat)?
        };
        if let Some(r) = engine {
            bt.set_risk(r);
        }
        Ok(Self {
            inner: Some(LiveEngine::new(bt, capacity as usize)?),
            strategy: obj,
            error,
            log,
            inst,
            mode: if quotes { "quotes" } else { "l2" },
            events_seen: 0,
            journal_error: None,
            journal_seq: None,
            journal_rows: None,
        })
    }

    /// Push one recorded line (`"<receive ns> <json>"`); False when the ring is full (push it
    /// again after `pump`).
    fn push_line(&mut self, line: &str) -> PyResult<bool> {
        if self.mode != "l2" {
            return Err(CoreError::InvalidArgument {
                name: "line",
                reason: "a quotes session takes trades and quotes, not recorded lines".into(),
            }
            .into());
        }
        self.push(FeedEvent::Line(LineRef {
            buf: Arc::new(LineBuf::single(line)),
            index: 0,
        }))
    }

    /// Push the lines of `batch` from index `start` on, in order, until the ring is full;
    /// returns how many went in (the lines stay in the batch: every session gets its own copy).
    #[pyo3(signature = (batch, start = 0))]
    fn push_batch(&mut self, batch: PyRef<'_, PyLineBatch>, start: usize) -> PyResult<usize> {
        if self.mode != "l2" {
            return Err(CoreError::InvalidArgument {
                name: "batch",
                reason: "a quotes session takes trades and quotes, not recorded lines".into(),
            }
            .into());
        }
        let live = self.live()?;
        let mut n = 0;
        for i in batch.start + start..batch.end {
            let line = LineRef {
                buf: Arc::clone(&batch.lines),
                index: i as u32,
            };
            if live.push(FeedEvent::Line(line)).is_err() {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    /// Push lines in order until the ring is full; returns how many went in.
    fn push_lines(&mut self, lines: Vec<String>) -> PyResult<usize> {
        let mut n = 0;
        for l in lines {
            if !self.push_line(&l)? {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    /// Push a trade print (`side`: the aggressor, "buy"/"sell" or None); False when full.
    #[pyo3(signature = (ts, price, size, side = None, id = None))]
    fn push_trade(
        &mut self,
        ts: i64,
        price: f64,
        size: f64,
        side: Option<&str>,
        id: Option<i64>,
    ) -> PyResult<bool> {
        let (pdp, sdp) = (self.inst.price_dp, self.inst.size_dp);
        let ev = FeedEvent::Trade {
            ts,
            px: self.raw(price, pdp, "price")?,
            qty: self.raw(size, sdp, "size")?,
            aggressor: aggressor(side)?,
            id: id.unwrap_or(-1),
        };
        self.push(ev)
    }

    /// Push a top of book (quote mode; a side None or of size 0 is empty); False when full.
    #[pyo3(signature = (ts, bid, ask, bid_size = 0.0, ask_size = 0.0))]
    fn push_quote(
        &mut self,
        ts: i64,
        bid: Option<f64>,
        ask: Option<f64>,
        bid_size: f64,
        ask_size: f64,
    ) -> PyResult<bool> {
        if self.mode != "quotes" {
            return Err(CoreError::InvalidArgument {
                name: "quote",
                reason: "an l2 session reads the depth stream's lines, not quotes".into(),
            }
            .into());
        }
        let (pdp, sdp) = (self.inst.price_dp, self.inst.size_dp);
        let level = |px: Option<f64>, qty: f64, name| -> PyResult<Option<Level>> {
            match px {
                None => Ok(None),
                Some(p) => Ok(Some(Level {
                    px: self.raw(p, pdp, name)?,
                    qty: self.raw(qty, sdp, "size")?,
                })),
            }
        };
        let ev = FeedEvent::Quote {
            ts,
            bid: level(bid, bid_size, "bid")?,
            ask: level(ask, ask_size, "ask")?,
        };
        self.push(ev)
    }

    /// Process up to `max` waiting events (the strategy is called as in a backtest); returns
    /// how many. The strategy's exception is raised as `StrategyError`.
    #[pyo3(signature = (max = 4096))]
    fn pump(&mut self, py: Python<'_>, max: usize) -> PyResult<usize> {
        let r = self.live()?.pump(max);
        r.map_err(|e| self.error(py, e))
    }

    /// The node's real-time clock reached `ts` (ns) with no event: delayed commands arrive and
    /// timers fire. Only for a feed on the wall clock; a replay runs on event time.
    fn advance_time(&mut self, py: Python<'_>, ts: i64) -> PyResult<()> {
        let r = self.live()?.engine_mut().advance_time(ts);
        r.map_err(|e| self.error(py, e))
    }

    /// Cash plus the position at the book's mid (its last mark while the book is one-sided), in
    /// the quote currency: the figure a drawdown is measured on.
    #[getter]
    fn equity(&self) -> PyResult<f64> {
        let bt = self.live_ref()?.engine();
        let p = bt.portfolio();
        let pos = &p.positions[0];
        if pos.qty == 0 {
            return Ok(money_to_f64(p.cash));
        }
        let mark = match bt.top() {
            (Some(b), Some(a)) => (b.px + a.px) / 2,
            _ => pos.mark,
        };
        Ok(money_to_f64(p.cash + self.inst.notional(mark, pos.qty)))
    }

    /// Events waiting in the ring.
    #[getter]
    fn backlog(&self) -> PyResult<usize> {
        Ok(self.live_ref()?.backlog())
    }

    /// Free slots of the ring.
    #[getter]
    fn free(&self) -> PyResult<usize> {
        Ok(self.live_ref()?.free())
    }

    /// "l2" or "quotes".
    #[getter]
    fn mode(&self) -> &'static str {
        self.mode
    }

    /// The run's clock (ns; 0 before the first event).
    #[getter]
    fn clock(&self) -> PyResult<i64> {
        Ok(self.live_ref()?.engine().clock())
    }

    /// The ring's counters: `pushed` and `processed` by stream, `full` (pushes refused and
    /// retried), `max_backlog`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.live_ref()?.stats();
        let d = PyDict::new(py);
        let pushed = PyDict::new(py);
        let processed = PyDict::new(py);
        for st in Stream::ALL {
            pushed.set_item(st.name(), s.pushed[st as usize])?;
            processed.set_item(st.name(), s.processed[st as usize])?;
        }
        d.set_item("pushed", pushed)?;
        d.set_item("processed", processed)?;
        d.set_item("full", s.full)?;
        d.set_item("max_backlog", s.max_backlog)?;
        Ok(d)
    }

    /// The tick-to-order latencies (ns, uint64) recorded since the last call.
    fn take_latencies<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.live()?.take_latencies().into_pyarray(py).into_any())
    }

    /// The order events since the last call, counted: ({kind: n}, {denial code: n}) — kinds
    /// "submitted", "accepted", "filled", "canceled", ...; denials (risk and account) by code.
    fn take_order_events<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
        let from = self.events_seen;
        let events = self.live_ref()?.engine().events();
        let (kinds, codes) = (PyDict::new(py), PyDict::new(py));
        let bump = |d: &Bound<'py, PyDict>, k: &str| -> PyResult<()> {
            let n: u64 = d.get_item(k)?.map_or(Ok(0), |v| v.extract())?;
            d.set_item(k, n + 1)
        };
        for e in &events[from.min(events.len())..] {
            bump(&kinds, e.kind.as_str())?;
            if let crate::model::order::OrderEventKind::Denied(r) = e.kind {
                bump(&codes, r.code())?;
            }
        }
        self.events_seen = events.len();
        Ok((kinds, codes))
    }

    /// The account, the book's top, the orders and the trading state now.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let bt = self.live_ref()?.engine();
        let inst = &self.inst;
        let (pdp, sdp) = (inst.price_dp, inst.size_dp);
        let p = bt.portfolio();
        let pos = &p.positions[0];
        let (bid, ask) = bt.top();
        // the position marked at the book's mid (its last mark while the book is one-sided)
        let mark = match (bid, ask) {
            (Some(b), Some(a)) => (b.px + a.px) / 2,
            _ => pos.mark,
        };
        let value = if pos.qty != 0 {
            inst.notional(mark, pos.qty)
        } else {
            0
        };
        let unrealized = money_to_f64(value - if pos.qty != 0 { pos.cost } else { 0 });
        let cash = money_to_f64(p.cash);
        let equity = money_to_f64(p.cash + value);
        let initial = money_to_f64(p.initial_cash);
        let d = PyDict::new(py);
        d.set_item("ts", bt.clock())?;
        d.set_item("symbol", inst.symbol.as_str())?;
        d.set_item("trading_state", bt.risk().state().as_str())?;
        d.set_item("position", from_raw(pos.qty, sdp))?;
        d.set_item("cash", cash)?;
        d.set_item("equity", equity)?;
        d.set_item("pnl", equity - initial)?;
        d.set_item("realized_pnl", money_to_f64(pos.realized))?;
        d.set_item("unrealized_pnl", unrealized)?;
        d.set_item("fees", money_to_f64(p.fees))?;
        d.set_item("initial_cash", initial)?;
        d.set_item("best_bid", bid.map(|l| from_raw(l.px, pdp)))?;
        d.set_item("best_ask", ask.map(|l| from_raw(l.px, pdp)))?;
        let r = bt.report();
        d.set_item("events", r.events)?;
        d.set_item("orders", r.orders)?;
        d.set_item("fills", r.fills)?;
        let open = PyList::empty(py);
        for &id in bt.orders().working_ids(0) {
            if let Some(o) = bt.orders().get(id) {
                let od = PyDict::new(py);
                od.set_item("id", id)?;
                od.set_item("side", o.spec.side.as_str())?;
                od.set_item("kind", o.spec.kind.as_str())?;
                od.set_item("price", o.spec.kind.limit_px().map(|x| from_raw(x, pdp)))?;
                od.set_item("qty", from_raw(o.spec.qty, sdp))?;
                od.set_item("filled", from_raw(o.filled, sdp))?;
                od.set_item("status", o.status.as_str())?;
                open.append(od)?;
            }
        }
        d.set_item("open_orders", open)?;
        Ok(d)
    }

    /// The operator's trading state (audited with source "operator"; EMERGENCY cancels and
    /// flattens at once).
    fn set_state(&mut self, py: Python<'_>, state: &str, reason: &str) -> PyResult<()> {
        let s = TradingState::parse("state", state)?;
        if reason.trim().is_empty() {
            return Err(CoreError::InvalidArgument {
                name: "reason",
                reason: "a state change needs a reason".into(),
            }
            .into());
        }
        let r = self.live()?.engine_mut().operator_state(s, reason);
        r.map_err(|e| self.error(py, e))
    }

    /// The operator's cancel-all: the ids canceled.
    fn cancel_all(&mut self, py: Python<'_>, reason: &str) -> PyResult<Vec<u64>> {
        let r = self.live()?.engine_mut().operator_cancel_all(reason);
        r.map_err(|e| self.error(py, e))
    }

    /// The operator's flatten: {"canceled": [ids], "order": id or None}.
    fn flatten<'py>(&mut self, py: Python<'py>, reason: &str) -> PyResult<Bound<'py, PyDict>> {
        let r = self.live()?.engine_mut().operator_flatten(reason);
        let (canceled, order) = r.map_err(|e| self.error(py, e))?;
        let d = PyDict::new(py);
        d.set_item("canceled", canceled)?;
        d.set_item("order", order)?;
        Ok(d)
    }

    /// The engine's whole state as bytes, at an event boundary (the ring pumped empty): restore
    /// it with `restore` into a session built with the same arguments. A Python strategy's own
    /// `state` is not in it (the node keeps it); its order-id counters are.
    fn checkpoint<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let engine = self.live_ref()?.checkpoint()?;
        // the Python layers' messages of the report go along with the engine
        let log: Vec<String> = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let blob = bincode::serialize(&(engine, log))
            .map_err(|e| checkpoint_error(format!("cannot encode: {e}")))?;
        Ok(PyBytes::new(py, &blob))
    }

    /// Take back a `checkpoint` (before any event of this session). A blob of another
    /// configuration or version, or a damaged one, raises `InvalidInputError` ("checkpoint: ...").
    fn restore(&mut self, py: Python<'_>, blob: &[u8]) -> PyResult<()> {
        let (engine, log): (Vec<u8>, Vec<String>) = bincode::deserialize(blob)
            .map_err(|e| checkpoint_error(format!("not a session checkpoint ({e})")))?;
        let r = self.live()?.restore(&engine);
        r.map_err(|e| self.error(py, e))?;
        if let Ok(mut l) = self.log.lock() {
            *l = log;
        }
        self.events_seen = self.live_ref()?.engine().events().len();
        Ok(())
    }

    /// The write-ahead journal: `cb(kind, order_id, request_json, ts)` for every command that
    /// passed the risk engine and the account, before it leaves (kind "submit", "submit_list",
    /// "modify", "cancel", "cancel_all"; order_id the order it is about, 0 for a cancel-all).
    /// An exception in `cb` stops the command and propagates out of the call that sent it
    /// (`pump`, `advance_time`, the operator's controls); the event being processed stopped
    /// half-way, so the session is then to be rebuilt from the store. `cb` must not call the
    /// session (it runs inside it). None: no journal.
    fn set_journal(&mut self, cb: Option<Py<PyAny>>) -> PyResult<()> {
        let journal = cb.map(|cb| {
            let error: ErrSlot = std::rc::Rc::new(std::cell::RefCell::new(None));
            self.journal_error = Some(error.clone());
            Box::new(PyJournal { cb, error }) as Box<dyn Journal>
        });
        if journal.is_none() {
            self.journal_error = None;
        }
        self.journal_seq = None;
        self.journal_rows = None;
        self.live()?.engine_mut().set_journal(journal);
        Ok(())
    }

    /// Journal every command into the write-ahead log at `path` (created, or started over: see
    /// `trader.live.store`), as `strategy`, from seq `next_seq` on, before it leaves — the SQLite
    /// store's write-ahead, appended here without a Python call. `capacity`: the log's ring, in
    /// bytes. `full`: `msync` each record. `after`: called after each append (the tests' crash
    /// point), or None. An error (the append's, or `after`'s exception) stops the command and
    /// propagates as with `set_journal`. Returns the handle the store releases committed records
    /// through; `journal_drain` hands over the records appended since its last call.
    #[pyo3(signature = (path, strategy, next_seq, capacity, full = false, after = None))]
    fn set_log_journal(
        &mut self,
        path: std::path::PathBuf,
        strategy: String,
        next_seq: i64,
        capacity: usize,
        full: bool,
        after: Option<Py<PyAny>>,
    ) -> PyResult<super::journal::PyJournalRelease> {
        let error: ErrSlot = std::rc::Rc::new(std::cell::RefCell::new(None));
        let hook = after.map(|cb| {
            let slot = error.clone();
            Box::new(move || -> CoreResult<()> {
                Python::attach(|py| cb.bind(py).call0().map(|_| ())).map_err(|e| {
                    let msg = e.to_string();
                    *slot.borrow_mut() = Some(e);
                    CoreError::InvalidArgument {
                        name: "journal",
                        reason: msg,
                    }
                })
            }) as Box<dyn FnMut() -> CoreResult<()>>
        });
        let seq = std::rc::Rc::new(std::cell::Cell::new(next_seq));
        let journal = crate::journal::LogJournal::open(&path, &strategy, seq.clone(), capacity, full, hook)
            .map_err(PyErr::from)?;
        let release = journal.release_handle();
        self.journal_rows = Some(journal.pending_rows());
        self.journal_error = Some(error);
        self.journal_seq = Some(seq);
        self.live()?
            .engine_mut()
            .set_journal(Some(Box::new(journal)));
        Ok(super::journal::PyJournalRelease(release))
    }

    /// The seq the write-ahead log gives its next command (None without one).
    #[getter]
    fn journal_next_seq(&self) -> Option<i64> {
        self.journal_seq.as_ref().map(|s| s.get())
    }

    /// The commands appended to the write-ahead log since the last call, oldest first, as
    /// `(seq, order_id, kind, request, ts)` tuples (empty without a log).
    fn journal_drain(&self) -> Vec<(i64, i64, String, String, i64)> {
        let Some(rows) = self.journal_rows.as_ref() else {
            return Vec::new();
        };
        std::mem::take(&mut *rows.borrow_mut())
            .into_iter()
            .map(|r| (r.seq, r.order_id, r.kind, r.request, r.ts))
            .collect()
    }

    /// The commands waiting for the execution client (a session built with
    /// `venue="external"`), oldest first: dicts with `op` ("submit", "cancel", "modify"),
    /// `order_id`, `symbol`, and for a submit `side`, `kind`, `qty`, `price`, `trigger`, `trail`,
    /// `trail_type`, `activation`, `tif`, `expire_ns`, `post_only`, `reduce_only` (decimals as
    /// exact strings). Contingent lists never leave whole: the engine holds them and sends each
    /// leg it releases, and cancels a leg it closes.
    fn take_commands<'py>(&mut self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let cmds = self.live()?.engine_mut().take_outbound();
        cmds.iter().map(|c| self.command_dict(py, c)).collect()
    }

    /// Apply a real venue's report about order `order_id` (a session built with
    /// `venue="external"`): `kind` "accepted", "rejected", "canceled" (`requested`: on the
    /// strategy's request, else the venue's own), "expired", "triggered", "amended" (`qty`,
    /// `price`, `trigger`), "modify_rejected" / "cancel_rejected" (the venue refused the
    /// strategy's modify or cancel: an event tells it, the order is unchanged), or "fill" (`price`, `qty` as decimal strings at the instrument's
    /// precision, `fee` in the quote currency, `liquidity` "maker"/"taker", `trade_id` the
    /// venue's: a repeated one is ignored). Runs the strategy's callbacks and the emulator's
    /// follow-ups. True when it changed something; False for a repeated or unknown report, or
    /// when the session has seen no market data yet (hold the report and apply it later).
    #[pyo3(signature = (kind, order_id, *, price = None, qty = None, fee = None, liquidity = None,
        trade_id = None, requested = true, trigger = None))]
    #[allow(clippy::too_many_arguments)] // reason: keyword arguments of one Python entry point
    fn report(
        &mut self,
        py: Python<'_>,
        kind: &str,
        order_id: u64,
        price: Option<&str>,
        qty: Option<&str>,
        fee: Option<&str>,
        liquidity: Option<&str>,
        trade_id: Option<String>,
        requested: bool,
        trigger: Option<&str>,
    ) -> PyResult<bool> {
        use crate::venue::external::VenueReport as R;
        let (pdp, sdp) = (self.inst.price_dp, self.inst.size_dp);
        let need = |v: Option<&str>, name: &'static str| -> PyResult<String> {
            v.map(str::to_string).ok_or_else(|| {
                CoreError::InvalidArgument {
                    name,
                    reason: format!("a {kind} report needs it"),
                }
                .into()
            })
        };
        let r = match kind {
            "accepted" => R::Accepted { id: order_id },
            "rejected" => R::Rejected { id: order_id },
            "canceled" => R::Canceled {
                id: order_id,
                requested,
            },
            "expired" => R::Expired { id: order_id },
            "triggered" => R::Triggered { id: order_id },
            "modify_rejected" => R::ModifyRejected { id: order_id },
            "cancel_rejected" => R::CancelRejected { id: order_id },
            "amended" => R::Amended {
                id: order_id,
                qty: qty.map(|q| parse_dec(q, sdp, "qty")).transpose()?,
                px: price.map(|p| parse_dec(p, pdp, "price")).transpose()?,
                trigger: trigger.map(|p| parse_dec(p, pdp, "trigger")).transpose()?,
            },
            "fill" => R::Fill {
                id: order_id,
                px: parse_dec(&need(price, "price")?, pdp, "price")?,
                qty: parse_dec(&need(qty, "qty")?, sdp, "qty")?,
                fee: parse_money(fee.unwrap_or("0"))?,
                liquidity: match liquidity.map(str::to_ascii_lowercase).as_deref() {
                    Some("maker") => crate::model::order::Liquidity::Maker,
                    Some("taker") | None => crate::model::order::Liquidity::Taker,
                    Some(other) => {
                        return Err(CoreError::InvalidArgument {
                            name: "liquidity",
                            reason: format!("must be maker or taker, got {other:?}"),
                        }
                        .into());
                    }
                },
                trade_id: trade_id.filter(|t| !t.is_empty()).ok_or_else(|| {
                    PyErr::from(CoreError::InvalidArgument {
                        name: "trade_id",
                        reason: "a fill report needs the venue's trade id".into(),
                    })
                })?,
            },
            other => {
                return Err(CoreError::InvalidArgument {
                    name: "kind",
                    reason: format!(
                        "must be accepted, rejected, canceled, expired, triggered, amended, modify_rejected, cancel_rejected or fill, got {other:?}"
                    ),
                }
                .into());
            }
        };
        let res = self.live()?.engine_mut().venue_report(r);
        match res {
            Ok(changed) => Ok(changed),
            Err(CoreError::InvalidArgument {
                name: "venue report",
                reason,
            }) if reason.starts_with("a fill before") => Ok(false),
            Err(e) => Err(self.error(py, e)),
        }
    }

    /// A restart on a real venue: take back the orders of a journaled command (its request
    /// JSON, as the store's write-ahead journal holds it) that this engine does not know — sent
    /// after the checkpoint it was restored from; the strategy's order ids move past them.
    /// Returns the ids taken back.
    fn adopt(&mut self, py: Python<'_>, request: &str) -> PyResult<Vec<u64>> {
        let cmd: Command = serde_json::from_str(request).map_err(|e| {
            PyErr::from(CoreError::InvalidArgument {
                name: "request",
                reason: format!("not a journaled command ({e})"),
            })
        })?;
        let r = self.live()?.engine_mut().adopt(cmd);
        r.map_err(|e| self.error(py, e))
    }

    /// The real venue's counters (a session built with `venue="external"`): `at_venue` (orders
    /// there now), `late_fills` (fills of orders the engine had closed), `ignored` (repeated or
    /// unknown reports), `pending` (commands not yet taken). None on the simulated venue.
    fn venue_stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(x) = self.live_ref()?.engine().external() else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("at_venue", x.at_venue.iter().copied().collect::<Vec<u64>>())?;
        d.set_item("late_fills", x.late_fills)?;
        d.set_item("ignored", x.ignored)?;
        d.set_item("pending", x.outbound.len())?;
        Ok(Some(d))
    }

    /// The venue's side (the local exchange): place `request` (a `trader.orders.OrderRequest`)
    /// as order `order_id` on this session's simulated matcher at once — no latency, no risk
    /// engine; the account's rule applies at each fill. Its events and fills show in
    /// `events_since` / `fills_since`.
    fn place(&mut self, py: Python<'_>, request: &Bound<'_, PyAny>, order_id: u64) -> PyResult<()> {
        if order_id == 0 {
            return Err(CoreError::InvalidArgument {
                name: "order_id",
                reason: "must be > 0".into(),
            }
            .into());
        }
        let grid = super::orders::Grid::default();
        let spec = super::orders::spec_from_request(&grid, &self.inst, 0, request, order_id)?;
        let r = self.live()?.engine_mut().execute_now(Command::Submit(spec));
        r.map_err(|e| self.error(py, e))
    }

    /// The venue's side: modify open order `order_id` at once (`qty`, `price` as decimal strings
    /// at the instrument's precision; None: unchanged) — a new price loses the queue position.
    /// True when it was open.
    #[pyo3(signature = (order_id, *, qty = None, price = None))]
    fn amend(
        &mut self,
        py: Python<'_>,
        order_id: u64,
        qty: Option<&str>,
        price: Option<&str>,
    ) -> PyResult<bool> {
        if !self.is_open(order_id)? {
            return Ok(false);
        }
        let (pdp, sdp) = (self.inst.price_dp, self.inst.size_dp);
        let qty = qty.map(|q| parse_dec(q, sdp, "qty")).transpose()?;
        let px = price.map(|p| parse_dec(p, pdp, "price")).transpose()?;
        let r = self.live()?.engine_mut().execute_now(Command::Modify {
            id: order_id,
            qty,
            px,
            trigger: None,
        });
        r.map_err(|e| self.error(py, e))?;
        Ok(true)
    }

    /// The venue's side: cancel order `order_id` at once; True when it was open.
    fn cancel(&mut self, py: Python<'_>, order_id: u64) -> PyResult<bool> {
        if !self.is_open(order_id)? {
            return Ok(false);
        }
        let r = self
            .live()?
            .engine_mut()
            .execute_now(Command::Cancel { id: order_id });
        r.map_err(|e| self.error(py, e))?;
        Ok(true)
    }

    /// The fills from index `start` on (indices count over the session's life): each with its
    /// `trade_id` ("F" + index, unique and stable across restarts), `order_id`, `ts`, `side`,
    /// `price`, `qty`, `fee` (exact decimal strings), `liquidity` ("MAKER"/"TAKER").
    #[pyo3(signature = (start = 0))]
    fn fills_since<'py>(&self, py: Python<'py>, start: usize) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let (pdp, sdp) = (self.inst.price_dp, self.inst.size_dp);
        let fills = self.live_ref()?.engine().fills();
        let mut out = Vec::with_capacity(fills.len().saturating_sub(start));
        for (i, f) in fills.iter().enumerate().skip(start) {
            let d = PyDict::new(py);
            d.set_item("index", i)?;
            d.set_item("trade_id", self.trade_id_of(i))?;
            d.set_item("order_id", f.order_id)?;
            d.set_item("ts", f.ts)?;
            d.set_item("side", f.side.as_str())?;
            d.set_item("price", dec(f.px as i128, pdp))?;
            d.set_item("qty", dec(f.qty as i128, sdp))?;
            d.set_item("fee", money(f.fee))?;
            d.set_item("liquidity", f.liquidity.as_str())?;
            d.set_item("liquidation", f.liquidation)?;
            out.push(d);
        }
        Ok(out)
    }

    /// The order events from index `start` on: `seq` (the index), `order_id`, `kind`,
    /// `status` (what the event leaves the order in; None for updated / modify_rejected /
    /// cancel_rejected), `ts`, `reason` (a code or None), `detail` (a denial's sentence or None),
    /// `trade_id` of a fill event.
    #[pyo3(signature = (start = 0))]
    fn events_since<'py>(
        &self,
        py: Python<'py>,
        start: usize,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let bt = self.live_ref()?.engine();
        let events = bt.events();
        let mut out = Vec::with_capacity(events.len().saturating_sub(start));
        for (i, e) in events.iter().enumerate().skip(start) {
            let d = PyDict::new(py);
            d.set_item("seq", i)?;
            d.set_item("order_id", e.order_id())?;
            d.set_item("kind", e.kind.as_str())?;
            d.set_item("status", event_status(&e.kind))?;
            d.set_item("ts", e.ts)?;
            d.set_item("reason", e.kind.reason().map(|r| r.code()))?;
            d.set_item("detail", bt.denials().detail(e))?;
            d.set_item("trade_id", e.kind.fill_index().map(|i| self.trade_id_of(i)))?;
            out.push(d);
        }
        Ok(out)
    }

    /// The closed audit entries from index `start` on, as the audit file writes them (`seq`,
    /// `ts`, `kind`, ..., `prev_hash`, `hash`); an open run of folded denials comes once closed.
    #[pyo3(signature = (start = 0))]
    fn audit_since<'py>(&self, py: Python<'py>, start: usize) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let entries = self.live_ref()?.engine().risk().audit().entries();
        super::risk::entries_as_dicts(py, entries.iter().skip(start))
    }

    /// The current records of the orders `ids` (None: every order of the session), in
    /// registration order: id, side, kind, price, trigger, qty, filled, status, tif,
    /// reduce_only, post_only, reason, ts_init, ts (the last change). Unknown ids are left out.
    #[pyo3(signature = (ids = None))]
    fn orders<'py>(
        &self,
        py: Python<'py>,
        ids: Option<Vec<u64>>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let orders = self.live_ref()?.engine().orders();
        match ids {
            None => orders.all().map(|o| self.order_dict(py, o)).collect(),
            Some(ids) => ids
                .iter()
                .filter_map(|&id| orders.get(id))
                .map(|o| self.order_dict(py, o))
                .collect(),
        }
    }

    /// The paper venue's answer to "do you have this client order id?": the order's record, or
    /// None.
    fn order<'py>(&self, py: Python<'py>, order_id: u64) -> PyResult<Option<Bound<'py, PyDict>>> {
        let orders = self.live_ref()?.engine().orders();
        orders
            .get(order_id)
            .map(|o| self.order_dict(py, o))
            .transpose()
    }

    /// The orders working at the venue now (records as `orders` gives them).
    fn open_orders<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let orders = self.live_ref()?.engine().orders();
        orders.working(0).map(|o| self.order_dict(py, o)).collect()
    }

    /// The position: symbol, qty, cost (money), realized (money, before fees), mark (price),
    /// exact decimal strings.
    fn position<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = &self.live_ref()?.engine().portfolio().positions[0];
        let d = PyDict::new(py);
        d.set_item("symbol", self.inst.symbol.as_str())?;
        d.set_item("qty", dec(p.qty as i128, self.inst.size_dp))?;
        d.set_item("cost", money(p.cost))?;
        d.set_item("realized", money(p.realized))?;
        d.set_item("mark", dec(p.mark as i128, self.inst.price_dp))?;
        Ok(d)
    }

    /// The account: cash, initial_cash, fees, funding_paid (money, exact decimal strings).
    fn balances<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = self.live_ref()?.engine().portfolio();
        let d = PyDict::new(py);
        d.set_item("cash", money(p.cash))?;
        d.set_item("initial_cash", money(p.initial_cash))?;
        d.set_item("fees", money(p.fees))?;
        d.set_item("funding_paid", money(p.funding_paid))?;
        Ok(d)
    }

    /// The risk engine's state: `trading_state`, `manual_state`, `manual_source`,
    /// `manual_reason`, and `layers`: each layer's own saved state by name (plain values).
    fn risk_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let risk = self.live_ref()?.engine().risk();
        let d = PyDict::new(py);
        d.set_item("trading_state", risk.state().as_str())?;
        d.set_item("manual_state", risk.manual_state().as_str())?;
        let (source, reason) = risk.manual_source();
        d.set_item("manual_source", source)?;
        d.set_item("manual_reason", reason)?;
        let layers = PyDict::new(py);
        let json = py.import("json")?;
        for (name, v) in risk.layer_states() {
            layers.set_item(name, json.call_method1("loads", (v.to_string(),))?)?;
        }
        d.set_item("layers", layers)?;
        Ok(d)
    }

    /// Append an audit entry of `kind` (e.g. "reconcile") by `source` at the session's clock,
    /// about `orders` (reconciliation writes its adjustments with it).
    #[pyo3(signature = (kind, source, reason, orders = Vec::new()))]
    fn record_action(
        &mut self,
        kind: &str,
        source: &str,
        reason: &str,
        orders: Vec<u64>,
    ) -> PyResult<()> {
        for (name, v) in [("kind", kind), ("source", source), ("reason", reason)] {
            if v.trim().is_empty() {
                return Err(CoreError::InvalidArgument {
                    name,
                    reason: "must not be empty".into(),
                }
                .into());
            }
        }
        self.live()?
            .engine_mut()
            .record_action(kind, source, reason, &orders);
        Ok(())
    }

    /// Process what is left in the ring, end the run (the strategy's `on_stop`) and return the
    /// report of `run_l2_backtest` / `run_tick_backtest`.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let live = self
            .inner
            .take()
            .ok_or_else(|| CoreError::InvalidArgument {
                name: "session",
                reason: "the session has finished".into(),
            })?;
        let (r, _, run) = live.finish().map_err(|e| self.error(py, e))?;
        if let Some(obj) = &self.strategy {
            obj.bind(py).call_method0("on_stop")?;
        }
        report_dict(py, &r, &run, &self.log)
    }
}

/// Lines of a recording read by a [`PyRecordingReader`], handed to sessions by `push_batch`
/// without becoming Python strings.
#[pyclass(module = "trader._core", name = "LineBatch", frozen)]
pub struct PyLineBatch {
    lines: Arc<LineBuf>,
    /// The batch's lines are `lines[start..end]`.
    start: usize,
    end: usize,
}

#[pymethods]
impl PyLineBatch {
    fn __len__(&self) -> usize {
        self.end - self.start
    }

    /// The receive time (ns) of the first line, None when empty.
    #[getter]
    fn first_ts(&self) -> Option<i64> {
        (self.end > self.start).then(|| self.lines.ts(self.start))
    }

    /// The receive time (ns) of the last line, None when empty.
    #[getter]
    fn last_ts(&self) -> Option<i64> {
        (self.end > self.start).then(|| self.lines.ts(self.end - 1))
    }

    /// The lines as strings (for inspection; the feed path never builds them).
    fn texts(&self) -> Vec<String> {
        (self.start..self.end)
            .map(|i| self.lines.line(i).to_string())
            .collect()
    }
}

/// A reader of recorded Binance WebSocket files (gzip or plain), in order: the live node's replay
/// feed. A thread of its own reads and decompresses ahead of the engine (a few batches), so the
/// reading overlaps the engine's work; `next_batch(max, until_ns)` hands out up to `max` lines
/// received at or before `until_ns` (None: any), None at the end of the last file.
#[pyclass(module = "trader._core", name = "RecordingReader")]
pub struct PyRecordingReader {
    // NB: a pyclass must be `Sync`: the reader sits behind a Mutex (one caller at a time).
    inner: std::sync::Mutex<Prefetch>,
}

impl PyRecordingReader {
    fn lock(&self) -> std::sync::MutexGuard<'_, Prefetch> {
        // a panic while reading leaves the reader as it was: keep using it
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyRecordingReader {
    /// `skip`: pass over the first `skip` lines of the stream (a replay resuming after the
    /// last line it processed); `lines` counts them.
    #[new]
    #[pyo3(signature = (paths, skip = 0))]
    fn new(py: Python<'_>, paths: Vec<std::path::PathBuf>, skip: u64) -> PyResult<Self> {
        let mut lines = RecordingLines::new(paths)?;
        py.detach(|| lines.skip(skip))?;
        Ok(Self {
            inner: std::sync::Mutex::new(Prefetch::new(lines)),
        })
    }

    /// Up to `max` lines received at or before `until_ns` (None: any): an empty batch when none
    /// is due yet, None at the end of the data.
    #[pyo3(signature = (max = 4096, until_ns = None))]
    fn next_batch(
        &self,
        py: Python<'_>,
        max: usize,
        until_ns: Option<i64>,
    ) -> PyResult<Option<PyLineBatch>> {
        // waits for the reading thread only when the engine caught up with it
        let got = py.detach(|| self.lock().next(max, until_ns))?;
        Ok(got.map(|(lines, start, end)| PyLineBatch { lines, start, end }))
    }

    /// The receive time (ns) of the next line, None at the end.
    fn peek_ts(&self, py: Python<'_>) -> PyResult<Option<i64>> {
        Ok(py.detach(|| self.lock().peek_ts())?)
    }

    /// Lines handed out so far.
    #[getter]
    fn lines(&self) -> u64 {
        self.lock().lines
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLiveSession>()?;
    m.add_class::<PyLineBatch>()?;
    m.add_class::<PyRecordingReader>()?;
    Ok(())
}
