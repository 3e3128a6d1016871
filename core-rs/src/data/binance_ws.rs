//! Decoder of raw Binance WebSocket recordings: one message a line, `<local receive time ns> <JSON>`.
//!
//! The JSON is a combined-stream envelope `{"stream":"btcusdt@depth@0ms","data":{...}}` (diff
//! depth, `bookTicker`, `trade`, `aggTrade`) or a bare REST depth snapshot
//! `{"lastUpdateId":...,"bids":[...],"asks":[...]}`. Decoding borrows from the line: price and
//! quantity strings are `&str` slices, and the level arrays of depth messages are kept as raw
//! JSON and walked by [`levels`] without allocating (one pass, straight into the caller's
//! fixed-point parser).

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::book::{BookSide, Delta, DiffIds};
use crate::data::decimal::{parse_fixed, parse_fixed_bytes};
use crate::error::{CoreError, CoreResult};

fn err(reason: impl Into<String>) -> CoreError {
    CoreError::InvalidArgument {
        name: "line",
        reason: reason.into(),
    }
}

/// A diff-depth event (`depthUpdate`). Spot has no `T` nor `pu`.
#[derive(Debug, Clone, Deserialize)]
pub struct DepthDiff<'a> {
    /// Event time (ms).
    #[serde(rename = "E")]
    pub event_time: i64,
    /// Transaction time (ms), futures only.
    #[serde(rename = "T", default)]
    pub transact_time: Option<i64>,
    /// `U`: first update id in the event.
    #[serde(rename = "U")]
    pub first_update_id: u64,
    /// `u`: final update id in the event.
    #[serde(rename = "u")]
    pub final_update_id: u64,
    /// `pu`: final update id of the previous event (futures only).
    #[serde(rename = "pu", default)]
    pub prev_final_update_id: Option<u64>,
    /// `s`: the symbol (`BTCUSDT`, `BTCUSD_PERP`).
    #[serde(rename = "s", borrow, default)]
    pub symbol: Option<&'a str>,
    /// `ps`: the pair of a coin-M contract (`BTCUSD`); USD-M and spot diffs have none.
    #[serde(rename = "ps", borrow, default)]
    pub pair: Option<&'a str>,
    #[serde(rename = "b", borrow)]
    pub bids: &'a RawValue,
    #[serde(rename = "a", borrow)]
    pub asks: &'a RawValue,
}

/// A `bookTicker` event: best bid/ask as the exchange saw them at update id `u`.
#[derive(Debug, Clone, Deserialize)]
pub struct BookTicker<'a> {
    #[serde(rename = "u")]
    pub update_id: u64,
    #[serde(rename = "b", borrow)]
    pub bid_px: &'a str,
    #[serde(rename = "B", borrow)]
    pub bid_qty: &'a str,
    #[serde(rename = "a", borrow)]
    pub ask_px: &'a str,
    #[serde(rename = "A", borrow)]
    pub ask_qty: &'a str,
    /// Transaction time (ms), futures only.
    #[serde(rename = "T", default)]
    pub transact_time: Option<i64>,
    /// Event time (ms), futures only.
    #[serde(rename = "E", default)]
    pub event_time: Option<i64>,
}

/// A `trade` or `aggTrade` event.
#[derive(Debug, Clone, Deserialize)]
pub struct Trade<'a> {
    #[serde(rename = "p", borrow)]
    pub px: &'a str,
    #[serde(rename = "q", borrow)]
    pub qty: &'a str,
    /// Is the buyer the maker (i.e. the aggressor sold)?
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
    /// Trade time (ms).
    #[serde(rename = "T")]
    pub trade_time: i64,
    /// Trade id (`t` of `trade`; `aggTrade` carries `a` instead, left `None`).
    #[serde(rename = "t", default)]
    pub id: Option<i64>,
}

/// A REST depth snapshot.
#[derive(Debug, Clone, Deserialize)]
pub struct Snapshot<'a> {
    #[serde(rename = "lastUpdateId")]
    pub last_update_id: u64,
    #[serde(borrow)]
    pub bids: &'a RawValue,
    #[serde(borrow)]
    pub asks: &'a RawValue,
}

