//! The [`RiskEngine`]: the trading state, the rate limits, the pre-trade checks and the layers,
//! in that order, for every command; the layers' state wishes, read once per sync (a batch of
//! fills, events and possibly a bar: [`RiskEngine::sync`]); the state changes, their time
//! accounting and their audit log.
//!
//! Per sync each layer is called once ([`RiskLayer::on_step`]) with what its [`Hooks`] asked
//! for, and only if there is any; a layer's wish is O(1) to read, and a reading that finds no
//! wish moved changes nothing.

use std::collections::BTreeMap;

use super::audit::{About, AuditLog};
use super::bucket::TokenBucket;
use super::checks::{self, RiskLimits};
use super::explain;
use super::{
    Command, Fill, Hooks, ListKind, OrderEvent, OrderId, OrderSpec, RiskLayer, RiskReason,
    RiskView, StateWish, TradingState, Verdict,
};
use crate::error::{CoreError, CoreResult};
use crate::model::Instrument;
use crate::model::bar::Bar;
use crate::model::orders::Orders;
use crate::portfolio::{Portfolio, fmt_qty};

/// The risk engine's configuration (layers are given separately to [`RiskEngine::new`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskConfig {
    pub limits: RiskLimits,
    /// Turn every check, state gate and layer off. Written to the audit log when the engine is
    /// built (a "bypass" entry), so a run without checks is never silent.
    pub bypass: bool,
    /// The manual trading state at the start (a change from ACTIVE is recorded, source "config").
    pub initial_state: TradingState,
    /// HMAC-SHA256 key of the audit chain (None: plain SHA-256); see [`super::audit`].
    /// (Added by the engine work: the config dict's optional `"audit_key"`.)
    pub audit_key: Option<Vec<u8>>,
}

/// One change of the engine's trading state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StateChange {
    pub ts: i64,
    pub from: TradingState,
    pub to: TradingState,
    /// "command", "config", or the name of the layer that asked for it (or whose condition
    /// cleared).
    pub source: String,
    pub reason: String,
}

/// What the risk engine did during a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskReport {
    /// Denied commands by reason (a list counts once).
    pub denials: BTreeMap<RiskReason, u64>,
    /// Vetoes (and resizes to nothing) by layer name.
    pub vetoes_by_layer: BTreeMap<String, u64>,
    /// Orders whose quantity a layer changed (and that passed the risk engine; each resize is an
    /// audit entry).
    pub resized: u64,
    pub changes: Vec<StateChange>,
    /// Orders the account refused (its balance, holdings or margin), by reason code: not the risk
    /// engine's decisions, reported beside them.
    pub account_denials: BTreeMap<&'static str, u64>,
    /// The first denial's sentence of each reason code (the engine's and the account's), e.g.
    /// `"insufficient_balance"` → "buy 1.000000 BTCUSDT at 86000.00 costs 86064.50 with fees;
    /// free balance 10000.00 (cash 10000.00)".
    pub examples: BTreeMap<&'static str, String>,
    /// Engine-clock time spent in each state (indexed by [`TradingState::index`]), from the
    /// first market data to the last state change (to the end after [`RiskEngine::finish`]).
    pub time_in_state_ns: [i64; 5],
}

/// The latest denied command ([`RiskEngine::last_denial`]): what the order events of the denial
/// carry, and what its audit entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenialNote {
    pub ts: i64,
    /// The orders the command was about ([`super::command_orders`]).
    pub orders: Vec<OrderId>,
    /// The reason code (a [`RiskReason::code`], or the account's reason code).
    pub code: &'static str,
    /// Who decided: "risk" (a pre-trade check, a rate limit, the trading state), a layer's name
    /// (its veto), "account" (the account's balance, holdings or margin).
    pub source: String,
    /// One sentence with the numbers behind the decision.
    pub sentence: String,
}

/// A layer's veto in the command being checked (read and cleared by the denial path).
#[derive(Debug, Clone, Copy)]
struct Veto {
    layer: usize,
    /// The order's quantity before it, and whether the layer resized it to nothing (rather than
    /// vetoing it).
    from: i64,
    to_nothing: bool,
}

/// A layer's resize of an order in the command being checked (audited once the command passes).
#[derive(Debug, Clone, Copy)]
struct Resize {
    order: OrderId,
    instrument: u32,
    layer: usize,
    from: i64,
    to: i64,
}

/// Market data the layers read through the [`RiskView`]: per instrument the latest confidence
/// and the time of the latest data. Owned by the engine; a caller building a view moves it out
/// ([`RiskEngine::take_market`]) and back ([`RiskEngine::put_market`]), which costs nothing.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RiskMarket {
    pub confidence: Vec<f64>,
    pub last_data_ts: Vec<i64>,
}

/// The dynamic state of a [`RiskEngine`] (a checkpoint): the trading state and who set it, the
/// layers' wishes and own state ([`RiskLayer::save`], JSON text by layer name), the rate
/// buckets, the report, the audit log (with its open folded run), the market data. The limits,
/// the layers' configuration and the audit key are the configuration's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RiskState {
    wishes: Vec<StateWish>,
    manual: TradingState,
    manual_reason: String,
    manual_source: String,
    state: TradingState,
    since: Option<i64>,
    denials: BTreeMap<RiskReason, u64>,
    vetoes_by_layer: BTreeMap<String, u64>,
    resized: u64,
    changes: Vec<StateChange>,
    account_denials: Vec<(String, u64)>,
    examples: Vec<(String, String)>,
    time_in_state_ns: [i64; 5],
    audit: super::audit::AuditState,
    pending: Vec<StateChange>,
    submit_bucket: Option<TokenBucket>,
    modify_bucket: Option<TokenBucket>,
    market: RiskMarket,
    /// The latest denial: (ts, orders, code, source, sentence).
    last: Option<(i64, Vec<OrderId>, String, String, String)>,
    /// Each layer's name and its state as JSON text.
    layers: Vec<(String, String)>,
}

fn static_code(code: &str) -> CoreResult<&'static str> {
    crate::model::order::Reason::static_code(code)
        .ok_or_else(|| invalid("checkpoint", format!("unknown denial code {code:?}")))
}

/// See the [module docs](super).
pub struct RiskEngine {
    limits: RiskLimits,
    bypass: bool,
    layers: Vec<Box<dyn RiskLayer>>,
    /// Each layer's wish as last read.
    wishes: Vec<StateWish>,
    manual: TradingState,
    manual_reason: String,
    /// Who commanded the manual state: "command" (the strategy, the configuration) or
    /// "operator" (the live node's controls).
    manual_source: String,
    state: TradingState,
    /// Engine clock of the time accounting (None before the first data).
    since: Option<i64>,
    report: RiskReport,
    audit: AuditLog,
    pending: Vec<StateChange>,
    submit_bucket: Option<TokenBucket>,
    modify_bucket: Option<TokenBucket>,
    market: RiskMarket,
    every_bar: bool,
    hooks: HookLists,
    /// The latest denial (the engine's or the account's).
    last: Option<DenialNote>,
    veto: Option<Veto>,
    /// Resizes of the command being checked (empty between commands).
    resizes: Vec<Resize>,
}

