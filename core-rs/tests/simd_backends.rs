//! Every SIMD kernel of every backend this CPU can run, against the scalar reference.
//!
//! One macro (`backends_agree!`) runs a kernel on every available backend and on `Backend::Scalar`
//! over the same seeded inputs and asserts the results are bit-identical: by design every backend
//! uses the scalar operation order (see `simd/mod.rs`), so no tolerance is needed. The log says
//! which backends ran and which were skipped because the CPU lacks them (`--nocapture`).

use _core::CoreError;
use _core::indicators::{ema::ema, rsi::rsi_kernel, sma::sma};
use _core::simd::{self, Backend, DecisionKernel, Rolling, Rows};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ------------------------------------------------------------------------------------------
// Inputs
// ------------------------------------------------------------------------------------------

const LENGTHS: &[usize] = &[0, 1, 2, 3, 5, 7, 8, 9, 31, 33, 100, 257, 1001, 9000, 20011];

/// A random walk around `level` with relative steps of `vol`, `lead` leading NaNs.
fn walk(rng: &mut StdRng, n: usize, level: f64, vol: f64, lead: usize) -> Vec<f64> {
    let mut v = level;
    (0..n)
        .map(|i| {
            v *= 1.0 + vol * (rng.random::<f64>() - 0.5);
            if i < lead { f64::NAN } else { v }
        })
        .collect()
}

/// Seeded inputs: prices, tiny and huge magnitudes, zero-mean noise, flat stretches, leading NaNs.
fn inputs() -> Vec<(String, Vec<f64>)> {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut out = Vec::new();
    for &n in LENGTHS {
        out.push((
            format!("price n={n}"),
            walk(&mut rng, n, 30_000.0, 0.004, 0),
        ));
        if n >= 3 {
            out.push((
                format!("lead-nan n={n}"),
                walk(&mut rng, n, 1.5, 0.02, n.min(13) / 2),
            ));
        }
        if n >= 100 {
            out.push((format!("tiny n={n}"), walk(&mut rng, n, 1e-150, 0.05, 0)));
            out.push((format!("huge n={n}"), walk(&mut rng, n, 1e150, 0.05, 0)));
            let noise: Vec<f64> = (0..n).map(|_| rng.random::<f64>() - 0.5).collect();
            out.push((format!("noise n={n}"), noise));
            let flat: Vec<f64> = (0..n)
                .map(|i| {
                    if (i / 37) % 2 == 0 {
                        100.0
                    } else {
                        100.0 + (i % 5) as f64
                    }
                })
                .collect();
            out.push((format!("flat n={n}"), flat));
        }
    }
    out
}

const PERIOD_SETS: &[&[i64]] = &[
    &[1],
    &[2, 3],
    &[5, 10, 20, 30, 50, 100, 150, 200],
    &[14, 7, 3, 21, 9],
    &[3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    &[30, 1, 30, 2, 60, 5, 8, 13, 21],
];

const WINDOWS: &[i64] = &[1, 2, 5, 20, 600];

/// Backends under test, logged once per test.
fn backends(test: &str) -> Vec<Backend> {
    let ran = simd::available();
    let skipped: Vec<&str> = Backend::ALL
        .into_iter()
        .filter(|b| !b.is_available())
        .map(Backend::name)
        .collect();
    eprintln!(
        "[{test}] backends ran: {:?}; skipped (CPU lacks them): {:?}",
        ran.iter().map(|b| b.name()).collect::<Vec<_>>(),
        skipped
    );
    ran
}

// ------------------------------------------------------------------------------------------
// Bitwise comparison of results
// ------------------------------------------------------------------------------------------

/// A result flattened to comparable bits (all NaNs are one value).
trait Bits {
    fn bits(&self) -> Result<Vec<u64>, String>;
}

/// TA-Lib's sequential RSI (`rsi_kernel`, what `rsi_multi` runs per row) with leading NaNs
/// skipped; the single-period `rsi` is the blocked form (within 1e-9, tested in its module).
fn rsi_sequence(x: &[f64], p: i64) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    let start = x.iter().position(|v| !v.is_nan()).unwrap_or(x.len());
    rsi_kernel(&x[start..], p as usize, &mut out[start..]);
    out
}

fn f64_bits(v: &[f64]) -> Vec<u64> {
    v.iter()
        .map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() })
        .collect()
}

