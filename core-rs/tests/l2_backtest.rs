//! The L2 backtest loop on the recorded usdm stream, and a property test of the L2 matcher.

use std::collections::HashMap;
use std::path::PathBuf;

use _core::book::{BookSide, L2Book, MarketKind};
use _core::data::ticks::{Ticks, read_binance_ticks_file, read_tardis_file};
use _core::engine_l2::{L2Config, PassiveMarketMaker, run_l2_files};
use _core::model::AggressorSide;
use _core::model::order::{Liquidity, OrderStatus, Side, TimeInForce};
use _core::venue::l2::{Arrival, L2Matcher, MatchFill};
use _core::venue::queue::QueueModel;
use proptest::prelude::*;

fn data_dir() -> Option<PathBuf> {
    let p = match std::env::var_os("TRADER_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    if p.is_dir() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").map(|v| v != "true").unwrap_or(true),
        "shared data missing under CI: {}",
        p.display()
    );
    eprintln!("shared data not found at {}: skipped", p.display());
    None
}

#[test]
fn mm_backtest_on_usdm_recording() {
    let Some(d) = data_dir() else { return };
    let path = d.join("l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz");
    for model in [QueueModel::RiskAverse, QueueModel::Power(2.0)] {
        let mut cfg = L2Config::new(MarketKind::UsdM);
        cfg.queue = model;
        cfg.maker_fee_bps = -0.5;
        cfg.taker_fee_bps = 5.0;
        let mm = PassiveMarketMaker::new(2, 10, 0).unwrap(); // 0.002 BTC, at most 0.010
        let (r, _, run) = run_l2_files(&[&path], cfg, mm).unwrap();
        assert_eq!(r.events, 93_954);
        assert_eq!(r.sync.sync_errors, 0);
        assert_eq!((r.price_dp, r.size_dp), (2, 3));
        assert!(r.strategy_calls > 3000, "{}", r.strategy_calls); // 100 ms over ~5.75 min
        assert!(
            r.fills > 0 && r.maker_fills == r.fills,
            "post-only quotes only make: {r:?}"
        );
        assert!(r.position.abs() <= 10);
        // Exact money: cash = initial - sum(sign * px * qty * scale) - fees, from the fill list.
        let scale: i128 = 10i128.pow(18 - 5);
        let mut cash = r.initial_cash;
        let mut pos = 0i64;
        let mut per_order: HashMap<u64, i64> = HashMap::new();
        for f in &run.fills {
            cash -= f.side.sign() as i128 * f.px as i128 * f.qty as i128 * scale + f.fee;
            pos += f.side.sign() * f.qty;
            *per_order.entry(f.order_id).or_default() += f.qty;
            assert_eq!(f.liquidity, Liquidity::Maker);
            assert!(f.fee <= 0, "maker rebate");
        }
        assert_eq!((cash, pos), (r.cash, r.position));
        for (id, q) in per_order {
            let o = run.orders.get(id).unwrap();
            assert!(q <= o.spec.qty);
            assert_eq!(q, o.filled);
            if o.status == OrderStatus::Filled {
                assert_eq!(q, o.spec.qty);
            }
        }
        eprintln!(
            "{model:?}: {} events, {} calls, {} orders, {} fills, pos {}, cash {}",
            r.events, r.strategy_calls, r.orders, r.fills, r.position, r.cash
        );
    }
}

