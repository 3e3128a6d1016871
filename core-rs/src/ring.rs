//! Lock-free SPSC ring buffer.
