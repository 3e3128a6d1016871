//! Bindings of tick decoding (`read_tardis`, `read_binance_ticks`: numpy columns) and of the L2
//! backtest loop (`run_l2_backtest`: the native passive market maker, or a Python strategy called
//! on the throttle through an `L2Context`). Both runs take the risk config dict of
//! `trader.risk.RiskSettings.to_core` (parsed by `python/risk.rs`, as `Backtest.configure_risk`).

use std::path::PathBuf;

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::indicators::{BarInputs, Source, Updater};
use crate::book::MarketKind;
use crate::data::decimal::decimals_of_floats;
use crate::data::ticks::QuoteTicks as Qt;
use crate::data::ticks::{
    QuoteTicks, Ticks, TradeTicks, read_binance_ticks_file, read_tardis_file,
};
use crate::engine_l2::{
    self, L2Config, L2Report, L2Run, L2Strategy, L2View, Op, Outbox, PassiveMarketMaker, TopOfBook,
    TradePrint, Wants, checkpoint_error, l2_instrument, run_l2_files_with, run_ticks_with,
    ticks_instrument,
};
use crate::error::{CoreError, CoreResult};
use crate::model::fixed::{MONEY_DP, from_raw, money_to_f64, pow10, to_raw};
use crate::model::order::{Command, Fill, OrderEvent, OrderSpec};
use crate::model::{AggressorSide, Instrument};
use crate::risk::{RiskEngine, StateChange, TradingState};
use crate::venue::queue::QueueModel;

fn trades_dict<'py>(py: Python<'py>, t: TradeTicks) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("ts_event", t.ts_event.into_pyarray(py))?;
    d.set_item("ts_local", t.ts_local.into_pyarray(py))?;
    d.set_item("price", t.price.into_pyarray(py))?;
    d.set_item("size", t.size.into_pyarray(py))?;
    d.set_item("side", t.side.into_pyarray(py))?;
    d.set_item("id", t.id.into_pyarray(py))?;
    Ok(d)
}

fn quotes_dict<'py>(py: Python<'py>, q: QuoteTicks) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("ts_event", q.ts_event.into_pyarray(py))?;
    d.set_item("ts_local", q.ts_local.into_pyarray(py))?;
    d.set_item("bid_price", q.bid_price.into_pyarray(py))?;
    d.set_item("bid_size", q.bid_size.into_pyarray(py))?;
    d.set_item("ask_price", q.ask_price.into_pyarray(py))?;
    d.set_item("ask_size", q.ask_size.into_pyarray(py))?;
    Ok(d)
}

/// Decode a Tardis trades or quotes CSV (`.csv`/`.csv.gz`) into numpy columns:
/// `(kind, columns)` with kind "trades" or "quotes".
#[pyfunction]
fn read_tardis<'py>(py: Python<'py>, path: PathBuf) -> PyResult<(String, Bound<'py, PyDict>)> {
    let t = py.detach(|| read_tardis_file(&path))?;
    Ok(match t {
        Ticks::Trades(t) => ("trades".into(), trades_dict(py, t)?),
        Ticks::Quotes(q) => ("quotes".into(), quotes_dict(py, q)?),
    })
}

/// Decode the trade and bookTicker streams of a raw Binance WebSocket recording:
/// `(trades, quotes)` numpy column dicts.
#[pyfunction]
fn read_binance_ticks<'py>(
    py: Python<'py>,
    path: PathBuf,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
    let w = py.detach(|| read_binance_ticks_file(&path))?;
    Ok((trades_dict(py, w.trades)?, quotes_dict(py, w.quotes)?))
}

/// A trade print as a strategy sees it in `on_trade` (tick and L2 runs).
///
/// NB: the engine reuses one object for every trade of a run (no Python object per trade):
/// read it inside the callback, `copy()` to keep one.
#[pyclass(module = "trader._core", name = "TradeTick")]
#[derive(Clone, Debug, Default)]
pub struct PyTradeTick {
    /// The run's clock at the print, UTC epoch ns (an L2 run: the recorder's receive time).
    #[pyo3(get)]
    ts: i64,
    #[pyo3(get)]
    price: f64,
    #[pyo3(get)]
    size: f64,
    /// The aggressor: "BUY" (the buyer lifted the offer), "SELL", or None when unknown.
    #[pyo3(get)]
    side: Option<&'static str>,
    /// The exchange's trade id, None when the source has none.
    #[pyo3(get)]
    id: Option<i64>,
}

fn aggressor_name(a: AggressorSide) -> Option<&'static str> {
    match a {
        AggressorSide::Buyer => Some("BUY"),
        AggressorSide::Seller => Some("SELL"),
        AggressorSide::NoAggressor => None,
    }
}

#[pymethods]
impl PyTradeTick {
    #[new]
    #[pyo3(signature = (ts, price, size, side = None, id = None))]
    fn new(ts: i64, price: f64, size: f64, side: Option<&str>, id: Option<i64>) -> PyResult<Self> {
        let side = match side.map(|s| s.to_ascii_uppercase()) {
            None => None,
            Some(s) if s == "BUY" => Some("BUY"),
            Some(s) if s == "SELL" => Some("SELL"),
            Some(s) => {
                return Err(CoreError::InvalidArgument {
                    name: "side",
                    reason: format!("must be 'BUY', 'SELL' or None, got {s:?}"),
                }
                .into());
            }
        };
        Ok(Self {
            ts,
            price,
            size,
            side,
            id,
        })
    }

    /// An independent copy (the object passed to `on_trade` is reused for the next trade).
    fn copy(&self) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "TradeTick(ts={}, price={}, size={}, side={}, id={})",
            self.ts,
            self.price,
            self.size,
            self.side.unwrap_or("None"),
            self.id.map_or("None".to_string(), |i| i.to_string())
        )
    }
}

/// A top of book as a strategy sees it in `on_quote` (tick and L2 runs). A side with no level
/// has price None and size 0.
///
/// NB: reused for every quote of a run, as `TradeTick`: `copy()` to keep one.
#[pyclass(module = "trader._core", name = "QuoteTick")]
#[derive(Clone, Debug, Default)]
pub struct PyQuoteTick {
    /// The run's clock at the quote, UTC epoch ns.
    #[pyo3(get)]
    ts: i64,
    #[pyo3(get)]
    bid: Option<f64>,
    #[pyo3(get)]
    ask: Option<f64>,
    #[pyo3(get)]
    bid_size: f64,
    #[pyo3(get)]
    ask_size: f64,
}

