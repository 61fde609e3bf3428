//! When work is worth splitting in two between R's thread and the helper thread
//! ([`crate::forkjoin`]).
//!
//! Work is split in contiguous halves: a dense layer's forward pass and input gradient by
//! batch rows (bias, product and activation together), its kernel gradient by kernel rows
//! (the same halves the optimizer then updates, so each core updates what it computed),
//! dropout masks, optimizer updates, batch gathering and input conversion by halves of
//! their data. Every element is computed exactly as on one thread, so results never
//! depend on the thread count.

/// Below this many multiply-adds, splitting a product (with the elementwise work around
/// it) costs more than it saves (measured: the tutorial's 128 x 128 x 10 output layer,
/// 164k, gains a little from two threads).
pub const MIN_PRODUCT_WORK: usize = 1 << 17;

/// Below this many elements, splitting elementwise work (dropout masks, optimizer
/// updates) costs more than it saves.
pub const MIN_ELEMENTS: usize = 1 << 13;

/// Whether a product of `work` multiply-adds over `rows` rows is worth two threads now:
/// more than one thread allowed, not on a thread that asked for
/// [`crate::linalg::sequential`], and big enough.
pub fn split_product(work: usize, rows: usize) -> bool {
    rows >= 32 && work >= MIN_PRODUCT_WORK && crate::linalg::may_split()
}

/// Whether elementwise work on `len` values is worth two threads now.
pub fn split_elementwise(len: usize) -> bool {
    len >= MIN_ELEMENTS && crate::linalg::may_split()
}
