//! Bindings of the risk engine: the config dict (`PyBacktest.configure_risk`), Python risk
//! layers (`PyLayer`), the report and the audit log (`risk_report`, `audit_entries`,
//! `verify_audit`).
//!
//! The config dict is the one `trader/risk.py` builds (HELPERS.md); every error names the key,
//! e.g. `limits: limits.instruments.BTCUSDT.max_position: must be a number > 0, got -1`.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::error::{CoreError, CoreResult};
use crate::model::fixed::{MONEY_DP, from_raw, money_to_f64, pow10};
use crate::model::{Bar, Fill, Instrument, OrderSpec};
use crate::risk::audit::{AuditEntry, AuditLog};
use crate::risk::bucket::RateLimit;
use crate::risk::checks::{InstrumentLimits, RiskLimits};
use crate::risk::layers::{
    BreakerConfig, ConfidenceConfig, DrawdownConfig, KellyConfig, LayerConfig, PanicConfig,
    VolEstimator, VolTargetConfig,
};
use crate::risk::{
    Hooks, RiskConfig, RiskEngine, RiskLayer, RiskReason, RiskReport, RiskView, StateChange,
    StateWish, TradingState, Verdict,
};

/// Messages of the Python layers (exceptions, veto details), shared between the layers inside
/// the engine and the `Backtest` that reports them.
pub(crate) type LayerLog = Arc<Mutex<Vec<String>>>;

/// At most this many layer messages are kept (the rest are counted).
const LOG_MAX: usize = 1000;

/// A change of the risk engine's trading state as a strategy's `on_trading_state` gets it in
/// every mode, and as the risk report lists it: `{"ts", "from", "to", "source", "reason"}`.
pub(super) fn state_change_dict<'py>(
    py: Python<'py>,
    change: &StateChange,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("ts", change.ts)?;
    d.set_item("from", change.from.as_str())?;
    d.set_item("to", change.to.as_str())?;
    d.set_item("source", &change.source)?;
    d.set_item("reason", &change.reason)?;
    Ok(d)
}

fn log(log: &LayerLog, msg: String) {
    if let Ok(mut l) = log.lock() {
        if l.len() < LOG_MAX {
            l.push(msg);
        } else if l.len() == LOG_MAX {
            l.push("... further layer messages dropped".into());
        }
    }
}

fn bad(name: &'static str, reason: String) -> PyErr {
    CoreError::InvalidArgument { name, reason }.into()
}

/// Typed access to one dict of the config, with the path for errors and a check that no key
/// was left unread (a typo is an error, not a silently ignored setting).
struct Section<'a, 'py> {
    d: &'a Bound<'py, PyDict>,
    /// Top-level section (the error's name).
    name: &'static str,
    /// Path shown in the message, e.g. `layers[0] (drawdown)`.
    path: String,
    read: Vec<&'static str>,
}

impl<'a, 'py> Section<'a, 'py> {
    fn new(d: &'a Bound<'py, PyDict>, name: &'static str, path: String) -> Self {
        Self {
            d,
            name,
            path,
            read: Vec::new(),
        }
    }

    fn err(&self, key: &str, what: String) -> PyErr {
        bad(self.name, format!("{}.{key}: {what}", self.path))
    }

    /// The value under `key`, None when missing or None.
    fn get(&mut self, key: &'static str) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.read.push(key);
        Ok(self.d.get_item(key)?.filter(|v| !v.is_none()))
    }