/// One decoded message.
#[derive(Debug, Clone)]
pub enum WsMessage<'a> {
    Depth(DepthDiff<'a>),
    BookTicker(BookTicker<'a>),
    Trade(Trade<'a>),
    Snapshot(Snapshot<'a>),
    /// A stream this decoder does not interpret (named).
    Other {
        stream: &'a str,
    },
}

/// One line: local receive time (ns) and the message.
#[derive(Debug, Clone)]
pub struct WsLine<'a> {
    pub recv_ns: i64,
    pub msg: WsMessage<'a>,
}

#[derive(Clone, Copy)]
enum StreamKind {
    Depth,
    BookTicker,
    Trade,
    Other,
}

fn stream_kind(stream: &str) -> StreamKind {
    // "btcusdt@depth@0ms", "btcusdt@bookTicker", "btcusdt@trade", "btcusdt@aggTrade"
    let channel = match stream.find('@') {
        Some(p) => &stream[p + 1..],
        None => stream,
    };
    if channel.starts_with("depth") {
        StreamKind::Depth
    } else if channel == "bookTicker" {
        StreamKind::BookTicker
    } else if channel == "trade" || channel == "aggTrade" {
        StreamKind::Trade
    } else {
        StreamKind::Other
    }
}

fn from_json<'a, T: Deserialize<'a>>(json: &'a str, what: &str) -> CoreResult<T> {
    serde_json::from_str(json).map_err(|e| err(format!("bad {what} message: {e}")))
}

fn decode_data<'a>(stream: &'a str, data: &'a str) -> CoreResult<WsMessage<'a>> {
    Ok(match stream_kind(stream) {
        StreamKind::Depth => WsMessage::Depth(from_json(data, "depth")?),
        StreamKind::BookTicker => WsMessage::BookTicker(from_json(data, "bookTicker")?),
        StreamKind::Trade => WsMessage::Trade(from_json(data, "trade")?),
        StreamKind::Other => WsMessage::Other { stream },
    })
}

/// The general shape, for lines the fast path does not recognise (other key order, spacing).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    stream: Option<&'a str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(rename = "lastUpdateId", default)]
    last_update_id: Option<u64>,
}

/// The stream name of a combined-stream line's JSON (`"btcusdt@depth@0ms"`), read from the
/// envelope's first key without decoding; `None` for a snapshot or another layout.
pub fn stream_name(json: &str) -> Option<&str> {
    let rest = json.trim_start().strip_prefix("{\"stream\":\"")?;
    rest.find('"').map(|q| &rest[..q])
}

/// Decode the JSON part of a line.
pub fn decode_json(json: &str) -> CoreResult<WsMessage<'_>> {
    const STREAM: &str = "{\"stream\":\"";
    const DATA: &str = ",\"data\":";
    // Fast path: the exact layout Binance sends, sliced without a second JSON pass.
    if let Some(rest) = json.strip_prefix(STREAM)
        && let Some(q) = rest.find('"')
        && let Some(data) = rest[q + 1..]
            .strip_prefix(DATA)
            .and_then(|d| d.strip_suffix('}'))
    {
        return decode_data(&rest[..q], data);
    }
    if json.starts_with("{\"lastUpdateId\"") {
        return Ok(WsMessage::Snapshot(from_json(json, "snapshot")?));
    }
    let env: Envelope<'_> = from_json(json, "envelope")?;
    match (env.stream, env.data, env.last_update_id) {
        (Some(stream), Some(data), _) => decode_data(stream, data.get()),
        (None, None, Some(_)) => Ok(WsMessage::Snapshot(from_json(json, "snapshot")?)),
        _ => Err(err(
            "neither a combined-stream message ({\"stream\",\"data\"}) nor a depth snapshot",
        )),
    }
}

/// Decode one recorded line `<ns> <JSON>`.
pub fn decode_line(line: &str) -> CoreResult<WsLine<'_>> {
    let line = line.trim_end_matches(['\n', '\r']);
    let Some((ts, json)) = line.split_once(' ') else {
        return Err(err("expected `<receive time ns> <JSON>`"));
    };
    let recv_ns: i64 = ts
        .parse()
        .map_err(|_| err(format!("bad receive timestamp {ts:?}")))?;
    Ok(WsLine {
        recv_ns,
        msg: decode_json(json.trim_start())?,
    })
}

/// Iterator over the `["price","qty"]` pairs of a raw level array, as borrowed strings.
/// Strict: any other shape (numbers, escapes, missing brackets) yields one error and stops.
pub struct Levels<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
    done: bool,
}

