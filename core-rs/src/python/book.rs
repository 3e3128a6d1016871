//! Bindings of the L2 book: `replay_binance_depth(path, market, ...) -> dict` and the `L2Book`
//! class (exact decimal strings in and out).

use std::path::PathBuf;

use numpy::IntoPyArray;
use pyo3::exceptions::PyFileNotFoundError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyDict;

use crate::book::{BookSide, L2Book, Level, MarketKind};
use crate::data::decimal::parse_fixed;
use crate::data::replay::{ReplayOptions, ReplayReport, replay_files, replay_files_with_book};
use crate::error::CoreError;
use crate::model::fixed::{MAX_DP, format_fixed};

fn paths_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Ok(p) = obj.extract::<PathBuf>() {
        return Ok(vec![p]);
    }
    if !obj.is_instance_of::<pyo3::types::PyBytes>()
        && let Ok(v) = obj.extract::<Vec<PathBuf>>()
    {
        return Ok(v);
    }
    let ty = obj
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into());
    Err(CoreError::InvalidArgument {
        name: "path",
        reason: format!("expected a path or a sequence of paths, got {ty}"),
    }
    .into())
}

fn dp_arg(name: &'static str, v: Option<i64>) -> PyResult<Option<u8>> {
    match v {
        None => Ok(None),
        Some(d) if (0..=MAX_DP as i64).contains(&d) => Ok(Some(d as u8)),
        Some(d) => Err(CoreError::InvalidArgument {
            name,
            reason: format!("must be between 0 and {MAX_DP}, got {d}"),
        }
        .into()),
    }
}

/// A level as exact decimal strings `(price, qty)`.
fn level(l: Option<Level>, r: &ReplayReport) -> Option<(String, String)> {
    l.map(|l| {
        (
            format_fixed(l.px as i128, r.price_dp as u32),
            format_fixed(l.qty as i128, r.size_dp as u32),
        )
    })
}

/// Replay a raw Binance WebSocket recording (or several, as one session) through the L2 book.
#[pyfunction]
#[pyo3(signature = (path, market = "usdm", price_precision = None, size_precision = None))]
fn replay_binance_depth<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    market: &str,
    price_precision: Option<i64>,
    size_precision: Option<i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let paths = check_paths(path)?;
    let opts = replay_opts(market, price_precision, size_precision)?;
    let r = py.detach(|| replay_files(&paths, opts))?;
    report_dict(py, &paths, opts, &r)
}

fn check_paths(path: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    let paths = paths_arg(path)?;
    if paths.is_empty() {
        return Err(CoreError::InvalidArgument {
            name: "path",
            reason: "no recording given".into(),
        }
        .into());
    }
    for p in &paths {
        if !p.is_file() {
            return Err(PyFileNotFoundError::new_err(format!(
                "path: no such recording: {}",
                p.display()
            )));
        }
    }
    Ok(paths)
}

fn replay_opts(
    market: &str,
    price_precision: Option<i64>,
    size_precision: Option<i64>,
) -> PyResult<ReplayOptions> {
    let mut opts = ReplayOptions::new(MarketKind::parse(market)?);
    opts.price_dp = dp_arg("price_precision", price_precision)?;
    opts.size_dp = dp_arg("size_precision", size_precision)?;
    Ok(opts)
}