/// The layers (indices into `layers`, in order) that asked for each hook ([`Hooks`]).
#[derive(Debug, Default)]
struct HookLists {
    check: Vec<usize>,
    quote: Vec<usize>,
    /// The layers that take any of fills, events and bars, with their hooks.
    step: Vec<(usize, Hooks)>,
}

impl HookLists {
    fn of(layers: &[Box<dyn RiskLayer>]) -> Self {
        let hooks: Vec<Hooks> = layers.iter().map(|l| l.hooks()).collect();
        let wanting = |f: fn(&Hooks) -> bool| -> Vec<usize> {
            (0..hooks.len()).filter(|&k| f(&hooks[k])).collect()
        };
        Self {
            check: wanting(|h| h.check),
            quote: wanting(|h| h.quote),
            step: wanting(|h| h.fill || h.event || h.bar)
                .into_iter()
                .map(|k| (k, hooks[k]))
                .collect(),
        }
    }

    /// Hand `layers` the fills, events and bar their hooks asked for: one call per layer
    /// ([`RiskLayer::on_step`]) that has anything to see.
    // NB: one dynamic call per layer and sync instead of one per hook (up to three): with the
    // guard's single equity reading per step, ~100 fewer instructions a bar on the
    // trade-every-bar run (callgrind).
    #[inline(always)]
    fn run(
        &self,
        layers: &mut [Box<dyn RiskLayer>],
        fills: &[Fill],
        events: &[OrderEvent],
        bar: Option<&Bar>,
        view: &RiskView<'_>,
    ) {
        for &(k, h) in &self.step {
            let f: &[Fill] = if h.fill { fills } else { &[] };
            let e: &[OrderEvent] = if h.event { events } else { &[] };
            let b = if h.bar { bar } else { None };
            if !f.is_empty() || !e.is_empty() || b.is_some() {
                layers[k].on_step(f, e, b, view);
            }
        }
    }
}