/// Walk a raw JSON array of `[price, qty]` string pairs.
pub fn levels(raw: &RawValue) -> Levels<'_> {
    let s = raw.get();
    let mut it = Levels {
        b: s.as_bytes(),
        s,
        i: 0,
        done: false,
    };
    it.skip_ws();
    if it.b.get(it.i) == Some(&b'[') {
        it.i += 1;
        it.skip_ws();
        if it.b.get(it.i) == Some(&b']') {
            it.done = true;
        }
    } else {
        it.i = usize::MAX; // reported by next()
    }
    it
}

impl<'a> Levels<'a> {
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Option<()> {
        self.skip_ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.i;
        let len = self
            .b
            .get(start..)?
            .iter()
            .position(|&c| c == b'"' || c == b'\\')?;
        if self.b[start + len] == b'\\' {
            return None;
        }
        self.i = start + len + 1;
        // Both ends sit on ASCII quotes, so they are char boundaries.
        self.s.get(start..start + len)
    }

    fn pair(&mut self) -> Option<(&'a str, &'a str)> {
        self.expect(b'[')?;
        let px = self.string()?;
        self.expect(b',')?;
        let qty = self.string()?;
        self.expect(b']')?;
        self.skip_ws();
        match self.b.get(self.i) {
            Some(b',') => self.i += 1,
            Some(b']') => self.done = true,
            _ => return None,
        }
        Some((px, qty))
    }
}

impl<'a> Iterator for Levels<'a> {
    type Item = CoreResult<(&'a str, &'a str)>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.i == usize::MAX {
            self.done = true;
            return Some(Err(err(format!(
                "expected an array of [price, qty] pairs, got {}",
                short(self.s)
            ))));
        }
        match self.pair() {
            Some(p) => Some(Ok(p)),
            None => {
                self.done = true;
                Some(Err(err(format!(
                    "bad [price, qty] pair in {}",
                    short(self.s)
                ))))
            }
        }
    }
}