fn report_dict<'py>(
    py: Python<'py>,
    paths: &[PathBuf],
    opts: ReplayOptions,
    r: &ReplayReport,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("market", opts.market.name())?;
    d.set_item(
        "files",
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>(),
    )?;
    d.set_item("price_precision", r.price_dp)?;
    d.set_item("size_precision", r.size_dp)?;
    d.set_item("messages", r.messages)?;
    d.set_item("depth_messages", r.depth_messages)?;
    d.set_item("ticker_messages", r.ticker_messages)?;
    d.set_item("trade_messages", r.trade_messages)?;
    d.set_item("snapshot_messages", r.snapshot_messages)?;
    d.set_item("other_messages", r.other_messages)?;
    d.set_item("deltas_decoded", r.deltas_decoded)?;
    d.set_item("depth_updates_applied", r.sync.applied)?;
    d.set_item("deltas_applied", r.sync.deltas_applied)?;
    d.set_item("dropped_stale", r.sync.dropped_stale)?;
    d.set_item("gaps", r.sync.gaps)?;
    d.set_item("sync_errors", r.sync.sync_errors)?;
    d.set_item("syncs", r.sync.syncs)?;
    d.set_item("resyncs", r.sync.resyncs)?;
    d.set_item("snapshots_ignored", r.sync.snapshots_ignored)?;
    d.set_item("buffer_overflows", r.sync.buffer_overflows)?;
    d.set_item("crossed_after_event", r.crossed_after_event)?;
    d.set_item("ticker_comparisons", r.ticker_compared)?;
    d.set_item("ticker_matches", r.ticker_matched)?;
    d.set_item("match_rate", r.match_rate())?;
    d.set_item("mismatch_bid_px", r.mismatch_bid_px)?;
    d.set_item("mismatch_bid_qty", r.mismatch_bid_qty)?;
    d.set_item("mismatch_ask_px", r.mismatch_ask_px)?;
    d.set_item("mismatch_ask_qty", r.mismatch_ask_qty)?;
    d.set_item("mismatch_examples", r.mismatch_examples.clone())?;
    d.set_item("ticker_inside_event", r.ticker_inside_event)?;
    d.set_item("ticker_before_sync", r.ticker_before_sync)?;
    d.set_item("ticker_unresolved", r.ticker_unresolved)?;
    d.set_item("event_top_checks", r.event_top_checked)?;
    d.set_item("event_top_matches", r.event_top_matched)?;
    d.set_item("event_top_match_rate", r.event_top_match_rate())?;
    d.set_item(
        "event_top_mismatch_examples",
        r.event_top_mismatch_examples.clone(),
    )?;
    d.set_item(
        "trade_volume",
        format_fixed(r.trade_volume_raw, r.size_dp as u32),
    )?;
    d.set_item("synced_at_end", r.synced_at_end)?;
    d.set_item("best_bid", level(r.best_bid, r))?;
    d.set_item("best_ask", level(r.best_ask, r))?;
    d.set_item("bid_levels", r.bid_levels)?;
    d.set_item("ask_levels", r.ask_levels)?;
    d.set_item("elapsed_s", r.elapsed_s)?;
    let rate = if r.elapsed_s > 0.0 {
        r.deltas_decoded as f64 / r.elapsed_s
    } else {
        f64::NAN
    };
    d.set_item("deltas_per_s", rate)?;
    Ok(d)
}

fn side_arg(side: &str) -> PyResult<BookSide> {
    match side {
        "bid" | "b" | "buy" => Ok(BookSide::Bid),
        "ask" | "a" | "sell" => Ok(BookSide::Ask),
        _ => Err(CoreError::InvalidArgument {
            name: "side",
            reason: format!("expected 'bid' or 'ask', got {side:?}"),
        }
        .into()),
    }
}

/// An L2 order book with exact fixed-point prices and quantities (decimal strings in and out).
#[pyclass(module = "trader._core", name = "L2Book")]
pub struct PyL2Book {
    book: L2Book,
}

impl PyL2Book {
    fn text(&self, l: Level) -> (String, String) {
        (
            format_fixed(l.px as i128, self.book.price_dp() as u32),
            format_fixed(l.qty as i128, self.book.size_dp() as u32),
        )
    }
}

#[pymethods]
impl PyL2Book {
    #[new]
    fn new(price_precision: i64, size_precision: i64) -> PyResult<Self> {
        let p = dp_arg("price_precision", Some(price_precision))?.unwrap_or(0);
        let s = dp_arg("size_precision", Some(size_precision))?.unwrap_or(0);
        Ok(Self {
            book: L2Book::new(p, s)?,
        })
    }