#[pymethods]
impl PyQuoteTick {
    #[new]
    #[pyo3(signature = (ts, bid, ask, bid_size = 0.0, ask_size = 0.0))]
    fn new(ts: i64, bid: Option<f64>, ask: Option<f64>, bid_size: f64, ask_size: f64) -> Self {
        Self {
            ts,
            bid,
            ask,
            bid_size,
            ask_size,
        }
    }

    /// An independent copy (the object passed to `on_quote` is reused for the next quote).
    fn copy(&self) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        let px = |p: Option<f64>| p.map_or("None".to_string(), |v| v.to_string());
        format!(
            "QuoteTick(ts={}, bid={} x {}, ask={} x {})",
            self.ts,
            px(self.bid),
            self.bid_size,
            px(self.ask),
            self.ask_size
        )
    }
}

/// A timer or alert that came due (`Strategy.on_timer`): its `name` and time `ts` (ns).
#[pyclass(module = "trader._core", name = "TimerEvent", frozen)]
pub struct PyTimerEvent {
    #[pyo3(get)]
    name: String,
    #[pyo3(get)]
    ts: i64,
}

#[pymethods]
impl PyTimerEvent {
    fn __repr__(&self) -> String {
        format!("TimerEvent(name={:?}, ts={})", self.name, self.ts)
    }
}

/// The strategy's window on the tick/L2 engine (``Strategy._ctx`` during a tick or L2 run, the
/// object `on_book` receives). Prices and sizes are floats in instrument units; the account is
/// a snapshot taken before each callback, marked at the book's mid.
#[pyclass(module = "trader._core", name = "L2Context", unsendable)]
pub struct PyL2Context {
    #[pyo3(get)]
    ts: i64,
    #[pyo3(get)]
    best_bid: Option<f64>,
    #[pyo3(get)]
    best_ask: Option<f64>,
    #[pyo3(get)]
    bid_size: f64,
    #[pyo3(get)]
    ask_size: f64,
    #[pyo3(get)]
    tick: f64,
    #[pyo3(get)]
    cash: f64,
    /// Cash plus the position at the book's mid.
    #[pyo3(get)]
    equity: f64,
    /// The risk engine's trading state ("active", "reducing", "paused", "halted", "emergency").
    #[pyo3(get)]
    trading_state: &'static str,
    pos: f64,
    working: Vec<u64>,
    inst: Instrument,
    ops: Vec<Op>,
    next_id: u64,
    next_list: u64,
    /// Prices and quantities on the grid (rounded toward the order's conservative side).
    grid: super::orders::Grid,
}

impl PyL2Context {
    fn new(inst: Instrument, cash: i128) -> Self {
        Self {
            ts: 0,
            best_bid: None,
            best_ask: None,
            bid_size: 0.0,
            ask_size: 0.0,
            tick: from_raw(inst.tick, inst.price_dp),
            cash: money_to_f64(cash),
            equity: money_to_f64(cash),
            trading_state: "active",
            pos: 0.0,
            working: Vec::new(),
            inst,
            ops: Vec::new(),
            next_id: 1,
            next_list: 0,
            grid: super::orders::Grid::default(),
        }
    }

    /// The run has one instrument: index 0.
    fn inst(&self, instrument: u32) -> PyResult<&Instrument> {
        if instrument != 0 {
            return Err(CoreError::InvalidArgument {
                name: "instrument",
                reason: format!(
                    "a tick or L2 run trades one instrument ({}, index 0), got {instrument}",
                    self.inst.symbol
                ),
            }
            .into());
        }
        Ok(&self.inst)
    }

    fn update(&mut self, view: &L2View<'_>) {
        let (pdp, sdp) = (view.instrument.price_dp, view.instrument.size_dp);
        self.ts = view.ts;
        let (b, a) = (view.book.best_bid(), view.book.best_ask());
        self.best_bid = b.map(|l| from_raw(l.px, pdp));
        self.best_ask = a.map(|l| from_raw(l.px, pdp));
        self.bid_size = b.map_or(0.0, |l| from_raw(l.qty, sdp));
        self.ask_size = a.map_or(0.0, |l| from_raw(l.qty, sdp));
        self.pos = from_raw(view.position, sdp);
        self.cash = money_to_f64(view.cash);
        self.equity = money_to_f64(view.equity);
        self.trading_state = view.trading_state.as_str();
        self.working.clear();
        self.working.extend(view.working.iter().map(|w| w.id));
    }

    fn command(&mut self, c: Command) {
        self.ops.push(Op::Command(c));
    }
}

#[pymethods]
impl PyL2Context {
    /// Signed position in units.
    #[pyo3(signature = (instrument = 0))]
    fn position(&self, instrument: u32) -> PyResult<f64> {
        self.inst(instrument)?;
        Ok(self.pos)
    }

    /// Is the order working at the venue (resting, not filled or canceled)?
    fn is_working(&self, order_id: u64) -> bool {
        self.working.contains(&order_id)
    }

