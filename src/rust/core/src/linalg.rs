//! Row-major matrix products on flat slices, the only place the core multiplies matrices.

use crate::Real;

/// `C (m x n) = alpha * op(A) * op(B) + beta * C`, all row-major.
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
    if m == 0 || n == 0 {
        return;
    }
    let (rsa, csa) = if trans_a { (1, m as isize) } else { (k as isize, 1) };
    let (rsb, csb) = if trans_b { (1, k as isize) } else { (n as isize, 1) };
    // SAFETY: lengths checked above; strides describe the row-major layouts documented.
    unsafe {
        T::gemm_raw(m, k, n, alpha, a.as_ptr(), rsa, csa, b.as_ptr(), rsb, csb, beta, c.as_mut_ptr(), n as isize, 1);
    }
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
    fn beta_accumulates() {
        let a = [1.0f32, 2.0];
        let b = [3.0f32, 4.0];
        let mut c = [10.0f32];
        matmul(1, 2, 1, 1.0, &a, false, &b, false, 1.0, &mut c);
        assert_eq!(c[0], 21.0);
    }
}