    fn opt_f64(&mut self, key: &'static str) -> PyResult<Option<f64>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => match v.extract::<f64>() {
                Ok(x) if x.is_finite() && !v.is_instance_of::<pyo3::types::PyBool>() => Ok(Some(x)),
                _ => Err(self.err(key, format!("must be a finite number, got {v}"))),
            },
        }
    }

    fn f64(&mut self, key: &'static str) -> PyResult<f64> {
        self.opt_f64(key)?
            .ok_or_else(|| self.err(key, "is required (a number)".into()))
    }

    fn f64_or(&mut self, key: &'static str, default: f64) -> PyResult<f64> {
        Ok(self.opt_f64(key)?.unwrap_or(default))
    }

    /// A number > 0 (or None).
    fn opt_pos(&mut self, key: &'static str) -> PyResult<Option<f64>> {
        let v = self.opt_f64(key)?;
        if let Some(x) = v
            && x <= 0.0
        {
            return Err(self.err(key, format!("must be > 0, got {x}")));
        }
        Ok(v)
    }

    /// A fraction in (0, 1] (or None).
    fn opt_frac(&mut self, key: &'static str) -> PyResult<Option<f64>> {
        let v = self.opt_f64(key)?;
        if let Some(x) = v
            && !(x > 0.0 && x <= 1.0)
        {
            return Err(self.err(key, format!("must be a fraction in (0, 1], got {x}")));
        }
        Ok(v)
    }

    fn opt_int<T: for<'b> FromPyObject<'b, 'py>>(
        &mut self,
        key: &'static str,
    ) -> PyResult<Option<T>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => {
                if v.is_instance_of::<pyo3::types::PyBool>() {
                    return Err(self.err(key, format!("must be an integer, got {v}")));
                }
                v.extract::<T>().map(Some).map_err(|_| {
                    self.err(
                        key,
                        format!("must be a non-negative integer in range, got {v}"),
                    )
                })
            }
        }
    }

    fn int<T: for<'b> FromPyObject<'b, 'py>>(&mut self, key: &'static str) -> PyResult<T> {
        self.opt_int(key)?
            .ok_or_else(|| self.err(key, "is required (an integer)".into()))
    }

    fn bool_or(&mut self, key: &'static str, default: bool) -> PyResult<bool> {
        match self.get(key)? {
            None => Ok(default),
            Some(v) => v
                .cast::<pyo3::types::PyBool>()
                .map(|b| b.is_true())
                .map_err(|_| self.err(key, format!("must be True or False, got {v}"))),
        }
    }

    fn string(&mut self, key: &'static str) -> PyResult<Option<String>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => v
                .extract::<String>()
                .map(Some)
                .map_err(|_| self.err(key, format!("must be a string, got {v}"))),
        }
    }

    fn state(&mut self, key: &'static str, default: TradingState) -> PyResult<TradingState> {
        match self.string(key)? {
            None => Ok(default),
            Some(s) => TradingState::parse("state", &s).map_err(|e| self.err(key, e.to_string())),
        }
    }

    fn dict(&mut self, key: &'static str) -> PyResult<Option<Bound<'py, PyDict>>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => v
                .cast_into::<PyDict>()
                .map(Some)
                .map_err(|e| self.err(key, format!("must be a dict, got {}", e.into_inner()))),
        }
    }

    /// Error on keys nobody read.
    fn finish(self) -> PyResult<()> {
        for k in self.d.keys() {
            let k: String = k.str()?.to_string();
            if !self.read.iter().any(|r| *r == k) {
                return Err(bad(
                    self.name,
                    format!(
                        "{}: unknown key {k:?} (known: {})",
                        self.path,
                        self.read.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Quote-currency units as exact money (to 1e-8, like the initial cash).
fn money(s: &Section<'_, '_>, key: &'static str, v: Option<f64>) -> PyResult<Option<i128>> {
    match v {
        None => Ok(None),
        Some(x) if x > 0.0 && x < 1e20 => Ok(Some((x * 1e8).round() as i128 * pow10(MONEY_DP - 8))),
        Some(x) => Err(s.err(key, format!("must be an amount > 0, got {x}"))),
    }
}

fn raw(s: &Section<'_, '_>, key: &'static str, v: Option<f64>, dp: u8) -> PyResult<Option<i64>> {
    match v {
        None => Ok(None),
        Some(x) => match crate::model::fixed::to_raw(x, dp) {
            Some(r) if r > 0 => Ok(Some(r)),
            _ => Err(s.err(key, format!("must be > 0 at {dp} decimals, got {x}"))),
        },
    }
}

fn rate(s: &mut Section<'_, '_>, key: &'static str) -> PyResult<Option<RateLimit>> {
    let Some(d) = s.dict(key)? else {
        return Ok(None);
    };
    let mut r = Section::new(&d, s.name, format!("{}.{key}", s.path));
    let capacity: u32 = r.int("capacity")?;
    let interval_ns: i64 = r.int("interval_ns")?;
    if capacity == 0 || interval_ns <= 0 {
        return Err(r.err("capacity", "capacity and interval_ns must be > 0".into()));
    }
    r.finish()?;
    Ok(Some(RateLimit {
        capacity,
        interval_ns,
    }))
}

fn parse_limits(d: &Bound<'_, PyDict>, instruments: &[Instrument]) -> PyResult<RiskLimits> {
    let mut s = Section::new(d, "risk_config", "limits".into());
    let mut l = RiskLimits {
        price_band_bps: s.opt_pos("price_band_bps")?,
        max_concentration: s.opt_pos("max_concentration")?,
        max_leverage: s.opt_pos("max_leverage")?,
        ..RiskLimits::default()
    };
    // Old configuration files may still say `check_balance = true`: the account checks its
    // balance itself now, always; turning it off is refused rather than ignored.
    if !s.bool_or("check_balance", true)? {
        return Err(s.err(
            "check_balance",
            "cannot be turned off: a cash account never spends what it does not have (the account's own rule, not a risk check)".into(),
        ));
    }
    let v = s.opt_f64("max_notional")?;
    l.max_notional = money(&s, "max_notional", v)?;
    let v = s.opt_f64("max_gross_exposure")?;
    l.max_gross_exposure = money(&s, "max_gross_exposure", v)?;
    let v = s.opt_f64("max_net_exposure")?;
    l.max_net_exposure = money(&s, "max_net_exposure", v)?;
    l.submit_rate = rate(&mut s, "submit_rate")?;
    l.modify_rate = rate(&mut s, "modify_rate")?;
    if let Some(per) = s.dict("instruments")? {
        l.instruments = vec![InstrumentLimits::default(); instruments.len()];
        for (sym, v) in per.iter() {
            let sym: String = sym.str()?.to_string();
            let Some(i) = instruments.iter().position(|x| x.symbol == sym) else {
                let known: Vec<&str> = instruments.iter().map(|x| x.symbol.as_str()).collect();
                return Err(bad(
                    "risk_config",
                    format!(
                        "limits.instruments: unknown symbol {sym:?} (the run trades {known:?})"
                    ),
                ));
            };
            let inst = &instruments[i];
            let d = v.cast_into::<PyDict>().map_err(|e| {
                bad(
                    "risk_config",
                    format!(
                        "limits.instruments.{sym}: must be a dict, got {}",
                        e.into_inner()
                    ),
                )
            })?;
            let mut t = Section::new(&d, "risk_config", format!("limits.instruments.{sym}"));
            let il = &mut l.instruments[i];
            let v = t.opt_f64("max_position")?;
            il.max_position = raw(&t, "max_position", v, inst.size_dp)?;
            let v = t.opt_f64("max_qty")?;
            il.max_qty = raw(&t, "max_qty", v, inst.size_dp)?;
            let v = t.opt_f64("min_price")?;
            il.min_price = raw(&t, "min_price", v, inst.price_dp)?;
            let v = t.opt_f64("max_price")?;
            il.max_price = raw(&t, "max_price", v, inst.price_dp)?;
            let v = t.opt_f64("min_notional")?;
            il.min_notional = money(&t, "min_notional", v)?;
            t.finish()?;
        }
    }
    s.finish()?;
    Ok(l)
}

fn parse_layer(s: &mut Section<'_, '_>, kind: &str) -> PyResult<LayerConfig> {
    Ok(match kind {
        "drawdown" => {
            let c = DrawdownConfig {
                soft: s.opt_frac("soft")?,
                hard: s.opt_frac("hard")?,
                hard_state: s.state("hard_state", TradingState::Halted)?,
                daily_loss: s.opt_frac("daily_loss")?,
            };
            if let (Some(a), Some(b)) = (c.soft, c.hard)
                && a >= b
            {
                return Err(s.err("soft", format!("must be below hard ({a} >= {b})")));
            }
            if !matches!(c.hard_state, TradingState::Halted | TradingState::Emergency) {
                return Err(s.err("hard_state", "must be \"halted\" or \"emergency\"".into()));
            }
            LayerConfig::Drawdown(c)
        }
        "vol_target" => {
            let target = s
                .opt_pos("target")?
                .ok_or_else(|| s.err("target", "is required (a number > 0)".into()))?;
            let est = s
                .dict("estimator")?
                .ok_or_else(|| s.err("estimator", "is required (a dict)".into()))?;
            let mut e = Section::new(&est, s.name, format!("{}.estimator", s.path));
            let estimator = match e.string("kind")?.as_deref() {
                Some("rolling") => {
                    let window: usize = e.int("window")?;
                    if window < 2 {
                        return Err(e.err("window", format!("must be >= 2, got {window}")));
                    }
                    VolEstimator::Rolling { window }
                }
                Some("garch") => {
                    let alpha = e.f64("alpha")?;
                    let beta = e.f64("beta")?;
                    let omega = e.opt_pos("omega")?;
                    let warmup: usize = e.int("warmup")?;
                    if alpha < 0.0 || beta < 0.0 || alpha + beta >= 1.0 {
                        return Err(e.err(
                            "alpha",
                            format!(
                                "need alpha, beta >= 0 and alpha + beta < 1, got {alpha}, {beta}"
                            ),
                        ));
                    }
                    if warmup < 2 {
                        return Err(e.err("warmup", format!("must be >= 2, got {warmup}")));
                    }
                    VolEstimator::Garch {
                        alpha,
                        beta,
                        omega,
                        warmup,
                    }
                }
                other => {
                    return Err(e.err(
                        "kind",
                        format!("must be \"rolling\" or \"garch\", got {other:?}"),
                    ));
                }
            };
            e.finish()?;
            let c = VolTargetConfig {
                target,
                estimator,
                periods_per_year: s.f64_or("periods_per_year", 525_600.0)?,
                min_scale: s.f64_or("min_scale", 0.0)?,
                max_scale: s.f64_or("max_scale", 1.0)?,
            };
            if !(c.periods_per_year > 0.0) {
                return Err(s.err("periods_per_year", "must be > 0".into()));
            }
            if !(c.min_scale >= 0.0 && c.min_scale <= c.max_scale) {
                return Err(s.err("min_scale", "need 0 <= min_scale <= max_scale".into()));
            }
            LayerConfig::VolTarget(c)
        }
        "kelly" => {
            let c = KellyConfig {
                fraction: s.f64_or("fraction", 0.25)?,
                window: s.opt_int("window")?.unwrap_or(100),
                min_trades: s.opt_int("min_trades")?.unwrap_or(20),
            };
            if !(c.fraction > 0.0 && c.fraction <= 0.25) {
                return Err(s.err(
                    "fraction",
                    format!("must be in (0, 0.25], got {}", c.fraction),
                ));
            }
            if c.window == 0 {
                return Err(s.err("window", "must be >= 1".into()));
            }
            LayerConfig::Kelly(c)
        }
        "confidence" => {
            let c = ConfidenceConfig {
                min_confidence: s.f64_or("min_confidence", 0.0)?,
                min_scale: s.f64_or("min_scale", 0.0)?,
                max_scale: s.f64_or("max_scale", 1.0)?,
                min_leverage: s.f64_or("min_leverage", 1.0)?,
                max_leverage: s.f64_or("max_leverage", 1.0)?,
            };
            if !(0.0..=1.0).contains(&c.min_confidence) {
                return Err(s.err("min_confidence", "must be in [0, 1]".into()));
            }
            if !(c.min_scale >= 0.0 && c.min_scale <= c.max_scale) {
                return Err(s.err("min_scale", "need 0 <= min_scale <= max_scale".into()));
            }
            if !(c.min_leverage > 0.0 && c.min_leverage <= c.max_leverage) {
                return Err(s.err(
                    "min_leverage",
                    "need 0 < min_leverage <= max_leverage".into(),
                ));
            }
            LayerConfig::Confidence(c)
        }
        "panic" => {
            let c = PanicConfig {
                stale_ns: s.opt_int("stale_ns")?,
                spread_k: s.opt_pos("spread_k")?,
                spread_window: s.opt_int("spread_window")?.unwrap_or(100),
                slippage_k: s.opt_pos("slippage_k")?,
                expected_slippage_bps: s.f64_or("expected_slippage_bps", 0.0)?,
                max_consecutive_rejects: s.opt_int("max_consecutive_rejects")?,
                state: s.state("state", TradingState::Paused)?,
                cooldown_ns: s.opt_int("cooldown_ns")?.unwrap_or(0),
            };
            if !matches!(c.state, TradingState::Paused | TradingState::Halted) {
                return Err(s.err("state", "must be \"paused\" or \"halted\"".into()));
            }
            if c.stale_ns.is_some_and(|x| x <= 0) || c.cooldown_ns < 0 {
                return Err(s.err(
                    "stale_ns",
                    "stale_ns must be > 0 and cooldown_ns >= 0".into(),
                ));
            }
            if c.spread_window < 2 || !(c.expected_slippage_bps >= 0.0) {
                return Err(s.err(
                    "spread_window",
                    "spread_window must be >= 2 and expected_slippage_bps >= 0".into(),
                ));
            }
            LayerConfig::Panic(c)
        }
        "circuit_breaker" => {
            let c = BreakerConfig {
                failure_threshold: s.int("failure_threshold")?,
                cooldown_ns: s.int("cooldown_ns")?,
                half_open_trials: s.opt_int("half_open_trials")?.unwrap_or(1),
            };
            if c.failure_threshold == 0 || c.half_open_trials == 0 || c.cooldown_ns < 0 {
                return Err(s.err(
                    "failure_threshold",
                    "failure_threshold and half_open_trials must be >= 1, cooldown_ns >= 0".into(),
                ));
            }
            LayerConfig::CircuitBreaker(c)
        }
        other => {
            return Err(s.err(
                "kind",
                format!(
                    "unknown layer kind {other:?} (drawdown, vol_target, kelly, confidence, panic, \
                     circuit_breaker, python)"
                ),
            ));
        }
    })
}

/// A Python object following the layer protocol (HELPERS.md): `name`, and optionally
/// `check(order, account)`, `on_bar(bar, account)`, `on_fill(fill, account)`, `wish()`,
/// `explain()`. An exception (or a bad return value) in `check` vetoes the order (`layer_veto`);
/// in the other methods it is ignored; every one is written to the run's layer messages.
/// `explain()` (a str, or None) is called only when the layer's decision needs words: a veto,
/// a resize, a change of state it asked for; without it, a veto's own str (or the exception that
/// vetoed) is the explanation.
struct PyLayer {
    name: String,
    obj: Py<PyAny>,
    has_check: bool,
    has_on_bar: bool,
    has_on_fill: bool,
    has_wish: bool,
    has_explain: bool,
    state: TradingState,
    wish: StateWish,
    log: LayerLog,
    /// Why `check` vetoed its latest order (its str, or the failure), for `explain`.
    vetoed: Option<String>,
}

fn account<'py>(
    py: Python<'py>,
    view: &RiskView<'_>,
    state: TradingState,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("ts", view.ts)?;
    d.set_item(
        "equity",
        money_to_f64(view.portfolio.equity(view.instruments)),
    )?;
    d.set_item("cash", money_to_f64(view.portfolio.cash))?;
    let pos = PyDict::new(py);
    for (p, inst) in view.portfolio.positions.iter().zip(view.instruments) {
        pos.set_item(&inst.symbol, from_raw(p.qty, inst.size_dp))?;
    }
    d.set_item("positions", pos)?;
    d.set_item("state", state.as_str())?;
    Ok(d)
}

impl PyLayer {
    fn new(name: String, obj: Bound<'_, PyAny>, log: LayerLog) -> PyResult<Self> {
        let has =
            |m: &str| -> PyResult<bool> { Ok(obj.hasattr(m)? && obj.getattr(m)?.is_callable()) };
        Ok(Self {
            has_check: has("check")?,
            has_on_bar: has("on_bar")?,
            has_on_fill: has("on_fill")?,
            has_wish: has("wish")?,
            has_explain: has("explain")?,
            vetoed: None,
            name,
            obj: obj.unbind(),
            state: TradingState::Active,
            wish: StateWish {
                state: TradingState::Active,
                reason: RiskReason::LayerVeto,
            },
            log,
        })
    }

    fn note(&self, what: &str, e: impl std::fmt::Display) {
        log(&self.log, format!("{}: {what}: {e}", self.name));
    }

    fn refresh_wish(&mut self, py: Python<'_>) {
        // a veto's words explain that veto only, not a state the layer may ask for next
        self.vetoed = None;
        if !self.has_wish {
            return;
        }
        let w = self.obj.bind(py).call_method0("wish").and_then(|v| {
            if v.is_none() {
                return Ok(TradingState::Active);
            }
            let s: String = v.extract()?;
            Ok(TradingState::parse("wish", &s)?)
        });
        match w {
            Ok(state) => self.wish.state = state,
            Err(e) => self.note("wish() failed (state kept)", e),
        }
    }

    fn call(
        &mut self,
        method: &str,
        arg: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, PyDict>>,
        view: &RiskView<'_>,
    ) {
        Python::attach(|py| {
            let r = arg(py).and_then(|a| {
                let acct = account(py, view, self.state)?;
                self.obj.bind(py).call_method1(method, (a, acct))
            });
            if let Err(e) = r {
                self.note(&format!("{method}() raised"), e);
            }
            self.refresh_wish(py);
        });
    }
}

impl RiskLayer for PyLayer {
    fn name(&self) -> &str {
        &self.name
    }

    /// `{"state": the engine's state it was told, "wish": its wish, "layer": its own state}`:
    /// the object's `state()` (a JSON-able dict) when it defines one, else null. A `state()`
    /// that raises or returns what JSON cannot hold is written to the layer messages and saved
    /// as null (the layer then restarts from its own initial state).
    fn save(&self) -> serde_json::Value {
        let own = Python::attach(|py| -> PyResult<serde_json::Value> {
            let obj = self.obj.bind(py);
            if !(obj.hasattr("state")? && obj.getattr("state")?.is_callable()) {
                return Ok(serde_json::Value::Null);
            }
            let st = obj.call_method0("state")?;
            let text: String = py.import("json")?.call_method1("dumps", (st,))?.extract()?;
            serde_json::from_str(&text).map_err(|e| {
                CoreError::InvalidArgument {
                    name: "state",
                    reason: e.to_string(),
                }
                .into()
            })
        });
        let own = own.unwrap_or_else(|e| {
            self.note("state() failed (saved as null)", e);
            serde_json::Value::Null
        });
        serde_json::json!({
            "state": self.state.as_str(),
            "wish": self.wish.state.as_str(),
            "layer": own,
        })
    }

    /// Takes back [`save`](Self::save)'s value: the engine's state and the wish, then the
    /// object's `load_state(dict)` with its own state (when it was saved and the object defines
    /// `load_state`; an exception is an error of the restore).
    fn load(&mut self, v: &serde_json::Value) -> CoreResult<()> {
        let bad = |what: &str| CoreError::InvalidArgument {
            name: "checkpoint",
            reason: format!("layer {:?}: {what}", self.name),
        };
        let state_of = |k: &str| -> CoreResult<TradingState> {
            let s = v
                .get(k)
                .and_then(|x| x.as_str())
                .ok_or_else(|| bad(&format!("no {k:?}")))?;
            TradingState::parse("checkpoint", s)
        };
        let (state, wish) = (state_of("state")?, state_of("wish")?);
        let own = v.get("layer").cloned().unwrap_or(serde_json::Value::Null);
        if !own.is_null() {
            Python::attach(|py| -> PyResult<()> {
                let obj = self.obj.bind(py);
                if !(obj.hasattr("load_state")? && obj.getattr("load_state")?.is_callable()) {
                    return Err(
                        bad("the checkpoint holds its state() but it has no load_state()").into(),
                    );
                }
                let d = py
                    .import("json")?
                    .call_method1("loads", (own.to_string(),))?;
                obj.call_method1("load_state", (d,))?;
                Ok(())
            })
            .map_err(|e| bad(&format!("load_state() failed: {e}")))?;
        }
        self.state = state;
        self.wish.state = wish;
        self.vetoed = None;
        Ok(())
    }

    fn check(&mut self, spec: &OrderSpec, view: &RiskView<'_>) -> Verdict {
        if !self.has_check {
            return Verdict::Pass;
        }
        let Some(inst) = view.instruments.get(spec.instrument as usize) else {
            return Verdict::Pass; // the checks deny unknown instruments first
        };
        self.vetoed = None;
        Python::attach(|py| {
            let r = (|| -> PyResult<Verdict> {
                let o = PyDict::new(py);
                o.set_item("id", spec.id)?;
                o.set_item("instrument", &inst.symbol)?;
                o.set_item("side", spec.side.as_str())?;
                o.set_item("type", spec.kind.as_str())?;
                o.set_item("qty", from_raw(spec.qty, inst.size_dp))?;
                o.set_item(
                    "price",
                    spec.kind.limit_px().map(|p| from_raw(p, inst.price_dp)),
                )?;
                o.set_item(
                    "trigger",
                    spec.kind.trigger_px().map(|p| from_raw(p, inst.price_dp)),
                )?;
                o.set_item("reduce_only", spec.reduce_only)?;
                let acct = account(py, view, self.state)?;
                let v = self.obj.bind(py).call_method1("check", (o, acct))?;
                if v.is_none() {
                    return Ok(Verdict::Pass);
                }
                if let Ok(s) = v.cast::<PyString>() {
                    self.note(&format!("vetoed order {}", spec.id), s.to_str()?);
                    self.vetoed = Some(s.to_str()?.to_string());
                    return Ok(Verdict::Veto(RiskReason::LayerVeto));
                }
                let q: f64 = v.extract().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "check() must return None, a quantity or a str, got {v}"
                    ))
                })?;
                if !(q.is_finite() && q >= 0.0) {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "check() returned the quantity {q}"
                    )));
                }
                // Units → raw, rounded down (the engine then rounds down to the lot).
                let raw = (q * inst.size_scale * (1.0 + 1e-12)).floor();
                Ok(if raw >= 9.0e18 {
                    Verdict::Pass
                } else {
                    Verdict::Resize(raw as i64)
                })
            })();
            r.unwrap_or_else(|e| {
                self.note(&format!("check() failed on order {} (vetoed)", spec.id), &e);
                self.vetoed = Some(format!("check() failed: {e}"));
                Verdict::Veto(RiskReason::LayerVeto)
            })
        })
    }

    fn on_bar(&mut self, bar: &Bar, view: &RiskView<'_>) {
        if !self.has_on_bar {
            if self.has_wish {
                Python::attach(|py| self.refresh_wish(py));
            }
            return;
        }
        let inst = &view.instruments[bar.instrument as usize];
        let (sym, dp) = (inst.symbol.clone(), inst.price_dp);
        let b = *bar;
        self.call(
            "on_bar",
            move |py| {
                let d = PyDict::new(py);
                d.set_item("ts", b.ts)?;
                d.set_item("instrument", sym)?;
                d.set_item("open", from_raw(b.open, dp))?;
                d.set_item("high", from_raw(b.high, dp))?;
                d.set_item("low", from_raw(b.low, dp))?;
                d.set_item("close", from_raw(b.close, dp))?;
                d.set_item("volume", b.volume)?;
                Ok(d)
            },
            view,
        );
    }

    fn on_fill(&mut self, fill: &Fill, view: &RiskView<'_>) {
        if !self.has_on_fill {
            return;
        }
        let inst = &view.instruments[fill.instrument as usize];
        let (sym, pdp, sdp) = (inst.symbol.clone(), inst.price_dp, inst.size_dp);
        let f = fill.clone();
        self.call(
            "on_fill",
            move |py| {
                let d = PyDict::new(py);
                d.set_item("ts", f.ts)?;
                d.set_item("order_id", f.order_id)?;
                d.set_item("instrument", sym)?;
                d.set_item("side", f.side.as_str())?;
                d.set_item("price", from_raw(f.px, pdp))?;
                d.set_item("qty", from_raw(f.qty, sdp))?;
                d.set_item("fee", money_to_f64(f.fee))?;
                d.set_item("liquidity", f.liquidity.as_str())?;
                d.set_item("liquidation", f.liquidation)?;
                Ok(d)
            },
            view,
        );
    }

    /// Only the methods the class defines (a `wish` alone is read once a bar); no Python call
    /// for order events or quotes.
    fn hooks(&self) -> Hooks {
        Hooks {
            check: self.has_check,
            bar: self.has_on_bar || self.has_wish,
            fill: self.has_on_fill,
            ..Hooks::NONE
        }
    }

    fn wish(&self) -> StateWish {
        self.wish
    }

    fn needs_every_bar(&self) -> bool {
        self.has_on_bar
    }

    fn on_state(&mut self, state: TradingState) {
        self.state = state;
    }

    /// The layer's `explain()` if it has one (None, or a failure, falls back to the veto's
    /// words), else the words of its latest veto.
    fn explain(&self) -> Option<String> {
        if self.has_explain {
            let said = Python::attach(|py| {
                let v = self.obj.bind(py).call_method0("explain")?;
                if v.is_none() {
                    return Ok(None);
                }
                v.extract::<String>().map(Some).map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err(format!(
                        "explain() must return a str or None, got {v}"
                    ))
                })
            });
            match said {
                Ok(Some(s)) => return Some(s),
                Ok(None) => {}
                Err(e) => self.note("explain() failed", e),
            }
        }
        self.vetoed.clone()
    }
}