    /// Queue a market (price None) or limit order; returns its id.
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
        let (q, kind) = super::orders::market_or_limit(&self.grid, inst, side, qty, price)?;
        let id = self.next_id;
        self.next_id += 1;
        self.command(Command::Submit(OrderSpec::new(id, 0, side, kind, q)));
        Ok(id)
    }

    /// Queue an order built with `trader.orders` (instructions such as post_only apply).
    fn submit_order(&mut self, request: &Bound<'_, PyAny>) -> PyResult<u64> {
        let id = self.next_id;
        let instrument: u32 = request.getattr("instrument")?.extract()?;
        let spec =
            super::orders::spec_from_request(&self.grid, self.inst(instrument)?, 0, request, id)?;
        self.next_id += 1;
        self.command(Command::Submit(spec));
        Ok(id)
    }

    /// Queue an entry with reduce-only exits (a bracket, or an OTO with one exit); returns the
    /// ids [entry, exits...] (the fast path of `Strategy.bracket`).
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
        let inst = self.inst(instrument)?.clone();
        let side = super::orders::side_from_sign(side)?;
        let tif = super::orders::tif_from_name(time_in_force, None)?;
        let mut next = self.next_id;
        let (kind, specs) = super::orders::bracket_specs(
            &self.grid,
            &inst,
            0,
            side,
            qty,
            entry_price,
            take_profit,
            stop_loss,
            stop_limit,
            trailing_offset,
            offset_type,
            tif,
            || {
                let id = next;
                next += 1;
                id
            },
        )?;
        self.next_id = next;
        let ids = specs.iter().map(|s| s.id).collect();
        self.next_list += 1;
        self.command(Command::SubmitList {
            list: self.next_list,
            kind,
            orders: specs,
        });
        Ok(ids)
    }

    /// Queue a contingent list (`"oco"`, `"oto"`, `"bracket"`); returns the ids in order.
    fn submit_list(&mut self, kind: &str, requests: Vec<Bound<'_, PyAny>>) -> PyResult<Vec<u64>> {
        let kind = super::orders::list_kind(kind)?;
        let mut specs = Vec::with_capacity(requests.len());
        for r in &requests {
            let id = self.next_id;
            let instrument: u32 = r.getattr("instrument")?.extract()?;
            specs.push(super::orders::spec_from_request(
                &self.grid,
                self.inst(instrument)?,
                0,
                r,
                id,
            )?);
            self.next_id += 1;
        }
        let ids = specs.iter().map(|s| s.id).collect();
        self.next_list += 1;
        self.command(Command::SubmitList {
            list: self.next_list,
            kind,
            orders: specs,
        });
        Ok(ids)
    }

    /// Queue a change of a working order (a new price loses the queue position).
    #[pyo3(signature = (order_id, qty = None, price = None, trigger = None))]
    fn modify(
        &mut self,
        order_id: u64,
        qty: Option<f64>,
        price: Option<f64>,
        trigger: Option<f64>,
    ) -> PyResult<()> {
        let cmd = super::orders::modify_command(
            &self.grid, &self.inst, order_id, None, qty, price, trigger,
        )?;
        self.command(cmd);
        Ok(())
    }

    /// Queue a cancel of order `order_id`.
    fn cancel(&mut self, order_id: u64) {
        self.command(Command::Cancel { id: order_id });
    }

    /// Queue a cancel of every open order.
    #[pyo3(signature = (instrument = None))]
    fn cancel_all(&mut self, instrument: Option<u32>) -> PyResult<()> {
        if let Some(i) = instrument {
            self.inst(i)?;
        }
        self.command(Command::CancelAll { instrument });
        Ok(())
    }

    /// Ask for a trading state (the strategy's manual state; the engine's state is the most
    /// severe of it and the risk layers' wishes). Applied in order with the queued commands.
    #[pyo3(signature = (state, reason = ""))]
    fn set_trading_state(&mut self, state: &str, reason: &str) -> PyResult<()> {
        let s = TradingState::parse("state", state)?;
        self.ops.push(Op::State(s, reason.to_string()));
        Ok(())
    }

    /// A timer `name` firing every `interval_ns` of the run's clock (event time in a backtest and
    /// a replay, the wall clock live), first at `start_ns` (None: one interval from now); a
    /// timer of the same name is replaced. The strategy's `on_timer(event)` is called.
    #[pyo3(signature = (name, interval_ns, start_ns = None))]
    fn set_timer(&mut self, name: String, interval_ns: i64, start_ns: Option<i64>) -> PyResult<()> {
        if interval_ns <= 0 {
            return Err(CoreError::InvalidArgument {
                name: "interval",
                reason: format!("timer {name}: must be > 0, got {interval_ns} ns"),
            }
            .into());
        }
        self.ops.push(Op::Timer {
            name,
            interval_ns,
            start: start_ns,
        });
        Ok(())
    }

    /// An alert `name` firing once at `at_ns` (at the next event when that time has passed).
    fn set_alert(&mut self, name: String, at_ns: i64) {
        self.ops.push(Op::Timer {
            name,
            interval_ns: 0,
            start: Some(at_ns),
        });
    }

    /// Cancel the timer or alert `name`.
    fn cancel_timer(&mut self, name: String) {
        self.ops.push(Op::CancelTimer(name));
    }

    /// Feed the decision kernel's composite confidence in [0, 1] to the risk layers.
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
        self.ops.push(Op::Confidence(value));
        Ok(())
    }

    /// The quantity step of the instrument, in units.
    #[pyo3(signature = (instrument = 0))]
    fn lot(&self, instrument: u32) -> PyResult<f64> {
        let i = self.inst(instrument)?;
        Ok(from_raw(i.lot, i.size_dp))
    }

    /// Quantity worth `fraction` of equity at `price`, rounded down to the lot.
    #[pyo3(signature = (fraction, price, instrument = 0))]
    fn qty_for_fraction(&self, fraction: f64, price: f64, instrument: u32) -> PyResult<f64> {
        let inst = self.inst(instrument)?;
        let raw = crate::engine::qty_for_fraction(inst, fraction, self.equity, price);
        Ok(from_raw(raw, inst.size_dp))
    }
}

/// A Python `Strategy` driven by the tick/L2 loop: each data callback it overrides (`on_book`
/// on the throttle, `on_trade`, `on_quote`, `on_bar` with bars) and nothing else per event;
/// `on_order_event` for every order event and `on_trading_state` for every change of the risk
/// engine's state when it overrides them.
pub(super) struct PyStrategy {
    ctx: Py<PyL2Context>,
    book: Option<Py<PyAny>>,
    trade: Option<Py<PyAny>>,
    quote: Option<Py<PyAny>>,
    bar: Option<Py<PyAny>>,
    event: Option<Py<PyAny>>,
    state: Option<Py<PyAny>>,
    timer: Option<Py<PyAny>>,
    trade_obj: Py<PyTradeTick>,
    quote_obj: Py<PyQuoteTick>,
    /// The indicators registered in `on_start`, updated before each `on_bar`.
    indicators: Vec<(Source, Py<PyAny>)>,
    /// The Python exception that stopped the run (re-raised by the run function).
    error: ErrSlot,
    /// The strategy's class (`module.QualName`): a checkpoint restores into the same class.
    class: String,
}

