"""ml_classifier: a scikit-learn classifier trained walk-forward on indicator features — the
example to copy for a machine-learning strategy, with its leakage sentinel.

What it does, bar ``t`` by bar ``t``:

- *features* (:meth:`MLClassifier.features`), causal — row ``t`` uses bars ``<= t`` only, from
  :mod:`trader.indicators`: the returns ``close[t] / close[t-k] - 1`` for each ``k`` in
  ``lookbacks``, the RSI as ``(rsi - 50) / 50``, the distance to an EMA ``close / ema - 1`` and the
  ATR as a fraction of the close;
- *label* (:meth:`MLClassifier.forward_returns`): the sign of the forward return over ``horizon``
  bars, ``close[t+horizon] / close[t] - 1`` (up = 1, down = 0; a zero return is left out of
  training). Its information ends at bar ``t + horizon``;
- *walk-forward* (:func:`trader.research.splits.walk_forward`, the framework's one splitter): a
  rolling window of ``train`` bars, then ``test`` bars traded out of sample, moving on by ``test``.
  Between the end of training and the test window lie ``purge + embargo`` bars (the splitter's
  ``gap``): ``purge`` (at least, and by default, ``horizon``) keeps every training label out of
  the test window, ``embargo`` adds room for serially correlated features. Training also keeps
  only rows whose label ends before the test starts (``t + horizon < test_start``) — the model
  never sees a label that overlaps what it is tested on;
- *model*: a fresh ``logistic`` (standardized LogisticRegression), ``forest``
  (RandomForestClassifier) or ``gbm`` (HistGradientBoostingClassifier) per window, seeded by
  ``seed``; its probability ``p`` of "up" on the test bars becomes the confidence ``2p - 1`` in
  [-1, 1]. With ``balanced`` (the default) the training window's base rate ``u`` is taken out
  first (log-odds ``logit p - logit u``, Bayes' rule with equal priors, for any model): the
  confidence is what the features add to "up is a bit more frequent lately";
- *decision*: the confidence goes through the decision kernel (:mod:`trader.decision`,
  ``neutral_band = threshold``): action +1 → long, otherwise flat; with ``allow_short``, -1 →
  short. Positions are ``qty`` units, or ``size`` × equity when ``qty`` is 0 (as the other bundled
  strategies). Before the first test window: no position.

**The leakage sentinel.** ``shuffle_labels=true`` permutes the labels inside each training window
(with ``seed``) and changes nothing else. A sound pipeline then has no out-of-sample edge: its
directional accuracy stays within a binomial band of the base rate and its backtest's Sharpe ratio
is not significantly positive. ``tests/strategies/test_ml_classifier.py`` checks exactly that on
recorded BTC bars, and checks that the same measurement flags a deliberately leaky variant (a
feature that peeks at the forward return) — run it after every change you make to the pipeline.
Know what it sees: an edge on shuffled labels means information about the future reaches the
decisions by a road other than the labels (fills or evaluation misaligned, a broken shuffle); a
feature that itself peeks at the future cannot be learned from shuffled labels, so it shows in
the real-label run instead — an out-of-sample result far too good for the market (the test checks
that side too).

Both paths give the same decisions: ``--mode vectorized`` (fast: one batch prediction per window)
and the event path (``on_bar``, as ``trader live`` runs it), which keeps a buffer of the recent
bars, retrains at the same window boundaries from it and predicts bar by bar from streaming
indicators equal bit for bit to the batch ones (slower: one ``predict_proba`` call per bar).
The vectorized path covers long/flat with ``qty`` or ``size``, and long/short with a fixed ``qty``;
long/short sized by equity and the protective exits (``stop_loss``...) run on the event path.

Usage::

    trader backtest --strategy ml_classifier --mode vectorized \\
        -p model=gbm -p horizon=15 -p train=10000 -p test=2000 -p threshold=0.05 \\
        --data ../shared/data/klines_1m/0g_trading/BTC_USDT-1m.feather --fee-bps 5

    # the sentinel: the same run on shuffled labels must show no edge
    trader backtest --strategy ml_classifier --mode vectorized -p shuffle_labels=true ...

From Python::

    import trader
    r = trader.run_backtest("ml_classifier", {"model": "forest", "train": 10_000, "test": 2_000},
                            "BTC_USDT-1m.feather", mode="vectorized", fee_bps=5)
    print(r.summary())

    from trader_strategies.ml_classifier import MLClassifier
    s = MLClassifier(model="logistic", horizon=30)
    conf = s.confidence(bars)          # out-of-sample confidences in [-1, 1], NaN where none

To make your own, copy this file (and register the class, or run it as
``--strategy my_ml.py:MyML``): change :meth:`MLClassifier.features` *and*
:meth:`MLClassifier._feature_row` together (the batch and the streaming form of one definition:
the event path uses the second), or :meth:`MLClassifier.make_model` (any estimator with ``fit``
and ``predict_proba``, e.g. LightGBM's ``LGBMClassifier``). scikit-learn is imported only when
the strategy is built: ``pip install 'trader[research]'``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trader.exceptions import InvalidInputError
from trader.indicators import ATR, EMA, RSI, atr, ema, rsi
from trader.strategy import Param, Signals
from trader_strategies._sizing import Sized

__all__ = ["MLClassifier"]

#: Fewest usable training rows (finite features, non-zero label) for a window to be trained on;
#: a window with fewer, or with one class only, is not traded (no position).
MIN_TRAIN_ROWS = 20


def _sklearn() -> Any:
    """scikit-learn, or a clear error when it is missing."""
    try:
        import sklearn  # type: ignore[import-untyped]  # noqa: F401
        from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # type: ignore[import-untyped]
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
        from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
        from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]
    except ImportError:
        raise InvalidInputError("ml_classifier needs scikit-learn: pip install 'trader[research]'") from None
    return {"HistGradientBoostingClassifier": HistGradientBoostingClassifier, "RandomForestClassifier": RandomForestClassifier,
            "LogisticRegression": LogisticRegression, "make_pipeline": make_pipeline, "StandardScaler": StandardScaler}


_THREADS: Any = None


def _one_thread() -> Any:
    """A context running OpenMP and BLAS on one thread: a window's model is small, and a thread
    pool costs more than it gives there (20x slower for HistGradientBoosting on a busy machine)."""
    global _THREADS
    if _THREADS is None:
        from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]  # (scikit-learn's dependency)

        _THREADS = ThreadpoolController()
    return _THREADS.limit(limits=1)


def _parse_lookbacks(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in str(text).replace(" ", "").split(",") if v != "")
    except ValueError:
        values = ()
    if not values or min(values) < 1 or len(set(values)) != len(values):
        raise ValueError(f"lookbacks: expected distinct comma-separated bar counts >= 1 such as '1,5,15,60', got {text!r}")
    return values


class MLClassifier(Sized):
    name = "ml_classifier"
    description = "scikit-learn classifier on indicator features, trained walk-forward (purged); the ML example"

    lookbacks = Param("1,5,15,60", str, help="return features: close[t]/close[t-k]-1 for each k (comma-separated bars)")
    rsi_period = Param(14, int, ge=2, help="RSI feature period")
    ema_period = Param(50, int, ge=1, help="EMA distance feature period")
    atr_period = Param(14, int, ge=1, help="ATR feature period (as a fraction of the close)")
    horizon = Param(15, int, ge=1, help="label: sign of the forward return over this many bars")
    train = Param(10_000, int, ge=MIN_TRAIN_ROWS, help="walk-forward training window, bars")
    test = Param(2_000, int, ge=1, help="walk-forward test window (and step), bars")
    purge = Param(-1, int, ge=-1, help="bars between training and test so no label reaches the test; -1 = horizon (>= horizon)")
    embargo = Param(0, int, ge=0, help="extra bars left out between training and test")
    model = Param("logistic", str, choices=("logistic", "forest", "gbm"),
                  help="logistic, forest (random forest) or gbm (hist gradient boosting)")
    n_estimators = Param(50, int, ge=1, help="forest: trees; gbm: boosting iterations")
    max_depth = Param(3, int, ge=1, help="forest/gbm: tree depth")
    min_leaf = Param(100, int, ge=1, help="forest/gbm: fewest samples in a leaf")
    balanced = Param(True, bool, help="take the training window's base rate out of the confidence (logit p - logit u)")
    seed = Param(0, int, ge=0, help="seed of the model and of shuffle_labels")
    threshold = Param(0.05, float, ge=0.0, lt=1.0, help="trade only when |2p-1| exceeds this (the kernel's neutral band)")
    shuffle_labels = Param(False, bool, help="leakage sentinel: permute the labels in each training window")

    # -- parameters -------------------------------------------------------------------------------
    def validate(self) -> None:
        super().validate()
        _parse_lookbacks(self.lookbacks)
        if self.purge != -1 and self.purge < self.horizon:
            raise ValueError(f"purge ({self.purge}) must be >= horizon ({self.horizon}) (or -1 = horizon): a shorter purge "
                             "lets training labels reach into the test window")
        _sklearn()

    @property
    def lookback_bars(self) -> tuple[int, ...]:
        """The return lookbacks, parsed."""
        return _parse_lookbacks(self.lookbacks)

    @property
    def gap(self) -> int:
        """Bars between the end of a training window and its test window: purge + embargo."""
        return (self.horizon if self.purge == -1 else self.purge) + self.embargo

    def feature_names(self) -> list[str]:
        return [f"ret_{k}" for k in self.lookback_bars] + ["rsi", "ema_dist", "atr"]

    # -- features and labels ------------------------------------------------------------------------
    def features(self, bars: Any) -> np.ndarray:
        """The ``(n_bars, n_features)`` float64 feature matrix; row ``t`` uses bars ``<= t`` only
        (NaN while an indicator warms up). :meth:`_feature_row` is the same, one bar at a time."""
        c = np.ascontiguousarray(bars.close, dtype=np.float64)
        h = np.ascontiguousarray(bars.high, dtype=np.float64)
        lo = np.ascontiguousarray(bars.low, dtype=np.float64)
        n = len(c)
        cols = []
        for k in self.lookback_bars:
            r = np.full(n, np.nan)
            if k < n:
                r[k:] = c[k:] / c[:-k] - 1.0
            cols.append(r)
        cols.append((rsi(c, self.rsi_period) - 50.0) / 50.0)
        cols.append(c / ema(c, self.ema_period) - 1.0)
        cols.append(atr(h, lo, c, self.atr_period) / c)
        return np.ascontiguousarray(np.column_stack(cols))

    def _feature_row(self, bar: Any) -> np.ndarray:
        """Row ``t`` of :meth:`features` from the streaming indicators and the close buffer
        (called once per bar, after the bar's close was appended)."""
        c = bar.close
        closes, i = self._closes, len(self._closes) - 1
        row = [c / closes[i - k] - 1.0 if self._t >= k else math.nan for k in self._lbs]
        row.append((self._rsi.value - 50.0) / 50.0)
        row.append(c / self._ema.value - 1.0)
        row.append(self._atr.value / c)
        return np.array(row, dtype=np.float64)

    def forward_returns(self, close: np.ndarray) -> np.ndarray:
        """``close[t+horizon] / close[t] - 1`` (NaN for the last ``horizon`` bars): row ``t``'s label
        is its sign, and its information ends at bar ``t + horizon``."""
        c = np.asarray(close, dtype=np.float64)
        h = self.horizon
        out = np.full(len(c), np.nan)
        if h < len(c):
            out[:-h] = c[h:] / c[:-h] - 1.0
        return out

    # -- model ------------------------------------------------------------------------------------
    def make_model(self) -> Any:
        """A fresh, unfitted estimator with ``fit(X, y)`` and ``predict_proba(X)``."""
        sk = _sklearn()
        if self.model == "logistic":
            return sk["make_pipeline"](sk["StandardScaler"](), sk["LogisticRegression"](max_iter=500))
        if self.model == "forest":
            return sk["RandomForestClassifier"](n_estimators=self.n_estimators, max_depth=self.max_depth,
                                                min_samples_leaf=self.min_leaf, random_state=self.seed, n_jobs=1)
        return sk["HistGradientBoostingClassifier"](max_iter=self.n_estimators, max_depth=self.max_depth,
                                                    min_samples_leaf=self.min_leaf, early_stopping=False,
                                                    random_state=self.seed)

    def _fit_window(self, X: np.ndarray, fwd: np.ndarray, offset: int, split: Any) -> tuple[Any, float] | None:
        """The model of one walk-forward window and its base-rate shift (``logit u`` with
        ``balanced``, else 0), or None when it cannot be trained. ``X`` and ``fwd`` hold bars
        ``offset, offset + 1, ...``; ``split`` is the window."""
        rows = np.asarray(split.train, dtype=np.intp)
        rows = rows[rows + self.horizon < split.test_start]  # the label ends before the test starts
        Xw, fw = X[rows - offset], fwd[rows - offset]
        ok = np.isfinite(Xw).all(axis=1) & np.isfinite(fw) & (fw != 0.0)
        Xw, y = Xw[ok], (fw[ok] > 0.0).astype(np.int64)
        if len(y) < MIN_TRAIN_ROWS or y.min() == y.max():
            return None
        if self.shuffle_labels:
            y = np.random.default_rng([self.seed, int(split.fold)]).permutation(y)
        u = float(y.mean())
        model = self.make_model()
        with _one_thread():
            model.fit(Xw, y)
        return model, (math.log(u / (1.0 - u)) if self.balanced else 0.0)

    @staticmethod
    def _confidence(fitted: tuple[Any, float], X: np.ndarray) -> np.ndarray:
        """``2p - 1`` for the rows of ``X``; with a base-rate shift ``s``, of the probability
        whose log-odds are ``logit p - s``: ``tanh((logit p - s) / 2)`` (the prior taken out by
        Bayes' rule, for any model)."""
        model, shift = fitted
        classes = list(getattr(model, "classes_", [0, 1]))
        with _one_thread():
            p = np.asarray(model.predict_proba(X), dtype=np.float64)[:, classes.index(1)]
        if shift == 0.0:
            return 2.0 * p - 1.0
        p = np.clip(p, 1e-12, 1.0 - 1e-12)
        return np.tanh(0.5 * (np.log(p / (1.0 - p)) - shift))

    def _splits(self, n: int) -> tuple[Any, ...]:
        from trader.research.splits import walk_forward

        try:
            return walk_forward(n, train=self.train, test=min(self.test, n), gap=self.gap)
        except InvalidInputError as e:
            raise InvalidInputError(f"strategy {self.name}: {n:,} bars are too short for train={self.train} + purge/embargo "
                                    f"{self.gap} and a test window ({e})") from None

    def _window(self, t: int) -> Any:
        """The walk-forward window whose test starts at bar ``t``, as :meth:`_splits` lays it out
        (``walk_forward``: test ``w`` starts at ``train + gap + w·test``, its training is the
        ``train`` bars ending ``gap`` before) — for the event path, in O(1) at any ``t``."""
        from trader.research.splits import Split

        lo, hi = t - self.gap - self.train, t - self.gap
        return Split(fold=(t - self.train - self.gap) // self.test, train=np.arange(lo, hi, dtype=np.intp),
                     test=np.arange(t, t + self.test, dtype=np.intp), train_start=lo, train_end=hi, test_start=t,
                     test_end=t + self.test)

    def confidence(self, bars: Any) -> np.ndarray:
        """Out-of-sample confidences ``2p - 1`` in [-1, 1] for every bar, walk-forward; NaN before
        the first test window, where a feature is warming up, and in untrainable windows."""
        X = self.features(bars)
        fwd = self.forward_returns(bars.close)
        conf = np.full(len(X), np.nan)
        for split in self._splits(len(X)):
            fitted = self._fit_window(X, fwd, 0, split)
            if fitted is None:
                continue
            a, b = split.test_start, split.test_end
            ok = np.isfinite(X[a:b]).all(axis=1)
            if ok.any():
                idx = np.flatnonzero(ok) + a
                conf[idx] = self._confidence(fitted, X[idx])
        return conf

    def _kernel(self) -> Any:
        from trader.decision import DecisionKernel

        return DecisionKernel([1.0], [0.0], self.threshold)

    # -- vectorized path --------------------------------------------------------------------------
    def vectorized(self, bars: Any) -> Signals | None:
        if self.has_exits or (self.allow_short and self.qty <= 0):
            return None  # protective orders, or long/short sized by equity: the event path
        conf = self.confidence(bars)
        action = self._kernel().decide_batch(np.ascontiguousarray(conf[:, None]))[0]
        first = self._splits(len(conf))[0].test_start
        if not self.allow_short:
            sig = np.where(action > 0, 1, -1).astype(np.int8)  # -1: leave the long (flat)
            sig[:first] = 0
            return Signals(signal=sig, qty=self.qty, size=self.size)
        target = action.astype(np.float64) * self.qty
        target[:first] = 0.0
        return Signals(target=target)

    # -- event path -------------------------------------------------------------------------------
    def on_start(self) -> None:
        self._lbs = self.lookback_bars
        self._rsi = self.indicator(RSI(self.rsi_period))
        self._ema = self.indicator(EMA(self.ema_period))
        self._atr = self.indicator(ATR(self.atr_period), source="hlc")
        self._kern = self._kernel()
        self._one = np.zeros(1)
        self._t = -1  # index of the current bar
        self._base = 0  # bar index of the buffers' first element
        self._closes: list[float] = []
        self._rows: list[np.ndarray] = []
        self._next = self.train + self.gap  # the first test window starts here (see _window)
        self._keep = self.train + self.gap + max(self._lbs) + 1
        self._fitted: tuple[Any, float] | None = None

    def _retrain(self) -> None:
        """At a test window's first bar: train on the buffered bars, as :meth:`confidence` does."""
        split = self._window(self._t)
        lo = int(split.train_start)
        X = np.array(self._rows[lo - self._base:self._t - self._base])
        fwd = self.forward_returns(np.array(self._closes[lo - self._base:self._t - self._base + 1]))[:len(X)]
        self._fitted = self._fit_window(X, fwd, lo, split)
        self._next += self.test

    def on_bar(self, bar: Any) -> None:
        self._t += 1
        self._closes.append(bar.close)
        row = self._feature_row(bar)
        self._rows.append(row)
        if len(self._closes) > 2 * self._keep:  # bounded memory (live): keep what training needs
            cut = len(self._closes) - self._keep
            del self._closes[:cut], self._rows[:cut]
            self._base += cut
        if self._t == self._next:
            self._retrain()
        if self._t < self.train + self.gap:
            return  # before the first test window: no position
        conf = math.nan
        if self._fitted is not None and np.isfinite(row).all():
            conf = float(self._confidence(self._fitted, row[None, :])[0])
        self._one[0] = conf
        action = self._kern.decide(self._one)[0]
        if action > 0:
            self.go_long(bar.close)
        elif action < 0 and self.allow_short:
            self.go_short_or_flat(bar.close)
        elif self.allow_short:
            if self.position() != 0:  # no opinion: flat
                if self.has_exits:
                    self.cancel_all()
                self.go_flat()
        else:
            self.go_short_or_flat(bar.close)  # long-only: leave the long