impl std::fmt::Debug for RiskEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskEngine")
            .field("state", &self.state)
            .field("bypass", &self.bypass)
            .field(
                "layers",
                &self.layers.iter().map(|l| l.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for RiskEngine {
    /// The default engine: structural checks only, no layers, ACTIVE (no instrument limits;
    /// market data vectors grow on first use).
    fn default() -> Self {
        Self::build(RiskConfig::default(), Vec::new(), 0)
    }
}

fn invalid(name: &'static str, reason: String) -> CoreError {
    CoreError::InvalidArgument { name, reason }
}

fn check_fraction(name: &'static str, v: Option<f64>) -> CoreResult<()> {
    match v {
        Some(x) if !(x.is_finite() && x > 0.0) => Err(invalid(
            name,
            format!("must be a finite number > 0, got {x}"),
        )),
        _ => Ok(()),
    }
}

fn validate(limits: &RiskLimits, n_instruments: usize) -> CoreResult<()> {
    if limits.instruments.len() > n_instruments {
        return Err(invalid(
            "instruments",
            format!(
                "limits for {} instruments, the engine has {n_instruments}",
                limits.instruments.len()
            ),
        ));
    }
    check_fraction("price_band_bps", limits.price_band_bps)?;
    check_fraction("max_concentration", limits.max_concentration)?;
    check_fraction("max_leverage", limits.max_leverage)?;
    for (name, v) in [
        ("max_notional", limits.max_notional),
        ("max_gross_exposure", limits.max_gross_exposure),
        ("max_net_exposure", limits.max_net_exposure),
    ] {
        if v.is_some_and(|x| x <= 0) {
            return Err(invalid(name, "must be > 0".into()));
        }
    }
    for (name, r) in [
        ("submit_rate", limits.submit_rate),
        ("modify_rate", limits.modify_rate),
    ] {
        if let Some(r) = r
            && (r.capacity == 0 || r.interval_ns <= 0)
        {
            return Err(invalid(
                name,
                format!(
                    "capacity and interval_ns must be > 0, got {} per {} ns",
                    r.capacity, r.interval_ns
                ),
            ));
        }
    }
    for (i, l) in limits.instruments.iter().enumerate() {
        for (name, v) in [
            ("max_position", l.max_position),
            ("max_qty", l.max_qty),
            ("min_price", l.min_price),
            ("max_price", l.max_price),
        ] {
            if v.is_some_and(|x| x <= 0) {
                return Err(invalid(name, format!("instrument {i}: must be > 0")));
            }
        }
        if let (Some(lo), Some(hi)) = (l.min_price, l.max_price)
            && lo > hi
        {
            return Err(invalid(
                "min_price",
                format!("instrument {i}: min_price above max_price"),
            ));
        }
    }
    Ok(())
}

impl RiskEngine {
    /// An engine over `n_instruments` instruments with `layers` in their order. Errors name the
    /// bad setting (a limit out of range, two layers with one name).
    pub fn new(
        config: RiskConfig,
        layers: Vec<Box<dyn RiskLayer>>,
        n_instruments: usize,
    ) -> CoreResult<Self> {
        validate(&config.limits, n_instruments)?;
        for (i, l) in layers.iter().enumerate() {
            if l.name().is_empty() {
                return Err(invalid("layers", format!("layer {i} has an empty name")));
            }
            if layers[..i].iter().any(|m| m.name() == l.name()) {
                return Err(invalid(
                    "layers",
                    format!("two layers are named {:?}", l.name()),
                ));
            }
        }
        Ok(Self::build(config, layers, n_instruments))
    }

    /// The engine of a run without a risk configuration: the structural checks only (instrument,
    /// precision, min/max, reduce-only), no layers. (The account's balance and margin are not the
    /// risk engine's: the account checks them in every mode, see [`crate::portfolio`].)
    pub fn structural(n_instruments: usize) -> Self {
        Self::build(RiskConfig::default(), Vec::new(), n_instruments)
    }

    fn build(config: RiskConfig, layers: Vec<Box<dyn RiskLayer>>, n: usize) -> Self {
        let mut layers = layers;
        for l in &mut layers {
            l.on_state(TradingState::Active);
        }
        let wishes = layers.iter().map(|l| l.wish()).collect();
        let every_bar = layers.iter().any(|l| l.needs_every_bar());
        let hooks = HookLists::of(&layers);
        let mut e = Self {
            submit_bucket: config.limits.submit_rate.map(TokenBucket::new),
            modify_bucket: config.limits.modify_rate.map(TokenBucket::new),
            limits: config.limits,
            bypass: config.bypass,
            layers,
            wishes,
            manual: config.initial_state,
            manual_reason: "initial state from the configuration".into(),
            manual_source: "command".into(),
            state: TradingState::Active,
            since: None,
            report: RiskReport::default(),
            audit: AuditLog::new(config.audit_key),
            pending: Vec::new(),
            market: RiskMarket {
                confidence: vec![f64::NAN; n],
                last_data_ts: vec![i64::MIN; n],
            },
            every_bar,
            hooks,
            last: None,
            veto: None,
            resizes: Vec::new(),
        };
        // ts 0: written when the engine is built, before any market time.
        if e.bypass {
            let s = e.state.as_str();
            e.audit.append(
                0,
                "bypass",
                s,
                s,
                "config",
                "risk checks, trading states and layers bypassed by configuration",
                About::NONE,
            );
        }
        if e.manual != TradingState::Active {
            e.set_to(
                0,
                e.manual,
                "config",
                "initial state from the configuration",
            );
        }
        e
    }

    // ---- checkpoints -------------------------------------------------------------------

    /// The engine's dynamic state (see [`RiskState`]).
    pub fn save(&self) -> RiskState {
        let r = &self.report;
        RiskState {
            wishes: self.wishes.clone(),
            manual: self.manual,
            manual_reason: self.manual_reason.clone(),
            manual_source: self.manual_source.clone(),
            state: self.state,
            since: self.since,
            denials: r.denials.clone(),
            vetoes_by_layer: r.vetoes_by_layer.clone(),
            resized: r.resized,
            changes: r.changes.clone(),
            account_denials: r
                .account_denials
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            examples: r
                .examples
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            time_in_state_ns: r.time_in_state_ns,
            audit: self.audit.save(),
            pending: self.pending.clone(),
            submit_bucket: self.submit_bucket.clone(),
            modify_bucket: self.modify_bucket.clone(),
            market: self.market.clone(),
            last: self.last.as_ref().map(|d| {
                (
                    d.ts,
                    d.orders.clone(),
                    d.code.to_string(),
                    d.source.clone(),
                    d.sentence.clone(),
                )
            }),
            layers: self
                .layers
                .iter()
                .map(|l| (l.name().to_string(), l.save().to_string()))
                .collect(),
        }
    }

    /// Take back a saved state on an engine built from the same configuration: the layers by
    /// name, in order (another set of layers, or a layer's refusal, is an error and changes
    /// nothing of the engine).
    pub fn load(&mut self, st: RiskState) -> CoreResult<()> {
        let names: Vec<&str> = st.layers.iter().map(|(n, _)| n.as_str()).collect();
        if names != self.layer_names() || st.wishes.len() != self.layers.len() {
            return Err(invalid(
                "checkpoint",
                format!(
                    "saved with the risk layers {names:?}, this engine has {:?}",
                    self.layer_names()
                ),
            ));
        }
        let mut values = Vec::with_capacity(st.layers.len());
        for (name, text) in &st.layers {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| invalid("checkpoint", format!("layer {name:?}: {e}")))?;
            values.push(v);
        }
        let account_denials = st
            .account_denials
            .iter()
            .map(|(k, v)| Ok((static_code(k)?, *v)))
            .collect::<CoreResult<BTreeMap<_, _>>>()?;
        let examples = st
            .examples
            .into_iter()
            .map(|(k, v)| Ok((static_code(&k)?, v)))
            .collect::<CoreResult<BTreeMap<_, _>>>()?;
        let last = match st.last {
            Some((ts, orders, code, source, sentence)) => Some(DenialNote {
                ts,
                orders,
                code: static_code(&code)?,
                source,
                sentence,
            }),
            None => None,
        };
        // a layer's refusal stops here: a failed restore leaves an engine to throw away
        for (l, v) in self.layers.iter_mut().zip(&values) {
            l.load(v)?;
        }
        self.wishes = st.wishes;
        self.manual = st.manual;
        self.manual_reason = st.manual_reason;
        self.manual_source = st.manual_source;
        self.state = st.state;
        self.since = st.since;
        self.report = RiskReport {
            denials: st.denials,
            vetoes_by_layer: st.vetoes_by_layer,
            resized: st.resized,
            changes: st.changes,
            account_denials,
            examples,
            time_in_state_ns: st.time_in_state_ns,
        };
        self.audit.load(st.audit);
        self.pending = st.pending;
        self.submit_bucket = st.submit_bucket;
        self.modify_bucket = st.modify_bucket;
        self.market = st.market;
        self.last = last;
        self.veto = None;
        self.resizes.clear();
        Ok(())
    }

    /// Each layer's own state by name ([`RiskLayer::save`]).
    pub fn layer_states(&self) -> Vec<(&str, serde_json::Value)> {
        self.layers.iter().map(|l| (l.name(), l.save())).collect()
    }

    /// Who set the manual state ("command", "operator", "config") and why.
    pub fn manual_source(&self) -> (&str, &str) {
        (&self.manual_source, &self.manual_reason)
    }

    // ---- read side ---------------------------------------------------------------------

    #[inline]
    pub fn state(&self) -> TradingState {
        self.state
    }

    /// The state last set by command (or the configuration).
    pub fn manual_state(&self) -> TradingState {
        self.manual
    }

    #[inline]
    pub fn bypass(&self) -> bool {
        self.bypass
    }

    pub fn limits(&self) -> &RiskLimits {
        &self.limits
    }

    /// Whether any layer is configured (the engine skips the per-bar and per-fill hooks if not).
    #[inline]
    pub fn has_layers(&self) -> bool {
        !self.layers.is_empty()
    }

    pub fn layer_names(&self) -> Vec<&str> {
        self.layers.iter().map(|l| l.name()).collect()
    }

    /// Whether a layer must see every bar (EMERGENCY also needs every bar while a position is
    /// open: the bar engine checks that itself).
    #[inline]
    pub fn needs_every_bar(&self) -> bool {
        self.every_bar
    }

    /// Start the time accounting at the first market data `ts` (later calls do nothing).
    #[inline]
    pub fn start(&mut self, ts: i64) {
        if self.since.is_none() {
            self.since = Some(ts);
        }
    }

    pub fn report(&self) -> &RiskReport {
        &self.report
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// How many denials of a streak (consecutive denials with one code, source and state) stay
    /// audit entries of their own before the rest folds (default [`super::audit::UNFOLDED`]; 0
    /// folds from the first, `u64::MAX` never folds). Before the run.
    pub fn set_audit_unfolded(&mut self, n: u64) {
        self.audit = std::mem::replace(&mut self.audit, AuditLog::new(None)).with_unfolded(n);
    }

    /// State changes not yet handed to the strategy.
    pub fn take_changes(&mut self) -> Vec<StateChange> {
        std::mem::take(&mut self.pending)
    }

    #[inline]
    pub fn has_pending_changes(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Move the market data out to build a [`RiskView`] next to `&mut self` (give it back with
    /// [`Self::put_market`]; no allocation either way).
    #[inline]
    pub fn take_market(&mut self) -> RiskMarket {
        std::mem::take(&mut self.market)
    }

    #[inline]
    pub fn put_market(&mut self, m: RiskMarket) {
        self.market = m;
    }

    pub fn market(&self) -> &RiskMarket {
        &self.market
    }

    /// The latest denied command with its sentence (the engine's own, or one the account
    /// refused: [`note_account_denial`](Self::note_account_denial)); read it right after the
    /// denial (a later one replaces it).
    pub fn last_denial(&self) -> Option<&DenialNote> {
        self.last.as_ref()
    }

    // ---- commands ------------------------------------------------------------------------

    /// Record a command the account refused (its balance, holdings or margin: `code` and
    /// `detail`, its sentence): counted beside the risk engine's denials, written to the audit
    /// log (source "account") and kept as the [`last_denial`](Self::last_denial), exactly as
    /// the engine's own denials are.
    #[cold]
    #[inline(never)]
    pub fn note_account_denial(
        &mut self,
        cmd: &Command,
        code: &'static str,
        detail: &str,
        view: &RiskView<'_>,
    ) {
        *self.report.account_denials.entry(code).or_insert(0) += 1;
        self.record_denial(cmd, code, "account".into(), detail.to_string(), view);
    }

    /// The one way a denial lands: its example sentence, its audit entry (folded with a run of
    /// the same denials: [`AuditLog::deny`]), the last denial.
    fn record_denial(
        &mut self,
        cmd: &Command,
        code: &'static str,
        source: String,
        sentence: String,
        view: &RiskView<'_>,
    ) {
        let orders = super::command_orders(cmd, view.orders, view.instruments.len());
        if !self.report.examples.contains_key(code) {
            self.report.examples.insert(code, sentence.clone());
        }
        // folded with the denials just before it when they share its code, source and state
        // (one entry for a strategy refused on every bar: see `audit`)
        self.audit.deny(
            view.ts,
            self.state.as_str(),
            &source,
            &sentence,
            code,
            &orders,
        );
        self.last = Some(DenialNote {
            ts: view.ts,
            orders,
            code,
            source,
            sentence,
        });
    }

    /// The engine refused `cmd` for `r`: count it, explain it, record it.
    #[cold]
    #[inline(never)]
    fn deny(&mut self, cmd: &Command, r: RiskReason, view: &RiskView<'_>) -> RiskReason {
        *self.report.denials.entry(r).or_insert(0) += 1;
        let (source, sentence) = self.explain_denial(cmd, r, view);
        self.resizes.clear();
        self.record_denial(cmd, r.code(), source, sentence, view);
        r
    }

    /// Check a strategy's command (may resize a new order's quantity). `Err` carries the reason
    /// of the first check that refused it; the command must then not reach the venue.
    pub fn check(&mut self, cmd: &mut Command, view: &RiskView<'_>) -> Result<(), RiskReason> {
        if self.bypass {
            return Ok(());
        }
        let r = match cmd {
            Command::Submit(spec) => self.check_submit(spec, view),
            Command::SubmitList { kind, orders, .. } => self.check_list(*kind, orders, view),
            Command::Modify {
                id,
                qty,
                px,
                trigger,
            } => self.check_modify(*id, *qty, *px, *trigger, view),
            Command::Cancel { .. } | Command::CancelAll { .. } => match self.state {
                TradingState::Halted | TradingState::Emergency => {
                    Err(RiskReason::for_state(self.state).unwrap_or(RiskReason::StateHalted))
                }
                _ => Ok(()),
            },
        };
        match r {
            Ok(()) => {
                if !self.resizes.is_empty() {
                    self.note_resizes(view);
                }
                Ok(())
            }
            Err(reason) => Err(self.deny(cmd, reason, view)),
        }
    }

    /// The command passed with orders a layer resized: count them and audit each resize
    /// (from, to, the layer and its explanation).
    #[cold]
    #[inline(never)]
    fn note_resizes(&mut self, view: &RiskView<'_>) {
        let resizes = std::mem::take(&mut self.resizes);
        let mut last_order = None;
        for r in &resizes {
            if last_order != Some(r.order) {
                self.report.resized += 1;
                last_order = Some(r.order);
            }
            let layer = &self.layers[r.layer];
            let why = layer
                .explain()
                .unwrap_or_else(|| format!("resized by layer {}", layer.name()));
            let q = |raw| match view.instruments.get(r.instrument as usize) {
                Some(inst) => fmt_qty(inst, raw),
                None => raw.to_string(),
            };
            self.audit.append(
                view.ts,
                "resize",
                &q(r.from),
                &q(r.to),
                layer.name(),
                &why,
                About {
                    code: "",
                    orders: &[r.order],
                },
            );
        }
        // give the buffer back, empty (its allocation serves the next resize)
        self.resizes = resizes;
        self.resizes.clear();
    }

    /// Who refused `cmd` for `r` and the sentence saying why, with the numbers.
    fn explain_denial(
        &mut self,
        cmd: &Command,
        r: RiskReason,
        view: &RiskView<'_>,
    ) -> (String, String) {
        let qty = |inst: u32, raw: i64| match view.instruments.get(inst as usize) {
            Some(i) => fmt_qty(i, raw),
            None => raw.to_string(),
        };
        if let Some(v) = self.veto.take() {
            let layer = &self.layers[v.layer];
            let why = layer.explain().unwrap_or_else(|| r.as_str().to_string());
            let name = layer.name().to_string();
            let sentence = match (v.to_nothing, cmd) {
                (true, Command::Submit(spec)) => format!(
                    "layer {name} sized the order from {} to nothing: {why}",
                    qty(spec.instrument, v.from)
                ),
                (true, _) => format!("layer {name} sized an order to nothing: {why}"),
                (false, _) => format!("vetoed by layer {name}: {why}"),
            };
            return (name, sentence);
        }
        let sentence = match r {
            RiskReason::StateReducing
            | RiskReason::StatePaused
            | RiskReason::StateHalted
            | RiskReason::StateEmergency => self.explain_state(cmd, r, view),
            RiskReason::SubmitRate | RiskReason::ModifyRate => {
                checks::explain_rate(&self.limits, r)
            }
            _ => self.explain_checks(cmd, r, view),
        };
        let sentence = match self.resizes.first() {
            Some(z) => format!(
                "layer {} resized order {} from {} to {}, then: {sentence}",
                self.layers[z.layer].name(),
                z.order,
                qty(z.instrument, z.from),
                qty(z.instrument, z.to)
            ),
            None => sentence,
        };
        ("risk".into(), sentence)
    }

    /// A pre-trade check's sentence: the leg of a list that failed, named.
    fn explain_checks(&self, cmd: &Command, r: RiskReason, view: &RiskView<'_>) -> String {
        let l = &self.limits;
        match cmd {
            Command::Submit(spec) => checks::explain_order(l, spec, view, r),
            Command::SubmitList { kind, orders, .. } => {
                if let Some(leg) = orders
                    .iter()
                    .find(|o| checks::check_order(l, o, view) == Err(r))
                {
                    return format!(
                        "order {} of the list: {}",
                        leg.id,
                        checks::explain_order(l, leg, view, r)
                    );
                }
                // OTO / bracket: the parent with its same-side children (see `check_list`)
                let n = orders
                    .iter()
                    .skip(1)
                    .filter(|c| c.side == orders[0].side && !c.reduce_only)
                    .count() as i64;
                match (kind, orders.first()) {
                    (ListKind::Oto | ListKind::Bracket, Some(first)) if n > 0 => {
                        let mut combined = first.clone();
                        combined.qty = combined.qty.saturating_mul(1 + n);
                        format!(
                            "order {} with its {n} same-side child order(s), counted as one: {}",
                            first.id,
                            checks::explain_order(l, &combined, view, r)
                        )
                    }
                    _ => r.as_str().to_string(),
                }
            }
            Command::Modify {
                id,
                qty,
                px,
                trigger,
            } => match view.orders.get(*id) {
                Some(o) => format!(
                    "modify of order {id}: {}",
                    checks::explain_modify(l, o, *qty, *px, *trigger, view, r)
                ),
                None => r.as_str().to_string(),
            },
            Command::Cancel { .. } | Command::CancelAll { .. } => r.as_str().to_string(),
        }
    }

    /// A trading state's denial: why the state is what it is (the reason of the change that
    /// set it), since when and by whom, what it lets out, and what this command would have done.
    fn explain_state(&self, cmd: &Command, r: RiskReason, view: &RiskView<'_>) -> String {
        let state = self.state;
        let rule = match state {
            TradingState::Reducing => "lets only reducing orders out",
            TradingState::Paused => "lets no new order or modify out (cancels only)",
            TradingState::Halted => "lets nothing out, cancels included",
            TradingState::Emergency => "is flattening every position: nothing else goes out",
            TradingState::Active => "lets everything out",
        };
        let name = state.as_str().to_uppercase();
        let head = match self.report.changes.iter().rev().find(|c| c.to == state) {
            Some(c) => {
                let by = match c.source.as_str() {
                    "config" => "set by the configuration".to_string(),
                    "command" => format!("since {}, by command", explain::utc(c.ts)),
                    layer => format!("since {}, by layer {layer}", explain::utc(c.ts)),
                };
                format!("{}: trading state {name} ({by}) {rule}", c.reason)
            }
            None => format!("trading state {name} {rule}"),
        };
        let what = if r == RiskReason::StateReducing {
            self.not_reducing(cmd, view)
        } else {
            None
        };
        match what {
            Some(w) => format!("{head}: {w}"),
            None => head,
        }
    }

    /// Why `cmd` does not reduce exposure (REDUCING's denials).
    fn not_reducing(&self, cmd: &Command, view: &RiskView<'_>) -> Option<String> {
        let spec = match cmd {
            Command::Submit(spec) => spec,
            Command::SubmitList { orders, .. } => {
                orders.iter().find(|o| !checks::reduces_exposure(o, view))?
            }
            Command::Modify { id, qty, .. } => {
                let o = view.orders.get(*id)?;
                let inst = view.instruments.get(o.spec.instrument as usize)?;
                return Some(format!(
                    "the modify of order {id} would grow it from {} to {}",
                    fmt_qty(inst, o.spec.qty),
                    fmt_qty(inst, (*qty)?)
                ));
            }
            Command::Cancel { .. } | Command::CancelAll { .. } => return None,
        };
        let inst = view.instruments.get(spec.instrument as usize)?;
        let pos = view.portfolio.positions.get(spec.instrument as usize)?.qty;
        let q = |raw| fmt_qty(inst, raw);
        let side = spec.side.as_str().to_lowercase();
        let order = format!("{side} {} {}", q(spec.qty), inst.symbol);
        Some(if pos == 0 {
            format!("{order}: the position is flat, nothing to reduce")
        } else if pos.signum() == spec.side.sign() {
            format!("{order} would grow the position {}", q(pos))
        } else {
            let w = view
                .orders
                .working_totals(spec.instrument, spec.side)
                .leaves;
            format!(
                "{order} + working {side}s {} = {} > the position {}: it would flip it",
                q(w),
                crate::model::fixed::format_fixed(
                    spec.qty as i128 + w as i128,
                    inst.size_dp as u32
                ),
                q(pos.abs())
            )
        })
    }

    #[inline]
    fn gate(&self, spec: &OrderSpec, view: &RiskView<'_>) -> Result<(), RiskReason> {
        match self.state {
            TradingState::Active => Ok(()),
            TradingState::Reducing if checks::reduces_exposure(spec, view) => Ok(()),
            s => Err(RiskReason::for_state(s).unwrap_or(RiskReason::StateHalted)),
        }
    }

    #[inline]
    fn take_submit_token(&mut self, ts: i64) -> Result<(), RiskReason> {
        match &mut self.submit_bucket {
            Some(b) => {
                if b.try_take(ts) {
                    Ok(())
                } else {
                    Err(RiskReason::SubmitRate)
                }
            }
            None => Ok(()),
        }
    }

    #[inline]
    fn check_submit(
        &mut self,
        spec: &mut OrderSpec,
        view: &RiskView<'_>,
    ) -> Result<(), RiskReason> {
        self.gate(spec, view)?;
        self.take_submit_token(view.ts)?;
        checks::check_order(&self.limits, spec, view)?;
        if self.hooks.check.is_empty() {
            return Ok(());
        }
        self.run_layers(spec, view)
    }

    /// Lists: every leg that can add exposure is checked like an order; a denial of any leg
    /// denies the list. OCO: every leg (only one of them ever trades). OTO / bracket: the parent
    /// (`orders[0]`) through everything; the children activate sized to the parent's fill, so an
    /// exit on the other side never adds exposure, while an OTO child on the parent's side is
    /// checked as the parent with its quantity multiplied accordingly (parent + children filled
    /// at most the parent's quantity each).
    fn check_list(
        &mut self,
        kind: ListKind,
        orders: &mut [OrderSpec],
        view: &RiskView<'_>,
    ) -> Result<(), RiskReason> {
        let Some(first) = orders.first() else {
            return Ok(()); // the venue rejects an empty list
        };
        match kind {
            ListKind::Oco => {
                for spec in orders.iter() {
                    self.gate(spec, view)?;
                }
                for _ in 0..orders.len() {
                    self.take_submit_token(view.ts)?;
                }
                for spec in orders.iter_mut() {
                    checks::check_order(&self.limits, spec, view)?;
                    if !self.hooks.check.is_empty() {
                        self.run_layers(spec, view)?;
                    }
                }
                Ok(())
            }
            ListKind::Oto | ListKind::Bracket => {
                self.gate(first, view)?;
                for _ in 0..orders.len() {
                    self.take_submit_token(view.ts)?;
                }
                let same_side = orders[1..]
                    .iter()
                    .filter(|c| c.side == first.side && !c.reduce_only)
                    .count() as i64;
                checks::check_order(&self.limits, &orders[0], view)?;
                if !self.hooks.check.is_empty() {
                    self.run_layers(&mut orders[0], view)?;
                }
                if same_side > 0 {
                    let mut combined = orders[0].clone();
                    combined.qty = combined.qty.saturating_mul(1 + same_side);
                    checks::check_order(&self.limits, &combined, view)?;
                }
                Ok(())
            }
        }
    }

    fn check_modify(
        &mut self,
        id: u64,
        qty: Option<i64>,
        px: Option<i64>,
        trigger: Option<i64>,
        view: &RiskView<'_>,
    ) -> Result<(), RiskReason> {
        let order = view.orders.get(id);
        match self.state {
            TradingState::Active => {}
            TradingState::Reducing => {
                if let (Some(q), Some(o)) = (qty, order)
                    && q > o.spec.qty
                {
                    return Err(RiskReason::StateReducing);
                }
            }
            s => return Err(RiskReason::for_state(s).unwrap_or(RiskReason::StateHalted)),
        }
        if let Some(b) = &mut self.modify_bucket
            && !b.try_take(view.ts)
        {
            return Err(RiskReason::ModifyRate);
        }
        match order {
            // Unknown or closed orders: the venue answers (UnknownOrder / OrderClosed).
            Some(o) if !o.status.is_closed() => {
                checks::check_modify(&self.limits, o, qty, px, trigger, view)
            }
            _ => Ok(()),
        }
    }

    /// The layers in order; a resize is rounded down to the lot and checked again.
    /// The layers in order; a resize is rounded down to the lot and checked again (and noted:
    /// audited once the command passes, see `note_resizes`).
    fn run_layers(&mut self, spec: &mut OrderSpec, view: &RiskView<'_>) -> Result<(), RiskReason> {
        let Self {
            layers,
            hooks,
            limits,
            report,
            veto,
            resizes,
            ..
        } = self;
        let inst = view
            .instruments
            .get(spec.instrument as usize)
            .ok_or(RiskReason::UnknownInstrument)?;
        for &k in &hooks.check {
            let layer = &mut layers[k];
            let vetoed = match layer.check(spec, view) {
                Verdict::Pass => None,
                Verdict::Veto(r) => Some((r, false)),
                Verdict::Resize(q) => {
                    let q = if q > 0 { q - q % inst.lot } else { 0 };
                    if q <= 0 || q < inst.min_qty {
                        Some((layer.resize_reason(), true))
                    } else {
                        if q != spec.qty {
                            resizes.push(Resize {
                                order: spec.id,
                                instrument: spec.instrument,
                                layer: k,
                                from: spec.qty,
                                to: q,
                            });
                            spec.qty = q;
                            checks::check_order(limits, spec, view)?;
                        }
                        None
                    }
                }
            };
            if let Some((r, to_nothing)) = vetoed {
                match report.vetoes_by_layer.get_mut(layer.name()) {
                    Some(n) => *n += 1,
                    None => {
                        report.vetoes_by_layer.insert(layer.name().to_string(), 1);
                    }
                }
                *veto = Some(Veto {
                    layer: k,
                    from: spec.qty,
                    to_nothing,
                });
                return Err(r);
            }
        }
        Ok(())
    }

    // ---- events ------------------------------------------------------------------------

    /// A bar was settled and marked (call after the fills and events of the bar).
    pub fn on_bar(&mut self, bar: &Bar, view: &RiskView<'_>) {
        self.observe_bar(bar, view);
        self.settle(view.ts);
    }

    /// [`on_bar`](Self::on_bar) without reading the layers' wishes (see `observe_fill`).
    #[inline]
    pub fn observe_bar(&mut self, bar: &Bar, view: &RiskView<'_>) {
        self.hooks.run(&mut self.layers, &[], &[], Some(bar), view);
    }

    pub fn on_fill(&mut self, fill: &Fill, view: &RiskView<'_>) {
        self.observe_fill(fill, view);
        self.settle(view.ts);
    }

    pub fn on_event(&mut self, ev: &OrderEvent, view: &RiskView<'_>) {
        self.observe_event(ev, view);
        self.settle(view.ts);
    }

    /// [`on_fill`](Self::on_fill) without reading the layers' wishes: for a batch of fills and
    /// events followed by one [`settle`](Self::settle) (the engine's per-step sync).
    #[inline]
    pub fn observe_fill(&mut self, fill: &Fill, view: &RiskView<'_>) {
        self.hooks.run(
            &mut self.layers,
            std::slice::from_ref(fill),
            &[],
            None,
            view,
        );
    }

    /// [`observe_fill`](Self::observe_fill) and [`observe_event`](Self::observe_event) for a
    /// batch (a no-op for what no layer asked for), then `bar` if given; no wish is read.
    #[inline]
    pub fn observe(
        &mut self,
        fills: &[Fill],
        events: &[OrderEvent],
        bar: Option<&Bar>,
        view: &RiskView<'_>,
    ) {
        self.hooks.run(&mut self.layers, fills, events, bar, view);
    }

    /// [`observe`](Self::observe) then [`settle`](Self::settle), with the view built over the
    /// engine's own market data (`confidence`, `last_data_ts`): what a backtest loop calls.
    #[allow(
        clippy::too_many_arguments,
        reason = "the view's borrowed parts, kept apart from the engine's own"
    )]
    #[inline]
    pub fn sync(
        &mut self,
        ts: i64,
        instruments: &[Instrument],
        portfolio: &Portfolio,
        orders: &Orders,
        fills: &[Fill],
        events: &[OrderEvent],
        bar: Option<&Bar>,
    ) {
        let view = RiskView {
            ts,
            instruments,
            portfolio,
            orders,
            confidence: &self.market.confidence,
            last_data_ts: &self.market.last_data_ts,
        };
        self.hooks.run(&mut self.layers, fills, events, bar, &view);
        self.settle(ts);
    }

    /// [`on_event`](Self::on_event) without reading the layers' wishes (see `observe_fill`).
    #[inline]
    pub fn observe_event(&mut self, ev: &OrderEvent, view: &RiskView<'_>) {
        self.hooks
            .run(&mut self.layers, &[], std::slice::from_ref(ev), None, view);
    }

    /// Read every layer's wish and change the trading state if the most severe one moved.
    #[inline]
    pub fn settle(&mut self, ts: i64) {
        if !self.layers.is_empty() {
            self.recompute(ts);
        }
    }

    /// A quote (tick / L2 feeds): the instrument's latest data time, then the layers.
    pub fn on_quote(&mut self, instrument: u32, ts: i64, bid: i64, ask: i64) {
        self.note_data(instrument, ts);
        for &k in &self.hooks.quote {
            self.layers[k].on_quote(instrument, ts, bid, ask);
        }
        self.settle(ts);
    }

    /// Record that market data of `instrument` arrived at `ts` (the first call also starts the
    /// time accounting).
    #[inline]
    pub fn note_data(&mut self, instrument: u32, ts: i64) {
        let m = &mut self.market.last_data_ts;
        if m.len() <= instrument as usize {
            m.resize(instrument as usize + 1, i64::MIN);
        }
        m[instrument as usize] = ts;
        if self.since.is_none() {
            self.since = Some(ts);
        }
    }

    /// A manual state command of the strategy (audited with source "command").
    pub fn set_state(&mut self, state: TradingState, reason: &str, ts: i64) {
        self.set_state_by(state, reason, "command", ts);
    }

    /// A manual state command from `source` ("command": the strategy; "operator": the live
    /// node's controls), audited with that source when it changes the state.
    pub fn set_state_by(&mut self, state: TradingState, reason: &str, source: &str, ts: i64) {
        self.manual = state;
        self.manual_reason = reason.to_string();
        self.manual_source = source.to_string();
        self.recompute(ts);
    }

    /// An operator's action that is not a state (cancel-all, flatten) in the audit log: `kind`
    /// names it, `orders` the order ids it touched.
    pub fn record_action(
        &mut self,
        ts: i64,
        kind: &str,
        source: &str,
        reason: &str,
        orders: &[u64],
    ) {
        let state = self.state.as_str();
        self.audit.append(
            ts,
            kind,
            state,
            state,
            source,
            reason,
            About { code: "", orders },
        );
    }

    /// The latest composite confidence of `instrument` (clamped to [0, 1]; NaN: none).
    pub fn set_confidence(&mut self, instrument: u32, c: f64) {
        let m = &mut self.market.confidence;
        if m.len() <= instrument as usize {
            m.resize(instrument as usize + 1, f64::NAN);
        }
        m[instrument as usize] = if c.is_nan() { c } else { c.clamp(0.0, 1.0) };
    }

    /// The effective state = max(manual, every layer's wish); record a change if there is one.
    #[inline]
    fn recompute(&mut self, ts: i64) {
        // The common case: no wish moved since the last reading, or none that moves the state.
        let mut best = self.manual;
        let mut moved = false;
        for (l, w) in self.layers.iter().zip(&self.wishes) {
            let now = l.wish();
            best = best.max(now.state);
            moved |= now != *w;
        }
        if !moved && best == self.state {
            return;
        }
        self.recompute_slow(ts);
    }

    #[inline(never)]
    fn recompute_slow(&mut self, ts: i64) {
        let mut best = self.manual;
        let mut by: Option<usize> = None;
        let mut released: Option<usize> = None;
        for (k, l) in self.layers.iter().enumerate() {
            let w = l.wish();
            if w.state > best {
                best = w.state;
                by = Some(k);
            }
            let before = self.wishes[k];
            if released.is_none() && before.state == self.state && w.state < before.state {
                released = Some(k);
            }
            self.wishes[k] = w;
        }
        if best == self.state {
            return;
        }
        // The layer's own words where it has them ("drawdown 12.3 % ≥ soft limit 10 % ...").
        let (source, reason) = match by {
            Some(k) => (
                self.layers[k].name().to_string(),
                self.layers[k]
                    .explain()
                    .unwrap_or_else(|| self.wishes[k].reason.as_str().to_string()),
            ),
            None => match released {
                Some(k) if best < self.state && self.manual < self.state => (
                    self.layers[k].name().to_string(),
                    match self.layers[k].explain() {
                        Some(why) => format!("condition cleared: {why}"),
                        None => "condition cleared".to_string(),
                    },
                ),
                _ => (self.manual_source.clone(), self.manual_reason.clone()),
            },
        };
        self.set_to(ts, best, &source, &reason);
    }

    fn advance(&mut self, ts: i64) {
        match self.since {
            Some(s) if ts > s => {
                self.report.time_in_state_ns[self.state.index()] += ts - s;
                self.since = Some(ts);
            }
            Some(_) => {}
            None => self.since = Some(ts),
        }
    }

    fn set_to(&mut self, ts: i64, to: TradingState, source: &str, reason: &str) {
        if self.since.is_some() {
            self.advance(ts);
        }
        let from = self.state;
        self.state = to;
        for l in &mut self.layers {
            l.on_state(to);
        }
        self.audit.append(
            ts,
            "state",
            from.as_str(),
            to.as_str(),
            source,
            reason,
            About::NONE,
        );
        let change = StateChange {
            ts,
            from,
            to,
            source: source.to_string(),
            reason: reason.to_string(),
        };
        self.report.changes.push(change.clone());
        self.pending.push(change);
    }

    /// End of the run at `ts`: close the time accounting and seal the audit log (idempotent; no
    /// entry is written after it).
    pub fn finish(&mut self, ts: i64) {
        self.advance(ts);
        self.audit.seal(ts, self.state.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::orders::Orders;
    use crate::model::{Instrument, OrderKind, Side};
    use crate::portfolio::Portfolio;

    /// A scripted layer: a fixed verdict, and a wish it can be told.
    struct Mock {
        name: &'static str,
        verdict: Verdict,
        wish: TradingState,
        seen_state: TradingState,
    }

    impl RiskLayer for Mock {
        fn name(&self) -> &str {
            self.name
        }
        fn check(&mut self, _spec: &OrderSpec, _view: &RiskView<'_>) -> Verdict {
            self.verdict
        }
        fn on_bar(&mut self, bar: &Bar, _view: &RiskView<'_>) {
            // the bar's close (raw) picks the wish: 1 → REDUCING, 2 → HALTED, else ACTIVE
            self.wish = match bar.close {
                1 => TradingState::Reducing,
                2 => TradingState::Halted,
                _ => TradingState::Active,
            };
        }
        fn wish(&self) -> StateWish {
            StateWish {
                state: self.wish,
                reason: RiskReason::Drawdown,
            }
        }
        fn resize_reason(&self) -> RiskReason {
            RiskReason::Kelly
        }
        fn on_state(&mut self, state: TradingState) {
            self.seen_state = state;
        }
    }

    fn mock(name: &'static str, verdict: Verdict) -> Box<dyn RiskLayer> {
        Box::new(Mock {
            name,
            verdict,
            wish: TradingState::Active,
            seen_state: TradingState::Emergency,
        })
    }

    struct World {
        inst: Vec<Instrument>,
        pf: Portfolio,
        orders: Orders,
    }

    impl World {
        fn new() -> Self {
            let inst = vec![Instrument::new_checked("X", 2, 3, 1, 10, 10).unwrap()];
            let mut pf = Portfolio::new(1_000_000 * crate::model::fixed::pow10(18), 1);
            pf.mark(0, 10_000, 100.0);
            let orders = Orders::new(&inst);
            Self { inst, pf, orders }
        }
        fn view(&self, ts: i64) -> RiskView<'_> {
            RiskView {
                ts,
                instruments: &self.inst,
                portfolio: &self.pf,
                orders: &self.orders,
                confidence: &[],
                last_data_ts: &[],
            }
        }
    }

    fn buy(qty: i64) -> Command {
        Command::Submit(OrderSpec::new(1, 0, Side::Buy, OrderKind::Market, qty))
    }

    fn bar(close: i64, ts: i64) -> Bar {
        Bar {
            instrument: 0,
            ts,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
        }
    }

    #[test]
    fn resize_rounds_down_to_the_lot_and_nothing_left_is_the_layers_reason() {
        let w = World::new();
        let layers = vec![mock("a", Verdict::Resize(257)), mock("b", Verdict::Pass)];
        let mut e = RiskEngine::new(RiskConfig::default(), layers, 1).unwrap();
        let mut c = buy(1_000);
        e.check(&mut c, &w.view(0)).unwrap();
        let Command::Submit(s) = &c else {
            unreachable!()
        };
        assert_eq!(s.qty, 250, "rounded down to the lot of 10");
        assert_eq!(e.report().resized, 1);
        // below the minimum quantity after rounding: denied with the layer's reason
        let mut e = RiskEngine::new(
            RiskConfig::default(),
            vec![mock("k", Verdict::Resize(9))],
            1,
        )
        .unwrap();
        assert_eq!(e.check(&mut buy(1_000), &w.view(0)), Err(RiskReason::Kelly));
        assert_eq!(e.report().vetoes_by_layer["k"], 1);
        assert_eq!(e.report().denials[&RiskReason::Kelly], 1);
        assert_eq!(e.report().resized, 0);
    }

    #[test]
    fn a_veto_stops_the_layers_that_follow() {
        let w = World::new();
        let layers = vec![
            mock("v", Verdict::Veto(RiskReason::CircuitOpen)),
            mock("never", Verdict::Resize(10)),
        ];
        let mut e = RiskEngine::new(RiskConfig::default(), layers, 1).unwrap();
        let mut c = buy(1_000);
        assert_eq!(e.check(&mut c, &w.view(0)), Err(RiskReason::CircuitOpen));
        assert_eq!(c, buy(1_000), "a vetoed order is not resized");
        assert_eq!(e.report().vetoes_by_layer.len(), 1);
    }

    #[test]
    fn wishes_set_the_state_with_their_source_and_clearing_releases_it() {
        let w = World::new();
        let mut e =
            RiskEngine::new(RiskConfig::default(), vec![mock("guard", Verdict::Pass)], 1).unwrap();
        e.start(0);
        e.on_bar(&bar(1, 10), &w.view(10));
        assert_eq!(e.state(), TradingState::Reducing);
        e.on_bar(&bar(2, 20), &w.view(20));
        // a manual PAUSED under a layer's HALTED changes nothing
        e.set_state(TradingState::Paused, "op", 25);
        assert_eq!(e.state(), TradingState::Halted);
        // the layer clears: the manual PAUSED remains (the change is the layer's release)
        e.on_bar(&bar(3, 30), &w.view(30));
        assert_eq!(e.state(), TradingState::Paused);
        e.set_state(TradingState::Active, "resume", 40);
        e.finish(50);
        let ch: Vec<(TradingState, TradingState, &str)> = e
            .report()
            .changes
            .iter()
            .map(|c| (c.from, c.to, c.source.as_str()))
            .collect();
        use TradingState::*;
        assert_eq!(
            ch,
            vec![
                (Active, Reducing, "guard"),
                (Reducing, Halted, "guard"),
                (Halted, Paused, "guard"),
                (Paused, Active, "command"),
            ]
        );
        assert_eq!(e.report().changes[0].reason, RiskReason::Drawdown.as_str());
        assert_eq!(e.report().time_in_state_ns, [10 + 10, 10, 10, 10, 0]);
        assert_eq!(e.take_changes().len(), 4);
        assert!(e.take_changes().is_empty());
        let audit = e.audit().entries();
        assert_eq!(audit.len(), 5);
        AuditLog::verify(audit, None).unwrap();
    }

    #[test]
    fn a_layer_releasing_its_own_state_is_the_source() {
        let w = World::new();
        let mut e =
            RiskEngine::new(RiskConfig::default(), vec![mock("guard", Verdict::Pass)], 1).unwrap();
        e.on_bar(&bar(2, 10), &w.view(10));
        e.on_bar(&bar(3, 20), &w.view(20));
        let c = &e.report().changes[1];
        assert_eq!((c.from, c.to), (TradingState::Halted, TradingState::Active));
        assert_eq!(
            (c.source.as_str(), c.reason.as_str()),
            ("guard", "condition cleared")
        );
    }

    #[test]
    fn bad_configurations_are_errors_naming_the_setting() {
        let dup = vec![mock("x", Verdict::Pass), mock("x", Verdict::Pass)];
        assert!(matches!(
            RiskEngine::new(RiskConfig::default(), dup, 1),
            Err(CoreError::InvalidArgument { name: "layers", .. })
        ));
        let mut cfg = RiskConfig::default();
        cfg.limits.max_leverage = Some(f64::NAN);
        assert!(matches!(
            RiskEngine::new(cfg, Vec::new(), 1),
            Err(CoreError::InvalidArgument {
                name: "max_leverage",
                ..
            })
        ));
        let mut cfg = RiskConfig::default();
        cfg.limits.submit_rate = Some(super::super::bucket::RateLimit {
            capacity: 0,
            interval_ns: 1,
        });
        assert!(RiskEngine::new(cfg, Vec::new(), 1).is_err());
    }

    #[test]
    fn submit_rate_limits_on_the_engine_clock() {
        let w = World::new();
        let mut cfg = RiskConfig::default();
        cfg.limits.submit_rate = Some(super::super::bucket::RateLimit {
            capacity: 2,
            interval_ns: 100,
        });
        let mut e = RiskEngine::new(cfg, Vec::new(), 1).unwrap();
        assert!(e.check(&mut buy(10), &w.view(0)).is_ok());
        assert!(e.check(&mut buy(10), &w.view(0)).is_ok());
        assert_eq!(
            e.check(&mut buy(10), &w.view(0)),
            Err(RiskReason::SubmitRate)
        );
        assert!(e.check(&mut buy(10), &w.view(50)).is_ok());
        // cancels are not rate limited
        assert!(e.check(&mut Command::Cancel { id: 1 }, &w.view(50)).is_ok());
    }
}