impl Bits for Rows {
    fn bits(&self) -> Result<Vec<u64>, String> {
        let mut b = f64_bits(&self.data);
        b.extend([self.rows as u64, self.cols as u64]);
        Ok(b)
    }
}
impl Bits for f64 {
    fn bits(&self) -> Result<Vec<u64>, String> {
        Ok(f64_bits(&[*self]))
    }
}
impl<T: Bits> Bits for Result<T, CoreError> {
    fn bits(&self) -> Result<Vec<u64>, String> {
        match self {
            Ok(v) => v.bits(),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Run `$body` (an expression of `$b: Backend` and `$x: &[f64]`) on every backend and on scalar
/// for every input; assert bit-identical results (errors must match too).
macro_rules! backends_agree {
    ($test:ident, |$b:ident, $x:ident| $body:expr) => {
        #[test]
        fn $test() {
            let run = |$b: Backend, $x: &[f64]| $body;
            let mut checked = 0usize;
            for b in backends(stringify!($test)) {
                for (label, x) in inputs() {
                    let want = run(Backend::Scalar, &x).bits();
                    let got = run(b, &x).bits();
                    match (&want, &got) {
                        (Ok(w), Ok(g)) => {
                            if let Some(i) = w.iter().zip(g).position(|(a, c)| a != c) {
                                panic!(
                                    "{}: backend {} differs from scalar on {label} at flat index {i}: {} vs {}",
                                    stringify!($test),
                                    b.name(),
                                    f64::from_bits(g[i]),
                                    f64::from_bits(w[i])
                                );
                            }
                            assert_eq!(w.len(), g.len(), "{label}");
                        }
                        _ => assert_eq!(want, got, "{}: {label} on {}", stringify!($test), b.name()),
                    }
                    checked += 1;
                }
            }
            eprintln!("[{}] {checked} backend × input cases bit-identical to scalar", stringify!($test));
        }
    };
}

backends_agree!(ema_multi_matches_scalar, |b, x| PERIOD_SETS
    .iter()
    .map(|ps| simd::ema_multi_with(b, x, ps))
    .collect::<Vec<_>>());
backends_agree!(sma_multi_matches_scalar, |b, x| PERIOD_SETS
    .iter()
    .map(|ps| simd::sma_multi_with(b, x, ps))
    .collect::<Vec<_>>());
backends_agree!(rsi_multi_matches_scalar, |b, x| PERIOD_SETS
    .iter()
    .map(|ps| simd::rsi_multi_with(b, x, ps))
    .collect::<Vec<_>>());
backends_agree!(rolling_sum_matches_scalar, |b, x| WINDOWS
    .iter()
    .map(|&w| simd::rolling_with(b, x, w, Rolling::Sum))
    .collect::<Vec<_>>());
backends_agree!(rolling_mean_matches_scalar, |b, x| WINDOWS
    .iter()
    .map(|&w| simd::rolling_with(b, x, w, Rolling::Mean))
    .collect::<Vec<_>>());
backends_agree!(rolling_std_matches_scalar, |b, x| WINDOWS
    .iter()
    .flat_map(|&w| [0, 1].map(|ddof| simd::rolling_with(b, x, w, Rolling::Std { ddof })))
    .collect::<Vec<_>>());
backends_agree!(reductions_match_scalar, |b, x| {
    let y: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| v * 0.5 + (i % 7) as f64)
        .collect();
    vec![
        simd::sum_with(b, x),
        simd::mean_with(b, x),
        simd::std_with(b, x, 0),
        simd::std_with(b, x, 1),
        simd::corr_with(b, x, &y),
    ]
});
backends_agree!(decision_matches_scalar, |b, x| {
    // Signals from the series, squashed into [-1.2, 1.2] so some are clamped.
    let sig: Vec<f64> = x
        .iter()
        .map(|v| {
            if v.is_nan() {
                f64::NAN
            } else {
                1.2 * (v * 1e3).sin()
            }
        })
        .collect();
    [1usize, 3, 4, 7, 8, 16, 19]
        .iter()
        .map(|&n| {
            let w: Vec<f64> = (0..n).map(|i| ((i * 7 % 5) as f64 - 1.5) * 0.7).collect();
            let t: Vec<f64> = (0..n).map(|i| (i % 4) as f64 * 0.1).collect();
            let k = DecisionKernel::with_backend(b, &w, &t, 0.15)?;
            let bars = sig.len() / n;
            let (mut a, mut s, mut z) = (vec![0i8; bars], vec![0.0; bars], vec![0.0; bars]);
            k.decide_batch(&sig[..bars * n], &mut a, &mut s, &mut z)?;
            let mut flat: Vec<f64> = a.iter().map(|&v| v as f64).collect();
            flat.extend(&s);
            flat.extend(&z);
            for row in sig[..bars * n].chunks_exact(n) {
                let d = k.decide(row)?;
                flat.extend([d.action as f64, d.score, d.size]);
            }
            Ok(flat)
        })
        .collect::<Vec<Result<Vec<f64>, CoreError>>>()
});

impl<T: Bits> Bits for Vec<T> {
    fn bits(&self) -> Result<Vec<u64>, String> {
        let mut out = Vec::new();
        for v in self {
            match v.bits() {
                Ok(b) => out.extend(b),
                Err(e) => out.extend(e.bytes().map(u64::from).chain([u64::MAX - 1])),
            }
        }
        Ok(out)
    }
}

// ------------------------------------------------------------------------------------------
// Multi-lane rows == single-period kernels, bit for bit, on every backend
// ------------------------------------------------------------------------------------------

#[test]
fn multi_rows_equal_single_period_kernels() {
    for b in backends("multi_rows_equal_single_period_kernels") {
        for (label, x) in inputs() {
            for ps in PERIOD_SETS {
                // RSI needs periods >= 2 (TA-Lib's minimum), so period 1 is left out of its rows.
                let rsi_ps: Vec<i64> = ps.iter().copied().filter(|&p| p >= 2).collect();
                let (e, s) = (
                    simd::ema_multi_with(b, &x, ps).unwrap(),
                    simd::sma_multi_with(b, &x, ps).unwrap(),
                );
                let r = (!rsi_ps.is_empty()).then(|| simd::rsi_multi_with(b, &x, &rsi_ps).unwrap());
                assert_eq!((e.rows, e.cols), (ps.len(), x.len()));
                for (j, &p) in ps.iter().enumerate() {
                    let ctx = || format!("{} {label} period {p}", b.name());
                    assert_eq!(
                        f64_bits(e.row(j)),
                        f64_bits(&ema(&x, p).unwrap()),
                        "ema {}",
                        ctx()
                    );
                    assert_eq!(
                        f64_bits(s.row(j)),
                        f64_bits(&sma(&x, p).unwrap()),
                        "sma {}",
                        ctx()
                    );
                }
                if let Some(r) = &r {
                    for (j, &p) in rsi_ps.iter().enumerate() {
                        assert_eq!(
                            f64_bits(r.row(j)),
                            f64_bits(&rsi_sequence(&x, p)),
                            "rsi {} {label} period {p}",
                            b.name()
                        );
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Against straightforward references (tolerances: other operation orders)
// ------------------------------------------------------------------------------------------

#[test]
fn rolling_and_reductions_close_to_naive() {
    let mut rng = StdRng::seed_from_u64(7);
    let x = walk(&mut rng, 30_000, 100.0, 0.01, 0);
    for b in backends("rolling_and_reductions_close_to_naive") {
        for w in [1usize, 3, 20, 700] {
            let sum = simd::rolling_with(b, &x, w as i64, Rolling::Sum).unwrap();
            let std = simd::rolling_with(b, &x, w as i64, Rolling::Std { ddof: 0 }).unwrap();
            for t in (w - 1..x.len()).step_by(97) {
                let win = &x[t + 1 - w..=t];
                let s: f64 = win.iter().sum();
                let m = s / w as f64;
                let sd = (win.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / w as f64).sqrt();
                assert!(
                    (sum[t] - s).abs() <= 1e-12 * s.abs(),
                    "{} sum w={w} t={t}",
                    b.name()
                );
                assert!(
                    (std[t] - sd).abs() <= 1e-9 * sd + 1e-12 * m,
                    "{} std w={w} t={t}: {} vs {sd}",
                    b.name(),
                    std[t]
                );
            }
            assert!(sum[..w - 1].iter().all(|v| v.is_nan()));
        }
        let n = x.len() as f64;
        let s: f64 = x.iter().sum();
        let m = s / n;
        let sd = (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!((simd::sum_with(b, &x).unwrap() - s).abs() <= 1e-12 * s);
        assert!((simd::std_with(b, &x, 1).unwrap() - sd).abs() <= 1e-12 * sd);
        let y: Vec<f64> = x.iter().map(|v| -2.0 * v + 3.0).collect();
        assert!((simd::corr_with(b, &x, &y).unwrap() + 1.0).abs() <= 1e-12);
    }
}

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

#[test]
fn errors_name_the_input() {
    let x = [1.0, 2.0, f64::NAN, 4.0];
    for b in backends("errors_name_the_input") {
        assert!(matches!(
            simd::ema_multi_with(b, &x, &[3]),
            Err(CoreError::NanInSeries {
                name: "real",
                index: 2
            })
        ));
        assert!(matches!(
            simd::sma_multi_with(b, &[1.0], &[]),
            Err(CoreError::InvalidArgument {
                name: "periods",
                ..
            })
        ));
        assert!(matches!(
            simd::rsi_multi_with(b, &[1.0], &[3, 0]),
            Err(CoreError::InvalidPeriod {
                name: "periods",
                ..
            })
        ));
        assert!(matches!(
            simd::rolling_with(b, &[1.0], 0, Rolling::Sum),
            Err(CoreError::InvalidPeriod { name: "window", .. })
        ));
        assert!(matches!(
            simd::rolling_with(b, &[1.0, 2.0], 2, Rolling::Std { ddof: 2 }),
            Err(CoreError::InvalidArgument { name: "ddof", .. })
        ));
        assert!(matches!(
            simd::rolling_with(b, &x, 2, Rolling::Mean),
            Err(CoreError::NanInSeries { .. })
        ));
        assert!(matches!(
            simd::sum_with(b, &x),
            Err(CoreError::NanInSeries { index: 2, .. })
        ));
        assert!(matches!(
            simd::mean_with(b, &[f64::NAN]),
            Err(CoreError::InvalidArgument { .. })
        ));
        assert!(matches!(
            simd::std_with(b, &x, 0),
            Err(CoreError::NanInSeries { .. })
        ));
        assert!(matches!(
            simd::corr_with(b, &[1.0, 2.0], &[1.0]),
            Err(CoreError::LengthMismatch { name: "y", .. })
        ));
        assert_eq!(simd::sum_with(b, &[f64::NAN, f64::NAN]), Ok(0.0));
        assert!(
            simd::corr_with(b, &[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0])
                .unwrap()
                .is_nan()
        );
    }
    for b in Backend::ALL.into_iter().filter(|b| !b.is_available()) {
        assert!(matches!(
            simd::ema_multi_with(b, &[1.0], &[1]),
            Err(CoreError::SimdUnavailable { .. })
        ));
        assert!(matches!(
            DecisionKernel::with_backend(b, &[1.0], &[0.0], 0.0),
            Err(CoreError::SimdUnavailable { .. })
        ));
    }
}

// ------------------------------------------------------------------------------------------
// Decision kernel invariants (proptest)
// ------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn decision_invariants(
        n in 1usize..40,
        seed in any::<u64>(),
        band in 0.0f64..0.99,
        bars in 1usize..12,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut w: Vec<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
        w[0] = 1.0;
        let t: Vec<f64> = (0..n).map(|_| if rng.random_bool(0.3) { 0.0 } else { rng.random_range(0.0..1.0) }).collect();
        let signals: Vec<f64> = (0..n * bars)
            .map(|_| match rng.random_range(0..12) {
                0 => f64::NAN,
                1 => 0.0,
                2 => 1.0,
                3 => -1.0,
                _ => rng.random_range(-1.5..1.5),
            })
            .collect();
        let reference = DecisionKernel::with_backend(Backend::Scalar, &w, &t, band).unwrap();
        let norm: f64 = w.iter().map(|v| v.abs()).sum();
        for b in simd::available() {
            let k = DecisionKernel::with_backend(b, &w, &t, band).unwrap();
            let (mut a, mut s, mut z) = (vec![0i8; bars], vec![0.0; bars], vec![0.0; bars]);
            k.decide_batch(&signals, &mut a, &mut s, &mut z).unwrap();
            for (i, row) in signals.chunks_exact(n).enumerate() {
                let d = k.decide(row).unwrap();
                // decide and decide_batch agree bit for bit, and with the scalar backend.
                prop_assert_eq!((d.action, d.score.to_bits(), d.size.to_bits()), (a[i], s[i].to_bits(), z[i].to_bits()));
                let r = reference.decide(row).unwrap();
                prop_assert_eq!((d.action, d.score.to_bits(), d.size.to_bits()), (r.action, r.score.to_bits(), r.size.to_bits()));
                // Invariants.
                prop_assert!((-1.0..=1.0).contains(&d.score));
                prop_assert!((0.0..=1.0).contains(&d.size));
                prop_assert_eq!(d.action == 1, d.score > band);
                prop_assert_eq!(d.action == -1, d.score < -band);
                if d.action == 0 {
                    prop_assert_eq!(d.size, 0.0);
                } else {
                    prop_assert!(d.size >= 0.0 && (d.size - (d.score.abs() - band) / (1.0 - band)).abs() <= 1e-12);
                }
                // Against a plain sequential reference of the documented formula.
                let naive: f64 = row.iter().zip(&w).zip(&t).map(|((&s, &w), &t)| {
                    let v = if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) };
                    w * if v.abs() < t { 0.0 } else { v }
                }).sum::<f64>() / norm;
                prop_assert!((d.score - naive.clamp(-1.0, 1.0)).abs() <= 1e-12, "{} vs {}", d.score, naive);
            }
        }
    }
}

/// Outputs above the parallel threshold are split across two threads (rows by halves): they
/// must give the same bits as scalar too. 8 rows x 300k values = 19.2 MB: each half is above
/// the streaming-store threshold too (`avx2::STREAM_BYTES`, which the AVX-512 backend's EMA
/// hands to the AVX2 kernel).
#[test]
fn large_multi_lane_outputs_split_across_threads_match_scalar() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut x = Vec::with_capacity(300_000); // a multiple of 4: rows stay 32-byte aligned
    let mut p = 100.0;
    for _ in 0..300_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        p *= 1.0 + ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.01;
        x.push(p);
    }
    let periods = [5, 10, 20, 30, 50, 100, 150, 199];
    let ema = simd::ema_multi_with(Backend::Scalar, &x, &periods).unwrap();
    let rsi = simd::rsi_multi_with(Backend::Scalar, &x, &periods).unwrap();
    for b in backends("large_multi_lane_outputs_split_across_threads_match_scalar") {
        let got = simd::ema_multi_with(b, &x, &periods).unwrap();
        assert_eq!(f64_bits(&got.data), f64_bits(&ema.data), "ema {}", b.name());
        let got = simd::rsi_multi_with(b, &x, &periods).unwrap();
        assert_eq!(f64_bits(&got.data), f64_bits(&rsi.data), "rsi {}", b.name());
    }
}

#[test]
fn the_price_grid_scan_agrees_on_every_backend() {
    // Closes on a 0.01 grid with one value off it placed everywhere (first, last, inside and at
    // the edges of the 16-value blocks), NaNs, and values near the exactness limit of 2^51 ticks.
    let ran = backends("first_off_grid");
    let mut rng = StdRng::seed_from_u64(0x9d1d);
    for &n in LENGTHS.iter().filter(|&&n| n > 0) {
        let on: Vec<f64> = (0..n)
            .map(|_| (rng.random_range(1..10_000_000i64) as f64) / 100.0)
            .collect();
        let mut cases = vec![on.clone()];
        for k in [0, n / 2, n - 1, 15.min(n - 1), 16.min(n - 1), 17.min(n - 1)] {
            let mut off = on.clone();
            off[k] += 0.004;
            cases.push(off);
            let mut nan = on.clone();
            nan[k] = f64::NAN;
            cases.push(nan);
        }
        for x in &cases {
            let want = simd::first_off_grid_with(Backend::Scalar, x, 100.0).unwrap();
            let naive = x.iter().position(|&v| {
                let s = v * 100.0;
                !((s - s.round()).abs() <= s.abs() * 1e-12 + 1e-9)
            });
            assert_eq!(want, naive, "scalar vs a naive scan, n={n}");
            for &b in &ran {
                assert_eq!(
                    simd::first_off_grid_with(b, x, 100.0).unwrap(),
                    want,
                    "{} n={n}",
                    b.name()
                );
            }
        }
    }
    // Whole-tick values beyond 2^51 ticks are integers already; decimals are inferred the same way.
    let big = [2f64.powi(52), 3.5, 100.25];
    for &b in &ran {
        assert_eq!(simd::first_off_grid_with(b, &big, 1.0).unwrap(), Some(1));
    }
    assert_eq!(simd::price_decimals(&[&[100.25, 3.5, f64::NAN]], 9), 2);
    assert_eq!(simd::price_decimals(&[&[1.0, 2.0], &[0.125]], 9), 3);
}