#[test]
fn tick_files_decode() {
    let Some(d) = data_dir() else { return };
    let Ticks::Trades(t) =
        read_tardis_file(&d.join("trades/nautilus/tardis_trades.csv.gz")).unwrap()
    else {
        panic!()
    };
    assert_eq!(t.len(), 9_999);
    // first and last rows, read by hand from the file
    assert_eq!(
        (
            t.ts_event[0],
            t.ts_local[0],
            t.id[0],
            t.side[0],
            t.price[0],
            t.size[0]
        ),
        (
            1582329602111000000,
            1582329602418379000,
            42377944,
            1,
            9682.0,
            0.132
        )
    );
    assert_eq!(
        (
            t.ts_event[9998],
            t.id[9998],
            t.side[9998],
            t.price[9998],
            t.size[9998]
        ),
        (1582337147728000000, 42387942, 2, 9666.84, 0.07)
    );
    let Ticks::Quotes(q) =
        read_tardis_file(&d.join("trades/nautilus/tardis_quotes.csv.gz")).unwrap()
    else {
        panic!()
    };
    assert_eq!(q.len(), 9_999);
    assert_eq!(
        (q.ask_size[0], q.ask_price[0], q.bid_price[0], q.bid_size[0]),
        (0.84, 9682.0, 9681.92, 0.67)
    );
    assert_eq!(
        (
            q.ts_event[9998],
            q.ask_size[9998],
            q.ask_price[9998],
            q.bid_price[9998],
            q.bid_size[9998]
        ),
        (1582329827061000000, 0.031, 9672.09, 9671.19, 0.012)
    );
    let w = read_binance_ticks_file(&d.join("l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz"))
        .unwrap();
    assert_eq!(w.trades.len(), 21_313);
    assert_eq!(w.quotes.len(), 66_089);
    assert_eq!(
        (
            w.trades.price[0],
            w.trades.size[0],
            w.trades.side[0],
            w.trades.id[0]
        ),
        (61800.3, 0.006, AggressorSide::Buyer as u8, 5266583935)
    );
    assert_eq!(
        (
            w.quotes.bid_price[0],
            w.quotes.bid_size[0],
            w.quotes.ask_price[0],
            w.quotes.ask_size[0]
        ),
        (61800.2, 2.507, 61800.3, 2.51)
    );
}

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        side: bool,
        px: Option<i64>,
        qty: i64,
        tif: u8,
        post_only: bool,
    },
    Trade {
        px: i64,
        qty: i64,
        buyer: bool,
    },
    Level {
        bid: bool,
        px: i64,
        qty: i64,
    },
    Cancel {
        k: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            any::<bool>(),
            proptest::option::of(95i64..106),
            1i64..20,
            0u8..3,
            any::<bool>()
        )
            .prop_map(|(side, px, qty, tif, post_only)| Op::Arrive {
                side,
                px,
                qty,
                tif,
                post_only
            }),
        (95i64..106, 1i64..15, any::<bool>()).prop_map(|(px, qty, buyer)| Op::Trade {
            px,
            qty,
            buyer
        }),
        (any::<bool>(), 95i64..106, 0i64..30).prop_map(|(bid, px, qty)| Op::Level { bid, px, qty }),
        (0usize..50).prop_map(|k| Op::Cancel { k }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]
    /// No fill exceeds its order; filled + leaves = qty; post-only fills are Maker; nothing fills
    /// after a cancel.
    #[test]
    fn matcher_properties(ops in proptest::collection::vec(op(), 1..60), power in any::<bool>()) {
        let mut book = L2Book::new(0, 0).unwrap();
        for p in 95..100 { book.apply_delta(BookSide::Bid, p, 5).unwrap(); }
        for p in 101..106 { book.apply_delta(BookSide::Ask, p, 5).unwrap(); }
        let mut m = L2Matcher::new(if power { QueueModel::Power(2.0) } else { QueueModel::RiskAverse });
        let mut qty: HashMap<u64, (i64, bool)> = HashMap::new();
        let mut filled: HashMap<u64, i64> = HashMap::new();
        let mut closed: Vec<u64> = Vec::new();
        let mut out: Vec<MatchFill> = Vec::new();
        let mut next = 1u64;
        for o in ops {
            out.clear();
            let closed_before = closed.clone();
            match o {
                Op::Arrive { side, px, qty: q, tif, post_only } => {
                    let id = next; next += 1;
                    let tif = [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok][tif as usize];
                    let side = if side { Side::Buy } else { Side::Sell };
                    let post_only = post_only && px.is_some();
                    qty.insert(id, (q, post_only));
                    let a = m.arrive(&book, id, side, px, q, tif, post_only, &mut out);
                    if matches!(a, Arrival::Reject(_)) { prop_assert!(out.is_empty()); }
                    if tif == TimeInForce::Fok { prop_assert!(out.is_empty() || out.iter().map(|f| f.qty).sum::<i64>() == q); }
                    if !matches!(a, Arrival::Resting | Arrival::Taking) { closed.push(id); }
                }
                Op::Trade { px, qty: q, buyer } => m.on_trade(px, q, if buyer { AggressorSide::Buyer } else { AggressorSide::Seller }, &mut out),
                Op::Level { bid, px, qty: q } => {
                    let side = if bid { BookSide::Bid } else { BookSide::Ask };
                    book.apply_delta(side, px, q).unwrap();
                    if !book.is_crossed() {
                        m.on_level(side, px, q);
                        m.sweep_crossed(&book, &mut out);
                    } else {
                        book.apply_delta(side, px, 0).unwrap();
                        m.on_level(side, px, 0);
                    }
                }
                Op::Cancel { k } => {
                    let ids: Vec<u64> = m.working().iter().map(|w| w.id).collect();
                    if !ids.is_empty() { let id = ids[k % ids.len()]; prop_assert!(m.remove(id)); closed.push(id); }
                }
            }
            for f in &out {
                prop_assert!(f.qty > 0);
                prop_assert!(!closed_before.contains(&f.id), "order {} filled after it closed", f.id);
                let (q, po) = qty[&f.id];
                if po { prop_assert_eq!(f.liquidity, Liquidity::Maker); }
                let e = filled.entry(f.id).or_default();
                *e += f.qty;
                prop_assert!(*e <= q, "order {} filled {} of {}", f.id, *e, q);
            }
            for w in m.working() {
                prop_assert!(!closed.contains(&w.id));
                let (q, _) = qty[&w.id];
                prop_assert_eq!(filled.get(&w.id).copied().unwrap_or(0) + w.leaves, q, "filled + leaves = qty");
            }
        }
        for id in &closed {
            prop_assert!(m.get(*id).is_none());
        }
    }
}