/// What the Python strategy is called for.
enum Call<'a> {
    Book,
    Trade(&'a TradePrint),
    Quote(&'a TopOfBook),
    Bar(&'a crate::model::Bar),
    Event(&'a OrderEvent),
    State(&'a StateChange),
    Timer(&'a str, i64),
}

impl PyStrategy {
    fn call(&mut self, view: &L2View<'_>, what: Call<'_>, out: &mut Outbox) -> CoreResult<()> {
        Python::attach(|py| -> PyResult<()> {
            self.ctx.borrow_mut(py).update(view);
            let (pdp, sdp) = (view.instrument.price_dp, view.instrument.size_dp);
            let handler = |h: &Option<Py<PyAny>>| h.as_ref().map(|h| h.bind(py).clone());
            match what {
                Call::Book => {
                    if let Some(h) = handler(&self.book) {
                        h.call1((self.ctx.bind(py),))?;
                    }
                }
                Call::Trade(t) => {
                    if let Some(h) = handler(&self.trade) {
                        {
                            let mut o = self.trade_obj.borrow_mut(py);
                            o.ts = t.ts;
                            o.price = from_raw(t.px, pdp);
                            o.size = from_raw(t.qty, sdp);
                            o.side = aggressor_name(t.aggressor);
                            o.id = (t.id >= 0).then_some(t.id);
                        }
                        h.call1((self.trade_obj.bind(py),))?;
                    }
                }
                Call::Quote(q) => {
                    if let Some(h) = handler(&self.quote) {
                        {
                            let mut o = self.quote_obj.borrow_mut(py);
                            o.ts = q.ts;
                            o.bid = q.bid.map(|l| from_raw(l.px, pdp));
                            o.ask = q.ask.map(|l| from_raw(l.px, pdp));
                            o.bid_size = q.bid.map_or(0.0, |l| from_raw(l.qty, sdp));
                            o.ask_size = q.ask.map_or(0.0, |l| from_raw(l.qty, sdp));
                        }
                        h.call1((self.quote_obj.bind(py),))?;
                    }
                }
                Call::Bar(b) => {
                    if let Some(h) = handler(&self.bar) {
                        let inputs = BarInputs {
                            open: from_raw(b.open, pdp),
                            high: from_raw(b.high, pdp),
                            low: from_raw(b.low, pdp),
                            close: from_raw(b.close, pdp),
                            volume: b.volume,
                        };
                        for (src, ind) in &self.indicators {
                            Updater::new(ind.bind(py).clone(), *src)?.update(*src, &inputs)?;
                        }
                        let bar = py.get_type::<super::engine::PyBar>().call1((
                            b.ts,
                            inputs.open,
                            inputs.high,
                            inputs.low,
                            inputs.close,
                            inputs.volume,
                            0u32,
                        ))?;
                        h.call1((bar,))?;
                    }
                }
                Call::Event(e) => {
                    if let Some(h) = handler(&self.event) {
                        let ev = super::engine::PyOrderEvent::of(
                            e,
                            view.fills,
                            std::slice::from_ref(view.instrument),
                            view.denials,
                        );
                        h.call1((ev,))?;
                    }
                }
                Call::Timer(name, ts) => {
                    if let Some(h) = handler(&self.timer) {
                        h.call1((PyTimerEvent {
                            name: name.to_string(),
                            ts,
                        },))?;
                    }
                }
                Call::State(c) => {
                    if let Some(h) = handler(&self.state) {
                        h.call1((super::risk::state_change_dict(py, c)?,))?;
                    }
                }
            }
            out.extend(self.ctx.borrow_mut(py).ops.drain(..));
            Ok(())
        })
        .map_err(|e| {
            let msg = e.to_string();
            *self.error.borrow_mut() = Some(e);
            CoreError::InvalidArgument {
                name: "strategy",
                reason: msg,
            }
        })
    }
}

impl L2Strategy for PyStrategy {
    fn reserve_ids(&mut self, next: crate::model::order::OrderId) {
        Python::attach(|py| {
            let mut c = self.ctx.borrow_mut(py);
            c.next_id = c.next_id.max(next);
        });
    }

    /// The Rust side of a Python strategy: its context's next order and list ids, what it
    /// queued that has not gone out yet (`on_start`'s orders and timers before the first
    /// callback), and the state of each indicator it registered (updated here before each
    /// `on_bar`: `__getstate__()`, pickled). The strategy's own `state` is the node's, in Python.
    fn save(&self) -> CoreResult<Option<Vec<u8>>> {
        let saved = Python::attach(|py| -> PyResult<Vec<u8>> {
            let pickle = py.import("pickle")?;
            let mut inds: Vec<Vec<u8>> = Vec::with_capacity(self.indicators.len());
            for (_, ind) in &self.indicators {
                let st = ind.bind(py).call_method0("__getstate__")?;
                inds.push(pickle.call_method1("dumps", (st,))?.extract()?);
            }
            let c = self.ctx.borrow(py);
            bincode::serialize(&(&self.class, c.next_id, c.next_list, &c.ops, inds)).map_err(|e| {
                checkpoint_error(format!("cannot encode the strategy's context: {e}")).into()
            })
        });
        saved
            .map(Some)
            .map_err(|e| checkpoint_error(format!("strategy: {e}")))
    }

    /// Replaces what the re-created strategy's `on_start` queued by what the saved one had
    /// queued (the rest of its effects are in the checkpoint already), and hands each of its
    /// indicators (registered in the same order) its saved state: `__setstate__`, or for a
    /// plain Python object its `__dict__` updated.
    fn load(&mut self, state: &[u8]) -> CoreResult<()> {
        type Saved = (String, u64, u64, Vec<Op>, Vec<Vec<u8>>);
        let (class, next_id, next_list, ops, inds): Saved = bincode::deserialize(state)
            .map_err(|e| checkpoint_error(format!("not a Python strategy's state ({e})")))?;
        if class != self.class {
            return Err(checkpoint_error(format!(
                "saved by the strategy {class}, this session runs {}",
                self.class
            )));
        }
        if inds.len() != self.indicators.len() {
            return Err(checkpoint_error(format!(
                "the strategy registered {} indicators, the checkpoint holds {}",
                self.indicators.len(),
                inds.len()
            )));
        }
        Python::attach(|py| -> PyResult<()> {
            let pickle = py.import("pickle")?;
            for ((_, ind), b) in self.indicators.iter().zip(&inds) {
                let st = pickle.call_method1("loads", (pyo3::types::PyBytes::new(py, b),))?;
                let ind = ind.bind(py);
                if ind.hasattr("__setstate__")? {
                    ind.call_method1("__setstate__", (st,))?;
                } else if !st.is_none() {
                    ind.getattr("__dict__")?.call_method1("update", (st,))?;
                }
            }
            let mut c = self.ctx.borrow_mut(py);
            c.next_id = next_id;
            c.next_list = next_list;
            c.ops = ops;
            Ok(())
        })
        .map_err(|e| checkpoint_error(format!("strategy: {e}")))
    }

    fn on_timer(
        &mut self,
        view: &L2View<'_>,
        name: &str,
        ts: i64,
        out: &mut Outbox,
    ) -> CoreResult<()> {
        if self.timer.is_none() {
            return Ok(());
        }
        self.call(view, Call::Timer(name, ts), out)
    }

    fn wants(&self) -> Wants {
        Wants {
            book: self.book.is_some(),
            trades: self.trade.is_some(),
            quotes: self.quote.is_some(),
            bars: self.bar.is_some(),
            events: self.event.is_some(),
        }
    }

    fn on_elapse(&mut self, view: &L2View<'_>, out: &mut Outbox) -> CoreResult<()> {
        self.call(view, Call::Book, out)
    }

    fn on_trade(&mut self, view: &L2View<'_>, t: &TradePrint, out: &mut Outbox) -> CoreResult<()> {
        self.call(view, Call::Trade(t), out)
    }

    fn on_quote(&mut self, view: &L2View<'_>, q: &TopOfBook, out: &mut Outbox) -> CoreResult<()> {
        self.call(view, Call::Quote(q), out)
    }

    fn on_bar(
        &mut self,
        view: &L2View<'_>,
        bar: &crate::model::Bar,
        out: &mut Outbox,
    ) -> CoreResult<()> {
        self.call(view, Call::Bar(bar), out)
    }

    fn on_event(
        &mut self,
        view: &L2View<'_>,
        event: &OrderEvent,
        out: &mut Outbox,
    ) -> CoreResult<()> {
        self.call(view, Call::Event(event), out)
    }

    fn on_trading_state(
        &mut self,
        view: &L2View<'_>,
        change: &StateChange,
        out: &mut Outbox,
    ) -> CoreResult<()> {
        if self.state.is_none() {
            return Ok(());
        }
        self.call(view, Call::State(change), out)
    }
}

/// The native market maker with its parameters in units, converted once the precision is known.
pub(super) struct NativeMm {
    pub(super) qty: f64,
    pub(super) max_position: f64,
    pub(super) offset_ticks: i64,
    pub(super) inner: Option<PassiveMarketMaker>,
}

impl L2Strategy for NativeMm {
    fn reserve_ids(&mut self, next: crate::model::order::OrderId) {
        if let Some(mm) = self.inner.as_mut() {
            mm.reserve_ids(next);
        }
    }

    fn on_elapse(&mut self, view: &L2View<'_>, out: &mut Outbox) -> CoreResult<()> {
        if self.inner.is_none() {
            let sdp = view.instrument.size_dp;
            let raw = |name: &'static str, v: f64| {
                to_raw(v, sdp).ok_or_else(|| CoreError::InvalidArgument {
                    name,
                    reason: format!("must be a finite number, got {v}"),
                })
            };
            let q = raw("qty", self.qty)?;
            if q <= 0 {
                let step = from_raw(view.instrument.lot, sdp);
                return Err(CoreError::InvalidArgument {
                    name: "qty",
                    reason: format!(
                        "{} rounds to 0 at the instrument's quantity step {step}: give a multiple of it",
                        self.qty
                    ),
                });
            }
            let m = raw("max_position", self.max_position)?;
            self.inner = Some(PassiveMarketMaker::new(q, m, self.offset_ticks)?);
        }
        match self.inner.as_mut() {
            Some(mm) => mm.on_elapse(view, out),
            None => Ok(()),
        }
    }

    fn on_fill(&mut self, view: &L2View<'_>, fill: &Fill, out: &mut Outbox) -> CoreResult<()> {
        match self.inner.as_mut() {
            Some(mm) => mm.on_fill(view, fill, out),
            None => Ok(()),
        }
    }

    /// Its parameters (checked when loading) and the market maker, once built.
    fn save(&self) -> CoreResult<Option<Vec<u8>>> {
        let st = (self.qty, self.max_position, self.offset_ticks, &self.inner);
        bincode::serialize(&st)
            .map(Some)
            .map_err(|e| checkpoint_error(format!("cannot encode the market maker: {e}")))
    }

    fn load(&mut self, state: &[u8]) -> CoreResult<()> {
        let (qty, max_position, offset_ticks, inner): (f64, f64, i64, Option<PassiveMarketMaker>) =
            bincode::deserialize(state)
                .map_err(|e| checkpoint_error(format!("not a market maker's state ({e})")))?;
        if (qty, max_position, offset_ticks) != (self.qty, self.max_position, self.offset_ticks) {
            return Err(checkpoint_error(
                "the market maker was saved with other parameters".into(),
            ));
        }
        self.inner = inner;
        Ok(())
    }
}

pub(super) fn report_dict<'py>(
    py: Python<'py>,
    r: &L2Report,
    run: &L2Run,
    log: &super::risk::LayerLog,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let (pdp, sdp) = (r.price_dp, r.size_dp);
    d.set_item("events", r.events)?;
    d.set_item("depth_messages", r.depth_messages)?;
    d.set_item("trade_messages", r.trade_messages)?;
    d.set_item("ticker_messages", r.ticker_messages)?;
    d.set_item("snapshot_messages", r.snapshot_messages)?;
    d.set_item("deltas", r.deltas)?;
    d.set_item("sync_errors", r.sync.sync_errors)?;
    d.set_item("strategy_calls", r.strategy_calls)?;
    d.set_item("trade_calls", r.trade_calls)?;
    d.set_item("quote_calls", r.quote_calls)?;
    d.set_item("bars", r.bars)?;
    d.set_item("timer_calls", r.timer_calls)?;
    d.set_item("orders", r.orders)?;
    d.set_item("fills", r.fills)?;
    d.set_item("maker_fills", r.maker_fills)?;
    d.set_item("taker_fills", r.taker_fills)?;
    d.set_item("position", from_raw(r.position, sdp))?;
    d.set_item("cash", money_to_f64(r.cash))?;
    d.set_item("fees", money_to_f64(r.fees))?;
    d.set_item("initial_cash", money_to_f64(r.initial_cash))?;
    d.set_item("realized_pnl", money_to_f64(r.realized))?;
    d.set_item("unrealized_pnl", money_to_f64(r.unrealized))?;
    d.set_item("equity", money_to_f64(r.equity))?;
    d.set_item("pnl", money_to_f64(r.equity - r.initial_cash))?;
    d.set_item("volume", from_raw(r.volume, sdp))?;
    d.set_item("last_mid", r.last_mid)?;
    d.set_item("symbol", run.instrument.as_ref().map(|i| i.symbol.as_str()))?;
    d.set_item("price_precision", pdp)?;
    d.set_item("size_precision", sdp)?;
    d.set_item("first_ts", r.first_ts)?;
    d.set_item("last_ts", r.last_ts)?;
    d.set_item("seconds", r.elapsed_s)?;
    let f = &run.fills;
    let fills = PyDict::new(py);
    fills.set_item(
        "ts",
        f.iter().map(|x| x.ts).collect::<Vec<_>>().into_pyarray(py),
    )?;
    fills.set_item(
        "order_id",
        f.iter()
            .map(|x| x.order_id)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    fills.set_item(
        "side",
        f.iter()
            .map(|x| x.side.sign() as i8)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    fills.set_item(
        "price",
        f.iter()
            .map(|x| from_raw(x.px, pdp))
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    fills.set_item(
        "qty",
        f.iter()
            .map(|x| from_raw(x.qty, sdp))
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    fills.set_item(
        "fee",
        f.iter()
            .map(|x| money_to_f64(x.fee))
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    fills.set_item(
        "maker",
        f.iter()
            .map(|x| x.liquidity == crate::model::Liquidity::Maker)
            .collect::<Vec<_>>()
            .into_pyarray(py),
    )?;
    d.set_item("fill_columns", fills)?;
    d.set_item(
        "risk",
        super::risk::report(py, run.risk.report(), run.risk.state(), log)?,
    )?;
    let audit = super::risk::entry_dicts(py, run.risk.audit())?;
    d.set_item("audit", audit)?;
    Ok(d)
}

/// Initial cash in currency units as money units (exact to 1e-8, as `Backtest`'s).
pub(super) fn cash_money(cash: f64) -> PyResult<i128> {
    if !(cash.is_finite() && cash >= 0.0) {
        return Err(CoreError::InvalidArgument {
            name: "cash",
            reason: format!("must be a finite number >= 0, got {cash}"),
        }
        .into());
    }
    Ok((cash * 1e8).round() as i128 * pow10(MONEY_DP - 8))
}

/// The keywords every tick/L2 run and the live session share, as the loop's config (one place:
/// `run_l2_backtest`, `run_tick_backtest` and `LiveSession` build their engines alike).
pub(super) struct RunKw<'a, 'py> {
    pub market: MarketKind,
    pub latency: Option<&'a Bound<'py, PyDict>>,
    pub queue: &'a str,
    pub elapse_ns: i64,
    pub maker_fee_bps: f64,
    pub taker_fee_bps: f64,
    pub cash: f64,
    pub account: &'a str,
    pub leverage: f64,
    pub maintenance_margin: f64,
    pub symbol: Option<String>,
    pub bar_ns: Option<i64>,
}

impl RunKw<'_, '_> {
    pub(super) fn config(self) -> PyResult<L2Config> {
        let mut cfg = L2Config::new(self.market);
        cfg.latency = latency_from(self.latency)?;
        cfg.queue = QueueModel::parse(self.queue)?;
        cfg.elapse_ns = self.elapse_ns;
        cfg.maker_fee_bps = self.maker_fee_bps;
        cfg.taker_fee_bps = self.taker_fee_bps;
        cfg.initial_cash = cash_money(self.cash)?;
        cfg.account = super::accounts::account_from(
            self.account,
            self.leverage,
            self.maintenance_margin,
            0.0,
            None,
            None,
            8.0,
        )?;
        cfg.symbol = self.symbol;
        cfg.bar_ns = self.bar_ns;
        Ok(cfg)
    }
}

impl NativeMm {
    /// The native market maker with its parameters in units.
    pub(super) fn new(qty: f64, max_position: f64, offset_ticks: i64) -> Self {
        Self {
            qty,
            max_position,
            offset_ticks,
            inner: None,
        }
    }
}

/// The risk engine of a run over `inst` from the config dict (None: the loop's default).
pub(super) fn risk_engine(
    cfg: Option<&Bound<'_, PyDict>>,
    inst: &Instrument,
    log: &super::risk::LayerLog,
) -> PyResult<Option<RiskEngine>> {
    match cfg {
        None => Ok(None),
        Some(d) => Ok(Some(super::risk::configure(
            d,
            std::slice::from_ref(inst),
            log,
        )?)),
    }
}

/// The latency legs from a `trader.fill_models` latency config (`{"model": ..., ...}`; None: zero).
pub(super) fn latency_from(
    cfg: Option<&Bound<'_, PyDict>>,
) -> PyResult<crate::venue::LatencyConfig> {
    let Some(d) = cfg else {
        return Ok(crate::venue::LatencyConfig::default());
    };
    let get = |k: &str| d.get_item(k);
    let model: String = get("model")?.map_or(Ok("none".to_string()), |v| v.extract())?;
    let model = if model == "no_latency" {
        "none".to_string()
    } else {
        model
    };
    let f = |k: &str, default: f64| -> PyResult<f64> {
        get(k)?
            .filter(|v| !v.is_none())
            .map_or(Ok(default), |v| v.extract())
    };
    let opt = |k: &str| -> PyResult<Option<f64>> {
        get(k)?
            .filter(|v| !v.is_none())
            .map(|v| v.extract())
            .transpose()
    };
    let seed: u64 = get("seed")?
        .filter(|v| !v.is_none())
        .map_or(Ok(0), |v| v.extract())?;
    super::venue::latency_config(
        &model,
        f("submit_ms", 0.0)?,
        opt("cancel_ms")?,
        opt("modify_ms")?,
        f("sigma", 0.5)?,
        seed,
    )
}

/// What a recording says about itself (see `engine_l2::probe_recording`): a dict with
/// `market` ("usdm", "spot", "cm" or None), `symbol`, `price_precision`, `size_precision`.
#[pyfunction]
fn probe_recording<'py>(py: Python<'py>, paths: Vec<PathBuf>) -> PyResult<Bound<'py, PyDict>> {
    let info = py.detach(|| engine_l2::probe_recording(&paths))?;
    let d = PyDict::new(py);
    d.set_item("market", info.market.map(|m| m.name()))?;
    d.set_item("symbol", info.symbol)?;
    d.set_item("price_precision", info.price_dp)?;
    d.set_item("size_precision", info.size_dp)?;
    d.set_item("first_price", info.first_price)?;
    Ok(d)
}

/// Run an L2 backtest over raw Binance recordings. `strategy=None` runs the native passive
/// market maker (`qty`, `max_position` in units, `offset_ticks`); otherwise `strategy` is a
/// Python Strategy, called for the data callbacks it overrides.
#[pyfunction]
#[pyo3(signature = (paths, strategy = None, *, market = "usdm", queue = "risk_averse", elapse_ns = 100_000_000,
    maker_fee_bps = 0.0, taker_fee_bps = 0.0, qty = 0.001, max_position = 0.01, offset_ticks = 0,
    price_precision = None, size_precision = None, latency = None, risk = None, cash = 0.0, symbol = None,
    bar_ns = None, account = "cash", leverage = 1.0, maintenance_margin = 0.005))]
#[allow(clippy::too_many_arguments)] // reason: keyword arguments of one Python entry point
fn run_l2_backtest<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    strategy: Option<Bound<'py, PyAny>>,
    market: &str,
    queue: &str,
    elapse_ns: i64,
    maker_fee_bps: f64,
    taker_fee_bps: f64,
    qty: f64,
    max_position: f64,
    offset_ticks: i64,
    price_precision: Option<u8>,
    size_precision: Option<u8>,
    latency: Option<Bound<'py, PyDict>>,
    risk: Option<Bound<'py, PyDict>>,
    cash: f64,
    symbol: Option<String>,
    bar_ns: Option<i64>,
    account: &str,
    leverage: f64,
    maintenance_margin: f64,
) -> PyResult<Bound<'py, PyDict>> {
    for p in &paths {
        if !p.is_file() {
            return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
                "path: no such recording: {}",
                p.display()
            )));
        }
    }
    let mut cfg = RunKw {
        market: MarketKind::parse(market)?,
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
    // The instrument (its risk limits, the strategy's context) is known before the run.
    let info = if price_precision.is_some() && size_precision.is_some() {
        engine_l2::RecordingInfo::default()
    } else {
        py.detach(|| engine_l2::probe_recording(&paths))?
    };
    let (Some(pdp), Some(sdp)) = (
        price_precision.or(info.price_dp),
        size_precision.or(info.size_dp),
    ) else {
        return Err(CoreError::InvalidArgument {
            name: "path",
            reason: format!(
                "no price or size in the first {} lines of the recording: cannot infer the precision",
                engine_l2::PROBE_LINES
            ),
        }
        .into());
    };
    cfg.price_dp = Some(pdp);
    cfg.size_dp = Some(sdp);
    let inst = l2_instrument(cfg.symbol.as_deref(), pdp, sdp)?;
    let log: super::risk::LayerLog = Default::default();
    let engine = risk_engine(risk.as_ref(), &inst, &log)?;
    match strategy {
        None => {
            let mm = NativeMm::new(qty, max_position, offset_ticks);
            let (r, _, run) = py.detach(|| run_l2_files_with(&paths, cfg, mm, engine))?;
            report_dict(py, &r, &run, &log)
        }
        Some(obj) => {
            let (s, error) = py_strategy(py, &obj, &inst, cfg.initial_cash)?;
            let out = run_l2_files_with(&paths, cfg, s, engine);
            finish_py(py, &obj, out, &error, &log)
        }
    }
}

