//! Row-major matrix products on flat slices, the only place the core multiplies matrices.
//!
//! faer's kernels (AVX2/AVX-512, chosen at run time) were picked by measurement on the
//! tutorial's shapes. With more than one thread allowed ([`set_threads`]), products large
//! enough to gain are split in two between the calling thread and one helper thread
//! ([`crate::forkjoin`]); small ones, and everything on a thread that asked for
//! [`sequential`] (the generator worker, so that R's thread keeps a core), run on one
//! thread. Each element is computed the same way either way, so results do not depend on
//! the thread count.

use crate::Real;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SEQUENTIAL: Cell<bool> = const { Cell::new(false) };
}

/// Threads the matrix products may use (default: all cores).
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Bounds the threads used by matrix products (0 = all cores; 1 = this thread only).
pub fn set_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

/// Runs `f` with this thread's matrix products on one thread.
pub fn sequential<R>(f: impl FnOnce() -> R) -> R {
    let old = SEQUENTIAL.with(|s| s.replace(true));
    let r = f();
    SEQUENTIAL.with(|s| s.set(old));
    r
}

/// Below this many multiply-adds, splitting a product costs more than it saves.
const PARALLEL_MIN_WORK: usize = 1 << 20;

fn split_in_two(work: usize, n: usize) -> bool {
    threads() > 1 && work >= PARALLEL_MIN_WORK && n >= 32 && !SEQUENTIAL.with(|s| s.get())
}

/// `C (m x n) = alpha * op(A) * op(B) + beta * C`, all row-major, with `alpha` 1 and
/// `beta` 0 (replace) or 1 (accumulate).
///
/// `op(A)` is `m x k`: `A` is stored `m x k`, or `k x m` when `trans_a`.
/// `op(B)` is `k x n`: `B` is stored `k x n`, or `n x k` when `trans_b`.
#[allow(clippy::too_many_arguments)]
pub fn matmul<T: Real>(
    m: usize, k: usize, n: usize, alpha: T,
    a: &[T], trans_a: bool, b: &[T], trans_b: bool,
    beta: T, c: &mut [T],
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matmul: slice too short");
    assert!(alpha == T::one() && (beta == T::zero() || beta == T::one()), "matmul: alpha 1, beta 0 or 1");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if beta == T::zero() {
            c[..m * n].iter_mut().for_each(|v| *v = T::zero());
        }
        return;
    }
    use faer::{MatMut, MatRef};
    let acc = beta == T::one();
    let am = if trans_a {
        MatRef::from_row_major_slice(&a[..m * k], k, m).transpose()
    } else {
        MatRef::from_row_major_slice(&a[..m * k], m, k)
    };
    let bm = if trans_b {
        MatRef::from_row_major_slice(&b[..k * n], n, k).transpose()
    } else {
        MatRef::from_row_major_slice(&b[..k * n], k, n)
    };
    let cm = MatMut::from_row_major_slice_mut(&mut c[..m * n], m, n);
    if !split_in_two(m * n * k, n) {
        T::gemm_view(cm, am, bm, acc);
        return;
    }
    // Split C's (and B's) columns in two: the halves are independent and each element is
    // computed exactly as in the one-thread product, so results do not depend on threads.
    let n1 = (n / 2).div_ceil(16) * 16;
    let (c1, c2) = cm.split_at_col_mut(n1);
    let (b1, b2) = bm.split_at_col(n1);
    let right = std::sync::Mutex::new(Some(c2));
    crate::forkjoin::join(
        || T::gemm_view(c1, am, b1, acc),
        || {
            if let Some(c2) = right.lock().unwrap().take() {
                T::gemm_view(c2, am, b2, acc);
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

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
                matmul(m, k, n, 1.0, &a, ta, &b, tb, 0.0, &mut c);
                let want = naive(m, k, n, &a, ta, &b, tb);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn split_products_are_bitwise_equal_to_one_thread() {
        let (m, k, n) = (128, 784, 256);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 / 997.0 - 0.5).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 104729) % 1000) as f32 / 991.0 - 0.5).collect();
        for &(ta, tb) in &[(false, false), (true, false), (false, true)] {
            let mut one = vec![0f32; m * n];
            sequential(|| matmul(m, k, n, 1.0, &a, ta, &b, tb, 0.0, &mut one));
            let mut two = vec![0f32; m * n];
            set_threads(2);
            matmul(m, k, n, 1.0, &a, ta, &b, tb, 0.0, &mut two);
            assert_eq!(one, two);
        }
    }

    #[test]
    fn beta_accumulates() {
        let a = [1.0f32, 2.0];
        let b = [3.0f32, 4.0];
        let mut c = [10.0f32];
        matmul(1, 2, 1, 1.0, &a, false, &b, false, 1.0, &mut c);
        assert_eq!(c[0], 21.0);
    }
}