mod scripted {
    use _core::book::MarketKind;
    use _core::engine_l2::{L2Config, L2Strategy, L2View, Outbox, run_l2_text};
    use _core::error::CoreResult;
    use _core::model::OrderEventKind;
    use _core::model::order::{
        Command, Fill, ListKind, OrderKind, OrderSpec, OrderStatus, Reason, Side, TimeInForce,
    };

    struct Script {
        sent: bool,
    }

    fn spec(
        id: u64,
        side: Side,
        kind: OrderKind,
        qty: i64,
        tif: TimeInForce,
        post_only: bool,
    ) -> OrderSpec {
        let mut s = OrderSpec::new(id, 0, side, kind, qty);
        s.tif = tif;
        s.post_only = post_only;
        s
    }

    impl L2Strategy for Script {
        fn on_elapse(&mut self, _v: &L2View<'_>, cmds: &mut Outbox) -> CoreResult<()> {
            if self.sent {
                return Ok(());
            }
            self.sent = true;
            use OrderKind::*;
            use TimeInForce::*;
            cmds.push(Command::Submit(spec(1, Side::Buy, Market, 6, Ioc, false)));
            cmds.push(Command::Submit(spec(
                2,
                Side::Buy,
                Limit { px: 1010 },
                1,
                Gtc,
                true,
            )));
            cmds.push(Command::Submit(spec(
                3,
                Side::Buy,
                Limit { px: 1030 },
                20,
                Fok,
                false,
            )));
            cmds.push(Command::Submit(spec(
                4,
                Side::Buy,
                Limit { px: 990 },
                2,
                Gtc,
                false,
            )));
            cmds.push(Command::SubmitList {
                list: 1,
                kind: ListKind::Bracket,
                orders: vec![
                    spec(5, Side::Buy, Limit { px: 980 }, 1, Gtc, false),
                    spec(6, Side::Sell, Limit { px: 1100 }, 1, Gtc, false),
                    spec(7, Side::Sell, StopMarket { trigger: 900 }, 1, Gtc, false),
                ],
            });
            cmds.push(Command::Submit(spec(1, Side::Buy, Market, 1, Ioc, false))); // duplicate id
            Ok(())
        }
        fn on_fill(&mut self, _v: &L2View<'_>, _f: &Fill, _c: &mut Outbox) -> CoreResult<()> {
            Ok(())
        }
    }

