//! Splitting a layer's work in two between R's thread and the helper thread.
//!
//! A dense layer's output columns (its units) are cut in two [`Part`]s at a fixed point
//! that depends only on the width, so the same thread always computes the same units:
//! their slice of the kernel, of its gradient and of the optimizer's moments stays in that
//! core's cache from the forward pass through the update. Each output element is computed
//! exactly as on one thread, so results never depend on the thread count.
//!
//! [`SharedCols`] lends the two column parts of one row-major buffer to the two threads;
//! the buffer's rows interleave the parts, which plain slices cannot express.

use std::marker::PhantomData;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

/// Below this many multiply-adds, splitting a product (with the elementwise work around
/// it) costs more than it saves: the tutorial's 128 x 128 x 10 output layer stays whole.
pub const MIN_PRODUCT_WORK: usize = 1 << 18;

/// Below this many elements, splitting elementwise work (dropout masks, optimizer
/// updates) costs more than it saves.
pub const MIN_ELEMENTS: usize = 1 << 13;

/// One share of a split job: part `index` of `count` (1 or 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    index: usize,
    count: usize,
}

impl Part {
    /// The whole job, on one thread.
    pub const WHOLE: Part = Part { index: 0, count: 1 };

    pub fn index(self) -> usize {
        self.index
    }

    /// This part's columns out of `n`. The cut is a multiple of 16 (whole cache lines of
    /// `f32`) and depends only on `n`.
    pub fn cols(self, n: usize) -> Range<usize> {
        if self.count == 1 {
            return 0..n;
        }
        let cut = split_point(n);
        if self.index == 0 {
            0..cut
        } else {
            cut..n
        }
    }

    /// This part's rows out of `m` (first half, second half).
    pub fn rows(self, m: usize) -> Range<usize> {
        if self.count == 1 {
            return 0..m;
        }
        let cut = m / 2;
        if self.index == 0 {
            0..cut
        } else {
            cut..m
        }
    }
}

fn split_point(n: usize) -> usize {
    ((n / 2).div_ceil(16) * 16).min(n)
}

/// Whether a product of `work` multiply-adds with `n` output columns is worth two threads
/// now: more than one thread allowed, not on a thread that asked for
/// [`crate::linalg::sequential`], and big and wide enough.
pub fn split_product(work: usize, n: usize) -> bool {
    n >= 32 && work >= MIN_PRODUCT_WORK && crate::linalg::may_split()
}

/// Whether elementwise work on `len` values is worth two threads now.
pub fn split_elementwise(len: usize) -> bool {
    len >= MIN_ELEMENTS && crate::linalg::may_split()
}

/// Runs `f` on both parts (part 0 here, part 1 on the helper thread) when `split`, else
/// on [`Part::WHOLE`] here.
pub fn run(split: bool, f: impl Fn(Part) + Sync) {
    if split {
        crate::forkjoin::join(|| f(Part { index: 0, count: 2 }), || f(Part { index: 1, count: 2 }));
    } else {
        f(Part::WHOLE);
    }
}

/// A row-major matrix whose column parts are handed to different threads.
pub struct SharedCols<'a, T> {
    ptr: *mut T,
    rows: usize,
    cols: usize,
    /// Which parts (of a two-way split) are lent out; the whole claims both.
    claimed: [AtomicBool; 2],
    _data: PhantomData<&'a mut [T]>,
}

// SAFETY: the parts handed out never overlap (checked by `claimed`), so sharing the
// matrix between threads is sharing disjoint `&mut` access.
unsafe impl<T: Send> Sync for SharedCols<'_, T> {}
unsafe impl<T: Send> Send for SharedCols<'_, T> {}

impl<'a, T> SharedCols<'a, T> {
    /// `data` as a matrix of rows of `cols` values (`data.len()` a multiple of `cols`).
    pub fn new(data: &'a mut [T], cols: usize) -> Self {
        let rows = data.len().checked_div(cols).unwrap_or(0);
        assert_eq!(rows * cols, data.len(), "SharedCols: {} values are not rows of {cols}", data.len());
        SharedCols {
            ptr: data.as_mut_ptr(),
            rows,
            cols,
            claimed: [AtomicBool::new(false), AtomicBool::new(false)],
            _data: PhantomData,
        }
    }

