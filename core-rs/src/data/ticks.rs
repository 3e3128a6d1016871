//! Tick data decoded into columns: trade prints and top-of-book quotes.
//!
//! Two inputs, one output shape each ([`TradeTicks`], [`QuoteTicks`]: parallel vectors, handed to
//! numpy without a Python loop):
//!
//! - Tardis.dev CSV exports (`.csv` or `.csv.gz`): `trades` files with the header
//!   `exchange,symbol,timestamp,local_timestamp,id,side,price,amount` and `quotes` files with
//!   `exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount`.
//!   Columns are found by name in the header (any order); timestamps are µs since the epoch and
//!   become ns. `side` is `buy` / `sell` (the aggressor) or `unknown`.
//! - Raw Binance WebSocket recordings (`<recv ns> <JSON>` a line, see
//!   [`crate::data::binance_ws`]): the `trade`/`aggTrade` stream becomes trades (`ts_event` = the
//!   trade time `T`, aggressor = seller when `m` — the buyer was the maker), the `bookTicker`
//!   stream becomes quotes (`ts_event` = `T` on futures; spot tickers carry no time, so the
//!   receive time stands in). Depth diffs and snapshots are skipped (the L2 replay reads them).
//!
//! Prices and sizes are `f64` here (the decoded wire values, as in [`crate::model::MarketEvent`]);
//! a venue converts them to the instrument's raw integers. The aggressor codes are those of
//! [`crate::model::AggressorSide`] (0 unknown, 1 buyer, 2 seller).

use std::io::BufRead;
use std::path::Path;

use crate::data::binance_ws::{WsMessage, decode_line};
use crate::data::replay::open_recording;
use crate::error::{CoreError, CoreResult};
use crate::model::AggressorSide;

/// Trade prints as columns (all of the same length).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TradeTicks {
    /// Exchange time, ns since the epoch.
    pub ts_event: Vec<i64>,
    /// Time the recorder received it, ns since the epoch.
    pub ts_local: Vec<i64>,
    pub price: Vec<f64>,
    pub size: Vec<f64>,
    /// Aggressor side code (see [`AggressorSide`]).
    pub side: Vec<u8>,
    /// Exchange trade id (-1 when the source has none).
    pub id: Vec<i64>,
}

impl TradeTicks {
    pub fn len(&self) -> usize {
        self.ts_event.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts_event.is_empty()
    }

    fn push(&mut self, ts: i64, local: i64, px: f64, qty: f64, side: AggressorSide, id: i64) {
        self.ts_event.push(ts);
        self.ts_local.push(local);
        self.price.push(px);
        self.size.push(qty);
        self.side.push(side as u8);
        self.id.push(id);
    }
}

/// Top-of-book quotes as columns (all of the same length).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuoteTicks {
    pub ts_event: Vec<i64>,
    pub ts_local: Vec<i64>,
    pub bid_price: Vec<f64>,
    pub bid_size: Vec<f64>,
    pub ask_price: Vec<f64>,
    pub ask_size: Vec<f64>,
}

impl QuoteTicks {
    pub fn len(&self) -> usize {
        self.ts_event.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts_event.is_empty()
    }

    fn push(&mut self, ts: i64, local: i64, bid: (f64, f64), ask: (f64, f64)) {
        self.ts_event.push(ts);
        self.ts_local.push(local);
        self.bid_price.push(bid.0);
        self.bid_size.push(bid.1);
        self.ask_price.push(ask.0);
        self.ask_size.push(ask.1);
    }
}

/// What a Tardis CSV file holds, told by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TardisKind {
    Trades,
    Quotes,
}

impl TardisKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Trades => "trades",
            Self::Quotes => "quotes",
        }
    }
}

const TRADE_COLS: [&str; 6] = [
    "timestamp",
    "local_timestamp",
    "id",
    "side",
    "price",
    "amount",
];
const QUOTE_COLS: [&str; 6] = [
    "timestamp",
    "local_timestamp",
    "ask_amount",
    "ask_price",
    "bid_price",
    "bid_amount",
];

