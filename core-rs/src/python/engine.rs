//! Bindings of the backtest engine: the `Backtest` object, the strategy's `Context`, the reused
//! `Bar` view and `OrderEvent`s.
//!
//! The Rust loop calls Python once per bar (the strategy's `on_bar`) and once per order event
//! only if the strategy overrides `on_order_event`. Nothing is allocated per bar: one `Bar`
//! object per instrument is updated in place (see its docs), the context is a plain Rust object
//! whose snapshot is refreshed before each call, and commands are drained after it.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use super::f64_array;
use super::indicators::{BarInputs, Source, Updater};
use crate::engine::{Backtest, Decisions, Handler, RunError, VectorHandler};
use crate::error::CoreError;
use crate::exec::Denials;
use crate::model::fixed::{MONEY_DP, format_fixed, from_raw, money_to_f64};
use crate::model::{
    Bar, BarColumns, Bps, Command, Fill, Instrument, Liquidity, OrderEvent, OrderSpec,
};
use crate::risk::{StateChange, TradingState};
use crate::venue::{FillAt, VenueConfig};

/// One bar, as a strategy sees it in `on_bar`.
///
/// NB: the engine reuses one `Bar` object per instrument and updates it in place for every bar
/// (no Python object per bar). Read it inside the callback; call `bar.copy()` to keep one.
#[pyclass(module = "trader._core", name = "Bar")]
#[derive(Clone, Debug, Default)]
pub struct PyBar {
    /// Open time of the bar (UTC epoch ns), as in the data.
    #[pyo3(get)]
    ts: i64,
    /// Close time (`ts` + the bar interval): the engine's clock while `on_bar` runs.
    #[pyo3(get)]
    ts_close: i64,
    #[pyo3(get)]
    open: f64,
    #[pyo3(get)]
    high: f64,
    #[pyo3(get)]
    low: f64,
    #[pyo3(get)]
    close: f64,
    #[pyo3(get)]
    volume: f64,
    #[pyo3(get)]
    instrument: u32,
}

#[pymethods]
impl PyBar {
    #[new]
    #[pyo3(signature = (ts, open, high, low, close, volume, instrument = 0, ts_close = None))]
    #[allow(clippy::too_many_arguments, reason = "one argument per field")]
    fn new(
        ts: i64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: f64,
        instrument: u32,
        ts_close: Option<i64>,
    ) -> Self {
        Self {
            ts,
            ts_close: ts_close.unwrap_or(ts),
            open,
            high,
            low,
            close,
            volume,
            instrument,
        }
    }

    /// An independent copy (the object passed to `on_bar` is reused for the next bar).
    fn copy(&self) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Bar(ts={}, open={}, high={}, low={}, close={}, volume={}, instrument={})",
            self.ts, self.open, self.high, self.low, self.close, self.volume, self.instrument
        )
    }
}

/// An order event: `kind` is one of "accepted", "rejected", "filled", "canceled", "cancel_rejected".
#[pyclass(module = "trader._core", name = "OrderEvent", frozen)]
#[derive(Clone, Debug)]
pub struct PyOrderEvent {
    #[pyo3(get)]
    kind: &'static str,
    #[pyo3(get)]
    order_id: u64,
    #[pyo3(get)]
    ts: i64,
    #[pyo3(get)]
    reason: Option<&'static str>,
    /// The reason's stable code: the risk engine's (e.g. "max_position", "state_halted"), the
    /// account's ("insufficient_balance", "insufficient_holdings", "insufficient_margin") or the
    /// venue's ("post_only_would_take", "requested", ...); None without a reason.
    #[pyo3(get)]
    code: Option<&'static str>,
    /// A denial's numbers, one sentence ("buy 1.000000 BTCUSDT at 86000.00 costs 86064.50 with
    /// fees; free balance 10000.00 (cash 10000.00)"); None for other events.
    #[pyo3(get)]
    detail: Option<String>,
    #[pyo3(get)]
    instrument: Option<u32>,
    #[pyo3(get)]
    side: Option<&'static str>,
    #[pyo3(get)]
    price: Option<f64>,
    #[pyo3(get)]
    qty: Option<f64>,
    #[pyo3(get)]
    fee: Option<f64>,
    #[pyo3(get)]
    liquidity: Option<&'static str>,
}

#[pymethods]
impl PyOrderEvent {
    fn __repr__(&self) -> String {
        let mut s = format!(
            "OrderEvent({}, order_id={}, ts={}",
            self.kind, self.order_id, self.ts
        );
        if let Some(r) = self.reason {
            s += &format!(", reason={r:?}");
        }
        if let Some(d) = &self.detail {
            s += &format!(", detail={d:?}");
        }
        if let (Some(side), Some(px), Some(q)) = (self.side, self.price, self.qty) {
            s += &format!(", {side} {q} @ {px}");
        }
        s + ")"
    }
}

impl PyOrderEvent {
    /// The event as a strategy sees it, in every mode (bars, ticks, L2, live): a fill event with
    /// its fill (`fills[fill_index]`) and instrument (`instruments[fill.instrument]`), a denial
    /// with its numbers (from `denials`, [`Denials::detail`]).
    pub(super) fn of(
        ev: &OrderEvent,
        fills: &[Fill],
        instruments: &[Instrument],
        denials: &Denials,
    ) -> Self {
        let fill = ev
            .kind
            .fill_index()
            .and_then(|i| fills.get(i))
            .and_then(|f| Some((f, instruments.get(f.instrument as usize)?)));
        Self::new(ev, fill, denials.detail(ev).map(str::to_owned))
    }

    /// The event as a strategy sees it; a fill event carries its fill and instrument, a denial
    /// its numbers (every engine builds its events here, so they are the same in every mode).
    fn new(
        ev: &OrderEvent,
        fill: Option<(&crate::model::Fill, &Instrument)>,
        detail: Option<String>,
    ) -> Self {
        let code = ev.kind.reason().map(|r| r.code());
        let base = |kind, order_id, ts, reason| Self {
            kind,
            order_id,
            ts,
            reason,
            code,
            detail: detail.clone(),
            instrument: None,
            side: None,
            price: None,
            qty: None,
            fee: None,
            liquidity: None,
        };
        let (id, ts) = (ev.id, ev.ts);
        let kind = ev.kind.as_str();
        match fill {
            None => base(kind, id, ts, ev.kind.reason().map(|r| r.as_str())),
            Some((f, inst)) => Self {
                instrument: Some(f.instrument),
                side: Some(f.side.as_str()),
                price: Some(from_raw(f.px, inst.price_dp)),
                qty: Some(from_raw(f.qty, inst.size_dp)),
                fee: Some(money_to_f64(f.fee)),
                liquidity: Some(match f.liquidity {
                    Liquidity::Maker => "maker",
                    Liquidity::Taker => "taker",
                }),
                ..base(kind, id, ts, None)
            },
        }
    }
}

/// What a strategy queued during a callback, applied in order after it returns.
enum CtxOp {
    Command(Command),
    /// A modify in the strategy's floats: put on the grid when applied, by the order's side and
    /// kind (which the engine knows).
    Modify {
        id: u64,
        qty: Option<f64>,
        price: Option<f64>,
        trigger: Option<f64>,
    },
    State(TradingState, String),
    /// Confidence of one instrument (None: all).
    Confidence(Option<u32>, f64),
}

