//! [`MarketEvent`]: the fixed-layout market-data record that travels through the SPSC ring
//! from an adapter thread to the engine.
//!
//! One `#[repr(C)]` struct of 72 bytes covers trades, quotes, bars and book
//! deltas, so a ring of events is a flat array with no pointer chasing and no per-event
//! allocation. Fields a kind does not use are zero. Prices and sizes are `f64` here, as decoded
//! from the wire; accounting converts them to the instrument's scaled integers.

/// What a [`MarketEvent`] carries.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EventKind {
    /// A trade print: `price`, `size`, `side`.
    #[default]
    Trade = 0,
    /// A top-of-book quote: `bid`, `ask`, `bid_size`, `ask_size`.
    Quote = 1,
    /// A bar summary: `price` is the close, `size` the volume (full OHLC bars travel as
    /// batches, not through the ring).
    Bar = 2,
    /// An L2 book delta: `price`, `size` (0 = level removed), `side` (1 bid, 2 ask).
    BookDelta = 3,
}

impl EventKind {
    /// The kind for a wire code, `None` if the code is unknown.
    ///
    /// ```
    /// use _core::model::EventKind;
    /// assert_eq!(EventKind::from_code(1), Some(EventKind::Quote));
    /// assert_eq!(EventKind::from_code(9), None);
    /// ```
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Trade),
            1 => Some(Self::Quote),
            2 => Some(Self::Bar),
            3 => Some(Self::BookDelta),
            _ => None,
        }
    }

    /// Lower-case name (`"trade"`, `"quote"`, `"bar"`, `"book_delta"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Trade => "trade",
            Self::Quote => "quote",
            Self::Bar => "bar",
            Self::BookDelta => "book_delta",
        }
    }
}

/// Which side took liquidity in a trade (NautilusTrader's `AggressorSide` codes).
#[repr(u8)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum AggressorSide {
    /// Unknown or not applicable.
    #[default]
    NoAggressor = 0,
    /// The buyer lifted the offer.
    Buyer = 1,
    /// The seller hit the bid.
    Seller = 2,
}

impl AggressorSide {
    /// The side for a code (0, 1, 2), `None` otherwise.
    ///
    /// ```
    /// use _core::model::AggressorSide;
    /// assert_eq!(AggressorSide::from_code(2), Some(AggressorSide::Seller));
    /// assert_eq!(AggressorSide::from_code(3), None);
    /// ```
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::NoAggressor),
            1 => Some(Self::Buyer),
            2 => Some(Self::Seller),
            _ => None,
        }
    }
}

/// One market-data event, 72 bytes, `#[repr(C)]` (the layout is part of the contract: the
/// Python side exposes the same columns).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MarketEvent {
    /// What the event is.
    pub kind: EventKind,
    /// Aggressor side of a trade / side of a book delta (see [`AggressorSide`]); 0 otherwise.
    pub side: u8,
    /// Venue- or adapter-specific flags (e.g. last-in-batch, snapshot).
    pub flags: u16,
    /// Instrument id (an index into the engine's instrument table).
    pub instrument_id: u32,
    /// When the event happened at the venue, ns since the UNIX epoch.
    pub ts_event: u64,
    /// When trader created the event, ns since the UNIX epoch.
    pub ts_init: u64,
    /// Trade / delta / close price.
    pub price: f64,
    /// Trade / delta size, bar volume.
    pub size: f64,
    /// Best bid.
    pub bid: f64,
    /// Best ask.
    pub ask: f64,
    /// Size at the best bid.
    pub bid_size: f64,
    /// Size at the best ask.
    pub ask_size: f64,
}

impl MarketEvent {
    /// A trade print.
    ///
    /// ```
    /// use _core::model::{AggressorSide, EventKind, MarketEvent};
    /// let e = MarketEvent::trade(1, 7, 100.5, 0.25, AggressorSide::Buyer);
    /// assert_eq!((e.kind, e.price, e.side), (EventKind::Trade, 100.5, 1));
    /// ```
    pub fn trade(ts: u64, instrument_id: u32, price: f64, size: f64, side: AggressorSide) -> Self {
        Self {
            kind: EventKind::Trade,
            side: side as u8,
            instrument_id,
            ts_event: ts,
            ts_init: ts,
            price,
            size,
            ..Self::default()
        }
    }

    /// A top-of-book quote.
    ///
    /// ```
    /// use _core::model::{EventKind, MarketEvent};
    /// let e = MarketEvent::quote(1, 7, 99.0, 101.0, 2.0, 3.0);
    /// assert_eq!((e.kind, e.bid, e.ask_size), (EventKind::Quote, 99.0, 3.0));
    /// ```
    pub fn quote(
        ts: u64,
        instrument_id: u32,
        bid: f64,
        ask: f64,
        bid_size: f64,
        ask_size: f64,
    ) -> Self {
        Self {
            kind: EventKind::Quote,
            instrument_id,
            ts_event: ts,
            ts_init: ts,
            bid,
            ask,
            bid_size,
            ask_size,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_fixed() {
        assert_eq!(std::mem::size_of::<MarketEvent>(), 72);
        assert_eq!(std::mem::align_of::<MarketEvent>(), 8);
        assert_eq!(std::mem::offset_of!(MarketEvent, instrument_id), 4);
        assert_eq!(std::mem::offset_of!(MarketEvent, ts_event), 8);
        assert_eq!(std::mem::offset_of!(MarketEvent, ask_size), 64);
    }

    #[test]
    fn codes_round_trip() {
        for k in [
            EventKind::Trade,
            EventKind::Quote,
            EventKind::Bar,
            EventKind::BookDelta,
        ] {
            assert_eq!(EventKind::from_code(k as u8), Some(k));
        }
        for s in [
            AggressorSide::NoAggressor,
            AggressorSide::Buyer,
            AggressorSide::Seller,
        ] {
            assert_eq!(AggressorSide::from_code(s as u8), Some(s));
        }
    }
}