    const REC: &str = concat!(
        r#"1000 {"lastUpdateId":10,"bids":[["99.0","5"]],"asks":[["101.0","2"],["102.0","3"],["103.0","4"]]}"#,
        "\n",
        r#"2000 {"stream":"x@depth@0ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"X","U":9,"u":11,"pu":8,"b":[],"a":[]}}"#,
        "\n",
        r#"3000 {"stream":"x@trade","data":{"e":"trade","E":1,"T":3,"s":"X","t":1,"p":"99.0","q":"6","m":true}}"#,
        "\n",
        r#"4000 {"stream":"x@trade","data":{"e":"trade","E":1,"T":4,"s":"X","t":2,"p":"97.0","q":"1","m":true}}"#,
        "\n",
        r#"5000 {"stream":"x@trade","data":{"e":"trade","E":1,"T":5,"s":"X","t":3,"p":"89.0","q":"1","m":true}}"#,
        "\n",
    );

    #[test]
    fn every_instruction_through_the_order_manager() {
        let mut cfg = L2Config::new(MarketKind::UsdM);
        cfg.elapse_ns = 1_000_000_000;
        let (r, _, run) = run_l2_text(REC, cfg, Script { sent: false }).unwrap();
        assert_eq!((r.price_dp, r.size_dp, r.sync.sync_errors), (1, 0, 0));
        let fills: Vec<(u64, i64, i64)> = run
            .fills
            .iter()
            .map(|f| (f.order_id, f.px, f.qty))
            .collect();
        assert_eq!(
            fills,
            vec![
                (1, 1010, 2),
                (1, 1020, 3),
                (1, 1030, 1), // market walks three levels (taker)
                (4, 990, 1),  // queue of 5 eaten by the 6-lot print, 1 reaches us
                (4, 990, 1),  // print through 99: the rest
                (5, 980, 1),  // bracket entry: print through 98
                (7, 990, 1),  // stop triggered at 89: sells into the bid
            ]
        );
        let st = |id| run.orders.get(id).unwrap().status;
        assert_eq!(st(1), OrderStatus::Filled);
        assert_eq!(st(2), OrderStatus::Rejected);
        assert_eq!(st(3), OrderStatus::Canceled);
        assert_eq!(
            (st(4), st(5), st(7)),
            (
                OrderStatus::Filled,
                OrderStatus::Filled,
                OrderStatus::Filled
            )
        );
        assert_eq!(st(6), OrderStatus::Canceled); // OCO sibling of the stop
        let reason = |id, f: fn(&OrderEventKind) -> Option<Reason>| {
            run.events
                .iter()
                .filter(|e| e.id == id)
                .find_map(|e| f(&e.kind))
        };
        assert_eq!(
            reason(2, |k| if let OrderEventKind::Rejected(r) = k {
                Some(*r)
            } else {
                None
            }),
            Some(Reason::PostOnlyWouldTake)
        );
        assert_eq!(
            reason(3, |k| if let OrderEventKind::Canceled(r) = k {
                Some(*r)
            } else {
                None
            }),
            Some(Reason::FokCannotFill)
        );
        assert_eq!(
            reason(6, |k| if let OrderEventKind::Canceled(r) = k {
                Some(*r)
            } else {
                None
            }),
            Some(Reason::OcoSibling)
        );
        assert_eq!(
            reason(1, |k| if let OrderEventKind::Denied(r) = k {
                Some(*r)
            } else {
                None
            }),
            Some(Reason::DuplicateOrderId)
        );
        assert!(
            run.events
                .iter()
                .any(|e| e.id == 7 && e.kind == OrderEventKind::Triggered)
        );
        assert_eq!(
            run.fills
                .iter()
                .filter(|f| f.liquidity == _core::model::Liquidity::Taker)
                .count(),
            4
        );
        assert_eq!(r.position, 6 + 2 + 1 - 1);
    }
}