/// The strategy's handle on the engine during a run: order entry and a snapshot of the account.
///
/// Commands are queued and reach the venue right after the callback returns, in order.
#[pyclass(module = "trader._core", name = "Context")]
pub struct PyContext {
    instruments: Vec<Instrument>,
    commands: Vec<CtxOp>,
    trading_state: TradingState,
    next_id: u64,
    next_list: u64,
    /// How prices and quantities go on the grid, and what was rounded (shared with the handler,
    /// which converts modifies).
    grid: std::sync::Arc<super::orders::Grid>,
    ts: i64,
    cash: i128,
    equity: i128,
    positions: Vec<i64>,
    /// Per instrument, `Backtest::cost_factor`: sizing folds the fees and the slippage into the
    /// price.
    cost_factor: Vec<f64>,
}

impl PyContext {
    /// The request's client id, or the next free one; ids handed out only grow. A client id must
    /// stay below the engine's own ids (2^62, its EMERGENCY flattening orders).
    fn take_id(&mut self, client: Option<u64>) -> PyResult<u64> {
        Ok(match client {
            Some(c) if c == 0 || c >= crate::engine::ENGINE_ORDER_ID_BASE => {
                return Err(CoreError::InvalidArgument {
                    name: "client_id",
                    reason: format!(
                        "must be within 1..2^62 (the engine's own orders use 2^62 and up), got {c}"
                    ),
                }
                .into());
            }
            Some(c) => {
                self.next_id = self.next_id.max(c);
                c
            }
            None => {
                self.next_id += 1;
                self.next_id
            }
        })
    }

    fn spec(&mut self, request: &Bound<'_, PyAny>) -> PyResult<crate::model::OrderSpec> {
        let instrument: u32 = request.getattr("instrument")?.extract()?;
        let client: Option<u64> = request.getattr("client_id")?.extract()?;
        let inst = self.inst(instrument)?.clone();
        let id = self.take_id(client)?;
        super::orders::spec_from_request(&self.grid, &inst, instrument, request, id)
    }

    fn inst(&self, instrument: u32) -> PyResult<&Instrument> {
        self.instruments.get(instrument as usize).ok_or_else(|| {
            CoreError::InvalidArgument {
                name: "instrument",
                reason: format!(
                    "no instrument {instrument} (there are {})",
                    self.instruments.len()
                ),
            }
            .into()
        })
    }

    fn refresh(&mut self, bt: &Backtest) {
        self.cash = bt.portfolio.cash;
        self.equity = bt.portfolio.equity(&bt.instruments);
        for (dst, p) in self.positions.iter_mut().zip(&bt.portfolio.positions) {
            *dst = p.qty;
        }
        if bt.current_bar().is_some() {
            self.ts = bt.now();
        }
        self.trading_state = bt.risk.state();
        for (k, f) in self.cost_factor.iter_mut().enumerate() {
            *f = bt.cost_factor(k as u32);
        }
    }
}

#[pymethods]
impl PyContext {
    /// `off_tick` / `off_lot`: "round" (a price between two ticks rounds toward the order's
    /// conservative side, a quantity between two lots down; counted in `grid_report()`) or
    /// "reject" (an error naming the value).
    #[new]
    #[pyo3(signature = (symbols, price_precision, size_precision, off_tick = "round", off_lot = "round"))]
    fn new(
        symbols: Vec<String>,
        price_precision: Vec<u8>,
        size_precision: Vec<u8>,
        off_tick: &str,
        off_lot: &str,
    ) -> PyResult<Self> {
        let instruments = make_instruments(symbols, price_precision, size_precision)?;
        let n = instruments.len();
        Ok(Self {
            instruments,
            commands: Vec::new(),
            trading_state: TradingState::Active,
            next_id: 0,
            next_list: 0,
            grid: std::sync::Arc::new(super::orders::Grid::new(off_tick, off_lot)?),
            ts: 0,
            cash: 0,
            equity: 0,
            positions: vec![0; n],
            cost_factor: vec![1.0; n],
        })
    }

    /// Queue an order; returns its id. `side` is +1 (buy) or -1 (sell); `price` makes it a limit
    /// order. Quantities and prices are rounded to the instrument's precision; a quantity that is
    /// not a positive multiple of the lot is rejected by the venue (an order event says why).
    #[pyo3(signature = (side, qty, instrument = 0, price = None))]
    fn submit(
        &mut self,
        side: i32,
        qty: f64,
        instrument: u32,
        price: Option<f64>,
    ) -> PyResult<u64> {
        let inst = self.inst(instrument)?;
        let side = super::orders::side_from_sign(side)?;
        let (qty_raw, kind) = super::orders::market_or_limit(&self.grid, inst, side, qty, price)?;
        let id = self.take_id(None)?;
        self.commands
            .push(CtxOp::Command(Command::Submit(OrderSpec::new(
                id, instrument, side, kind, qty_raw,
            ))));
        Ok(id)
    }

    /// Queue an order request (`trader.orders.OrderRequest`); returns its client order id (the
    /// request's `client_id`, or the next free one). A duplicate id is denied by the venue.
    fn submit_order(&mut self, request: &Bound<'_, PyAny>) -> PyResult<u64> {
        let spec = self.spec(request)?;
        let id = spec.id;
        self.commands.push(CtxOp::Command(Command::Submit(spec)));
        Ok(id)
    }

