//! Signal helpers over whole series (the vectorized path's building blocks).

use crate::error::{CoreResult, check_len};

/// Where `a` crosses `b`: `+1` on bar `i` when `a[i-1] <= b[i-1]` and `a[i] > b[i]`, `-1` when
/// `a[i-1] >= b[i-1]` and `a[i] < b[i]`, else `0` (bar 0 is always 0). A comparison with NaN is
/// false, so a cross needs both series defined on `i-1` and `i` (indicator lookbacks are NaN).
pub fn crossings(a: &[f64], b: &[f64]) -> CoreResult<Vec<i8>> {
    check_len("b", a.len(), b.len())?;
    let mut out = vec![0i8; a.len()];
    for i in 1..a.len() {
        let (pa, pb, ca, cb) = (a[i - 1], b[i - 1], a[i], b[i]);
        let up = (pa <= pb) & (ca > cb);
        let down = (pa >= pb) & (ca < cb);
        out[i] = i8::from(up) - i8::from(down);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crosses_need_both_bars_defined() {
        let n = f64::NAN;
        let a = [n, 1.0, 2.0, 2.0, 1.0, 1.0, 3.0];
        let b = [n, 2.0, 1.0, 2.0, 2.0, 1.0, 1.0];
        assert_eq!(crossings(&a, &b).unwrap(), vec![0, 0, 1, 0, -1, 0, 1]);
        assert!(crossings(&a, &b[..3]).is_err());
    }
}