fn audit_key(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    Err(bad(
        "risk_config",
        format!("audit_key: must be bytes or str, got {v}"),
    ))
}

/// Build the risk engine of `cfg` (the HELPERS.md dict) for a run over `instruments`.
pub(crate) fn configure(
    cfg: &Bound<'_, PyDict>,
    instruments: &[Instrument],
    log: &LayerLog,
) -> PyResult<RiskEngine> {
    let mut top = Section::new(cfg, "risk_config", "risk".into());
    let bypass = top.bool_or("bypass", false)?;
    let initial_state = top.state("initial_state", TradingState::Active)?;
    let limits = match top.dict("limits")? {
        Some(d) => parse_limits(&d, instruments)?,
        None => RiskLimits::default(),
    };
    let audit_key = top.get("audit_key")?.map(|v| audit_key(&v)).transpose()?;
    let mut layers: Vec<Box<dyn RiskLayer>> = Vec::new();
    if let Some(list) = top.get("layers")? {
        let list = list.cast_into::<PyList>().map_err(|e| {
            bad(
                "risk_config",
                format!("layers: must be a list, got {}", e.into_inner()),
            )
        })?;
        for (i, item) in list.iter().enumerate() {
            let d = item.cast_into::<PyDict>().map_err(|e| {
                bad(
                    "risk_config",
                    format!("layers[{i}]: must be a dict, got {}", e.into_inner()),
                )
            })?;
            let mut s = Section::new(&d, "risk_config", format!("layers[{i}]"));
            let kind = s
                .string("kind")?
                .ok_or_else(|| s.err("kind", "is required".into()))?;
            s.path = format!("layers[{i}] ({kind})");
            let name = s.string("name")?.unwrap_or_else(|| kind.clone());
            if kind == "python" {
                let obj = s
                    .get("layer")?
                    .ok_or_else(|| s.err("layer", "is required (the layer object)".into()))?;
                s.finish()?;
                layers.push(Box::new(PyLayer::new(name, obj, log.clone())?));
                continue;
            }
            let lc = parse_layer(&mut s, &kind)?;
            s.finish()?;
            let layer = crate::risk::layers::build(&lc, name, instruments.len())
                .map_err(|e| s_err(i, &kind, e.to_string()))?;
            layers.push(layer);
        }
    }
    top.finish()?;
    let config = RiskConfig {
        limits,
        bypass,
        initial_state,
        audit_key,
    };
    Ok(RiskEngine::new(config, layers, instruments.len())?)
}