    /// Queue an entry with protective exits (the fast path of `Strategy.bracket`): a bracket when
    /// both a take-profit and a stop are given, else an OTO. Returns the ids [entry, exits...].
    #[pyo3(signature = (side, qty, instrument = 0, entry_price = None, take_profit = None, stop_loss = None,
        stop_limit = None, trailing_offset = None, offset_type = "price", time_in_force = "GTC"))]
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors Strategy.bracket's keywords"
    )]
    fn bracket(
        &mut self,
        side: i32,
        qty: f64,
        instrument: u32,
        entry_price: Option<f64>,
        take_profit: Option<f64>,
        stop_loss: Option<f64>,
        stop_limit: Option<f64>,
        trailing_offset: Option<f64>,
        offset_type: &str,
        time_in_force: &str,
    ) -> PyResult<Vec<u64>> {
        let side = super::orders::side_from_sign(side)?;
        let inst = self.inst(instrument)?.clone();
        let tif = super::orders::tif_from_name(time_in_force, None)?;
        let grid = self.grid.clone();
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(self.take_id(None)?);
        }
        let mut next = ids.into_iter();
        let (kind, specs) = super::orders::bracket_specs(
            &grid,
            &inst,
            instrument,
            side,
            qty,
            entry_price,
            take_profit,
            stop_loss,
            stop_limit,
            trailing_offset,
            offset_type,
            tif,
            || next.next().unwrap_or(0),
        )?;
        // ids drawn for legs the bracket did not need are not handed out
        self.next_id = specs.iter().map(|s| s.id).max().unwrap_or(self.next_id);
        let ids = specs.iter().map(|s| s.id).collect();
        self.next_list += 1;
        self.commands.push(CtxOp::Command(Command::SubmitList {
            list: self.next_list,
            kind,
            orders: specs,
        }));
        Ok(ids)
    }

    /// Queue a contingent list: `kind` is "oco", "oto" (first request is the parent) or
    /// "bracket" (entry, take-profit, stop-loss). Returns the client ids in the same order.
    fn submit_list(&mut self, kind: &str, requests: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<u64>> {
        let kind = super::orders::list_kind(kind)?;
        let specs = requests
            .iter()
            .map(|r| self.spec(r))
            .collect::<PyResult<Vec<_>>>()?;
        let ids = specs.iter().map(|s| s.id).collect();
        self.next_list += 1;
        self.commands.push(CtxOp::Command(Command::SubmitList {
            list: self.next_list,
            kind,
            orders: specs,
        }));
        Ok(ids)
    }

    /// Queue a change of a working order: total quantity, limit price and/or trigger price.
    #[pyo3(signature = (order_id, qty = None, price = None, trigger = None))]
    fn modify(
        &mut self,
        order_id: u64,
        qty: Option<f64>,
        price: Option<f64>,
        trigger: Option<f64>,
    ) -> PyResult<()> {
        // Put on the grid when applied: the engine knows the order's instrument, side and kind (an
        // id this strategy never used: the venue answers with a ModifyRejected event).
        self.commands.push(CtxOp::Modify {
            id: order_id,
            qty,
            price,
            trigger,
        });
        Ok(())
    }

    /// Queue a cancel of order `order_id`.
    fn cancel(&mut self, order_id: u64) {
        self.commands
            .push(CtxOp::Command(Command::Cancel { id: order_id }));
    }

    /// Queue a cancel of every open order (of one instrument, or all).
    #[pyo3(signature = (instrument = None))]
    fn cancel_all(&mut self, instrument: Option<u32>) {
        self.commands
            .push(CtxOp::Command(Command::CancelAll { instrument }));
    }

    /// The risk engine's trading state ("active", "reducing", "paused", "halted",
    /// "emergency") when the callback started.
    #[getter]
    fn trading_state(&self) -> &'static str {
        self.trading_state.as_str()
    }

    /// Ask for a trading state (the strategy's manual state; the engine's state is the most
    /// severe of it and the risk layers' wishes). Applied in order with the queued commands.
    #[pyo3(signature = (state, reason = ""))]
    fn set_trading_state(&mut self, state: &str, reason: &str) -> PyResult<()> {
        let s = TradingState::parse("state", state)?;
        self.commands.push(CtxOp::State(s, reason.to_string()));
        Ok(())
    }

    /// Feed the decision kernel's composite confidence in [0, 1] to the risk layers (one
    /// instrument, or all when `instrument` is None).
    #[pyo3(signature = (value, instrument = None))]
    fn set_confidence(&mut self, value: f64, instrument: Option<u32>) -> PyResult<()> {
        if !(0.0..=1.0).contains(&value) {
            return Err(CoreError::InvalidArgument {
                name: "value",
                reason: format!("confidence must be in [0, 1], got {value}"),
            }
            .into());
        }
        if let Some(i) = instrument {
            self.inst(i)?;
        }
        self.commands.push(CtxOp::Confidence(instrument, value));
        Ok(())
    }

    /// Signed position of `instrument` in units (long > 0).
    #[pyo3(signature = (instrument = 0))]
    fn position(&self, instrument: u32) -> PyResult<f64> {
        let inst = self.inst(instrument)?;
        Ok(from_raw(self.positions[instrument as usize], inst.size_dp))
    }

    /// Cash balance in quote currency.
    #[getter]
    fn cash(&self) -> f64 {
        money_to_f64(self.cash)
    }

    /// Cash plus positions at the latest closes.
    #[getter]
    fn equity(&self) -> f64 {
        money_to_f64(self.equity)
    }

    /// Time of the current event, UTC epoch nanoseconds.
    #[getter]
    fn ts(&self) -> i64 {
        self.ts
    }

    /// What was put on the grid by rounding (never silent): `prices_rounded`, `qtys_rounded`, and
    /// the first of each as `(asked, became)` or None.
    fn grid_report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (prices, qtys, first_price, first_qty) = self.grid.report();
        let d = PyDict::new(py);
        d.set_item("prices_rounded", prices)?;
        d.set_item("qtys_rounded", qtys)?;
        d.set_item("first_price", first_price)?;
        d.set_item("first_qty", first_qty)?;
        Ok(d)
    }

    /// The quantity step of `instrument`, in units.
    #[pyo3(signature = (instrument = 0))]
    fn lot(&self, instrument: u32) -> PyResult<f64> {
        let inst = self.inst(instrument)?;
        Ok(from_raw(inst.lot, inst.size_dp))
    }

    /// Quantity whose cost at `price` (fees and flat slippage included) is `fraction` of equity,
    /// rounded down to the lot.
    #[pyo3(signature = (fraction, price, instrument = 0))]
    fn qty_for_fraction(&self, fraction: f64, price: f64, instrument: u32) -> PyResult<f64> {
        let inst = self.inst(instrument)?;
        let raw = crate::engine::qty_for_fraction(
            inst,
            fraction,
            money_to_f64(self.equity),
            price * self.cost_factor[instrument as usize],
        );
        Ok(from_raw(raw, inst.size_dp))
    }
}

struct PyHandler<'py> {
    on_bar: Bound<'py, PyAny>,
    on_event: Option<Bound<'py, PyAny>>,
    on_state: Option<Bound<'py, PyAny>>,
    ctx: Bound<'py, PyContext>,
    bars: Vec<Bound<'py, PyBar>>,
    indicators: Vec<(u32, Source, Updater<'py>)>,
    cols: BarColumns<'py>,
}

impl PyHandler<'_> {
    fn drain(&self, bt: &mut Backtest) -> PyResult<()> {
        let (cmds, grid) = {
            let mut c = self.ctx.borrow_mut();
            (std::mem::take(&mut c.commands), c.grid.clone())
        };
        drain_ops(bt, cmds, &grid)
    }

    fn update_indicators(&self, inst: u32, i: usize) -> PyResult<()> {
        let c = &self.cols;
        let b = BarInputs {
            open: c.open[i],
            high: c.high[i],
            low: c.low[i],
            close: c.close[i],
            volume: c.volume[i],
        };
        for (want, src, ind) in &self.indicators {
            if *want == inst {
                ind.update(*src, &b)?;
            }
        }
        Ok(())
    }
}

fn drain_ops(bt: &mut Backtest, ops: Vec<CtxOp>, grid: &super::orders::Grid) -> PyResult<()> {
    for op in ops {
        match op {
            CtxOp::Command(cmd) => bt.submit(cmd),
            CtxOp::Modify {
                id,
                qty,
                price,
                trigger,
            } => {
                let order = bt
                    .venue
                    .orders
                    .get(id)
                    .map(|o| (o.spec.instrument, o.spec.side, o.spec.kind));
                let inst = &bt.instruments[order.map_or(0, |o| o.0) as usize];
                let cmd = super::orders::modify_command(
                    grid,
                    inst,
                    id,
                    order.as_ref().map(|o| (o.1, &o.2)),
                    qty,
                    price,
                    trigger,
                )?;
                bt.submit(cmd);
            }
            CtxOp::State(s, reason) => bt.set_trading_state(s, &reason),
            CtxOp::Confidence(Some(i), c) => bt.risk.set_confidence(i, c),
            CtxOp::Confidence(None, c) => {
                for i in 0..bt.instruments.len() as u32 {
                    bt.risk.set_confidence(i, c);
                }
            }
        }
    }
    Ok(())
}