fn short(s: &str) -> String {
    let mut end = s.len().min(80);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    if end < s.len() {
        format!("{}...", &s[..end])
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_four_shapes() {
        let l = r#"1723161255030314667 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5,"u":9,"pu":4,"b":[["58710.20","0.014"],["61510.90","0.000"]],"a":[]}}"#;
        let d = decode_line(l).unwrap();
        assert_eq!(d.recv_ns, 1723161255030314667);
        let WsMessage::Depth(x) = d.msg else { panic!() };
        assert_eq!(
            (
                x.first_update_id,
                x.final_update_id,
                x.prev_final_update_id,
                x.transact_time
            ),
            (5, 9, Some(4), Some(1723161256298))
        );
        let b: Vec<_> = levels(x.bids).collect::<CoreResult<_>>().unwrap();
        assert_eq!(b, vec![("58710.20", "0.014"), ("61510.90", "0.000")]);
        assert_eq!(levels(x.asks).count(), 0);
        assert_eq!((x.symbol, x.pair), (Some("BTCUSDT"), None));
        let cm = r#"{"stream":"btcusd_perp@depth@0ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSD_PERP","ps":"BTCUSD","U":1,"u":2,"pu":0,"b":[],"a":[]}}"#;
        let WsMessage::Depth(x) = decode_json(cm).unwrap() else {
            panic!()
        };
        assert_eq!((x.symbol, x.pair), (Some("BTCUSD_PERP"), Some("BTCUSD")));
        assert_eq!(stream_name(cm), Some("btcusd_perp@depth@0ms"));
        assert_eq!(stream_name(r#"{"lastUpdateId":1}"#), None);

        let l = r#"1 {"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#;
        let WsMessage::BookTicker(t) = decode_line(l).unwrap().msg else {
            panic!()
        };
        assert_eq!(
            (t.update_id, t.bid_px, t.ask_qty, t.event_time),
            (50093239212, "61837.63000000", "1.54698000", None)
        );

        let l = r#"2 {"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":7,"s":"BTCUSDT","t":3,"p":"61800.30","q":"0.006","X":"MARKET","m":false}}"#;
        let WsMessage::Trade(t) = decode_line(l).unwrap().msg else {
            panic!()
        };
        assert_eq!(
            (t.px, t.qty, t.buyer_is_maker, t.trade_time),
            ("61800.30", "0.006", false, 7)
        );

        let l = r#"3 {"lastUpdateId":77,"E":1,"T":2,"symbol":"X","bids":[["1.0","2"]],"asks":[ [ "3.0" , "4" ] ]}"#;
        let WsMessage::Snapshot(s) = decode_line(l).unwrap().msg else {
            panic!()
        };
        assert_eq!(s.last_update_id, 77);
        assert_eq!(
            levels(s.asks).collect::<CoreResult<Vec<_>>>().unwrap(),
            vec![("3.0", "4")]
        );

        // Other key order goes through the general path.
        let l = r#"4 {"data":{"u":1,"b":"1","B":"2","a":"3","A":"4"},"stream":"x@bookTicker"}"#;
        assert!(matches!(
            decode_line(l).unwrap().msg,
            WsMessage::BookTicker(_)
        ));
        let l = r#"5 {"stream":"x@kline_1m","data":{"k":1}}"#;
        assert!(matches!(
            decode_line(l).unwrap().msg,
            WsMessage::Other {
                stream: "x@kline_1m"
            }
        ));
    }

    #[test]
    fn rejects_bad_lines() {
        for l in [
            "",
            "abc",
            "12 {",
            "x {\"lastUpdateId\":1,\"bids\":[],\"asks\":[]}",
            "1 {\"foo\":1}",
            "1 {\"stream\":\"a@depth\",\"data\":{\"E\":1}}",
        ] {
            assert!(decode_line(l).is_err(), "{l:?}");
        }
        for raw in [
            r#"[["1",2]]"#,
            r#"{"a":1}"#,
            r#"[["1\"","2"]]"#,
            r#"[["1","2","3"]]"#,
            r#"[[]]"#,
            r#"[1]"#,
        ] {
            let v: &RawValue = serde_json::from_str(raw).unwrap();
            assert!(levels(v).any(|r| r.is_err()), "{raw}");
        }
    }
}

/// One-pass decoder of a diff-depth message in the exact layout Binance sends
/// (`{"stream":"..@depth..","data":{..,"U":..,"u":..[,"pu":..],"b":[["p","q"],..],"a":[..]}}`):
/// the ids, and every level parsed straight to fixed point into `out` (bids, then asks).
/// `None`: not this layout (the caller uses the general decoder); `Some(Err)`: a bad number.
// NB: the general path scans each level array twice (serde validates the raw value, then the
// level walker parses it); perf on the usdm recording put ~20% of the loop in serde's scans.
pub fn fast_depth(
    json: &str,
    pdp: u8,
    sdp: u8,
    out: &mut Vec<Delta>,
) -> Option<CoreResult<DiffIds>> {
    const HEAD: &str = "{\"stream\":\"";
    let b = json.as_bytes();
    let rest = json.strip_prefix(HEAD)?;
    let q = rest.find('"')?;
    if !rest[..q].contains("@depth") {
        return None;
    }
    let mut i = HEAD.len() + q;
    let num = |i: &mut usize| -> Option<u64> {
        let start = *i;
        let mut v: u64 = 0;
        while let Some(&c) = b.get(*i) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
            *i += 1;
        }
        (*i > start).then_some(v)
    };
    let expect = |i: &mut usize, pat: &str| -> Option<()> {
        if b.get(*i..*i + pat.len())? == pat.as_bytes() {
            *i += pat.len();
            Some(())
        } else {
            None
        }
    };
    i += json.get(i..)?.find(",\"U\":")? + 5;
    let first = num(&mut i)?;
    expect(&mut i, ",\"u\":")?;
    let last = num(&mut i)?;
    let prev = if expect(&mut i, ",\"pu\":").is_some() {
        Some(num(&mut i)?)
    } else {
        None
    };
    out.clear();
    for (side, key) in [(BookSide::Bid, ",\"b\":["), (BookSide::Ask, ",\"a\":[")] {
        expect(&mut i, key)?;
        if b.get(i) == Some(&b']') {
            i += 1;
            continue;
        }
        loop {
            expect(&mut i, "[\"")?;
            let n = b.get(i..)?.iter().position(|&c| c == b'"')?;
            let px = &b[i..i + n];
            i += n + 1;
            expect(&mut i, ",\"")?;
            let n = b.get(i..)?.iter().position(|&c| c == b'"')?;
            let qty = &b[i..i + n];
            i += n + 1;
            expect(&mut i, "]")?;
            let d = parse_fixed_bytes(px, pdp, "price").and_then(|px| {
                Ok(Delta {
                    side,
                    px,
                    qty: parse_fixed_bytes(qty, sdp, "qty")?,
                })
            });
            match d {
                Ok(d) => out.push(d),
                Err(e) => return Some(Err(e)),
            }
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b']') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (json.get(i..)?.trim_end() == "}}").then_some(Ok(DiffIds { first, last, prev }))
}

/// Walk the members of a flat JSON object in Binance's compact layout (`{"k":v,...}`: string,
/// number, `true`/`false`/`null` values, no nesting, no escapes, no spaces), calling `f(key,
/// value)` with a string's text unquoted and anything else as written. `None`: not that shape
/// (the caller falls back to the general decoder).
fn flat_members<'a>(obj: &'a [u8], mut f: impl FnMut(&'a [u8], &'a [u8])) -> Option<()> {
    let b = obj;
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    if b.get(i) == Some(&b'}') {
        return Some(());
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let ks = i + 1;
        let kn = b.get(ks..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
        if b[ks + kn] != b'"' {
            return None;
        }
        let key = &b[ks..ks + kn];
        i = ks + kn + 1;
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let value = if b.get(i) == Some(&b'"') {
            let vs = i + 1;
            let vn = b.get(vs..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
            if b[vs + vn] != b'"' {
                return None;
            }
            i = vs + vn + 1;
            &b[vs..vs + vn]
        } else {
            let vs = i;
            while let Some(&c) = b.get(i) {
                match c {
                    b',' | b'}' => break,
                    b'[' | b'{' | b'"' | b' ' => return None,
                    _ => i += 1,
                }
            }
            &b[vs..i]
        };
        f(key, value);
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return (i + 1 == b.len()).then_some(()),
            _ => return None,
        }
    }
}

/// A non-negative integer written in `v` (at most 18 digits).
fn int_bytes(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &c in v {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + d as i64;
    }
    Some(n)
}

/// The integer after `key` (e.g. `"E":`) in a compact JSON text, when there is one.
fn int_member(text: &str, key: &str) -> Option<i64> {
    let at = text.find(key)? + key.len();
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text.get(at..at + digits)?.parse().ok()
}

/// `{"stream":"NAME","data":DATA}` in Binance's exact layout: (NAME, DATA).
fn envelope(json: &str) -> Option<(&str, &str)> {
    let rest = json.strip_prefix("{\"stream\":\"")?;
    let q = rest.find('"')?;
    let data = rest[q + 1..]
        .strip_prefix(",\"data\":")?
        .strip_suffix('}')?;
    Some((&rest[..q], data))
}

/// Kinds of a [`Decoded`] event.
pub mod kind {
    pub const DEPTH: u8 = 0;
    pub const BOOK_TICKER: u8 = 1;
    pub const TRADE: u8 = 2;
    pub const SNAPSHOT: u8 = 3;
    pub const OTHER: u8 = 4;
}

/// Binance market-data messages decoded into typed columns: one row per message (kind,
/// receive time, exchange time, update ids, for quotes and trades the prices and sizes), and
/// the depth levels of every diff or snapshot in flat columns (row, side 0 bid / 1 ask, price,
/// size), prices and sizes as integers at the given precision.
#[derive(Debug, Default, Clone)]
pub struct Decoded {
    pub kind: Vec<u8>,
    pub recv_ns: Vec<i64>,
    /// Event/trade time (ms); 0 when the message has none.
    pub event_ms: Vec<i64>,
    /// `U` / `u` of a diff; the update id of a book ticker; the last id of a snapshot; a trade's id.
    pub first_id: Vec<i64>,
    pub last_id: Vec<i64>,
    /// Book ticker: bid price, bid size, ask price, ask size; trade: price, size, 1 if the
    /// buyer was the aggressor (else 0), 0. Zeros for the other kinds.
    pub a: Vec<i64>,
    pub b: Vec<i64>,
    pub c: Vec<i64>,
    pub d: Vec<i64>,
    pub level_row: Vec<u32>,
    pub level_side: Vec<u8>,
    pub level_px: Vec<i64>,
    pub level_qty: Vec<i64>,
    /// A depth message's levels on their way (kept for its capacity).
    scratch: Vec<Delta>,
}

impl Decoded {
    /// Room for `rows` messages and `levels` depth levels.
    pub fn with_capacity(rows: usize, levels: usize) -> Self {
        Self {
            kind: Vec::with_capacity(rows),
            recv_ns: Vec::with_capacity(rows),
            event_ms: Vec::with_capacity(rows),
            first_id: Vec::with_capacity(rows),
            last_id: Vec::with_capacity(rows),
            a: Vec::with_capacity(rows),
            b: Vec::with_capacity(rows),
            c: Vec::with_capacity(rows),
            d: Vec::with_capacity(rows),
            level_row: Vec::with_capacity(levels),
            level_side: Vec::with_capacity(levels),
            level_px: Vec::with_capacity(levels),
            level_qty: Vec::with_capacity(levels),
            scratch: Vec::new(),
        }
    }

    fn levels_of(
        &mut self,
        row: u32,
        side: u8,
        raw: &RawValue,
        pdp: u8,
        sdp: u8,
    ) -> CoreResult<()> {
        for lv in levels(raw) {
            let (p, q) = lv?;
            self.level_row.push(row);
            self.level_side.push(side);
            self.level_px.push(parse_fixed(p, pdp, "price")?);
            self.level_qty.push(parse_fixed(q, sdp, "size")?);
        }
        Ok(())
    }

    fn push_row(&mut self, k: u8, recv_ns: i64, ev: i64, first: i64, last: i64, cols: [i64; 4]) {
        self.kind.push(k);
        self.recv_ns.push(recv_ns);
        self.event_ms.push(ev);
        self.first_id.push(first);
        self.last_id.push(last);
        self.a.push(cols[0]);
        self.b.push(cols[1]);
        self.c.push(cols[2]);
        self.d.push(cols[3]);
    }

    /// The one-pass paths for Binance's exact layouts (a combined-stream depth diff, book
    /// ticker or trade); false: not that layout (the general decoder takes it).
    fn push_fast(&mut self, json: &str, recv_ns: i64, pdp: u8, sdp: u8) -> CoreResult<bool> {
        let Some((stream, data)) = envelope(json) else {
            return Ok(false);
        };
        let row = self.kind.len() as u32;
        let ticker = stream.ends_with("@bookTicker");
        if !ticker && stream.contains("@depth") {
            let mut deltas = std::mem::take(&mut self.scratch);
            let ids = match fast_depth(json, pdp, sdp, &mut deltas) {
                None => {
                    self.scratch = deltas;
                    return Ok(false);
                }
                Some(r) => r,
            };
            let ids = match ids {
                Ok(ids) => ids,
                Err(e) => {
                    self.scratch = deltas;
                    return Err(e);
                }
            };
            for d in &deltas {
                self.level_row.push(row);
                self.level_side.push(u8::from(d.side == BookSide::Ask));
                self.level_px.push(d.px);
                self.level_qty.push(d.qty);
            }
            self.scratch = deltas;
            let ev = int_member(data, "\"T\":")
                .or_else(|| int_member(data, "\"E\":"))
                .unwrap_or(0);
            self.push_row(
                kind::DEPTH,
                recv_ns,
                ev,
                ids.first as i64,
                ids.last as i64,
                [0; 4],
            );
            return Ok(true);
        }
        if !ticker && !stream.ends_with("@trade") && !stream.ends_with("@aggTrade") {
            return Ok(false);
        }
        // u b B a A T E (book ticker) / p q m T t (trade)
        let mut f: [&[u8]; 7] = [b""; 7];
        let shape = flat_members(data.as_bytes(), |k, v| {
            // every key wanted is one letter: compare bytes, not strings
            let &[k] = k else {
                return;
            };
            let slot = match (ticker, k) {
                (true, b'u') | (false, b'p') => 0,
                (true, b'b') | (false, b'q') => 1,
                (true, b'B') | (false, b'm') => 2,
                (true, b'a') | (false, b'T') => 3,
                (true, b'A') | (false, b't') => 4,
                (true, b'T') => 5,
                (true, b'E') => 6,
                _ => return,
            };
            f[slot] = v;
        });
        let need = if ticker { 5 } else { 4 }; // a trade's id: `t` (an aggTrade has none)
        if shape.is_none() || f[..need].iter().any(|v| v.is_empty()) {
            return Ok(false);
        }
        let int = |v: &[u8], name: &str| -> CoreResult<i64> {
            int_bytes(v).ok_or_else(|| {
                err(format!(
                    "{stream}: {name} is not an integer: {:?}",
                    String::from_utf8_lossy(v)
                ))
            })
        };
        let px = |s: &[u8]| parse_fixed_bytes(s, pdp, "price");
        let qty = |s: &[u8]| parse_fixed_bytes(s, sdp, "size");
        if ticker {
            let u = int(f[0], "u")?;
            let ev = if !f[5].is_empty() {
                int(f[5], "T")?
            } else if !f[6].is_empty() {
                int(f[6], "E")?
            } else {
                0
            };
            let cols = [px(f[1])?, qty(f[2])?, px(f[3])?, qty(f[4])?];
            self.push_row(kind::BOOK_TICKER, recv_ns, ev, u, u, cols);
        } else {
            let buyer_maker = match f[2] {
                b"true" => true,
                b"false" => false,
                other => {
                    let other = String::from_utf8_lossy(other);
                    return Err(err(format!("{stream}: m is not a boolean: {other:?}")));
                }
            };
            let id = if f[4].is_empty() { 0 } else { int(f[4], "t")? };
            let cols = [px(f[0])?, qty(f[1])?, i64::from(!buyer_maker), 0];
            self.push_row(kind::TRADE, recv_ns, int(f[3], "T")?, id, id, cols);
        }
        Ok(true)
    }

    /// Decode one line (`<receive ns> <JSON>`, or the JSON alone with receive time 0) and
    /// append it.
    pub fn push_line(&mut self, line: &str, pdp: u8, sdp: u8) -> CoreResult<()> {
        let line = line.trim_end_matches(['\n', '\r']);
        let (recv_ns, json) = match line.split_once(' ') {
            Some((ts, json)) if !ts.starts_with('{') => (
                ts.parse()
                    .map_err(|_| err(format!("bad receive timestamp {ts:?}")))?,
                json.trim_start(),
            ),
            _ => (0, line),
        };
        if self.push_fast(json, recv_ns, pdp, sdp)? {
            return Ok(());
        }
        let row = self.kind.len() as u32;
        let px = |s: &str| parse_fixed(s, pdp, "price");
        let qty = |s: &str| parse_fixed(s, sdp, "size");
        let (k, ev, first, last, cols) = match decode_json(json)? {
            WsMessage::Depth(d) => {
                self.levels_of(row, 0, d.bids, pdp, sdp)?;
                self.levels_of(row, 1, d.asks, pdp, sdp)?;
                (
                    kind::DEPTH,
                    d.transact_time.unwrap_or(d.event_time),
                    d.first_update_id as i64,
                    d.final_update_id as i64,
                    [0; 4],
                )
            }
            WsMessage::BookTicker(t) => (
                kind::BOOK_TICKER,
                t.transact_time.or(t.event_time).unwrap_or(0),
                t.update_id as i64,
                t.update_id as i64,
                [
                    px(t.bid_px)?,
                    qty(t.bid_qty)?,
                    px(t.ask_px)?,
                    qty(t.ask_qty)?,
                ],
            ),
            WsMessage::Trade(t) => (
                kind::TRADE,
                t.trade_time,
                t.id.unwrap_or(0),
                t.id.unwrap_or(0),
                [px(t.px)?, qty(t.qty)?, i64::from(!t.buyer_is_maker), 0],
            ),
            WsMessage::Snapshot(s) => {
                self.levels_of(row, 0, s.bids, pdp, sdp)?;
                self.levels_of(row, 1, s.asks, pdp, sdp)?;
                (
                    kind::SNAPSHOT,
                    0,
                    s.last_update_id as i64,
                    s.last_update_id as i64,
                    [0; 4],
                )
            }
            WsMessage::Other { .. } => (kind::OTHER, 0, 0, 0, [0; 4]),
        };
        self.push_row(k, recv_ns, ev, first, last, cols);
        Ok(())
    }
}

#[cfg(test)]
mod decoded_tests {
    use super::*;

    #[test]
    fn lines_decode_into_typed_columns() {
        let mut d = Decoded::default();
        d.push_line(r#"5 {"stream":"btcusdt@bookTicker","data":{"u":7,"b":"100.10","B":"1.500","a":"100.20","A":"0.001"}}"#, 2, 3).unwrap();
        d.push_line(r#"6 {"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":2,"s":"BTCUSDT","t":99,"p":"100.15","q":"0.250","m":true}}"#, 2, 3).unwrap();
        d.push_line(r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":3,"s":"BTCUSDT","U":10,"u":12,"b":[["100.00","1.000"]],"a":[["100.30","0.000"],["100.40","2.000"]]}}"#, 2, 3).unwrap();
        d.push_line(
            r#"8 {"lastUpdateId":9,"bids":[["99.00","1.000"]],"asks":[]}"#,
            2,
            3,
        )
        .unwrap();
        assert_eq!(
            d.kind,
            vec![kind::BOOK_TICKER, kind::TRADE, kind::DEPTH, kind::SNAPSHOT]
        );
        assert_eq!(d.recv_ns, vec![5, 6, 0, 8]);
        assert_eq!((d.a[0], d.b[0], d.c[0], d.d[0]), (10010, 1500, 10020, 1));
        assert_eq!((d.a[1], d.b[1], d.c[1], d.first_id[1]), (10015, 250, 0, 99));
        assert_eq!((d.first_id[2], d.last_id[2], d.event_ms[2]), (10, 12, 3));
        assert_eq!(d.level_row, vec![2, 2, 2, 3]);
        assert_eq!(d.level_side, vec![0, 1, 1, 0]);
        assert_eq!(d.level_px, vec![10000, 10030, 10040, 9900]);
        assert_eq!(d.level_qty, vec![1000, 0, 2000, 1000]);
        assert!(d.push_line("7 {\"stream\":\"x@trade\",\"data\":{\"p\":\"1.001\",\"q\":\"1\",\"m\":false,\"T\":1}}", 2, 3).is_err());
    }

    /// The one-pass paths (Binance's compact layout) and the general decoder (any JSON layout:
    /// the same messages with spaces) give the same columns.
    #[test]
    fn the_fast_paths_equal_the_general_decoder() {
        let lines = [
            r#"5 {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":7,"s":"BTCUSDT","b":"100.10","B":"1.500","a":"100.20","A":"0.001","T":11,"E":12}}"#,
            r#"5 {"stream":"btcusdt@bookTicker","data":{"u":8,"s":"BTCUSDT","b":"100.10","B":"1.500","a":"100.20","A":"0.001"}}"#,
            r#"6 {"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":2,"s":"BTCUSDT","t":99,"p":"100.15","q":"0.250","X":"MARKET","m":true}}"#,
            r#"6 {"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"a":5,"s":"BTCUSDT","p":"100.15","q":"0.250","f":1,"l":2,"T":3,"m":false}}"#,
            r#"7 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":3,"T":4,"s":"BTCUSDT","U":10,"u":12,"pu":9,"b":[["100.00","1.000"],["99.90","0.000"]],"a":[]}}"#,
            r#"7 {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":3,"s":"BTCUSDT","U":13,"u":15,"b":[],"a":[["100.30","0.500"]]}}"#,
        ];
        let (mut fast, mut general) = (Decoded::default(), Decoded::default());
        for l in lines {
            fast.push_line(l, 2, 3).unwrap();
            let (ts, json) = l.split_once(' ').unwrap();
            let spaced = json.replace(",\"", ", \"").replace(":", ": ");
            assert!(envelope(&spaced).is_none() || !spaced.starts_with("{\"stream\":\""));
            general.push_line(&format!("{ts} {spaced}"), 2, 3).unwrap();
        }
        assert_eq!(fast.kind, general.kind);
        assert_eq!(fast.recv_ns, general.recv_ns);
        assert_eq!(fast.event_ms, general.event_ms);
        assert_eq!(
            (&fast.first_id, &fast.last_id),
            (&general.first_id, &general.last_id)
        );
        assert_eq!(
            (&fast.a, &fast.b, &fast.c, &fast.d),
            (&general.a, &general.b, &general.c, &general.d)
        );
        assert_eq!(
            (&fast.level_row, &fast.level_side),
            (&general.level_row, &general.level_side)
        );
        assert_eq!(
            (&fast.level_px, &fast.level_qty),
            (&general.level_px, &general.level_qty)
        );
        assert_eq!(
            fast.kind,
            vec![
                kind::BOOK_TICKER,
                kind::BOOK_TICKER,
                kind::TRADE,
                kind::TRADE,
                kind::DEPTH,
                kind::DEPTH
            ]
        );
        assert_eq!(
            (fast.event_ms[0], fast.event_ms[4], fast.event_ms[5]),
            (11, 4, 3)
        );
        // a bad number on the fast path is an error, as on the general one
        let bad =
            r#"1 {"stream":"x@bookTicker","data":{"u":1,"b":"1.001","B":"1","a":"2","A":"1"}}"#;
        assert!(Decoded::default().push_line(bad, 2, 3).is_err());
    }
}