fn bad(where_: &str, line: usize, reason: impl std::fmt::Display) -> CoreError {
    CoreError::InvalidArgument {
        name: "path",
        reason: format!("{where_}:{line}: {reason}"),
    }
}

/// The kind of a Tardis CSV from its header line, and the index of each needed column (in the
/// order of `TRADE_COLS` / `QUOTE_COLS`). `None` if the header is neither.
pub fn tardis_header(header: &str) -> Option<(TardisKind, [usize; 6])> {
    let names: Vec<&str> = header
        .trim_end_matches(['\r', '\n'])
        .split(',')
        .map(str::trim)
        .collect();
    let find = |cols: &[&str; 6]| -> Option<[usize; 6]> {
        let mut out = [0usize; 6];
        for (o, c) in out.iter_mut().zip(cols) {
            *o = names.iter().position(|n| n.eq_ignore_ascii_case(c))?;
        }
        Some(out)
    };
    if let Some(ix) = find(&QUOTE_COLS) {
        return Some((TardisKind::Quotes, ix));
    }
    find(&TRADE_COLS).map(|ix| (TardisKind::Trades, ix))
}

/// Either decoded column set.
#[derive(Debug, Clone, PartialEq)]
pub enum Ticks {
    Trades(TradeTicks),
    Quotes(QuoteTicks),
}

fn num<T: std::str::FromStr>(s: &str, col: &str, where_: &str, line: usize) -> CoreResult<T> {
    s.trim()
        .parse()
        .map_err(|_| bad(where_, line, format!("column {col}: not a number: {s:?}")))
}

fn finite(v: f64, col: &str, where_: &str, line: usize, nonneg: bool) -> CoreResult<f64> {
    if !v.is_finite() || (nonneg && v < 0.0) {
        return Err(bad(where_, line, format!("column {col}: bad value {v}")));
    }
    Ok(v)
}

fn us_to_ns(us: i64, col: &str, where_: &str, line: usize) -> CoreResult<i64> {
    us.checked_mul(1000).ok_or_else(|| {
        bad(
            where_,
            line,
            format!("column {col}: timestamp out of range"),
        )
    })
}

/// Decode a Tardis CSV (trades or quotes, told by the header) from a reader; `where_` names the
/// source in errors (`file:line: column X: ...`). Rows must be in non-decreasing `timestamp`.
pub fn read_tardis<R: BufRead>(mut rd: R, where_: &str) -> CoreResult<Ticks> {
    let mut line = String::with_capacity(256);
    let io = |e: std::io::Error, n: usize| bad(where_, n, e);
    if rd.read_line(&mut line).map_err(|e| io(e, 1))? == 0 {
        return Err(bad(where_, 1, "empty file: no header"));
    }
    let Some((kind, ix)) = tardis_header(&line) else {
        return Err(bad(
            where_,
            1,
            format!(
                "not a Tardis trades/quotes header (need {} or {}): {:?}",
                TRADE_COLS.join(","),
                QUOTE_COLS.join(","),
                line.trim_end()
            ),
        ));
    };
    let width = ix.iter().copied().max().unwrap_or(0) + 1;
    let mut trades = TradeTicks::default();
    let mut quotes = QuoteTicks::default();
    let mut n = 1usize;
    let mut prev_ts = i64::MIN;
    let mut buf = String::with_capacity(256);
    drop(line);
    loop {
        buf.clear();
        if rd.read_line(&mut buf).map_err(|e| io(e, n + 1))? == 0 {
            break;
        }
        n += 1;
        let row = buf.trim_end_matches(['\r', '\n']);
        if row.is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').collect();
        if fields.len() < width {
            return Err(bad(
                where_,
                n,
                format!("expected at least {width} fields, got {}", fields.len()),
            ));
        }
        let cols: &[&str; 6] = match kind {
            TardisKind::Trades => &TRADE_COLS,
            TardisKind::Quotes => &QUOTE_COLS,
        };
        let f = |k: usize| fields[ix[k]];
        let ts = us_to_ns(num(f(0), cols[0], where_, n)?, cols[0], where_, n)?;
        let local = us_to_ns(num(f(1), cols[1], where_, n)?, cols[1], where_, n)?;
        if ts < prev_ts {
            return Err(bad(
                where_,
                n,
                format!("timestamp {ts} ns goes back in time"),
            ));
        }
        prev_ts = ts;
        match kind {
            TardisKind::Trades => {
                let id: i64 = num(f(2), cols[2], where_, n)?;
                let side = match f(3).trim() {
                    "buy" => AggressorSide::Buyer,
                    "sell" => AggressorSide::Seller,
                    "unknown" | "" => AggressorSide::NoAggressor,
                    s => {
                        return Err(bad(
                            where_,
                            n,
                            format!("column side: {s:?} is not buy/sell/unknown"),
                        ));
                    }
                };
                let px = finite(num(f(4), cols[4], where_, n)?, cols[4], where_, n, true)?;
                let qty = finite(num(f(5), cols[5], where_, n)?, cols[5], where_, n, true)?;
                trades.push(ts, local, px, qty, side, id);
            }
            TardisKind::Quotes => {
                // Tardis leaves a side empty when the book side is empty: NaN marks it.
                let opt = |k: usize| -> CoreResult<f64> {
                    let s = f(k).trim();
                    if s.is_empty() {
                        Ok(f64::NAN)
                    } else {
                        finite(num(s, cols[k], where_, n)?, cols[k], where_, n, true)
                    }
                };
                let (ask_qty, ask_px, bid_px, bid_qty) = (opt(2)?, opt(3)?, opt(4)?, opt(5)?);
                quotes.push(ts, local, (bid_px, bid_qty), (ask_px, ask_qty));
            }
        }
    }
    Ok(match kind {
        TardisKind::Trades => Ticks::Trades(trades),
        TardisKind::Quotes => Ticks::Quotes(quotes),
    })
}

