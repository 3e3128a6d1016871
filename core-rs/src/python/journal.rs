//! The write-ahead log's Python side (`crate::journal`): the handle the store's writer releases
//! committed records through, and the reader the store takes a log's records in with.

use std::sync::Arc;

use pyo3::prelude::*;

use crate::journal::{read_log, JournalRelease};

/// The seq up to which the store has committed a session's write-ahead log
/// (`LiveSession.set_log_journal`'s result). Thread-safe: the store's writer calls `release`.
#[pyclass(module = "trader._core", name = "JournalRelease", frozen)]
pub(super) struct PyJournalRelease(pub(super) Arc<JournalRelease>);

#[pymethods]
impl PyJournalRelease {
    /// Records with a seq <= `seq` are committed to the store: the log may reuse their bytes.
    fn release(&self, seq: i64) {
        self.0.release(seq);
    }

    /// The last seq released (None before any).
    #[getter]
    fn committed(&self) -> Option<i64> {
        Some(self.0.committed()).filter(|&s| s != i64::MIN)
    }

    fn __repr__(&self) -> String {
        format!("JournalRelease(committed={:?})", self.committed())
    }
}

/// The strategy a write-ahead log belongs to and its valid records by seq, as
/// `(seq, order_id, kind, request, ts)` tuples. A file that is not such a log is a ValueError
/// naming it.
#[pyfunction]
fn read_journal_log(py: Python<'_>, path: std::path::PathBuf) -> PyResult<(String, Vec<(i64, i64, String, String, i64)>)> {
    let (strategy, records) = py.detach(|| read_log(&path)).map_err(PyErr::from)?;
    Ok((
        strategy,
        records
            .into_iter()
            .map(|r| (r.seq, r.order_id, r.kind, r.request, r.ts))
            .collect(),
    ))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyJournalRelease>()?;
    m.add_function(wrap_pyfunction!(read_journal_log, m)?)?;
    Ok(())
}