    /// Lends `part`'s columns. Panics if they overlap a part that is still lent out.
    pub fn part(&self, part: Part) -> ColsMut<'_, T> {
        let slots = if part.count == 1 { 0..2 } else { part.index..part.index + 1 };
        for s in slots.clone() {
            if self.claimed[s].swap(true, Ordering::Acquire) {
                for r in slots.start..s {
                    self.claimed[r].store(false, Ordering::Release);
                }
                panic!("SharedCols: part {part:?} is already lent out");
            }
        }
        let cols = part.cols(self.cols);
        ColsMut {
            // SAFETY: `cols.start <= self.cols`, inside (or one past) the buffer.
            ptr: unsafe { self.ptr.add(cols.start) },
            rows: self.rows,
            width: cols.len(),
            stride: self.cols,
            cols,
            release: &self.claimed[slots],
            _data: PhantomData,
        }
    }
}

/// Mutable access to one column part of a [`SharedCols`].
pub struct ColsMut<'s, T> {
    ptr: *mut T,
    rows: usize,
    width: usize,
    stride: usize,
    cols: Range<usize>,
    release: &'s [AtomicBool],
    _data: PhantomData<&'s mut [T]>,
}

impl<T> ColsMut<'_, T> {
    /// The columns of the whole matrix this part covers.
    pub fn cols(&self) -> Range<usize> {
        self.cols.clone()
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Row `i`'s values in this part.
    pub fn row(&mut self, i: usize) -> &mut [T] {
        assert!(i < self.rows, "ColsMut: row {i} of {}", self.rows);
        // SAFETY: in bounds (row i of the buffer, this part's columns), and this part is
        // lent to us alone; the borrow of `self` keeps it unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(i * self.stride), self.width) }
    }

    /// This part as a faer matrix view (row stride = the full width).
    pub fn mat(&mut self) -> faer::MatMut<'_, T> {
        // SAFETY: rows x width elements at row stride `stride` lie inside the buffer and
        // belong to this part alone.
        unsafe { faer::MatMut::from_raw_parts_mut(self.ptr, self.rows, self.width, self.stride as isize, 1) }
    }
}

impl<T> ColsMut<'_, T> {
    /// This part as a read-only faer matrix view.
    pub fn mat_ref(&self) -> faer::MatRef<'_, T> {
        // SAFETY: as for `mat`; the shared borrow of `self` excludes writes meanwhile.
        unsafe { faer::MatRef::from_raw_parts(self.ptr, self.rows, self.width, self.stride as isize, 1) }
    }
}

impl<T> Drop for ColsMut<'_, T> {
    fn drop(&mut self) {
        for c in self.release {
            c.store(false, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_columns_once_at_a_cache_line_cut() {
        let whole = Part::WHOLE;
        let (p0, p1) = (Part { index: 0, count: 2 }, Part { index: 1, count: 2 });
        for n in [1, 10, 32, 100, 128, 256, 784] {
            assert_eq!(whole.cols(n), 0..n);
            assert_eq!(p0.cols(n).end, p1.cols(n).start);
            assert_eq!(p1.cols(n).end, n);
            assert!(p0.cols(n).end % 16 == 0 || p0.cols(n).end == n);
        }
        assert_eq!(p0.cols(256), 0..128);
        assert_eq!(p0.rows(128), 0..64);
        assert_eq!(p1.rows(127), 63..127);
    }

    #[test]
    fn two_threads_write_their_own_columns() {
        let mut data = vec![0u32; 7 * 40];
        let shared = SharedCols::new(&mut data, 40);
        crate::forkjoin::join(
            || {
                let mut p = shared.part(Part { index: 0, count: 2 });
                for i in 0..p.rows() {
                    p.row(i).iter_mut().for_each(|v| *v = 1);
                }
            },
            || {
                let mut p = shared.part(Part { index: 1, count: 2 });
                for i in 0..p.rows() {
                    p.row(i).iter_mut().for_each(|v| *v = 2);
                }
            },
        );
        for row in data.chunks(40) {
            assert!(row[..32].iter().all(|v| *v == 1) && row[32..].iter().all(|v| *v == 2));
        }
    }

    #[test]
    #[should_panic(expected = "already lent out")]
    fn overlapping_parts_are_refused() {
        let mut data = vec![0u8; 64];
        let shared = SharedCols::new(&mut data, 64);
        let _a = shared.part(Part { index: 1, count: 2 });
        let _b = shared.part(Part::WHOLE);
    }
}
