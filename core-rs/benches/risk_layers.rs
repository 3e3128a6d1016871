//! The built-in risk layers on the per-bar / per-order hot path, outside the engine (the
//! engine-level line — default layers ≤ 15% of the trade-every-bar throughput — is measured
//! where the engine runs them).
//!
//! - group `risk_layers_bar`: `trader` = per bar, every layer of the Python config dict's
//!   defaults sees the bar (`on_bar`) and one exposure-increasing market order (`check`), on a
//!   1-instrument account with an open position, estimators warm. Throughput: bars.
//!   `drawdown_vol_panic` = the same with the three layers a default config needs every bar.

use std::hint::black_box;
use std::time::Duration;

use _core::model::fixed::pow10;
use _core::model::{Bar, Fill, Instrument, Liquidity, MONEY_DP, OrderKind, OrderSpec, Side};
use _core::portfolio::Portfolio;
use _core::risk::layers::*;
use _core::risk::{RiskLayer, RiskView, TradingState, Verdict};
use _core::venue::Orders;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const N: usize = 10_000;

fn configs() -> Vec<LayerConfig> {
    vec![
        LayerConfig::Drawdown(DrawdownConfig {
            soft: Some(0.5),
            hard: Some(0.9),
            hard_state: TradingState::Emergency,
            daily_loss: Some(0.5),
        }),
        LayerConfig::VolTarget(VolTargetConfig {
            target: 0.4,
            estimator: VolEstimator::Garch {
                alpha: 0.05,
                beta: 0.94,
                omega: None,
                warmup: 500,
            },
            periods_per_year: 525_600.0,
            min_scale: 0.0,
            max_scale: 2.0,
        }),
        LayerConfig::Kelly(KellyConfig {
            fraction: 0.25,
            window: 100,
            min_trades: 20,
        }),
        LayerConfig::Confidence(ConfidenceConfig {
            min_confidence: 0.2,
            min_scale: 0.25,
            max_scale: 1.0,
            min_leverage: 1.0,
            max_leverage: 3.0,
        }),
        LayerConfig::Panic(PanicConfig {
            stale_ns: Some(120_000_000_000),
            spread_k: Some(5.0),
            spread_window: 100,
            slippage_k: Some(5.0),
            expected_slippage_bps: 2.0,
            max_consecutive_rejects: Some(5),
            state: TradingState::Paused,
            cooldown_ns: 60_000_000_000,
        }),
        LayerConfig::CircuitBreaker(BreakerConfig {
            failure_threshold: 5,
            cooldown_ns: 3_600_000_000_000,
            half_open_trials: 1,
        }),
    ]
}

fn bench(c: &mut Criterion) {
    let insts = vec![Instrument::new("X", 2, 3).unwrap()];
    let mut pf = Portfolio::new(1_000_000 * pow10(MONEY_DP), 1);
    let orders = Orders::new(&insts);
    let fill = Fill {
        ts: 0,
        order_id: 0,
        instrument: 0,
        side: Side::Buy,
        px: 10_000,
        qty: 1_000,
        fee: 0,
        liquidity: Liquidity::Taker,
        liquidation: false,
    };
    pf.apply(&insts[0], &fill);
    let conf = [0.7];
    let mut s = 7u64;
    let closes: Vec<i64> = (0..N)
        .scan(10_000i64, |px, _| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *px = (*px + ((s >> 33) % 21) as i64 - 10).max(100);
            Some(*px)
        })
        .collect();
    let all = configs();
    let mut g = c.benchmark_group("risk_layers_bar");
    g.measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .throughput(Throughput::Elements(N as u64));
    for (id, picked) in [("trader", &all[..]), ("drawdown_vol_panic", &[])] {
        let cfgs: Vec<LayerConfig> = if picked.is_empty() {
            vec![all[0].clone(), all[1].clone(), all[4].clone()]
        } else {
            picked.to_vec()
        };
        let mut layers: Vec<Box<dyn RiskLayer>> = cfgs
            .iter()
            .map(|c| build(c, c.kind().into(), 1).unwrap())
            .collect();
        let order = OrderSpec::new(1, 0, Side::Buy, OrderKind::Market, 1_000);
        g.bench_function(id, |b| {
            b.iter(|| {
                let mut resized = 0i64;
                for (i, &close) in closes.iter().enumerate() {
                    let ts = i as i64 * 60_000_000_000;
                    pf.mark(0, close, close as f64 / 100.0);
                    let last = [ts];
                    let view = RiskView {
                        ts,
                        instruments: &insts,
                        portfolio: &pf,
                        orders: &orders,
                        confidence: &conf,
                        last_data_ts: &last,
                    };
                    let bar = Bar {
                        instrument: 0,
                        ts,
                        open: close,
                        high: close,
                        low: close,
                        close,
                        volume: 1.0,
                    };
                    for l in layers.iter_mut() {
                        l.on_bar(&bar, &view);
                    }
                    for l in layers.iter_mut() {
                        if let Verdict::Resize(q) = l.check(black_box(&order), &view) {
                            resized += q;
                        }
                    }
                }
                black_box(resized)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
