//! Bindings of tick decoding (`read_tardis`, `read_binance_ticks`: numpy columns) and of the L2
//! backtest loop (`run_l2_backtest`: the native passive market maker, or a Python strategy called
//! on the throttle through an `L2Context`). Both runs take the risk config dict of
//! `trader.risk.RiskSettings.to_core` (parsed by `python/risk.rs`, as `Backtest.configure_risk`).

use std::path::PathBuf;

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::book::MarketKind;
use crate::data::ticks::QuoteTicks as Qt;
use crate::data::ticks::{
    QuoteTicks, Ticks, TradeTicks, read_binance_ticks_file, read_tardis_file,
};
use crate::engine_l2::{
    L2Config, L2Report, L2Run, L2Strategy, L2View, PassiveMarketMaker, l2_instrument,
    probe_precision, run_l2_files_with, run_ticks_with, ticks_instrument,
};
use crate::error::{CoreError, CoreResult};
use crate::model::Instrument;
use crate::model::fixed::{MONEY_DP, from_raw, money_to_f64, pow10, to_raw};
use crate::model::order::{Command, Fill, OrderEvent, OrderSpec};
use crate::risk::{RiskEngine, StateChange};
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

/// The strategy's window on the L2 engine (``Strategy._ctx`` during an L2 run). Prices and sizes
/// are floats in instrument units.
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
    /// The risk engine's trading state ("active", "reducing", "paused", "halted", "emergency").
    #[pyo3(get)]
    trading_state: &'static str,
    pos: f64,
    working: Vec<u64>,
    inst: Option<Instrument>,
    commands: Vec<Command>,
    next_id: u64,
    next_list: u64,
    /// Prices and quantities on the grid (rounded toward the order's conservative side).
    grid: super::orders::Grid,
}

impl PyL2Context {
    fn new() -> Self {
        Self {
            ts: 0,
            best_bid: None,
            best_ask: None,
            bid_size: 0.0,
            ask_size: 0.0,
            tick: 0.0,
            cash: 0.0,
            trading_state: "active",
            pos: 0.0,
            working: Vec::new(),
            inst: None,
            commands: Vec::new(),
            next_id: 1,
            next_list: 0,
            grid: super::orders::Grid::default(),
        }
    }

    fn inst(&self) -> PyResult<&Instrument> {
        self.inst.as_ref().ok_or_else(|| {
            CoreError::InvalidArgument {
                name: "instrument",
                reason: "the book is not known yet".into(),
            }
            .into()
        })
    }

    fn update(&mut self, view: &L2View<'_>) {
        let (pdp, sdp) = (view.instrument.price_dp, view.instrument.size_dp);
        if self.inst.is_none() {
            self.inst = Some(view.instrument.clone());
            self.tick = from_raw(view.instrument.tick, pdp);
        }
        self.ts = view.ts;
        let (b, a) = (view.book.best_bid(), view.book.best_ask());
        self.best_bid = b.map(|l| from_raw(l.px, pdp));
        self.best_ask = a.map(|l| from_raw(l.px, pdp));
        self.bid_size = b.map_or(0.0, |l| from_raw(l.qty, sdp));
        self.ask_size = a.map_or(0.0, |l| from_raw(l.qty, sdp));
        self.pos = from_raw(view.position, sdp);
        self.cash = money_to_f64(view.cash);
        self.trading_state = view.trading_state.as_str();
        self.working.clear();
        self.working.extend(view.working.iter().map(|w| w.id));
    }
}

#[pymethods]
impl PyL2Context {
    /// Signed position in units.
    #[pyo3(signature = (instrument = 0))]
    fn position(&self, instrument: u32) -> f64 {
        let _ = instrument;
        self.pos
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
        let _ = instrument;
        let inst = self.inst()?;
        let side = super::orders::side_from_sign(side)?;
        let (q, kind) = super::orders::market_or_limit(&self.grid, inst, side, qty, price)?;
        let id = self.next_id;
        self.next_id += 1;
        self.commands
            .push(Command::Submit(OrderSpec::new(id, 0, side, kind, q)));
        Ok(id)
    }

