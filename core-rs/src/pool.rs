//! Object pool.
