//! Matrix products on faer views of row-major slices, the only place the core multiplies
//! matrices.
//!
//! faer's kernels (AVX2/AVX-512, chosen at run time) were picked by measurement on the
//! tutorial's shapes. Products always run on the calling thread; layers split their work
//! (products and the elementwise work around them) in two halves (see [`crate::parts`])
//! when more than one thread is allowed ([`set_threads`]) and the thread has not asked for
//! [`sequential`] (the generator worker does, so that R's thread keeps a core). Half the
//! rows of a product are computed exactly like the same rows of the whole product, so
//! results do not depend on the thread count.

use crate::Real;
use faer::{MatMut, MatRef};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SEQUENTIAL: Cell<bool> = const { Cell::new(false) };
}

/// Threads the core may use (default: all cores).
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => cores(),
        n => n,
    }
}

/// The cores this process may use, asked once: the standard library reads cgroup files
/// on every call, which cost more than a layer's work when asked per layer. Cached without
/// a lock (threads that race both ask and store the same answer): a process forked while
/// another thread held a lock here would wait for that thread forever.
fn cores() -> usize {
    static CORES: AtomicUsize = AtomicUsize::new(0);
    match CORES.load(Ordering::Relaxed) {
        0 => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            CORES.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Bounds the threads the core uses (0 = all cores; 1 = this thread only).
pub fn set_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

/// Runs `f` with this thread's work on this thread only.
pub fn sequential<R>(f: impl FnOnce() -> R) -> R {
    let old = SEQUENTIAL.with(|s| s.replace(true));
    let r = f();
    SEQUENTIAL.with(|s| s.set(old));
    r
}

/// Whether this thread may hand work to a second thread.
pub(crate) fn may_split() -> bool {
    threads() > 1 && !SEQUENTIAL.with(|s| s.get())
}

/// `op(A)` as an `m x k` view of a row-major slice: `A` stored `m x k`, or `k x m` when
/// `trans`.
pub fn op<T: Real>(a: &[T], m: usize, k: usize, trans: bool) -> MatRef<'_, T> {
    if trans {
        MatRef::from_row_major_slice(&a[..m * k], k, m).transpose()
    } else {
        MatRef::from_row_major_slice(&a[..m * k], m, k)
    }
}

/// `C = A B`, or `C += A B` when `accumulate`, on this thread.
pub fn gemm<T: Real>(c: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>, accumulate: bool) {
    if c.nrows() == 0 || c.ncols() == 0 {
        return;
    }
    if a.ncols() == 0 {
        if !accumulate {
            let mut c = c;
            for j in 0..c.ncols() {
                for i in 0..c.nrows() {
                    c[(i, j)] = T::zero();
                }
            }
        }
        return;
    }
    T::gemm_view(c, a, b, accumulate);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `C (m x n) = op(A) * op(B) + beta * C`, all row-major, with `beta` 0 (replace) or 1
    /// (accumulate), on this thread.
    ///
    /// `op(A)` is `m x k`: `A` is stored `m x k`, or `k x m` when `trans_a`.
    /// `op(B)` is `k x n`: `B` is stored `k x n`, or `n x k` when `trans_b`.
    #[allow(clippy::too_many_arguments)]
    fn matmul<T: Real>(
        m: usize,
        k: usize,
        n: usize,
        a: &[T],
        trans_a: bool,
        b: &[T],
        trans_b: bool,
        beta: T,
        c: &mut [T],
    ) {
        assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul: slice too short");
        assert!(beta == T::zero() || beta == T::one(), "matmul: beta 0 or 1");
        let cm = MatMut::from_row_major_slice_mut(&mut c[..m * n], m, n);
        gemm(cm, op(a, m, k, trans_a), op(b, k, n, trans_b), beta == T::one());
    }

    fn naive(m: usize, k: usize, n: usize, a: &[f64], ta: bool, b: &[f64], tb: bool) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av * bv;
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    #[test]
    fn all_transpose_combinations_match_naive() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        for &ta in &[false, true] {
            for &tb in &[false, true] {
                let mut c = vec![1.0; m * n];
                matmul(m, k, n, &a, ta, &b, tb, 0.0, &mut c);
                let want = naive(m, k, n, &a, ta, &b, tb);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn halves_on_two_threads_are_bitwise_equal_to_the_whole_product() {
        for &(m, k, n) in &[(128, 784, 256), (784, 128, 256), (128, 256, 100), (1024, 128, 10), (65, 33, 48)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 / 997.0 - 0.5).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 104729) % 1000) as f32 / 991.0 - 0.5).collect();
            for &(ta, tb) in &[(false, false), (true, false), (false, true)] {
                let mut whole = vec![0f32; m * n];
                matmul(m, k, n, &a, ta, &b, tb, 0.0, &mut whole);
                let (am, bm) = (op(&a, m, k, ta), op(&b, k, n, tb));
                // row halves (as the layers split) ...
                let mut rows = vec![0f32; m * n];
                let half = m / 2;
                let (c0, c1) = rows.split_at_mut(half * n);
                crate::forkjoin::join(
                    || gemm(MatMut::from_row_major_slice_mut(c0, half, n), am.subrows(0, half), bm, false),
                    || gemm(MatMut::from_row_major_slice_mut(c1, m - half, n), am.subrows(half, m - half), bm, false),
                );
                assert_eq!(whole, rows, "rows: {m}x{k}x{n} ta={ta} tb={tb}");
                // ... and column blocks
                let mut cols = vec![0f32; m * n];
                let cut = n / 2;
                let cm = MatMut::from_row_major_slice_mut(&mut cols, m, n);
                let (l, r) = cm.split_at_col_mut(cut);
                gemm(l, am, bm.subcols(0, cut), false);
                gemm(r, am, bm.subcols(cut, n - cut), false);
                assert_eq!(whole, cols, "cols: {m}x{k}x{n} ta={ta} tb={tb}");
            }
        }
    }

    #[test]
    fn beta_accumulates() {
        let a = [1.0f32, 2.0];
        let b = [3.0f32, 4.0];
        let mut c = [10.0f32];
        matmul(1, 2, 1, &a, false, &b, false, 1.0, &mut c);
        assert_eq!(c[0], 21.0);
    }
}