fn col<T: numpy::Element + Copy>(d: &Bound<'_, PyDict>, name: &'static str) -> PyResult<Vec<T>> {
    let v = d
        .get_item(name)?
        .ok_or_else(|| CoreError::InvalidArgument {
            name,
            reason: "column missing".into(),
        })?;
    let a: numpy::PyReadonlyArray1<'_, T> =
        v.extract().map_err(|e| CoreError::InvalidArgument {
            name,
            reason: format!(
                "expected a 1-d numpy array of {}: {e}",
                std::any::type_name::<T>()
            ),
        })?;
    Ok(a.as_slice()?.to_vec())
}

/// An optional column (empty when absent).
fn col_or_empty<T: numpy::Element + Copy>(
    d: &Bound<'_, PyDict>,
    name: &'static str,
) -> PyResult<Vec<T>> {
    if d.contains(name)? {
        col(d, name)
    } else {
        Ok(Vec::new())
    }
}

fn same_len(name: &'static str, n: usize, cols: &[usize]) -> PyResult<()> {
    if cols.iter().any(|&k| k != n) {
        return Err(CoreError::InvalidArgument {
            name,
            reason: "columns of different lengths".into(),
        }
        .into());
    }
    Ok(())
}

/// The precision of tick columns: from every price (trades, bids, asks) and every size.
fn tick_precision(t: &TradeTicks, q: &Qt) -> CoreResult<(u8, u8)> {
    let px = [&t.price, &q.bid_price, &q.ask_price]
        .iter()
        .map(|c| decimals_of_floats(c, "price_precision"))
        .try_fold(0u8, |m, d| d.map(|d| m.max(d)))?;
    let sz = [&t.size, &q.bid_size, &q.ask_size]
        .iter()
        .map(|c| decimals_of_floats(c, "size_precision"))
        .try_fold(0u8, |m, d| d.map(|d| m.max(d)))?;
    Ok((px, sz))
}