/// [`read_tardis`] on a file (gzip detected by its magic bytes).
pub fn read_tardis_file(path: &Path) -> CoreResult<Ticks> {
    read_tardis(open_recording(path)?, &path.display().to_string())
}

/// Trades and quotes of a raw Binance WebSocket recording.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WsTicks {
    pub trades: TradeTicks,
    pub quotes: QuoteTicks,
    /// Lines that were neither (depth diffs, snapshots, other streams).
    pub skipped: u64,
}

fn fnum(s: &str, what: &'static str) -> CoreResult<f64> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(CoreError::InvalidArgument {
            name: what,
            reason: format!("not a non-negative number: {s:?}"),
        }),
    }
}

fn ms_to_ns(ms: i64) -> CoreResult<i64> {
    ms.checked_mul(1_000_000)
        .ok_or_else(|| CoreError::InvalidArgument {
            name: "T",
            reason: format!("time {ms} ms out of range"),
        })
}

/// Decode the `trade` and `bookTicker` lines of a Binance recording read from `rd`.
pub fn read_binance_ticks<R: BufRead>(mut rd: R, where_: &str) -> CoreResult<WsTicks> {
    let mut out = WsTicks::default();
    let mut buf = String::with_capacity(1 << 12);
    let mut n = 0usize;
    loop {
        buf.clear();
        if rd.read_line(&mut buf).map_err(|e| bad(where_, n + 1, e))? == 0 {
            break;
        }
        n += 1;
        if buf.trim().is_empty() {
            continue;
        }
        let at = |e: CoreError| bad(where_, n, e);
        let l = decode_line(&buf).map_err(at)?;
        match l.msg {
            WsMessage::Trade(t) => {
                let side = if t.buyer_is_maker {
                    AggressorSide::Seller
                } else {
                    AggressorSide::Buyer
                };
                out.trades.push(
                    ms_to_ns(t.trade_time).map_err(at)?,
                    l.recv_ns,
                    fnum(t.px, "p").map_err(at)?,
                    fnum(t.qty, "q").map_err(at)?,
                    side,
                    t.id.unwrap_or(-1),
                );
            }
            WsMessage::BookTicker(t) => {
                let ts = match t.transact_time.or(t.event_time) {
                    Some(ms) => ms_to_ns(ms).map_err(at)?,
                    None => l.recv_ns,
                };
                out.quotes.push(
                    ts,
                    l.recv_ns,
                    (
                        fnum(t.bid_px, "b").map_err(at)?,
                        fnum(t.bid_qty, "B").map_err(at)?,
                    ),
                    (
                        fnum(t.ask_px, "a").map_err(at)?,
                        fnum(t.ask_qty, "A").map_err(at)?,
                    ),
                );
            }
            WsMessage::Depth(_) | WsMessage::Snapshot(_) | WsMessage::Other { .. } => {
                out.skipped += 1
            }
        }
    }
    Ok(out)
}

