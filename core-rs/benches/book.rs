//! L2 book benchmarks on the recorded Binance USD-M BTCUSDT stream (decompressed once, outside
//! the timing).
//!
//! - group `book_replay`: `trader` = decode every line of the recording (depth, bookTicker,
//!   trade, snapshot) + Binance sync procedure + book updates + bookTicker comparisons;
//!   anchor `decode_only` = the same decoding (JSON + fixed-point parse of every level) without
//!   any book. Throughput: depth price-level deltas in the recording.
//! - group `book_apply`: the design measurement behind the book's ladder: apply the recording's
//!   pre-decoded deltas to our `L2Book` (`trader`, a `BTreeMap` per side) vs the alternative
//!   we measured and rejected, sorted parallel vectors with the best level last (`sorted_vec`).
//!
//! Data: `$TRADER_SHARED_DATA` or `../shared/data` beside the project; without it the bench
//! panics (no measurement, so the gate fails the line).
//!
//! Gated: `book_replay` (its check, for `benches/gate.py`: the replay syncs with no error,
//! applies every decoded delta it keeps, its book matches every comparable recorded bookTicker,
//! and `decode_only` decodes the same number of deltas).

use std::hint::black_box;
use std::time::Duration;

use _core::book::{BookSide, Delta, L2Book, MarketKind};
use _core::data::binance_ws::{WsMessage, decode_line, levels};
use _core::data::decimal::parse_fixed;
use _core::data::replay::{ReplayOptions, decode_only, read_recording, replay_text};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod common;

/// The rejected alternative: keys ascending (bids px, asks -px), best last, quantities beside.
#[derive(Default)]
struct SortedVecSide {
    keys: Vec<i64>,
    qtys: Vec<i64>,
}

impl SortedVecSide {
    #[inline]
    fn set(&mut self, key: i64, qty: i64) {
        match self.keys.binary_search(&key) {
            Ok(i) if qty == 0 => {
                self.keys.remove(i);
                self.qtys.remove(i);
            }
            Ok(i) => self.qtys[i] = qty,
            Err(i) if qty != 0 => {
                self.keys.insert(i, key);
                self.qtys.insert(i, qty);
            }
            Err(_) => {}
        }
    }
}

fn deltas_of(text: &str, pdp: u8, sdp: u8) -> Vec<Delta> {
    let mut out = Vec::new();
    for line in text.lines() {
        if let Ok(l) = decode_line(line)
            && let WsMessage::Depth(d) = l.msg
        {
            for (side, raw) in [(BookSide::Bid, d.bids), (BookSide::Ask, d.asks)] {
                for lv in levels(raw) {
                    let (p, q) = lv.expect("recorded level");
                    out.push(Delta {
                        side,
                        px: parse_fixed(p, pdp, "px").unwrap(),
                        qty: parse_fixed(q, sdp, "qty").unwrap(),
                    });
                }
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let path = common::shared_data("l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz");
    let text = read_recording(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut opts = ReplayOptions::new(MarketKind::UsdM);
    let first = replay_text(&text, opts).expect("replay");
    opts.price_dp = Some(first.price_dp);
    opts.size_dp = Some(first.size_dp);
    let n = first.deltas_decoded;
    let again = replay_text(&text, opts).expect("replay");
    let decoded = decode_only(&text, first.price_dp, first.size_dp).expect("decode");
    common::record_check(
        "book_replay",
        first.sync.sync_errors == 0
            && first.sync.deltas_applied > 0
            && first.ticker_compared > 0
            && first.ticker_matched == first.ticker_compared
            && again.sync.deltas_applied == first.sync.deltas_applied
            && decoded == n,
        &format!(
            "0 sync errors ({}), {} of {} tickers matched, decode_only {} deltas of {}",
            first.sync.sync_errors, first.ticker_matched, first.ticker_compared, decoded, n
        ),
        serde_json::json!({}),
    );
    eprintln!(
        "usdm btcusdt: {} lines, {} depth deltas, {} tickers compared, {} matched",
        first.messages, n, first.ticker_compared, first.ticker_matched
    );

    let mut g = c.benchmark_group("book_replay");
    g.throughput(Throughput::Elements(n));
    g.measurement_time(Duration::from_secs(3))
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    g.bench_function("trader", |b| {
        b.iter(|| {
            black_box(
                replay_text(black_box(&text), opts)
                    .unwrap()
                    .sync
                    .deltas_applied,
            )
        })
    });
    g.bench_function("decode_only", |b| {
        b.iter(|| black_box(decode_only(black_box(&text), first.price_dp, first.size_dp).unwrap()))
    });
    g.finish();

    let deltas = deltas_of(&text, first.price_dp, first.size_dp);
    let mut g = c.benchmark_group("book_apply");
    g.throughput(Throughput::Elements(deltas.len() as u64));
    g.measurement_time(Duration::from_secs(2))
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    g.bench_function("trader", |b| {
        b.iter(|| {
            let mut book = L2Book::new(first.price_dp, first.size_dp).unwrap();
            book.apply_all(black_box(&deltas)).unwrap();
            black_box((book.best_bid(), book.best_ask()))
        })
    });
    g.bench_function("sorted_vec", |b| {
        b.iter(|| {
            let mut bids = SortedVecSide::default();
            let mut asks = SortedVecSide::default();
            for d in black_box(&deltas) {
                if d.side == BookSide::Bid {
                    bids.set(d.px, d.qty)
                } else {
                    asks.set(-d.px, d.qty)
                }
            }
            black_box((bids.keys.last().copied(), asks.keys.last().copied()))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