impl Handler for PyHandler<'_> {
    type Error = PyErr;

    fn on_trading_state(&mut self, bt: &mut Backtest, change: &StateChange) -> PyResult<()> {
        let Some(cb) = &self.on_state else {
            return Ok(());
        };
        let d = super::risk::state_change_dict(cb.py(), change)?;
        self.ctx.borrow_mut().refresh(bt);
        cb.call1((d,))?;
        self.drain(bt)
    }

    fn on_events(&mut self, bt: &mut Backtest) -> PyResult<()> {
        let Some(cb) = &self.on_event else {
            return Ok(());
        };
        // Every event of the order's life, `submitted` included (in send order).
        let events: Vec<PyOrderEvent> = bt
            .events()
            .iter()
            .map(|e| PyOrderEvent::of(e, &bt.fills, &bt.instruments, &bt.denials))
            .collect();
        self.ctx.borrow_mut().refresh(bt);
        for ev in events {
            cb.call1((ev,))?;
        }
        self.drain(bt)
    }

    fn on_bar(&mut self, bt: &mut Backtest, bar: &Bar, i: usize) -> PyResult<()> {
        if !self.indicators.is_empty() {
            self.update_indicators(bar.instrument, i)?;
        }
        self.ctx.borrow_mut().refresh(bt);
        let obj = &self.bars[bar.instrument as usize];
        {
            let c = &self.cols;
            let mut b = obj.borrow_mut();
            b.ts = bar.ts;
            b.ts_close = bt.close_ts(bar);
            b.open = c.open[i];
            b.high = c.high[i];
            b.low = c.low[i];
            b.close = c.close[i];
            b.volume = c.volume[i];
            b.instrument = bar.instrument;
        }
        self.on_bar.call1((obj,))?;
        self.drain(bt)
    }
}

fn make_instruments(
    symbols: Vec<String>,
    price_precision: Vec<u8>,
    size_precision: Vec<u8>,
) -> PyResult<Vec<Instrument>> {
    crate::error::check_len("price_precision", symbols.len(), price_precision.len())?;
    crate::error::check_len("size_precision", symbols.len(), size_precision.len())?;
    let mut out = Vec::with_capacity(symbols.len());
    for ((s, p), q) in symbols.into_iter().zip(price_precision).zip(size_precision) {
        out.push(Instrument::new(s, p, q)?);
    }
    Ok(out)
}

fn run_err(py: Python<'_>, e: RunError<PyErr>) -> PyErr {
    match e {
        RunError::Core(e) => e.into(),
        RunError::Handler(e) => super::strategy_error(py, e),
    }
}

fn bps(name: &'static str, v: f64) -> PyResult<Bps> {
    Bps::from_f64(v).ok_or_else(|| {
        CoreError::InvalidArgument {
            name,
            reason: format!("must be a finite number >= 0, got {v}"),
        }
        .into()
    })
}

/// The backtest engine: one simulated venue, one cash account, bars in batches.
#[pyclass(module = "trader._core", name = "Backtest")]
pub struct PyBacktest {
    inner: Backtest,
    /// Messages of the Python risk layers (exceptions, veto details).
    risk_log: super::risk::LayerLog,
}

// accounts: `configure_account` / `account_state` (python/accounts.rs) reach the engine here.
impl PyBacktest {
    pub(super) fn inner(&self) -> &Backtest {
        &self.inner
    }

    pub(super) fn inner_mut(&mut self) -> &mut Backtest {
        &mut self.inner
    }
}

/// The float columns of a batch of bars, read from Python (each a contiguous float64 array).
struct Ohlcv<'py>([numpy::PyReadonlyArray1<'py, f64>; 5]);

impl<'py> Ohlcv<'py> {
    fn read(
        open: &Bound<'py, PyAny>,
        high: &Bound<'py, PyAny>,
        low: &Bound<'py, PyAny>,
        close: &Bound<'py, PyAny>,
        volume: &Bound<'py, PyAny>,
    ) -> PyResult<Self> {
        Ok(Self([
            f64_array(open, "open")?,
            f64_array(high, "high")?,
            f64_array(low, "low")?,
            f64_array(close, "close")?,
            f64_array(volume, "volume")?,
        ]))
    }

    /// The batch with its times and instruments (None: every bar is instrument 0).
    fn columns<'a>(
        &'a self,
        ts: &'a [i64],
        instrument: Option<&'a [u32]>,
    ) -> PyResult<BarColumns<'a>> {
        let [o, h, l, c, v] = &self.0;
        Ok(BarColumns {
            ts,
            open: o.as_slice()?,
            high: h.as_slice()?,
            low: l.as_slice()?,
            close: c.as_slice()?,
            volume: v.as_slice()?,
            instrument,
        })
    }
}

#[pymethods]
impl PyBacktest {
    #[new]
    #[pyo3(signature = (symbols, price_precision, size_precision, cash = 10_000.0, fee_bps = 0.0, slippage_bps = 0.0, fill_at = "next_open"))]
    fn new(
        symbols: Vec<String>,
        price_precision: Vec<u8>,
        size_precision: Vec<u8>,
        cash: f64,
        fee_bps: f64,
        slippage_bps: f64,
        fill_at: &str,
    ) -> PyResult<Self> {
        let instruments = make_instruments(symbols, price_precision, size_precision)?;
        let fill_at = match fill_at {
            "next_open" => FillAt::NextOpen,
            "close" => FillAt::Close,
            other => {
                return Err(CoreError::InvalidArgument {
                    name: "fill_at",
                    reason: format!("must be 'next_open' or 'close', got {other:?}"),
                }
                .into());
            }
        };
        let cfg = VenueConfig {
            fill_at,
            slippage: bps("slippage_bps", slippage_bps)?,
            fee: bps("fee_bps", fee_bps)?,
            ..VenueConfig::default()
        };
        Ok(Self {
            inner: Backtest::new(instruments, cfg, cash)?,
            risk_log: Default::default(),
        })
    }