/// [`read_binance_ticks`] on a file (gzip detected by its magic bytes).
pub fn read_binance_ticks_file(path: &Path) -> CoreResult<WsTicks> {
    read_binance_ticks(open_recording(path)?, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tardis_trades_and_quotes() {
        let t = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n\
                 binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132\n\
                 binance-futures,BTCUSDT,1582329602116000,1582329602418420,42377945,sell,9681.5,0.4\n";
        let Ticks::Trades(tr) = read_tardis(t.as_bytes(), "t").unwrap() else {
            panic!("trades expected")
        };
        assert_eq!(tr.ts_event, vec![1582329602111000000, 1582329602116000000]);
        assert_eq!(tr.side, vec![1, 2]);
        assert_eq!(tr.price, vec![9682.0, 9681.5]);
        assert_eq!(tr.id, vec![42377944, 42377945]);

        let q = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n\
                 x,Y,1,2,0.84,9682,9681.92,0.67\nx,Y,3,4,,,9681.9,1\n";
        let Ticks::Quotes(qs) = read_tardis(q.as_bytes(), "q").unwrap() else {
            panic!("quotes expected")
        };
        assert_eq!(qs.ts_event, vec![1000, 3000]);
        assert_eq!(
            (
                qs.ask_size[0],
                qs.ask_price[0],
                qs.bid_price[0],
                qs.bid_size[0]
            ),
            (0.84, 9682.0, 9681.92, 0.67)
        );
        assert!(qs.ask_price[1].is_nan());
    }

    #[test]
    fn tardis_errors_name_line_and_column() {
        let h = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";
        for (row, needle) in [
            ("a,b,1,2,3,buy,x,1\n", "t:2: column price"),
            ("a,b,1,2,3,up,1,1\n", "t:2: column side"),
            ("a,b,1,2\n", "t:2: expected at least"),
            ("a,b,5,2,3,buy,1,1\na,b,4,2,3,buy,1,1\n", "t:3: timestamp"),
            ("a,b,1,2,3,buy,-1,1\n", "t:2: column price"),
        ] {
            let e = read_tardis(format!("{h}{row}").as_bytes(), "t")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e}");
        }
        assert!(read_tardis("a,b,c\n".as_bytes(), "t").is_err());
        assert!(read_tardis("".as_bytes(), "t").is_err());
    }

    #[test]
    fn binance_trades_and_tickers() {
        let text = concat!(
            r#"10 {"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":7,"s":"BTCUSDT","t":3,"p":"61800.30","q":"0.006","X":"MARKET","m":true}}"#,
            "\n",
            r#"11 {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":5,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":8,"E":9}}"#,
            "\n",
            r#"12 {"stream":"btcusdt@bookTicker","data":{"u":6,"s":"BTCUSDT","b":"1.5","B":"2","a":"1.6","A":"3"}}"#,
            "\n",
            r#"13 {"lastUpdateId":1,"bids":[],"asks":[]}"#,
            "\n"
        );
        let w = read_binance_ticks(text.as_bytes(), "r").unwrap();
        assert_eq!(w.trades.ts_event, vec![7_000_000]);
        assert_eq!(w.trades.side, vec![2]);
        assert_eq!(w.trades.id, vec![3]);
        assert_eq!(w.quotes.ts_event, vec![8_000_000, 12]);
        assert_eq!(w.quotes.ask_size, vec![2.51, 3.0]);
        assert_eq!(w.skipped, 1);
    }
}
