//! Queue position of a resting limit order on an L2 (market-by-price) book.
//!
//! An L2 feed only shows the total quantity at each price, so where our order sits in the queue
//! of that price is an estimate. The estimate follows the rules hftbacktest documents for its
//! queue models (after Rigtorp's estimator), written here from the description, not the code:
//!
//! - **placement**: we join the back: `ahead` = the visible quantity at our price;
//! - **trades at our price** consume the queue ahead of us first; what is left of the trade
//!   reaches us (a Maker fill, capped by the caller at our leaves). The traded quantity is also
//!   remembered (`traded_since`), because the depth stream will later show the level shrinking
//!   by it, and that shrink must not be counted a second time as cancellations;
//! - **decreases of the level** not explained by those trades are cancellations. Where they
//!   happened (ahead of us or behind) is unknown; the model decides:
//!   - [`QueueModel::RiskAverse`]: always behind us: `ahead` only shrinks with trades (the
//!     pessimistic bound; it still never exceeds the level's visible quantity);
//!   - [`QueueModel::Power`]`(n)` and [`QueueModel::Log`]: a share `p` of the decrease is taken
//!     from ahead of us, `p = f(front) / (f(front) + f(back))` with `front` = `ahead`,
//!     `back` = the visible quantity behind us, and `f(x) = x^n` (power) or `ln(1 + x)` (log).
//!     Just after joining (`back = 0`) every cancellation is ahead (`p = 1`); at the front
//!     (`front = 0`) none is. A larger `n` moves us forward more slowly while we are far back
//!     and faster near the front. If the share behind exceeds what is behind, the excess comes
//!     from ahead;
//! - **increases** of the level join behind us (price-time priority): `ahead` is unchanged;
//! - `ahead` is clamped to `[0, visible quantity]` after every change.
//!
//! Quantities are raw integers; the probabilistic share is computed in `f64` and rounded *down*
//! (conservative: we never advance by a fraction we did not earn).

/// How cancellations at our price move our queue position (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum QueueModel {
    /// Cancellations are always behind us.
    #[default]
    RiskAverse,
    /// `f(x) = x^n`, `n > 0` (`n = 1`: proportional; `n = 2`: hftbacktest's "square").
    Power(f64),
    /// `f(x) = ln(1 + x)`.
    Log,
}

impl QueueModel {
    /// Parse `"risk_averse"`, `"power"` (n = 2), `"power:N"`, `"log"`.
    pub fn parse(s: &str) -> crate::CoreResult<Self> {
        let bad = |why: String| crate::CoreError::InvalidArgument {
            name: "queue_model",
            reason: why,
        };
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "risk_averse" | "riskaverse" | "risk-averse" => Ok(Self::RiskAverse),
            "log" => Ok(Self::Log),
            "power" => Ok(Self::Power(2.0)),
            _ => match s.strip_prefix("power:") {
                Some(n) => match n.parse::<f64>() {
                    Ok(n) if n.is_finite() && n > 0.0 => Ok(Self::Power(n)),
                    _ => Err(bad(format!(
                        "power exponent must be a positive number, got {n:?}"
                    ))),
                },
                None => Err(bad(format!(
                    "expected 'risk_averse', 'power', 'power:N' or 'log', got {s:?}"
                ))),
            },
        }
    }

    #[inline]
    fn f(self, x: f64) -> f64 {
        match self {
            Self::RiskAverse => 0.0,
            Self::Power(n) => x.powf(n),
            Self::Log => x.ln_1p(),
        }
    }

    /// Share of a cancellation taken from ahead of us, for `front` ahead and `back` behind.
    pub fn prob_ahead(self, front: i64, back: i64) -> f64 {
        if matches!(self, Self::RiskAverse) || front <= 0 {
            return 0.0;
        }
        if back <= 0 {
            return 1.0;
        }
        let (ff, fb) = (self.f(front as f64), self.f(back as f64));
        if ff + fb > 0.0 { ff / (ff + fb) } else { 0.0 }
    }
}

/// Where one resting order stands in the queue of its price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct QueuePos {
    /// Visible quantity estimated ahead of us.
    pub ahead: i64,
    /// The level's visible quantity when last seen.
    pub level_qty: i64,
    /// Traded at our price since the level last changed (see the module docs).
    pub traded_since: i64,
}

impl QueuePos {
    /// Join the back of a level whose visible quantity is `level_qty`.
    #[inline]
    pub fn join(level_qty: i64) -> Self {
        let q = level_qty.max(0);
        Self {
            ahead: q,
            level_qty: q,
            traded_since: 0,
        }
    }

    /// A trade of `qty` printed at our price: consume the queue ahead first. Returns the quantity
    /// that reaches us (the caller fills at most its leaves).
    #[inline]
    pub fn on_trade(&mut self, qty: i64) -> i64 {
        let qty = qty.max(0);
        let eaten = qty.min(self.ahead);
        self.ahead -= eaten;
        self.traded_since = self.traded_since.saturating_add(qty);
        qty - eaten
    }