    /// Run one batch of bars through a Python strategy. `indicators` is a list of
    /// `(instrument, source, indicator)` updated before each `on_bar` of that instrument.
    #[allow(clippy::too_many_arguments, reason = "mirrors the Python signature")]
    #[pyo3(signature = (on_bar, on_event, context, ts, open, high, low, close, volume, instrument = None, indicators = Vec::new(), on_state = None))]
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        on_bar: Bound<'py, PyAny>,
        on_event: Option<Bound<'py, PyAny>>,
        context: Bound<'py, PyContext>,
        ts: numpy::PyReadonlyArray1<'py, i64>,
        open: &Bound<'py, PyAny>,
        high: &Bound<'py, PyAny>,
        low: &Bound<'py, PyAny>,
        close: &Bound<'py, PyAny>,
        volume: &Bound<'py, PyAny>,
        instrument: Option<numpy::PyReadonlyArray1<'py, u32>>,
        indicators: Vec<(u32, String, Bound<'py, PyAny>)>,
        on_state: Option<Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        let ohlcv = Ohlcv::read(open, high, low, close, volume)?;
        let cols = ohlcv.columns(
            ts.as_slice()?,
            instrument.as_ref().map(|a| a.as_slice()).transpose()?,
        )?;
        let n_inst = self.inner.instruments.len();
        if context.borrow().instruments.len() != n_inst {
            return Err(CoreError::InvalidArgument {
                name: "context",
                reason: "context and engine have different instruments".into(),
            }
            .into());
        }
        let bars = (0..n_inst)
            .map(|_| Bound::new(py, PyBar::default()))
            .collect::<PyResult<Vec<_>>>()?;
        let indicators = indicators
            .into_iter()
            .map(|(i, s, ind)| {
                let src = Source::parse(&s)?;
                Ok((i, src, Updater::new(ind, src)?))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let mut h = PyHandler {
            on_bar,
            on_event,
            on_state,
            ctx: context,
            bars,
            indicators,
            cols,
        };
        self.inner.run(&cols, &mut h).map_err(|e| run_err(py, e))
    }

    /// Run one batch through the vectorized path: decisions for every bar computed up front,
    /// simulated in Rust with the GIL released. Give `signal` (int8: +1 long, -1 short/exit, 0
    /// nothing; ema_cross semantics with `allow_short`) or `target` (float: target position in
    /// units, NaN = keep). `qty` > 0 is a fixed order size, else `size` × equity.
    #[allow(clippy::too_many_arguments, reason = "mirrors the Python signature")]
    #[pyo3(signature = (ts, open, high, low, close, volume, instrument = None, *, signal = None, target = None, qty = 0.0, size = 1.0, allow_short = false))]
    fn run_vectorized<'py>(
        &mut self,
        py: Python<'py>,
        ts: numpy::PyReadonlyArray1<'py, i64>,
        open: &Bound<'py, PyAny>,
        high: &Bound<'py, PyAny>,
        low: &Bound<'py, PyAny>,
        close: &Bound<'py, PyAny>,
        volume: &Bound<'py, PyAny>,
        instrument: Option<numpy::PyReadonlyArray1<'py, u32>>,
        signal: Option<numpy::PyReadonlyArray1<'py, i8>>,
        target: Option<&Bound<'py, PyAny>>,
        qty: f64,
        size: f64,
        allow_short: bool,
    ) -> PyResult<()> {
        let ohlcv = Ohlcv::read(open, high, low, close, volume)?;
        let target = target.map(|t| f64_array(t, "target")).transpose()?;
        let cols = ohlcv.columns(
            ts.as_slice()?,
            instrument.as_ref().map(|a| a.as_slice()).transpose()?,
        )?;
        let decisions = decisions_of(
            cols.len(),
            signal.as_ref().map(|s| s.as_slice()).transpose()?,
            target.as_ref().map(|t| t.as_slice()).transpose()?,
            qty,
            size,
            allow_short,
        )?;
        let inner = &mut self.inner;
        py.detach(|| {
            let mut h = VectorHandler {
                decisions,
                close: cols.close,
                qty,
                size,
            };
            inner.run(&cols, &mut h)
        })
        .map_err(|e| match e {
            RunError::Core(e) | RunError::Handler(e) => PyErr::from(e),
        })
    }

    /// Each instrument's bar interval in ns (0: unknown), before the run: while `on_bar` runs the
    /// clock is the bar's close time (`ts + interval`), so orders, their events and the latency
    /// count from the close.
    fn set_bar_intervals(&mut self, intervals: Vec<i64>) -> PyResult<()> {
        Ok(self.inner_mut().set_bar_intervals(intervals)?)
    }

    /// End the run: record the last equity point, close the risk engine's time accounting and
    /// seal its audit log. Open orders and positions stay.
    fn finish(&mut self) {
        self.inner.finish();
    }

    /// Configure the risk engine (before the run) from the config dict `trader.risk` builds:
    /// `bypass`, `initial_state`, `limits`, `layers`, optional `audit_key` (bytes or str: the
    /// audit chain is then HMAC-SHA256 keyed by it). Errors name the key.
    fn configure_risk(&mut self, cfg: &Bound<'_, PyDict>) -> PyResult<()> {
        if !self.inner.fills.is_empty() || self.inner.bars() > 0 {
            return Err(CoreError::InvalidArgument {
                name: "backtest",
                reason: "configure the risk engine before the run".into(),
            }
            .into());
        }
        let log: super::risk::LayerLog = Default::default();
        let engine = super::risk::configure(cfg, &self.inner.instruments, &log)?;
        self.inner.set_risk(engine);
        self.risk_log = log;
        Ok(())
    }

    /// The risk report: denials by reason code, vetoes by layer, resized orders, state changes,
    /// seconds in each state, the current state, and the Python layers' messages.
    fn risk_report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        super::risk::report(
            py,
            self.inner.risk.report(),
            self.inner.risk.state(),
            &self.risk_log,
        )
    }

