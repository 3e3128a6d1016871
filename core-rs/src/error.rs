//! The one error type of the core. Every fallible domain function returns [`CoreResult`];
//! the bindings map each variant once onto the `trader.exceptions` tree (see
//! `python/errors.rs`), so a user never sees a panic or an abort for bad input.

use std::fmt;

pub type CoreResult<T> = Result<T, CoreError>;

#[derive(Debug, Clone, PartialEq)]
pub enum CoreError {
    /// A period / window / capacity argument outside its allowed range.
    InvalidPeriod {
        name: &'static str,
        value: i64,
        min: i64,
    },
    /// Two inputs that must have the same length do not.
    LengthMismatch {
        name: &'static str,
        expected: usize,
        got: usize,
    },
    /// A NaN after the first valid value of a series. Leading NaNs are skipped (TA-Lib's
    /// convention); a NaN in the middle would silently poison every later value, so it is an error.
    NanInSeries { name: &'static str, index: usize },
    /// An array that is not a contiguous float64 array (raised by the bindings).
    ArrayType { name: &'static str, reason: String },
    /// Any other argument outside its domain.
    InvalidArgument { name: &'static str, reason: String },
    /// `TRADER_SIMD` names a backend this CPU (or build) cannot run.
    SimdUnavailable {
        requested: String,
        available: Vec<&'static str>,
    },
    /// `TRADER_SIMD` names no backend at all.
    UnknownSimdBackend { requested: String },
    /// A bounded container (ring, pool) cannot take more.
    Capacity { name: &'static str, reason: String },
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPeriod { name, value, min } => {
                write!(f, "{name}: must be an integer >= {min}, got {value}")
            }
            Self::LengthMismatch {
                name,
                expected,
                got,
            } => {
                write!(
                    f,
                    "{name}: length {got} does not match the series length {expected}"
                )
            }
            Self::NanInSeries { name, index } => write!(
                f,
                "{name}: NaN at index {index} after the first valid value (only leading NaNs are allowed)"
            ),
            Self::ArrayType { name, reason } => write!(f, "{name}: {reason}"),
            Self::InvalidArgument { name, reason } => write!(f, "{name}: {reason}"),
            Self::SimdUnavailable {
                requested,
                available,
            } => write!(
                f,
                "TRADER_SIMD={requested}: this CPU cannot run the {requested} backend (available: {})",
                available.join(", ")
            ),
            Self::UnknownSimdBackend { requested } => write!(
                f,
                "TRADER_SIMD={requested}: unknown backend (expected one of scalar, avx2, avx512)"
            ),
            Self::Capacity { name, reason } => write!(f, "{name}: {reason}"),
        }
    }
}

impl std::error::Error for CoreError {}

/// Validate a period-like argument (`value >= min`) and return it as `usize`.
pub fn check_period(name: &'static str, value: i64, min: i64) -> CoreResult<usize> {
    if value < min {
        return Err(CoreError::InvalidPeriod { name, value, min });
    }
    usize::try_from(value).map_err(|_| CoreError::InvalidPeriod { name, value, min })
}

/// Check that `got` equals the series length `expected`.
pub fn check_len(name: &'static str, expected: usize, got: usize) -> CoreResult<()> {
    if expected != got {
        return Err(CoreError::LengthMismatch {
            name,
            expected,
            got,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_input() {
        let e = check_period("timeperiod", 0, 1).unwrap_err();
        assert_eq!(e.to_string(), "timeperiod: must be an integer >= 1, got 0");
        let e = check_len("high", 10, 9).unwrap_err();
        assert!(e.to_string().starts_with("high: length 9"));
        assert_eq!(check_period("p", 5, 1), Ok(5));
    }
}
