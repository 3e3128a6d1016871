//! SIMD backends and the choice between them.
//!
//! `scalar` is the reference; `avx2` (4 f64 lanes) and `avx512` (8 f64 lanes) mirror it kernel by
//! kernel. The backend is chosen once per process, on first use: the best one the CPU supports,
//! unless the environment variable `TRADER_SIMD` (`scalar` | `avx2` | `avx512`) forces one. Forcing a
//! backend the CPU lacks is an error ([`CoreError::SimdUnavailable`]), never a silent fallback.
//! Nothing is compiled with `target-cpu=native`: the AVX paths are `#[target_feature]` functions,
//! only ever called after the run-time check.

use std::sync::OnceLock;

use crate::error::{CoreError, CoreResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Scalar,
    Avx2,
    Avx512,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Scalar, Backend::Avx2, Backend::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
        }
    }

    /// f64 lanes per register.
    pub fn lanes(self) -> usize {
        match self {
            Backend::Scalar => 1,
            Backend::Avx2 => 4,
            Backend::Avx512 => 8,
        }
    }

    /// Whether this CPU can run the backend.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    pub fn parse(name: &str) -> CoreResult<Backend> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Ok(Backend::Scalar),
            "avx2" => Ok(Backend::Avx2),
            "avx512" => Ok(Backend::Avx512),
            _ => Err(CoreError::UnknownSimdBackend { requested: name.to_string() }),
        }
    }
}

/// Every backend this CPU can run, scalar first.
pub fn available() -> Vec<Backend> {
    Backend::ALL.into_iter().filter(|b| b.is_available()).collect()
}

/// The best backend this CPU can run.
pub fn detect() -> Backend {
    *available().last().unwrap_or(&Backend::Scalar)
}

/// Resolve a requested backend name (the value of `TRADER_SIMD`), or detect when `None`/empty.
pub fn resolve(requested: Option<&str>) -> CoreResult<Backend> {
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(detect()),
        Some(name) => {
            let b = Backend::parse(name)?;
            if b.is_available() {
                Ok(b)
            } else {
                Err(CoreError::SimdUnavailable {
                    requested: name.to_string(),
                    available: available().into_iter().map(Backend::name).collect(),
                })
            }
        }
    }
}

static CHOSEN: OnceLock<CoreResult<Backend>> = OnceLock::new();

/// The process-wide backend: chosen once from `TRADER_SIMD` or the CPU, then cached.
pub fn backend() -> CoreResult<Backend> {
    CHOSEN
        .get_or_init(|| resolve(std::env::var("TRADER_SIMD").ok().as_deref()))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_names_and_errors() {
        assert_eq!(resolve(Some("scalar")), Ok(Backend::Scalar));
        assert_eq!(resolve(None), Ok(detect()));
        assert!(matches!(resolve(Some("sse9")), Err(CoreError::UnknownSimdBackend { .. })));
        for b in Backend::ALL {
            let r = resolve(Some(b.name()));
            assert_eq!(r.is_ok(), b.is_available(), "{b:?}");
        }
    }
}