    /// The audit log's entries (dicts: seq, ts, kind, from, to, source, reason, prev_hash, hash;
    /// code and orders for denials and resizes; count, last_ts, last_reason for a folded run of
    /// denials). Before the end of the run, the open run of denials is the last dict, as it
    /// stands.
    fn audit_entries<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        super::risk::entry_dicts(py, self.inner.risk.audit())
    }

    /// The risk engine's trading state.
    #[getter]
    fn trading_state(&self) -> &'static str {
        self.inner.risk.state().as_str()
    }

    /// A manual trading-state command from outside the strategy (an operator).
    #[pyo3(signature = (state, reason = ""))]
    fn set_trading_state(&mut self, state: &str, reason: &str) -> PyResult<()> {
        let s = TradingState::parse("state", state)?;
        self.inner.set_trading_state(s, reason);
        Ok(())
    }

    /// The fills so far as numpy columns: ts, instrument, side (+1/-1), price, qty, fee, order_id,
    /// maker (bool), liquidation (bool).
    fn fills<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let bt = &self.inner;
        let f = &bt.fills;
        let d = PyDict::new(py);
        let dp = |i: u32| &bt.instruments[i as usize];
        d.set_item(
            "ts",
            f.iter().map(|x| x.ts).collect::<Vec<_>>().into_pyarray(py),
        )?;
        d.set_item(
            "instrument",
            f.iter()
                .map(|x| x.instrument)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "side",
            f.iter()
                .map(|x| x.side.sign() as i8)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "price",
            f.iter()
                .map(|x| from_raw(x.px, dp(x.instrument).price_dp))
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "qty",
            f.iter()
                .map(|x| from_raw(x.qty, dp(x.instrument).size_dp))
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "fee",
            f.iter()
                .map(|x| money_to_f64(x.fee))
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "order_id",
            f.iter()
                .map(|x| x.order_id)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        d.set_item(
            "maker",
            f.iter()
                .map(|x| x.liquidity == Liquidity::Maker)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        // accounts: forced closes by the margin account's liquidation engine.
        d.set_item(
            "liquidation",
            f.iter()
                .map(|x| x.liquidation)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )?;
        Ok(d)
    }

    /// Per fill, the arrival price of its order (the market price when it was sent; NaN when
    /// unknown, e.g. a liquidation), aligned with `fills()`.
    fn fill_arrivals<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let bt = &self.inner;
        let arrival = |x: &crate::model::Fill| {
            let px = bt.venue.orders.get(x.order_id).and_then(|o| o.arrival_px);
            px.map_or(f64::NAN, |p| {
                from_raw(p, bt.instruments[x.instrument as usize].price_dp)
            })
        };
        bt.fills
            .iter()
            .map(arrival)
            .collect::<Vec<_>>()
            .into_pyarray(py)
    }

    /// Every order of the run as columns (numpy arrays, or lists of str): order_id, instrument,
    /// side, type, time_in_force, post_only, reduce_only, display_qty, qty, filled, leaves,
    /// avg_price, price, trigger, status, reason, contingency, list_id, parent_id, arrival_price,
    /// ts_init, ts_last. Prices/quantities in units; NaN / None where not applicable.
    fn orders_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let bt = &self.inner;
        let all: Vec<&crate::model::Order> = bt.venue.orders.all().collect();
        let inst = |o: &crate::model::Order| &bt.instruments[o.spec.instrument as usize];
        let px = |o: &crate::model::Order, v: Option<i64>| {
            v.map_or(f64::NAN, |p| from_raw(p, inst(o).price_dp))
        };
        let qty = |o: &crate::model::Order, v: i64| from_raw(v, inst(o).size_dp);
        let d = PyDict::new(py);
        macro_rules! col {
            ($name:expr, $f:expr) => {
                d.set_item(
                    $name,
                    all.iter()
                        .map(|o| $f(*o))
                        .collect::<Vec<_>>()
                        .into_pyarray(py),
                )?
            };
        }
        macro_rules! list {
            ($name:expr, $f:expr) => {
                d.set_item($name, all.iter().map(|o| $f(*o)).collect::<Vec<_>>())?
            };
        }
        col!("order_id", |o: &crate::model::Order| o.id());
        col!("instrument", |o: &crate::model::Order| o.spec.instrument);
        list!("side", |o: &crate::model::Order| o.spec.side.as_str());
        list!("type", |o: &crate::model::Order| o.spec.kind.as_str());
        list!("time_in_force", |o: &crate::model::Order| o
            .spec
            .tif
            .as_str());
        col!("post_only", |o: &crate::model::Order| o.spec.post_only);
        col!("reduce_only", |o: &crate::model::Order| o.spec.reduce_only);
        col!("display_qty", |o: &crate::model::Order| o
            .spec
            .display_qty
            .map_or(f64::NAN, |q| qty(o, q)));
        col!("qty", |o: &crate::model::Order| qty(o, o.spec.qty));
        col!("filled", |o: &crate::model::Order| qty(o, o.filled));
        // what the order may still trade: nothing once it is closed (a partly filled then canceled
        // order leaves nothing working)
        col!("leaves", |o: &crate::model::Order| qty(o, o.leaves()));
        list!("reason_code", |o: &crate::model::Order| o
            .reason
            .map(|r| r.code()));
        col!("avg_price", |o: &crate::model::Order| o
            .avg_px()
            .map_or(f64::NAN, |p| p / 10f64
                .powi(inst(o).price_dp as i32)));
        col!("price", |o: &crate::model::Order| px(o, o.limit_price()));
        col!("trigger", |o: &crate::model::Order| px(
            o,
            o.trigger_price()
        ));
        list!("status", |o: &crate::model::Order| o.status.as_str());
        list!("reason", |o: &crate::model::Order| o
            .reason
            .map(|r| r.as_str()));
        let contingency = |o: &crate::model::Order| {
            let l = o.list.and_then(|l| bt.venue.orders.list(l))?;
            Some(match l.kind {
                crate::model::ListKind::Oco => "OCO",
                crate::model::ListKind::Oto => {
                    if o.parent.is_some() {
                        "OTO_CHILD"
                    } else {
                        "OTO"
                    }
                }
                crate::model::ListKind::Bracket => {
                    if o.parent.is_some() {
                        "OUO"
                    } else {
                        "OTO"
                    }
                }
            })
        };
        list!("contingency", contingency);
        list!("list_id", |o: &crate::model::Order| o.list);
        list!("parent_id", |o: &crate::model::Order| o.parent);
        col!("arrival_price", |o: &crate::model::Order| px(
            o,
            o.arrival_px
        ));
        col!("ts_init", |o: &crate::model::Order| o.ts_init);
        col!("ts_last", |o: &crate::model::Order| o.ts_last);
        Ok(d)
    }

    /// The fills as exact decimal strings (price, qty, fee), for reports that must not round.
    fn fills_exact(&self) -> Vec<(i64, u32, i8, String, String, String, u64)> {
        let bt = &self.inner;
        bt.fills
            .iter()
            .map(|f| {
                let inst = &bt.instruments[f.instrument as usize];
                (
                    f.ts,
                    f.instrument,
                    f.side.sign() as i8,
                    format_fixed(f.px as i128, inst.price_dp as u32),
                    format_fixed(f.qty as i128, inst.size_dp as u32),
                    format_fixed(f.fee, MONEY_DP),
                    f.order_id,
                )
            })
            .collect()
    }

    /// The equity curve: (ts, equity, exposed).
    fn equity_curve<'py>(
        &self,
        py: Python<'py>,
    ) -> (
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<bool>>,
    ) {
        let c = &self.inner.curve;
        (
            c.ts.clone().into_pyarray(py),
            c.equity.clone().into_pyarray(py),
            c.exposed.clone().into_pyarray(py),
        )
    }

    /// The equity curve, moved out of the engine (no copy; the engine's curve is empty after).
    fn take_equity_curve<'py>(
        &mut self,
        py: Python<'py>,
    ) -> (
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<bool>>,
    ) {
        let c = std::mem::take(&mut self.inner.curve);
        (
            c.ts.into_pyarray(py),
            c.equity.into_pyarray(py),
            c.exposed.into_pyarray(py),
        )
    }

    /// The round trips as columns: every closed one in order, then the ones still open at the
    /// end of the data (`closed` False, marked at the last price, `exit_reason` "end_of_data").
    /// `instrument`, `long`, `entry_ts`, `exit_ts`, `qty` (the largest size reached),
    /// `entry_price` / `exit_price` (average of the opening / closing fills), `pnl` (net of fees
    /// and funding), `fees`, `return` (pnl over the money paid to open), `mae` / `mfe` (the
    /// lowest / highest PnL the trip reached, at the bars' extremes, before fees),
    /// `exit_reason` (signal, stop, take_profit, trailing, liquidation, risk, end_of_data),
    /// `closed`.
    fn trades<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let bt = &self.inner;
        // the curve may have been handed to Python already: the engine keeps where it ended
        let end = bt.curve.ts.last().copied().unwrap_or(bt.marked_ts());
        let open = bt.portfolio.open_trades(&bt.instruments, end);
        let t: Vec<&crate::portfolio::Trade> = bt.portfolio.trades.iter().chain(&open).collect();
        // NB: one pass over the trades filling every column (a pass per column read each
        // ~200-byte trade 13 times: ~1 ms for 18k trades)
        let n = t.len();
        let (mut instrument, mut long, mut entry_ts, mut exit_ts) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut f = [(); 8].map(|_| Vec::<f64>::with_capacity(n));
        let mut closed = Vec::with_capacity(n);
        // one Python string per distinct reason, shared by its trades
        let mut seen: Vec<(&'static str, Bound<'py, PyString>)> = Vec::new();
        let reasons = PyList::empty(py);
        for x in &t {
            let inst = &bt.instruments[x.instrument as usize];
            instrument.push(x.instrument);
            long.push(x.long);
            entry_ts.push(x.entry_ts);
            exit_ts.push(x.exit_ts);
            let pnl = money_to_f64(x.pnl);
            let ret = if x.entry_cost > 0 {
                pnl / money_to_f64(x.entry_cost)
            } else {
                0.0
            };
            let values = [
                from_raw(x.max_qty, inst.size_dp),
                x.entry_px() / inst.price_scale,
                x.exit_px() / inst.price_scale,
                pnl,
                money_to_f64(x.fees),
                ret,
                money_to_f64(x.mae),
                money_to_f64(x.mfe),
            ];
            for (col, v) in f.iter_mut().zip(values) {
                col.push(v);
            }
            closed.push(x.closed);
            let r = crate::engine::exit_reason(x);
            let s = match seen.iter().find(|(k, _)| *k == r) {
                Some((_, s)) => s.clone(),
                None => {
                    let s = PyString::new(py, r);
                    seen.push((r, s.clone()));
                    s
                }
            };
            reasons.append(s)?;
        }
        let d = PyDict::new(py);
        d.set_item("instrument", instrument.into_pyarray(py))?;
        d.set_item("long", long.into_pyarray(py))?;
        d.set_item("entry_ts", entry_ts.into_pyarray(py))?;
        d.set_item("exit_ts", exit_ts.into_pyarray(py))?;
        let names = [
            "qty",
            "entry_price",
            "exit_price",
            "pnl",
            "fees",
            "return",
            "mae",
            "mfe",
        ];
        for (name, col) in names.into_iter().zip(f) {
            d.set_item(name, col.into_pyarray(py))?;
        }
        d.set_item("closed", closed.into_pyarray(py))?;
        d.set_item("exit_reason", reasons)?;
        Ok(d)
    }

    /// Open positions: list of (instrument, qty, avg_price, realized_pnl, unrealized_pnl).
    fn positions(&self) -> Vec<(u32, f64, f64, f64, f64)> {
        let bt = &self.inner;
        bt.portfolio
            .positions
            .iter()
            .zip(&bt.instruments)
            .enumerate()
            .map(|(i, (p, inst))| {
                (
                    i as u32,
                    from_raw(p.qty, inst.size_dp),
                    p.avg_px(inst),
                    money_to_f64(p.realized),
                    money_to_f64(p.unrealized(inst)),
                )
            })
            .collect()
    }

    /// Open orders: list of (order_id, instrument, side, qty, limit price or None).
    fn open_orders(&self) -> Vec<(u64, u32, i8, f64, Option<f64>)> {
        let bt = &self.inner;
        bt.venue
            .working_orders()
            .map(|o| {
                let s = &o.spec;
                let inst = &bt.instruments[s.instrument as usize];
                let px = s.kind.limit_px().map(|p| from_raw(p, inst.price_dp));
                (
                    s.id,
                    s.instrument,
                    s.side.sign() as i8,
                    from_raw(o.leaves(), inst.size_dp),
                    px,
                )
            })
            .collect()
    }

    #[getter]
    fn cash(&self) -> f64 {
        self.inner.cash()
    }

    #[getter]
    fn equity(&self) -> f64 {
        self.inner.equity()
    }

    #[getter]
    fn fees(&self) -> f64 {
        money_to_f64(self.inner.portfolio.fees)
    }

    /// The account as exact decimal strings: initial_cash, cash, fees, positions (per instrument).
    fn account_exact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let bt = &self.inner;
        let p = &bt.portfolio;
        let d = PyDict::new(py);
        d.set_item("initial_cash", format_fixed(p.initial_cash, MONEY_DP))?;
        d.set_item("cash", format_fixed(p.cash, MONEY_DP))?;
        d.set_item("fees", format_fixed(p.fees, MONEY_DP))?;
        let positions: Vec<String> = p
            .positions
            .iter()
            .zip(&bt.instruments)
            .map(|(pos, inst)| format_fixed(pos.qty as i128, inst.size_dp as u32))
            .collect();
        d.set_item("positions", positions)?;
        Ok(d)
    }

    #[getter]
    fn bars(&self) -> u64 {
        self.inner.bars()
    }

    #[getter]
    fn orders(&self) -> u64 {
        self.inner.venue.orders_submitted
    }
}