    /// The book at the end of a replay (see `replay_binance_depth`), with the replay's report.
    #[staticmethod]
    #[pyo3(signature = (path, market = "usdm", price_precision = None, size_precision = None))]
    fn from_binance_recording<'py>(
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        market: &str,
        price_precision: Option<i64>,
        size_precision: Option<i64>,
    ) -> PyResult<(Self, Bound<'py, PyDict>)> {
        let paths = check_paths(path)?;
        let opts = replay_opts(market, price_precision, size_precision)?;
        let (r, book) = py.detach(|| replay_files_with_book(&paths, opts))?;
        let Some(book) = book else {
            return Err(CoreError::InvalidArgument {
                name: "path",
                reason: "no price or size in the recording".into(),
            }
            .into());
        };
        Ok((Self { book }, report_dict(py, &paths, opts, &r)?))
    }

    #[getter]
    fn price_precision(&self) -> u8 {
        self.book.price_dp()
    }

    #[getter]
    fn size_precision(&self) -> u8 {
        self.book.size_dp()
    }

    /// Set the absolute quantity at `price` on `side` ("bid"/"ask"); quantity "0" deletes the level.
    fn apply_delta(&mut self, side: &str, price: &str, qty: &str) -> PyResult<()> {
        let side = side_arg(side)?;
        let px = parse_fixed(price, self.book.price_dp(), "price")?;
        let q = parse_fixed(qty, self.book.size_dp(), "qty")?;
        Ok(self.book.apply_delta(side, px, q)?)
    }

    fn best_bid(&self) -> Option<(String, String)> {
        self.book.best_bid().map(|l| self.text(l))
    }

    fn best_ask(&self) -> Option<(String, String)> {
        self.book.best_ask().map(|l| self.text(l))
    }

    /// The best `n` levels of `side`, best first, as `(price, qty)` decimal strings.
    fn depth(&self, side: &str, n: usize) -> PyResult<Vec<(String, String)>> {
        Ok(self
            .book
            .depth(side_arg(side)?, n)
            .into_iter()
            .map(|l| self.text(l))
            .collect())
    }

    fn is_crossed(&self) -> bool {
        self.book.is_crossed()
    }

    /// Number of levels on `side`.
    fn levels(&self, side: &str) -> PyResult<usize> {
        Ok(self.book.len(side_arg(side)?))
    }

    fn __repr__(&self) -> String {
        let f = |l: Option<(String, String)>| {
            l.map(|(p, q)| format!("{q}@{p}"))
                .unwrap_or_else(|| "-".into())
        };
        format!(
            "L2Book(bid={}, ask={}, levels={}/{})",
            f(self.best_bid()),
            f(self.best_ask()),
            self.book.len(BookSide::Bid),
            self.book.len(BookSide::Ask)
        )
    }
}

/// Decode Binance market-data messages (lines `<receive ns> <JSON>` or the JSON alone:
/// combined-stream depth diffs, book tickers, trades, REST depth snapshots) into typed columns
/// at the given precision, in Rust: a dict of numpy arrays — per message `kind` (0 depth,
/// 1 book ticker, 2 trade, 3 snapshot, 4 other stream), `recv_ns`, `event_ms`, `first_id`,
/// `last_id`, `a`..`d` (book ticker: bid px, bid size, ask px, ask size; trade: px, size,
/// buyer aggressor), and per depth level `level_row`, `level_side`, `level_px`, `level_qty`.
/// A malformed message, or a price/size finer than the precision, is an error naming it.
#[pyfunction]
#[pyo3(signature = (lines, price_precision, size_precision))]
fn decode_binance_messages<'py>(
    py: Python<'py>,
    lines: Vec<PyBackedStr>,
    price_precision: u8,
    size_precision: u8,
) -> PyResult<Bound<'py, PyDict>> {
    let d = py.detach(|| -> crate::error::CoreResult<_> {
        // a depth level is ~20 bytes of text: the levels cannot outnumber a twentieth of it
        let bytes: usize = lines.iter().map(|l| l.len()).sum();
        let mut d = crate::data::binance_ws::Decoded::with_capacity(lines.len(), bytes / 20);
        for (i, line) in lines.iter().enumerate() {
            d.push_line(line, price_precision, size_precision)
                .map_err(|e| match e {
                    crate::error::CoreError::InvalidArgument { name, reason } => {
                        crate::error::CoreError::InvalidArgument {
                            name,
                            reason: format!("message {i}: {reason}"),
                        }
                    }
                    other => other,
                })?;
        }
        Ok(d)
    })?;
    let out = PyDict::new(py);
    out.set_item("kind", d.kind.into_pyarray(py))?;
    out.set_item("recv_ns", d.recv_ns.into_pyarray(py))?;
    out.set_item("event_ms", d.event_ms.into_pyarray(py))?;
    out.set_item("first_id", d.first_id.into_pyarray(py))?;
    out.set_item("last_id", d.last_id.into_pyarray(py))?;
    out.set_item("a", d.a.into_pyarray(py))?;
    out.set_item("b", d.b.into_pyarray(py))?;
    out.set_item("c", d.c.into_pyarray(py))?;
    out.set_item("d", d.d.into_pyarray(py))?;
    out.set_item("level_row", d.level_row.into_pyarray(py))?;
    out.set_item("level_side", d.level_side.into_pyarray(py))?;
    out.set_item("level_px", d.level_px.into_pyarray(py))?;
    out.set_item("level_qty", d.level_qty.into_pyarray(py))?;
    Ok(out)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(replay_binance_depth, m)?)?;
    m.add_function(wrap_pyfunction!(decode_binance_messages, m)?)?;
    m.add_class::<PyL2Book>()?;
    Ok(())
}
