//! When work is worth splitting in two between R's thread and the helper thread
//! ([`crate::forkjoin`]).
//!
//! Work is split in contiguous halves: a dense layer's forward pass and input gradient by
//! batch rows (bias, product and activation together), its kernel gradient by kernel rows
//! (the same halves the optimizer then updates, so each core updates what it computed),
//! and, in training, the forward pass of a wide first layer also by kernel rows (see
//! [`dense_kernel_row_halves`]); dropout masks, optimizer updates, batch gathering and
//! input conversion by halves of their data. Every element is computed exactly as on one
//! thread, so results never depend on the thread count.

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

/// Whether a dense layer's training forward pass on `m` rows sums two partial products,
/// one per half of the kernel's rows (input features), instead of one product; the halves
/// may then run on two threads. Decided by the shapes alone: the sum is ordered
/// differently from one product, and one thread must compute what two compute.
///
/// Split by batch rows, the forward pass has each core read all of the kernel, half of it
/// just updated by the other core (the optimizer splits a kernel by rows). Split by kernel
/// rows, each core reads only the half it updates and its gradient computes from; what
/// crosses between the cores instead is half the input's columns of the other core's rows
/// and the other core's partial sums for its own rows: less when the batch has fewer rows
/// than the layer has inputs. Only for a layer that needs no input gradient (the first
/// layer trained), which would read the whole kernel again. Measured on the tutorial's
/// first layer over a training step (784 -> 256, batch 128, RMSprop, two threads;
/// `examples/split_probe`): 465-495 against 519-548 us; one thread the same.
pub fn dense_kernel_row_halves(m: usize, inputs: usize, units: usize, input_gradient: bool) -> bool {
    !input_gradient && m >= 32 && m < inputs && m * inputs * units >= MIN_PRODUCT_WORK
}

/// Whether elementwise work on `len` values is worth two threads now.
pub fn split_elementwise(len: usize) -> bool {
    len >= MIN_ELEMENTS && crate::linalg::may_split()
}
