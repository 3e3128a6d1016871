//! The fixed window of the streaming indicators: the last `cap` values, allocated once.

/// A ring of exactly `cap` slots (allocated at construction, never again). `push` overwrites
/// the oldest value once full and returns it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Window {
    buf: Box<[f64]>,
    head: usize,
    len: usize,
}

impl Window {
    /// A window of `cap >= 1` slots.
    pub fn new(cap: usize) -> Self {
        Self {
            buf: vec![0.0; cap.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    /// Number of values held (at most the capacity).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no value is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The oldest value held (the one the next `push` on a full window evicts).
    #[inline]
    pub fn oldest(&self) -> f64 {
        let cap = self.buf.len();
        let i = if self.len == cap { self.head } else { 0 };
        self.buf[i]
    }

    /// Append `x`; once full, the oldest value is overwritten.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.buf[self.head] = x;
        self.head += 1;
        if self.head == self.buf.len() {
            self.head = 0;
        }
        if self.len < self.buf.len() {
            self.len += 1;
        }
    }

    /// The held values from oldest to newest, as two slices.
    #[inline]
    pub fn as_slices(&self) -> (&[f64], &[f64]) {
        if self.len < self.buf.len() {
            (&self.buf[..self.len], &[])
        } else {
            (&self.buf[self.head..], &self.buf[..self.head])
        }
    }

    /// Forget every value (keeps the storage).
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_cap_values_in_order() {
        let mut w = Window::new(3);
        assert!(w.is_empty());
        for v in 1..=5 {
            w.push(v as f64);
        }
        assert_eq!(w.len(), 3);
        assert_eq!(w.oldest(), 3.0);
        let (a, b) = w.as_slices();
        let all: Vec<f64> = a.iter().chain(b).copied().collect();
        assert_eq!(all, vec![3.0, 4.0, 5.0]);
        w.clear();
        w.push(9.0);
        assert_eq!(w.oldest(), 9.0);
        assert_eq!(w.as_slices().0, &[9.0]);
    }
}