    /// The level's visible quantity became `new_qty` (a depth update at our price; 0 when the
    /// level vanished). Decreases beyond the trades seen are cancellations, placed by `model`.
    #[inline]
    pub fn on_level(&mut self, model: QueueModel, new_qty: i64) {
        let new_qty = new_qty.max(0);
        let prev = self.level_qty;
        if new_qty < prev {
            let chg = prev - new_qty;
            let explained = chg.min(self.traded_since);
            let cancel = chg - explained;
            if cancel > 0 {
                let front = self.ahead;
                // The traded quantity left from the front: what remains behind us is the rest.
                let back = (prev - explained - front).max(0);
                let p = model.prob_ahead(front, back);
                let mut from_front = (p * cancel as f64).floor() as i64;
                let behind = cancel - from_front;
                if behind > back {
                    from_front += behind - back;
                }
                self.ahead -= from_front.min(self.ahead);
            }
        }
        self.traded_since = 0;
        self.level_qty = new_qty;
        self.ahead = self.ahead.min(new_qty);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trades_consume_ahead_then_reach_us() {
        let mut q = QueuePos::join(10);
        assert_eq!(q.on_trade(4), 0);
        assert_eq!(q.ahead, 6);
        assert_eq!(q.on_trade(9), 3);
        assert_eq!(q.ahead, 0);
        // The level then shrinks by the traded 13 (clamped to its 10): not a cancellation.
        q.on_level(QueueModel::RiskAverse, 0);
        assert_eq!((q.ahead, q.traded_since, q.level_qty), (0, 0, 0));
    }

    #[test]
    fn risk_averse_ignores_cancellations_but_clamps() {
        let mut q = QueuePos::join(10);
        q.on_level(QueueModel::RiskAverse, 8); // 2 canceled: assumed behind
        assert_eq!(q.ahead, 8); // clamped to the visible 8
        q.on_level(QueueModel::RiskAverse, 20); // joins behind us
        assert_eq!(q.ahead, 8);
        q.on_level(QueueModel::RiskAverse, 15); // 5 canceled, assumed behind
        assert_eq!(q.ahead, 8);
        q.on_level(QueueModel::RiskAverse, 5); // can't have 8 ahead of a visible 5
        assert_eq!(q.ahead, 5);
    }

    #[test]
    fn power_model_splits_by_position() {
        // Just joined: nothing behind, every cancellation is ahead.
        let mut q = QueuePos::join(10);
        q.on_level(QueueModel::Power(2.0), 7);
        assert_eq!(q.ahead, 7);
        // 7 ahead, 13 behind after growth; cancel 10: p = 49 / (49 + 169) = 0.2248 -> 2 ahead.
        q.on_level(QueueModel::Power(2.0), 20);
        q.on_level(QueueModel::Power(2.0), 10);
        assert_eq!(q.ahead, 5);
        // Power(1): p = 5/(5+5) = 0.5 of a 4-lot cancel -> 2 ahead.
        let mut q = QueuePos {
            ahead: 5,
            level_qty: 10,
            traded_since: 0,
        };
        q.on_level(QueueModel::Power(1.0), 6);
        assert_eq!(q.ahead, 3);
    }

    #[test]
    fn log_model_and_trades_not_double_counted() {
        let mut q = QueuePos {
            ahead: 30,
            level_qty: 100,
            traded_since: 0,
        };
        assert_eq!(q.on_trade(10), 0);
        assert_eq!(q.ahead, 20);
        // Level drops by 30: 10 of it were the trade, 20 are cancellations.
        // p = ln(21) / (ln(21) + ln(71)) = 0.4167 -> floor(8.33) = 8 ahead.
        q.on_level(QueueModel::Log, 70);
        assert_eq!(q.ahead, 12);
        assert_eq!(q.traded_since, 0);
    }

    #[test]
    fn excess_behind_comes_from_ahead() {
        // 8 ahead, 2 behind; 6 canceled with p small: at most 2 can be behind.
        let mut q = QueuePos {
            ahead: 8,
            level_qty: 10,
            traded_since: 0,
        };
        q.on_level(QueueModel::Power(0.1), 4);
        assert_eq!(q.ahead, 4);
    }

    #[test]
    fn parse_names() {
        assert_eq!(
            QueueModel::parse("risk_averse").unwrap(),
            QueueModel::RiskAverse
        );
        assert_eq!(
            QueueModel::parse("power:3").unwrap(),
            QueueModel::Power(3.0)
        );
        assert_eq!(QueueModel::parse("LOG").unwrap(), QueueModel::Log);
        assert!(QueueModel::parse("power:-1").is_err());
        assert!(QueueModel::parse("fifo").is_err());
    }
}