fn s_err(i: usize, kind: &str, m: String) -> PyErr {
    bad("risk_config", format!("layers[{i}] ({kind}): {m}"))
}

/// The report as the dict `PyBacktest.risk_report()` returns.
pub(crate) fn report<'py>(
    py: Python<'py>,
    r: &RiskReport,
    state: TradingState,
    log: &LayerLog,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let den = PyDict::new(py);
    for (k, v) in &r.denials {
        den.set_item(k.code(), v)?;
    }
    // The account's refusals (balance, holdings, margin) are reported with the risk engine's.
    for (k, v) in &r.account_denials {
        den.set_item(*k, v)?;
    }
    d.set_item("denials", den)?;
    // The first sentence of each reason code: what a summary shows beside the count.
    let ex = PyDict::new(py);
    for (k, v) in &r.examples {
        ex.set_item(*k, v)?;
    }
    d.set_item("examples", ex)?;
    let vet = PyDict::new(py);
    for (k, v) in &r.vetoes_by_layer {
        vet.set_item(k, v)?;
    }
    d.set_item("vetoes_by_layer", vet)?;
    d.set_item("resized", r.resized)?;
    let changes = PyList::empty(py);
    for c in &r.changes {
        changes.append(state_change_dict(py, c)?)?;
    }
    d.set_item("changes", changes)?;
    let t = PyDict::new(py);
    for s in TradingState::ALL {
        t.set_item(s.as_str(), r.time_in_state_ns[s.index()] as f64 / 1e9)?;
    }
    d.set_item("time_in_state", t)?;
    d.set_item("state", state.as_str())?;
    let msgs: Vec<String> = log.lock().map(|l| l.clone()).unwrap_or_default();
    d.set_item("layer_messages", msgs)?;
    Ok(d)
}