/// Quote-mode backtest over tick columns (dicts of numpy arrays as `read_tardis` /
/// `read_binance_ticks` return them). `strategy=None` runs the native market maker. A precision
/// not given is inferred from every price (size) of the data.
#[pyfunction]
#[pyo3(signature = (trades, quotes, strategy = None, *, price_precision = None, size_precision = None,
    queue = "risk_averse", elapse_ns = 100_000_000, maker_fee_bps = 0.0, taker_fee_bps = 0.0, qty = 0.001,
    max_position = 0.01, offset_ticks = 0, latency = None, risk = None, cash = 0.0, symbol = None, bar_ns = None,
    by_receive_time = false, account = "cash", leverage = 1.0, maintenance_margin = 0.005))]
#[allow(clippy::too_many_arguments)] // reason: keyword arguments of one Python entry point
fn run_tick_backtest<'py>(
    py: Python<'py>,
    trades: &Bound<'py, PyDict>,
    quotes: &Bound<'py, PyDict>,
    strategy: Option<Bound<'py, PyAny>>,
    price_precision: Option<u8>,
    size_precision: Option<u8>,
    queue: &str,
    elapse_ns: i64,
    maker_fee_bps: f64,
    taker_fee_bps: f64,
    qty: f64,
    max_position: f64,
    offset_ticks: i64,
    latency: Option<Bound<'py, PyDict>>,
    risk: Option<Bound<'py, PyDict>>,
    cash: f64,
    symbol: Option<String>,
    bar_ns: Option<i64>,
    by_receive_time: bool,
    account: &str,
    leverage: f64,
    maintenance_margin: f64,
) -> PyResult<Bound<'py, PyDict>> {
    // every keyword checked before the columns are read
    let mut cfg = RunKw {
        market: MarketKind::UsdM,
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
    let time = |d: &Bound<'py, PyDict>| -> PyResult<(Vec<i64>, Vec<i64>)> {
        let local = if by_receive_time {
            col(d, "ts_local")?
        } else {
            Vec::new()
        };
        Ok((col(d, "ts_event")?, local))
    };
    let (ts_event, ts_local) = time(trades)?;
    let t = TradeTicks {
        ts_event,
        ts_local,
        price: col(trades, "price")?,
        size: col(trades, "size")?,
        side: col(trades, "side")?,
        id: col_or_empty(trades, "id")?,
    };
    let n = t.price.len();
    same_len("trades", n, &[t.ts_event.len(), t.size.len(), t.side.len()])?;
    if !t.id.is_empty() {
        same_len("trades", n, &[t.id.len()])?;
    }
    let (ts_event, ts_local) = time(quotes)?;
    let q = Qt {
        ts_event,
        ts_local,
        bid_price: col(quotes, "bid_price")?,
        bid_size: col(quotes, "bid_size")?,
        ask_price: col(quotes, "ask_price")?,
        ask_size: col(quotes, "ask_size")?,
    };
    same_len(
        "quotes",
        q.bid_price.len(),
        &[
            q.ts_event.len(),
            q.bid_size.len(),
            q.ask_price.len(),
            q.ask_size.len(),
        ],
    )?;
    let (pdp, sdp) = match (price_precision, size_precision) {
        (Some(p), Some(s)) => (p, s),
        (p, s) => {
            let (ip, is) = py.detach(|| tick_precision(&t, &q))?;
            (p.unwrap_or(ip), s.unwrap_or(is))
        }
    };
    cfg.by_receive_time = by_receive_time;
    let inst = ticks_instrument(cfg.symbol.as_deref(), pdp, sdp)?;
    let log: super::risk::LayerLog = Default::default();
    let engine = risk_engine(risk.as_ref(), &inst, &log)?;
    match strategy {
        None => {
            let mm = NativeMm::new(qty, max_position, offset_ticks);
            let (r, _, run) = py.detach(|| run_ticks_with(&t, &q, cfg, pdp, sdp, mm, engine))?;
            report_dict(py, &r, &run, &log)
        }
        Some(obj) => {
            let (s, error) = py_strategy(py, &obj, &inst, cfg.initial_cash)?;
            let out = run_ticks_with(&t, &q, cfg, pdp, sdp, s, engine);
            finish_py(py, &obj, out, &error, &log)
        }
    }
}