mod quotes {
    use _core::book::{Level, MarketKind};
    use _core::data::ticks::{Ticks, read_tardis_file};
    use _core::engine_l2::{
        L2Backtest, L2Config, L2Strategy, L2View, Op, Outbox, PassiveMarketMaker, TopOfBook,
        TradePrint, Wants, run_ticks,
    };
    use _core::error::CoreResult;
    use _core::model::order::{
        Command, Fill, Liquidity, OrderEvent, OrderKind, OrderSpec, OrderStatus, Side,
    };
    use _core::model::{AggressorSide, Bar};
    use _core::risk::{StateChange, TradingState};

    struct Script(bool);

    impl L2Strategy for Script {
        fn on_elapse(&mut self, _v: &L2View<'_>, cmds: &mut Outbox) -> CoreResult<()> {
            if !std::mem::replace(&mut self.0, true) {
                cmds.push(Command::Submit(OrderSpec::new(
                    1,
                    0,
                    Side::Buy,
                    OrderKind::Market,
                    3,
                )));
                cmds.push(Command::Submit(OrderSpec::new(
                    2,
                    0,
                    Side::Buy,
                    OrderKind::Limit { px: 1000 },
                    2,
                )));
                cmds.push(Command::Submit(OrderSpec::new(
                    3,
                    0,
                    Side::Sell,
                    OrderKind::Limit { px: 1020 },
                    1,
                )));
            }
            Ok(())
        }
        fn on_fill(&mut self, _v: &L2View<'_>, _f: &Fill, _c: &mut Outbox) -> CoreResult<()> {
            Ok(())
        }
    }

    fn lv(px: i64, qty: i64) -> Option<Level> {
        Some(Level { px, qty })
    }

    #[test]
    fn touch_fills_trade_through_and_crossing_quote() {
        let mut cfg = L2Config::new(MarketKind::UsdM);
        cfg.elapse_ns = 1_000_000_000_000;
        let mut bt = L2Backtest::new_quotes(cfg, 1, 0, Script(false)).unwrap();
        bt.feed_quote(1, lv(990, 2), lv(1010, 1)).unwrap(); // market takes the quoted 1 at the touch
        bt.feed_quote(2, lv(990, 2), lv(1010, 1)).unwrap(); // ask unchanged: nothing new to take
        bt.feed_quote(3, lv(990, 2), lv(1005, 3)).unwrap(); // new ask: the rest takes 2 at 100.5
        bt.feed_trade(4, 995, 1, AggressorSide::Seller).unwrap(); // prints through our 100 bid
        bt.feed_quote(5, lv(1020, 1), lv(1030, 1)).unwrap(); // bid crosses our 102 offer
        assert!(bt.feed_trade(6, 1030, 1, AggressorSide::Buyer).is_ok());
        let (r, _, run) = bt.finish();
        let fills: Vec<(u64, i64, i64, Liquidity)> = run
            .fills
            .iter()
            .map(|f| (f.order_id, f.px, f.qty, f.liquidity))
            .collect();
        assert_eq!(
            fills,
            vec![
                (1, 1010, 1, Liquidity::Taker),
                (1, 1005, 2, Liquidity::Taker),
                (2, 1000, 2, Liquidity::Maker),
                (3, 1020, 1, Liquidity::Maker),
            ]
        );
        for id in 1..=3 {
            assert_eq!(run.orders.get(id).unwrap().status, OrderStatus::Filled);
        }
        assert_eq!((r.events, r.position), (6, 4));
    }