/// One-pass statistics of an equity curve at times `ts`: mean and sample std of the simple
/// returns (the first against `initial`; they stop at the ruin point, the first equity at or
/// below zero, whose return is -100 %), downside deviation, max drawdown (fraction), the longest
/// run of points and the longest time (ns) below a peak, the exposure fraction, `ruin` (the
/// index of the ruin point or None) and `n_returns`. A dict.
#[pyfunction]
fn curve_stats<'py>(
    py: Python<'py>,
    equity: &Bound<'py, PyAny>,
    ts: numpy::PyReadonlyArray1<'py, i64>,
    exposed: numpy::PyReadonlyArray1<'py, bool>,
    initial: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let eq = f64_array(equity, "equity")?;
    let (eq, t, ex) = (eq.as_slice()?, ts.as_slice()?, exposed.as_slice()?);
    crate::error::check_len("exposed", eq.len(), ex.len())?;
    crate::error::check_len("ts", eq.len(), t.len())?;
    let s = py.detach(|| crate::stats::curve_stats(eq, t, ex, initial));
    let d = PyDict::new(py);
    d.set_item("n", s.n)?;
    d.set_item("n_returns", s.n_returns)?;
    d.set_item("ruin", s.ruin)?;
    d.set_item("max_drawdown_ns", s.max_drawdown_ns)?;
    d.set_item("mean_return", s.mean_return)?;
    d.set_item("std_return", s.std_return)?;
    d.set_item("downside_dev", s.downside_dev)?;
    d.set_item("max_drawdown", s.max_drawdown)?;
    d.set_item("max_drawdown_points", s.max_drawdown_points)?;
    d.set_item("exposure", s.exposure)?;
    Ok(d)
}

/// The smallest number of decimals (0..=9) at which every finite value of the arrays sits on the
/// price grid, by the engine's own check (float noise 1e-12 relative); 9 when none does.
#[pyfunction]
fn price_decimals(py: Python<'_>, arrays: Vec<numpy::PyReadonlyArray1<'_, f64>>) -> PyResult<u8> {
    let cols: Vec<&[f64]> = arrays
        .iter()
        .map(|a| a.as_slice())
        .collect::<Result<_, _>>()?;
    Ok(py.detach(|| crate::simd::price_decimals(&cols, crate::model::fixed::MAX_DP)))
}