    /// Queue an order built with `trader.orders` (instructions such as post_only apply).
    fn submit_order(&mut self, request: &Bound<'_, PyAny>) -> PyResult<u64> {
        let id = self.next_id;
        let spec = super::orders::spec_from_request(&self.grid, self.inst()?, 0, request, id)?;
        self.next_id += 1;
        self.commands.push(Command::Submit(spec));
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
        if instrument != 0 {
            return Err(CoreError::InvalidArgument {
                name: "instrument",
                reason: format!("the L2 loop runs one instrument (0), got {instrument}"),
            }
            .into());
        }
        let side = super::orders::side_from_sign(side)?;
        let inst = self.inst()?.clone();
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
        self.commands.push(Command::SubmitList {
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
            specs.push(super::orders::spec_from_request(
                &self.grid,
                self.inst()?,
                0,
                r,
                id,
            )?);
            self.next_id += 1;
        }
        let ids = specs.iter().map(|s| s.id).collect();
        self.next_list += 1;
        self.commands.push(Command::SubmitList {
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
            &self.grid,
            self.inst()?,
            order_id,
            None,
            qty,
            price,
            trigger,
        )?;
        self.commands.push(cmd);
        Ok(())
    }

    fn cancel(&mut self, order_id: u64) {
        self.commands.push(Command::Cancel { id: order_id });
    }

    #[pyo3(signature = (instrument = None))]
    fn cancel_all(&mut self, instrument: Option<u32>) {
        self.commands.push(Command::CancelAll { instrument });
    }

    #[pyo3(signature = (instrument = 0))]
    fn lot(&self, instrument: u32) -> PyResult<f64> {
        let _ = instrument;
        let i = self.inst()?;
        Ok(from_raw(i.lot, i.size_dp))
    }
}

/// A Python `Strategy` driven by the L2 loop: `on_book(ctx)` on the throttle,
/// `on_order_event(dict)` after each of its fills and for each risk event (when it overrides
/// it), `on_trading_state(dict)` on a change of the risk engine's state (when it overrides it).
struct PyStrategy {
    obj: Py<PyAny>,
    ctx: Py<PyL2Context>,
    on_fill: Option<Py<PyAny>>,
    on_state: Option<Py<PyAny>>,
    /// The Python exception that stopped the run (re-raised by `run_l2_backtest`).
    error: std::rc::Rc<std::cell::RefCell<Option<PyErr>>>,
}

/// What the Python strategy is called for.
enum Call<'a> {
    Book,
    Fill(&'a Fill),
    Event(&'a OrderEvent),
    State(&'a StateChange),
}

impl PyStrategy {
    fn call(
        &mut self,
        view: &L2View<'_>,
        what: Call<'_>,
        cmds: &mut Vec<Command>,
    ) -> CoreResult<()> {
        Python::attach(|py| -> PyResult<()> {
            self.ctx.borrow_mut(py).update(view);
            match what {
                Call::Book => {
                    self.obj
                        .bind(py)
                        .call_method1("on_book", (self.ctx.bind(py),))?;
                }
                Call::Event(e) => {
                    if let Some(h) = &self.on_fill {
                        let d = PyDict::new(py);
                        d.set_item("kind", e.kind.as_str())?;
                        d.set_item("order_id", e.id)?;
                        d.set_item("ts", e.ts)?;
                        let reason = e.kind.reason();
                        d.set_item("reason", reason.map(|r| r.as_str()))?;
                        let code = match reason {
                            Some(crate::model::Reason::Risk(r)) => Some(r.code()),
                            _ => None,
                        };
                        d.set_item("code", code)?;
                        h.bind(py).call1((d,))?;
                    }
                }
                Call::State(c) => {
                    if let Some(h) = &self.on_state {
                        let d = PyDict::new(py);
                        d.set_item("ts", c.ts)?;
                        d.set_item("from", c.from.as_str())?;
                        d.set_item("to", c.to.as_str())?;
                        d.set_item("source", &c.source)?;
                        d.set_item("reason", &c.reason)?;
                        h.bind(py).call1((d,))?;
                    }
                }
                Call::Fill(f) => {
                    if let Some(h) = &self.on_fill {
                        let (pdp, sdp) = (view.instrument.price_dp, view.instrument.size_dp);
                        let d = PyDict::new(py);
                        let full = view
                            .orders
                            .get(f.order_id)
                            .is_some_and(|o| o.filled == o.spec.qty);
                        d.set_item("kind", if full { "filled" } else { "partially_filled" })?;
                        d.set_item("order_id", f.order_id)?;
                        d.set_item("ts", f.ts)?;
                        d.set_item("side", f.side.as_str())?;
                        d.set_item("price", from_raw(f.px, pdp))?;
                        d.set_item("qty", from_raw(f.qty, sdp))?;
                        d.set_item("fee", money_to_f64(f.fee))?;
                        d.set_item("liquidity", f.liquidity.as_str())?;
                        h.bind(py).call1((d,))?;
                    }
                }
            }
            cmds.append(&mut self.ctx.borrow_mut(py).commands);
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
    fn on_elapse(&mut self, view: &L2View<'_>, cmds: &mut Vec<Command>) -> CoreResult<()> {
        self.call(view, Call::Book, cmds)
    }

    fn on_fill(
        &mut self,
        view: &L2View<'_>,
        fill: &Fill,
        cmds: &mut Vec<Command>,
    ) -> CoreResult<()> {
        if self.on_fill.is_none() {
            return Ok(());
        }
        self.call(view, Call::Fill(fill), cmds)
    }

    fn on_event(
        &mut self,
        view: &L2View<'_>,
        event: &OrderEvent,
        cmds: &mut Vec<Command>,
    ) -> CoreResult<()> {
        if self.on_fill.is_none() {
            return Ok(());
        }
        self.call(view, Call::Event(event), cmds)
    }

    fn on_trading_state(
        &mut self,
        view: &L2View<'_>,
        change: &StateChange,
        cmds: &mut Vec<Command>,
    ) -> CoreResult<()> {
        if self.on_state.is_none() {
            return Ok(());
        }
        self.call(view, Call::State(change), cmds)
    }
}

/// The native market maker with its parameters in units, converted once the precision is known.
struct NativeMm {
    qty: f64,
    max_position: f64,
    offset_ticks: i64,
    inner: Option<PassiveMarketMaker>,
}

impl L2Strategy for NativeMm {
    fn on_elapse(&mut self, view: &L2View<'_>, cmds: &mut Vec<Command>) -> CoreResult<()> {
        if self.inner.is_none() {
            let sdp = view.instrument.size_dp;
            let bad = |name: &'static str, v: f64| CoreError::InvalidArgument {
                name,
                reason: format!("must be a finite number, got {v}"),
            };
            let q = to_raw(self.qty, sdp).ok_or_else(|| bad("qty", self.qty))?;
            let m = to_raw(self.max_position, sdp)
                .ok_or_else(|| bad("max_position", self.max_position))?;
            self.inner = Some(PassiveMarketMaker::new(q, m, self.offset_ticks)?);
        }
        match self.inner.as_mut() {
            Some(mm) => mm.on_elapse(view, cmds),
            None => Ok(()),
        }
    }

    fn on_fill(
        &mut self,
        view: &L2View<'_>,
        fill: &Fill,
        cmds: &mut Vec<Command>,
    ) -> CoreResult<()> {
        match self.inner.as_mut() {
            Some(mm) => mm.on_fill(view, fill, cmds),
            None => Ok(()),
        }
    }
}

fn report_dict<'py>(
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
    d.set_item("orders", r.orders)?;
    d.set_item("fills", r.fills)?;
    d.set_item("maker_fills", r.maker_fills)?;
    d.set_item("taker_fills", r.taker_fills)?;
    d.set_item("position", from_raw(r.position, sdp))?;
    d.set_item("cash", money_to_f64(r.cash))?;
    d.set_item("fees", money_to_f64(r.fees))?;
    d.set_item("volume", from_raw(r.volume, sdp))?;
    d.set_item("last_mid", r.last_mid)?;
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
    let audit = run
        .risk
        .audit()
        .entries()
        .iter()
        .map(|e| super::risk::entry_dict(py, e))
        .collect::<PyResult<Vec<_>>>()?;
    d.set_item("audit", audit)?;
    Ok(d)
}

/// Initial cash in currency units as money units (exact to 1e-8, as `Backtest`'s).
fn cash_money(cash: f64) -> PyResult<i128> {
    if !(cash.is_finite() && cash >= 0.0) {
        return Err(CoreError::InvalidArgument {
            name: "cash",
            reason: format!("must be a finite number >= 0, got {cash}"),
        }
        .into());
    }
    Ok((cash * 1e8).round() as i128 * pow10(MONEY_DP - 8))
}

/// The risk engine of a run over `inst` from the config dict (None: the loop's default).
fn risk_engine(
    cfg: Option<&Bound<'_, PyDict>>,
    inst: impl FnOnce() -> CoreResult<Instrument>,
    log: &super::risk::LayerLog,
) -> PyResult<Option<RiskEngine>> {
    match cfg {
        None => Ok(None),
        Some(d) => Ok(Some(super::risk::configure(d, &[inst()?], log)?)),
    }
}

/// The latency legs from a `trader.fill_models` latency config (`{"model": ..., ...}`; None: zero).
fn latency_from(cfg: Option<&Bound<'_, PyDict>>) -> PyResult<crate::venue::LatencyConfig> {
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

/// Run an L2 backtest over raw Binance recordings. `strategy=None` runs the native passive
/// market maker (`qty`, `max_position` in units, `offset_ticks`); otherwise `strategy` is a
/// Python Strategy whose `on_book(ctx)` is called every `elapse_ns` of market time.
#[pyfunction]
#[pyo3(signature = (paths, strategy = None, *, market = "usdm", queue = "risk_averse", elapse_ns = 100_000_000,
    maker_fee_bps = 0.0, taker_fee_bps = 0.0, qty = 0.001, max_position = 0.01, offset_ticks = 0,
    price_precision = None, size_precision = None, latency = None, risk = None, cash = 0.0))]
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
) -> PyResult<Bound<'py, PyDict>> {
    for p in &paths {
        if !p.is_file() {
            return Err(pyo3::exceptions::PyFileNotFoundError::new_err(format!(
                "path: no such recording: {}",
                p.display()
            )));
        }
    }
    let mut cfg = L2Config::new(MarketKind::parse(market)?);
    cfg.latency = latency_from(latency.as_ref())?;
    cfg.queue = QueueModel::parse(queue)?;
    cfg.elapse_ns = elapse_ns;
    cfg.maker_fee_bps = maker_fee_bps;
    cfg.taker_fee_bps = taker_fee_bps;
    cfg.price_dp = price_precision;
    cfg.size_dp = size_precision;
    cfg.initial_cash = cash_money(cash)?;
    let log: super::risk::LayerLog = Default::default();
    // The limits are in units of the run's instrument: its precision is needed first.
    let engine = risk_engine(
        risk.as_ref(),
        || {
            let (pdp, sdp) = probe_precision(&paths, &cfg)?;
            cfg.price_dp = Some(pdp);
            cfg.size_dp = Some(sdp);
            l2_instrument(pdp, sdp)
        },
        &log,
    )?;
    match strategy {
        None => {
            let mm = NativeMm {
                qty,
                max_position,
                offset_ticks,
                inner: None,
            };
            let (r, _, run) = py.detach(|| run_l2_files_with(&paths, cfg, mm, engine))?;
            report_dict(py, &r, &run, &log)
        }
        Some(obj) => {
            let (s, error) = py_strategy(py, &obj)?;
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

/// Quote-mode backtest over tick columns (dicts of numpy arrays as `read_tardis` /
/// `read_binance_ticks` return them). `strategy=None` runs the native market maker.
#[pyfunction]
#[pyo3(signature = (trades, quotes, strategy = None, *, price_precision, size_precision, queue = "risk_averse",
    elapse_ns = 100_000_000, maker_fee_bps = 0.0, taker_fee_bps = 0.0, qty = 0.001, max_position = 0.01,
    offset_ticks = 0, latency = None, risk = None, cash = 0.0))]
#[allow(clippy::too_many_arguments)] // reason: keyword arguments of one Python entry point
fn run_tick_backtest<'py>(
    py: Python<'py>,
    trades: &Bound<'py, PyDict>,
    quotes: &Bound<'py, PyDict>,
    strategy: Option<Bound<'py, PyAny>>,
    price_precision: u8,
    size_precision: u8,
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
) -> PyResult<Bound<'py, PyDict>> {
    let t = TradeTicks {
        ts_event: col(trades, "ts_event")?,
        ts_local: Vec::new(),
        price: col(trades, "price")?,
        size: col(trades, "size")?,
        side: col(trades, "side")?,
        id: Vec::new(),
    };
    same_len(
        "trades",
        t.ts_event.len(),
        &[t.price.len(), t.size.len(), t.side.len()],
    )?;
    let q = Qt {
        ts_event: col(quotes, "ts_event")?,
        ts_local: Vec::new(),
        bid_price: col(quotes, "bid_price")?,
        bid_size: col(quotes, "bid_size")?,
        ask_price: col(quotes, "ask_price")?,
        ask_size: col(quotes, "ask_size")?,
    };
    same_len(
        "quotes",
        q.ts_event.len(),
        &[
            q.bid_price.len(),
            q.bid_size.len(),
            q.ask_price.len(),
            q.ask_size.len(),
        ],
    )?;
    let mut cfg = L2Config::new(MarketKind::UsdM);
    cfg.latency = latency_from(latency.as_ref())?;
    cfg.queue = QueueModel::parse(queue)?;
    cfg.elapse_ns = elapse_ns;
    cfg.maker_fee_bps = maker_fee_bps;
    cfg.taker_fee_bps = taker_fee_bps;
    cfg.initial_cash = cash_money(cash)?;
    let log: super::risk::LayerLog = Default::default();
    let engine = risk_engine(
        risk.as_ref(),
        || ticks_instrument(price_precision, size_precision),
        &log,
    )?;
    let (pdp, sdp) = (price_precision, size_precision);
    match strategy {
        None => {
            let mm = NativeMm {
                qty,
                max_position,
                offset_ticks,
                inner: None,
            };
            let (r, _, run) = py.detach(|| run_ticks_with(&t, &q, cfg, pdp, sdp, mm, engine))?;
            report_dict(py, &r, &run, &log)
        }
        Some(obj) => {
            let (s, error) = py_strategy(py, &obj)?;
            let out = run_ticks_with(&t, &q, cfg, pdp, sdp, s, engine);
            finish_py(py, &obj, out, &error, &log)
        }
    }
}

type ErrSlot = std::rc::Rc<std::cell::RefCell<Option<PyErr>>>;

fn py_strategy(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<(PyStrategy, ErrSlot)> {
    let ctx = Py::new(py, PyL2Context::new())?;
    let handler = obj.call_method0("_event_handler")?;
    let on_fill = if handler.is_none() {
        None
    } else {
        Some(handler.unbind())
    };
    let state = obj.call_method0("_state_handler")?;
    let on_state = if state.is_none() {
        None
    } else {
        Some(state.unbind())
    };
    obj.call_method1("_attach", (ctx.bind(py), vec!["L2"]))?;
    obj.call_method0("on_start")?;
    let error: ErrSlot = std::rc::Rc::new(std::cell::RefCell::new(None));
    Ok((
        PyStrategy {
            obj: obj.clone().unbind(),
            ctx,
            on_fill,
            on_state,
            error: error.clone(),
        },
        error,
    ))
}

fn finish_py<'py>(
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
    m.add_class::<PyL2Context>()?;
    Ok(())
}