pub(super) type ErrSlot = std::rc::Rc<std::cell::RefCell<Option<PyErr>>>;

/// Attach the strategy to a context on `inst` and start it (`on_start`: its indicators and
/// first orders, which go out at its first callback); then read which callbacks it overrides.
pub(super) fn py_strategy(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    inst: &Instrument,
    cash: i128,
) -> PyResult<(PyStrategy, ErrSlot)> {
    let ctx = Py::new(py, PyL2Context::new(inst.clone(), cash))?;
    obj.call_method1("_attach", (ctx.bind(py), vec![inst.symbol.clone()]))?;
    obj.call_method0("on_start")?;
    let overridden = |name: &str| -> PyResult<Option<Py<PyAny>>> {
        let yes: bool = obj.call_method1("_overrides", (name,))?.extract()?;
        Ok(if yes {
            Some(obj.getattr(name)?.unbind())
        } else {
            None
        })
    };
    let handler = |name: &str| -> PyResult<Option<Py<PyAny>>> {
        let h = obj.call_method0(name)?;
        Ok((!h.is_none()).then(|| h.unbind()))
    };
    let indicators = obj
        .getattr("_indicators")?
        .extract::<Vec<(u32, String, Bound<'_, PyAny>)>>()?
        .into_iter()
        .map(|(i, s, ind)| {
            if i != 0 {
                return Err(CoreError::InvalidArgument {
                    name: "instrument",
                    reason: format!(
                        "an indicator of instrument {i}: a tick or L2 run trades one instrument (0)"
                    ),
                }
                .into());
            }
            let src = Source::parse(&s)?;
            Updater::new(ind.clone(), src)?; // checks the source fits the indicator
            Ok((src, ind.unbind()))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let error: ErrSlot = std::rc::Rc::new(std::cell::RefCell::new(None));
    let class = obj.get_type().fully_qualified_name()?.to_string();
    Ok((
        PyStrategy {
            class,
            ctx,
            book: overridden("on_book")?,
            trade: overridden("on_trade")?,
            quote: overridden("on_quote")?,
            bar: overridden("on_bar")?,
            event: handler("_event_handler")?,
            state: handler("_state_handler")?,
            timer: overridden("on_timer")?,
            trade_obj: Py::new(py, PyTradeTick::default())?,
            quote_obj: Py::new(py, PyQuoteTick::default())?,
            indicators,
            error: error.clone(),
        },
        error,
    ))
}

pub(super) fn finish_py<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    out: CoreResult<(L2Report, PyStrategy, L2Run)>,
    error: &ErrSlot,
    log: &super::risk::LayerLog,
) -> PyResult<Bound<'py, PyDict>> {
    let (r, _, run) = match out {
        Ok(x) => x,
        Err(e) => {
            return Err(match error.borrow_mut().take() {
                Some(pe) => crate::python::strategy_error(py, pe),
                None => e.into(),
            });
        }
    };
    obj.call_method0("on_stop")?;
    report_dict(py, &r, &run, log)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run_tick_backtest, m)?)?;
    m.add_function(wrap_pyfunction!(read_tardis, m)?)?;
    m.add_function(wrap_pyfunction!(read_binance_ticks, m)?)?;
    m.add_function(wrap_pyfunction!(run_l2_backtest, m)?)?;
    m.add_function(wrap_pyfunction!(probe_recording, m)?)?;
    m.add_class::<PyL2Context>()?;
    m.add_class::<PyTradeTick>()?;
    m.add_class::<PyQuoteTick>()?;
    m.add_class::<PyTimerEvent>()?;
    Ok(())
}