/// The audit log's entries as dicts. The keys and the short values (kind, states, source,
/// code) are interned Python strings, and an entry's `prev_hash` is the previous entry's `hash`
/// object: a run may have an entry per denied order.
// NB: 300k denials (a strategy buying on every bar what the account cannot pay for): 4.5 µs an
// entry with fresh strings for every key and value, more than the run itself; 2.2 µs with the
// keys and short values interned (cProfile). Sharing the hash object saves ~110 MB per million
// entries (max RSS), not time.
// Since runs of the same denial are folded into one entry (`AuditLog::deny`), that run is
// ~250 entries for 1M denials; the interning still serves logs with many short runs.
/// The log's entries, the open run of denials included as it stands (`AuditLog::snapshot`): a
/// folded run is one dict with `count`, `last_ts`, `last_reason` beside the first denial's
/// `ts` and `reason`.
pub(crate) fn entry_dicts<'py>(
    py: Python<'py>,
    log: &AuditLog,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let open = log.open_run();
    entries_as_dicts(py, log.entries().iter().chain(open.as_ref()))
}

/// Audit entries as the dicts of the audit file's lines (a hash string shared with the next
/// entry's `prev_hash`).
pub(crate) fn entries_as_dicts<'a, 'py>(
    py: Python<'py>,
    entries: impl Iterator<Item = &'a AuditEntry>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    use pyo3::intern;
    let short = |s: &str| PyString::intern(py, s);
    let mut prev: Option<Bound<'py, PyString>> = None;
    let mut out = Vec::with_capacity(entries.size_hint().0);
    for e in entries {
        let d = PyDict::new(py);
        d.set_item(intern!(py, "seq"), e.seq)?;
        d.set_item(intern!(py, "ts"), e.ts)?;
        d.set_item(intern!(py, "kind"), short(&e.kind))?;
        d.set_item(intern!(py, "from"), short(&e.from))?;
        d.set_item(intern!(py, "to"), short(&e.to))?;
        d.set_item(intern!(py, "source"), short(&e.source))?;
        d.set_item(intern!(py, "reason"), &e.reason)?;
        // a denial's reason code and the orders a denial or resize is about (absent for the
        // other kinds, as in the JSON lines)
        if !e.code.is_empty() {
            d.set_item(intern!(py, "code"), short(&e.code))?;
        }
        if !e.orders.is_empty() {
            d.set_item(intern!(py, "orders"), &e.orders)?;
        }
        // a folded run of denials (absent for a single entry, as in the JSON lines)
        if e.count != 1 {
            d.set_item(intern!(py, "count"), e.count)?;
        }
        if let Some(t) = e.last_ts {
            d.set_item(intern!(py, "last_ts"), t)?;
        }
        if let Some(r) = &e.last_reason {
            d.set_item(intern!(py, "last_reason"), r)?;
        }
        let prev_hash = match prev.take() {
            Some(p) if p.to_str()? == e.prev_hash => p,
            _ => PyString::new(py, &e.prev_hash),
        };
        d.set_item(intern!(py, "prev_hash"), prev_hash)?;
        let hash = PyString::new(py, &e.hash);
        d.set_item(intern!(py, "hash"), &hash)?;
        prev = Some(hash);
        out.push(d);
    }
    Ok(out)
}