    #[test]
    fn latency_delays_arrival_to_the_book_of_its_arrival_time() {
        // The same script with a 3 ns submit latency: sent at t=1 (the first quote, ask 101.0 x1),
        // the orders arrive at t=4, before that instant's quote is applied: the market order
        // takes 3 from the book of t=3 (ask 101.0 x5), not 1 at t=1 and the rest later.
        let mut cfg = L2Config::new(MarketKind::UsdM);
        cfg.elapse_ns = 1_000_000_000_000;
        cfg.latency = _core::venue::LatencyConfig::constant(3, 0, 0);
        let mut bt = L2Backtest::new_quotes(cfg, 1, 0, Script(false)).unwrap();
        bt.feed_quote(1, lv(990, 2), lv(1010, 1)).unwrap();
        bt.feed_quote(2, lv(990, 2), lv(1010, 5)).unwrap();
        bt.feed_quote(3, lv(990, 2), lv(1010, 5)).unwrap();
        // still in flight at t=3: Submitted, nothing traded
        assert_eq!(bt.orders().get(1).unwrap().status, OrderStatus::Submitted);
        bt.feed_quote(4, lv(990, 2), lv(1008, 3)).unwrap();
        let (_, _, run) = bt.finish();
        let fills: Vec<(u64, i64, i64, Liquidity, i64)> = run
            .fills
            .iter()
            .map(|f| (f.order_id, f.px, f.qty, f.liquidity, f.ts))
            .collect();
        assert_eq!(fills, vec![(1, 1010, 3, Liquidity::Taker, 4)]);
        let resting = run.orders.get(2).unwrap();
        assert_eq!(
            (resting.status, resting.ts_init, resting.ts_last),
            (OrderStatus::Accepted, 1, 4)
        );
    }

    /// Records every callback in order; at its first bar it buys 1 at market, asks for HALTED and
    /// sets a confidence, at its second bar it buys again (denied: halted).
    #[derive(Default)]
    struct Log {
        calls: Vec<String>,
        bars: u32,
    }

    impl L2Strategy for Log {
        fn wants(&self) -> Wants {
            Wants {
                book: true,
                trades: true,
                quotes: true,
                bars: true,
                events: true,
            }
        }
        fn on_elapse(&mut self, v: &L2View<'_>, _o: &mut Outbox) -> CoreResult<()> {
            self.calls.push(format!("book@{}", v.ts));
            Ok(())
        }
        fn on_trade(&mut self, v: &L2View<'_>, t: &TradePrint, _o: &mut Outbox) -> CoreResult<()> {
            assert_eq!(v.ts, t.ts);
            self.calls
                .push(format!("trade {}x{} #{}@{}", t.px, t.qty, t.id, t.ts));
            Ok(())
        }
        fn on_quote(&mut self, _v: &L2View<'_>, q: &TopOfBook, _o: &mut Outbox) -> CoreResult<()> {
            let px = |l: Option<Level>| l.map_or(0, |l| l.px);
            self.calls
                .push(format!("quote {}/{}@{}", px(q.bid), px(q.ask), q.ts));
            Ok(())
        }
        fn on_bar(&mut self, v: &L2View<'_>, b: &Bar, o: &mut Outbox) -> CoreResult<()> {
            self.bars += 1;
            self.calls.push(format!(
                "bar {} {}/{}/{}/{} {}@{}",
                b.ts, b.open, b.high, b.low, b.close, b.volume, v.ts
            ));
            let id = self.bars as u64;
            o.push(Command::Submit(OrderSpec::new(
                id,
                0,
                Side::Buy,
                OrderKind::Market,
                1,
            )));
            if self.bars == 1 {
                o.op(Op::State(TradingState::Halted, "test".into()));
                o.op(Op::Confidence(0.25));
            }
            Ok(())
        }
        fn on_event(&mut self, _v: &L2View<'_>, e: &OrderEvent, _o: &mut Outbox) -> CoreResult<()> {
            self.calls.push(format!("{} {}", e.kind.as_str(), e.id));
            Ok(())
        }
        fn on_trading_state(
            &mut self,
            v: &L2View<'_>,
            c: &StateChange,
            _o: &mut Outbox,
        ) -> CoreResult<()> {
            assert_eq!(v.trading_state, c.to);
            self.calls.push(format!("state {}", c.to.as_str()));
            Ok(())
        }
    }

