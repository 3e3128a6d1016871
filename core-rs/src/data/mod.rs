//! Decoders of recorded and streamed market data (no PyO3 here).

pub mod aggregate;
pub mod binance_ws;
pub mod decimal;
pub mod replay;
pub mod ticks;

pub use aggregate::BarAggregator;
pub use binance_ws::{BookTicker, DepthDiff, Snapshot, Trade, WsLine, WsMessage, decode_line};
pub use decimal::{decimals_of, parse_fixed};
pub use replay::{Replay, ReplayOptions, ReplayReport, replay_files, replay_text};
pub use ticks::{
    QuoteTicks, TardisKind, Ticks, TradeTicks, WsTicks, read_binance_ticks_file, read_tardis_file,
};