fn entry_from(i: usize, v: &Bound<'_, PyAny>) -> PyResult<AuditEntry> {
    let err =
        |what: String| pyo3::exceptions::PyValueError::new_err(format!("audit entry {i}: {what}"));
    let d = v
        .cast::<PyDict>()
        .map_err(|_| err(format!("must be a dict, got {v}")))?;
    let s = |k: &str| -> PyResult<String> {
        d.get_item(k)?
            .ok_or_else(|| err(format!("missing key {k:?}")))?
            .extract::<String>()
            .map_err(|_| err(format!("{k:?} must be a string")))
    };
    let n = |k: &str| -> PyResult<i128> {
        d.get_item(k)?
            .ok_or_else(|| err(format!("missing key {k:?}")))?
            .extract::<i128>()
            .map_err(|_| err(format!("{k:?} must be an integer")))
    };
    let seq = u64::try_from(n("seq")?).map_err(|_| err("\"seq\" out of range".into()))?;
    let ts = i64::try_from(n("ts")?).map_err(|_| err("\"ts\" out of range".into()))?;
    // optional: a denial's code, the orders of a denial or resize
    let code = match d.get_item("code")? {
        None => String::new(),
        Some(v) => v
            .extract::<String>()
            .map_err(|_| err("\"code\" must be a string".into()))?,
    };
    let orders = match d.get_item("orders")? {
        None => Vec::new(),
        Some(v) => v
            .extract::<Vec<u64>>()
            .map_err(|_| err("\"orders\" must be a list of order ids".into()))?,
    };
    // optional: a folded run's count, last time and last sentence
    let count = match d.get_item("count")? {
        None => 1,
        Some(v) => v
            .extract::<u64>()
            .map_err(|_| err("\"count\" must be an integer >= 0".into()))?,
    };
    let last_ts = match d.get_item("last_ts")? {
        None => None,
        Some(v) => Some(
            v.extract::<i64>()
                .map_err(|_| err("\"last_ts\" must be an integer (ns)".into()))?,
        ),
    };
    let last_reason = match d.get_item("last_reason")? {
        None => None,
        Some(v) => Some(
            v.extract::<String>()
                .map_err(|_| err("\"last_reason\" must be a string".into()))?,
        ),
    };
    Ok(AuditEntry {
        seq,
        ts,
        kind: s("kind")?,
        from: s("from")?,
        to: s("to")?,
        source: s("source")?,
        reason: s("reason")?,
        code,
        orders,
        count,
        last_ts,
        last_reason,
        prev_hash: s("prev_hash")?,
        hash: s("hash")?,
    })
}

/// Check an audit log (the dicts of `Backtest.audit_entries()`, e.g. read back from a JSON-lines
/// file): every hash, the chain, the sequence and the final seal. `key`: the HMAC key the log
/// was written with (None: plain SHA-256). Raises ValueError naming the first bad entry's index
/// and the problem. `sealed=False` checks a log that is still open (a live node's store): the
/// chain and the sequence, no seal required.
#[pyfunction]
#[pyo3(signature = (entries, key = None, sealed = true))]
fn verify_audit(
    entries: Vec<Bound<'_, PyAny>>,
    key: Option<Bound<'_, PyAny>>,
    sealed: bool,
) -> PyResult<()> {
    let es = entries
        .iter()
        .enumerate()
        .map(|(i, v)| entry_from(i, v))
        .collect::<PyResult<Vec<_>>>()?;
    let key = key.map(|k| audit_key(&k)).transpose()?;
    let checked = if sealed {
        AuditLog::verify(&es, key.as_deref())
    } else {
        AuditLog::verify_chain(&es, key.as_deref())
    };
    checked.map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(verify_audit, m)?)?;
    Ok(())
}