    #[test]
    fn callbacks_in_event_order_bars_from_trades_and_state_commands() {
        // Bars of 10 ns; one book wake-up per 100 ns. Prices raw at 1 decimal, sizes whole.
        let mut cfg = L2Config::new(MarketKind::UsdM);
        cfg.elapse_ns = 100;
        cfg.bar_ns = Some(10);
        let mut bt = L2Backtest::new_quotes(cfg, 1, 0, Log::default()).unwrap();
        bt.feed_trade_id(1, 1000, 1, AggressorSide::Buyer, 7)
            .unwrap(); // before any quote: bars only
        bt.feed_quote(2, lv(990, 5), lv(1010, 5)).unwrap();
        bt.feed_trade_id(5, 1005, 2, AggressorSide::Seller, 8)
            .unwrap();
        bt.feed_trade_id(9, 995, 3, AggressorSide::Buyer, 9)
            .unwrap();
        // t=12 opens [10, 20): the bar [0, 10) = 100.0/100.5/99.5/99.5, volume 6, comes first.
        bt.feed_quote(12, lv(995, 5), lv(1000, 5)).unwrap();
        bt.feed_trade_id(15, 1000, 1, AggressorSide::Buyer, 10)
            .unwrap();
        // t=25: the bar [10, 20) = one trade at 100.0; the second buy is denied (halted).
        bt.feed_quote(25, lv(996, 5), lv(1001, 5)).unwrap();
        let (r, s, run) = bt.finish();
        let want = [
            "quote 990/1010@2",
            "book@2",
            "trade 1005x2 #8@5",
            "trade 995x3 #9@9",
            "bar 0 1000/1005/995/995 6@12",
            "state halted", // state changes first, then the order events (as the bar engine)
            "submitted 1",
            "accepted 1",
            "filled 1",
            "quote 995/1000@12",
            "trade 1000x1 #10@15",
            "bar 10 1000/1000/1000/1000 1@25",
            "denied 2",
            "quote 996/1001@25",
        ];
        assert_eq!(s.calls, want);
        assert_eq!(
            (r.bars, r.trade_calls, r.quote_calls, r.strategy_calls),
            (2, 3, 3, 1)
        );
        // The market buy took 1 at the ask of t=2's quote (101.0): at the touch of that moment.
        assert_eq!(run.fills.len(), 1);
        assert_eq!((run.fills[0].px, run.fills[0].qty), (1010, 1));
        assert_eq!(run.risk.state(), TradingState::Halted);
        assert_eq!(r.position, 1);
        // Marked at the last mid 99.85 (raw 998, rounded down): unrealized 99.8 - 101.0 = -1.2.
        assert_eq!(r.unrealized, -12 * 10i128.pow(17));
        assert_eq!(
            r.equity - r.initial_cash,
            r.realized + r.unrealized - r.fees
        );
    }

    #[test]
    fn market_maker_on_tardis_ticks() {
        let Some(d) = super::data_dir() else { return };
        let Ticks::Trades(t) =
            read_tardis_file(&d.join("trades/nautilus/tardis_trades.csv.gz")).unwrap()
        else {
            panic!()
        };
        let Ticks::Quotes(q) =
            read_tardis_file(&d.join("trades/nautilus/tardis_quotes.csv.gz")).unwrap()
        else {
            panic!()
        };
        let mut cfg = L2Config::new(MarketKind::UsdM);
        cfg.maker_fee_bps = -0.25;
        let mm = PassiveMarketMaker::new(1, 5, 0).unwrap();
        let (r, _, run) = run_ticks(&t, &q, cfg, 2, 3, mm).unwrap();
        assert_eq!(r.events, 19_998);
        assert!(r.fills > 0 && r.maker_fills == r.fills);
        assert!(r.position.abs() <= 5);
        let scale: i128 = 10i128.pow(18 - 5);
        let cash: i128 = run
            .fills
            .iter()
            .map(|f| -(f.side.sign() as i128 * f.px as i128 * f.qty as i128 * scale) - f.fee)
            .sum::<i128>()
            + r.initial_cash;
        assert_eq!(cash, r.cash);
        eprintln!("tardis quotes: {} fills, position {}", r.fills, r.position);
    }
}