/// The decisions of a vectorized run of `n` bars: exactly one of `signal` and `target`, each `n`
/// long, and a valid order size (`qty` >= 0, `size` > 0). Errors name the argument.
fn decisions_of<'a>(
    n: usize,
    signal: Option<&'a [i8]>,
    target: Option<&'a [f64]>,
    qty: f64,
    size: f64,
    allow_short: bool,
) -> PyResult<Decisions<'a>> {
    let decisions = match (signal, target) {
        (Some(s), None) => {
            crate::error::check_len("signal", n, s.len())?;
            Decisions::Signals {
                signal: s,
                allow_short,
            }
        }
        (None, Some(t)) => {
            crate::error::check_len("target", n, t.len())?;
            Decisions::Targets { target: t }
        }
        _ => {
            return Err(CoreError::InvalidArgument {
                name: "signal",
                reason: "give exactly one of signal= or target=".into(),
            }
            .into());
        }
    };
    if !(qty >= 0.0 && qty.is_finite()) || !(size > 0.0 && size.is_finite()) {
        return Err(CoreError::InvalidArgument {
            name: "qty",
            reason: format!("qty must be >= 0 and size > 0, got qty={qty}, size={size}"),
        }
        .into());
    }
    Ok(decisions)
}

/// One engine of [`run_vectorized_many`]: its engine, decisions and order size.
struct VectorRun<'a> {
    bt: &'a mut Backtest,
    decisions: Decisions<'a>,
    qty: f64,
    size: f64,
}

/// Run `runs` over `cols`, `chunk` bars at a time: each chunk of bars is read once for all of the
/// runs (it stays in cache while they go through it). Stops at the first error; returns the
/// index of the run that raised it.
fn run_chunked(
    runs: &mut [VectorRun<'_>],
    cols: &crate::model::bar::BarColumns<'_>,
    chunk: usize,
) -> Result<(), (usize, CoreError)> {
    let n = cols.len();
    let mut a = 0;
    while a < n {
        let b = (a + chunk).min(n);
        let part = cols.slice(a, b);
        for (k, run) in runs.iter_mut().enumerate() {
            let mut h = VectorHandler {
                decisions: run.decisions.slice(a, b),
                close: part.close,
                qty: run.qty,
                size: run.size,
            };
            run.bt.run_checked(&part, &mut h).map_err(|e| match e {
                RunError::Core(e) | RunError::Handler(e) => (k, e),
            })?;
        }
        a = b;
    }
    Ok(())
}

/// Many vectorized runs over the same bars, each engine with its own decisions: a sweep's runs
/// of a strategy's combinations. Each engine ends exactly as `engine.run_vectorized(...)` with
/// its decisions would leave it (the same bars in consecutive batches give the same run).
///
/// The bars are checked once (engines with other instruments than the first are checked on
/// their own). The engines are split among `threads` OS threads (0: the machine's cores), with
/// the GIL released; each thread takes the bars `chunk` at a time and runs every one of its
/// engines over the chunk before the next, so the bars are read from memory once per thread,
/// not once per engine. `signals[k]` / `targets[k]` (one of the two), `qty[k]`, `size[k]`,
/// `allow_short[k]`: engine k's decisions, as `run_vectorized` takes them. An error is raised
/// as the lowest-numbered failing engine's, after every thread has stopped.
#[pyfunction]
#[allow(
    clippy::too_many_arguments,
    reason = "the bars' columns and the runs' decisions"
)]
#[pyo3(signature = (engines, ts, open, high, low, close, volume, *, signals, targets, qty, size, allow_short, threads = 0, chunk = 8192))]
fn run_vectorized_many<'py>(
    py: Python<'py>,
    engines: Vec<Bound<'py, PyBacktest>>,
    ts: numpy::PyReadonlyArray1<'py, i64>,
    open: &Bound<'py, PyAny>,
    high: &Bound<'py, PyAny>,
    low: &Bound<'py, PyAny>,
    close: &Bound<'py, PyAny>,
    volume: &Bound<'py, PyAny>,
    signals: Vec<Option<numpy::PyReadonlyArray1<'py, i8>>>,
    targets: Vec<Option<Bound<'py, PyAny>>>,
    qty: Vec<f64>,
    size: Vec<f64>,
    allow_short: Vec<bool>,
    threads: usize,
    chunk: usize,
) -> PyResult<()> {
    let m = engines.len();
    for (name, len) in [
        ("signals", signals.len()),
        ("targets", targets.len()),
        ("qty", qty.len()),
        ("size", size.len()),
        ("allow_short", allow_short.len()),
    ] {
        crate::error::check_len(name, m, len)?;
    }
    if chunk == 0 {
        return Err(CoreError::InvalidArgument {
            name: "chunk",
            reason: "must be at least 1 bar".into(),
        }
        .into());
    }
    let ohlcv = Ohlcv::read(open, high, low, close, volume)?;
    let cols = ohlcv.columns(ts.as_slice()?, None)?;
    let targets = targets
        .iter()
        .map(|t| t.as_ref().map(|t| f64_array(t, "target")).transpose())
        .collect::<PyResult<Vec<_>>>()?;
    let mut guards = engines
        .iter()
        .map(|e| e.try_borrow_mut())
        .collect::<Result<Vec<_>, _>>()?;
    let mut runs = Vec::with_capacity(m);
    for (k, g) in guards.iter_mut().enumerate() {
        let decisions = decisions_of(
            cols.len(),
            signals[k].as_ref().map(|s| s.as_slice()).transpose()?,
            targets[k].as_ref().map(|t| t.as_slice()).transpose()?,
            qty[k],
            size[k],
            allow_short[k],
        )?;
        runs.push(VectorRun {
            bt: &mut g.inner,
            decisions,
            qty: qty[k],
            size: size[k],
        });
    }
    for k in 0..runs.len() {
        if k == 0 || !runs[k].bt.same_instruments(runs[0].bt) {
            runs[k].bt.check_batch(&cols)?;
        }
        let hint = VectorHandler {
            decisions: runs[k].decisions,
            close: cols.close,
            qty: runs[k].qty,
            size: runs[k].size,
        }
        .orders_hint(cols.len())
        .min(cols.len());
        runs[k].bt.reserve(cols.len(), hint);
    }
    if runs.is_empty() {
        return Ok(());
    }
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |t| t.get()),
        t => t,
    }
    .min(runs.len());
    let per = runs.len().div_ceil(threads);
    let failed = py.detach(|| {
        std::thread::scope(|s| {
            let cols = &cols;
            let handles: Vec<_> = runs
                .chunks_mut(per)
                .enumerate()
                .map(|(g, group)| {
                    s.spawn(move || {
                        run_chunked(group, cols, chunk).map_err(|(k, e)| (g * per + k, e))
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().expect("a vectorized run panicked").err())
                .min_by_key(|(k, _)| *k)
        })
    });
    match failed {
        Some((_, e)) => Err(e.into()),
        None => Ok(()),
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run_vectorized_many, m)?)?;
    m.add_function(wrap_pyfunction!(curve_stats, m)?)?;
    m.add_function(wrap_pyfunction!(price_decimals, m)?)?;
    m.add_class::<PyBacktest>()?;
    m.add_class::<PyContext>()?;
    m.add_class::<PyBar>()?;
    m.add_class::<PyOrderEvent>()?;
    Ok(())
}