/// The one-pass depth decoder and the general JSON decoder give the same run, on futures and
/// spot recordings.
#[test]
fn fast_and_general_depth_decoders_agree() {
    let Some(d) = data_dir() else { return };
    for (market, file) in [
        (
            MarketKind::UsdM,
            "l2_book/hftbacktest_raw_ws/usdm/btcusdt_20240808.gz",
        ),
        (
            MarketKind::Spot,
            "l2_book/hftbacktest_raw_ws/spot/btcusdt_20240808.gz",
        ),
    ] {
        let path = d.join(file);
        let run = |fast: bool| {
            let mut cfg = L2Config::new(market);
            cfg.queue = QueueModel::Power(2.0);
            cfg.fast_decode = fast;
            let mm = PassiveMarketMaker::new(2, 10, 1).unwrap();
            run_l2_files(&[&path], cfg, mm).unwrap()
        };
        let (a, _, ra) = run(true);
        let (b, _, rb) = run(false);
        assert_eq!(a.sync.sync_errors, 0, "{file}");
        assert_eq!(
            (
                a.events,
                a.depth_messages,
                a.deltas,
                a.strategy_calls,
                a.fills,
                a.cash,
                a.position
            ),
            (
                b.events,
                b.depth_messages,
                b.deltas,
                b.strategy_calls,
                b.fills,
                b.cash,
                b.position
            ),
            "{file}"
        );
        assert_eq!(ra.fills, rb.fills);
        assert!(a.deltas > 10_000, "{file}: {}", a.deltas);
        // every depth message after the first (which fixes the precision) took the fast path
        assert!(
            a.fast_depth + 1 >= a.depth_messages && b.fast_depth == 0,
            "{file}: {} of {}",
            a.fast_depth,
            a.depth_messages
        );
    }
}

/// The market, symbol and precision read from the first lines of each recording; and from
/// hand-written lines (a spot diff has no `pu`, a coin-M diff carries `ps`).
#[test]
fn probe_detects_market_symbol_and_precision() {
    use _core::data::binance_ws::{WsMessage, decode_json};
    use _core::engine_l2::{RecordingInfo, market_of, probe_recording};

    let diff = |symbol: &str, extra: &str| {
        format!(
            r#"{{"stream":"x@depth","data":{{"e":"depthUpdate","E":1,"s":"{symbol}","U":1,"u":2{extra},"b":[],"a":[]}}}}"#
        )
    };
    for (symbol, extra, want) in [
        ("BTCUSDT", "", MarketKind::Spot),
        ("BTCUSDT", r#","pu":0"#, MarketKind::UsdM),
        ("BTCUSD_PERP", r#","pu":0,"ps":"BTCUSD""#, MarketKind::CoinM),
        ("BTCUSD_PERP", r#","pu":0"#, MarketKind::CoinM), // a _PERP symbol, even without ps
    ] {
        let text = diff(symbol, extra);
        let WsMessage::Depth(d) = decode_json(&text).unwrap() else {
            panic!()
        };
        assert_eq!(market_of(&d), want, "{text}");
    }
    let Some(d) = data_dir() else { return };
    let dir = d.join("l2_book/hftbacktest_raw_ws");
    for (file, market, symbol, pdp, sdp) in [
        (
            "usdm/btcusdt_20240808.gz",
            MarketKind::UsdM,
            "BTCUSDT",
            2,
            3,
        ),
        (
            "usdm/ethusdt_20240808.gz",
            MarketKind::UsdM,
            "ETHUSDT",
            2,
            3,
        ),
        (
            "spot/btcusdt_20240808.gz",
            MarketKind::Spot,
            "BTCUSDT",
            8,
            8,
        ),
        (
            "cm/btcusd_perp_20240808.gz",
            MarketKind::CoinM,
            "BTCUSD_PERP",
            1,
            0,
        ),
    ] {
        let info = probe_recording(&[dir.join(file)]).unwrap();
        let first = info.first_price.expect("a first price");
        assert!(first > 0.0, "{file}: first price {first}");
        assert_eq!(
            info,
            RecordingInfo {
                market: Some(market),
                symbol: Some(symbol.to_string()),
                price_dp: Some(pdp),
                size_dp: Some(sdp),
                first_price: Some(first),
            },
            "{file}"
        );
    }
}
