//! The float type the core computes in: `f32` for training (like Keras' default floatx),
//! `f64` for finite-difference gradient checks.

/// A floating-point scalar the layers, losses and optimizers are generic over.
pub trait Real:
    num_traits::Float
    + num_traits::FromPrimitive
    + num_traits::ToPrimitive
    + Default
    + std::fmt::Debug
    + std::fmt::Display
    + Send
    + Sync
    + 'static
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
{
    /// Converts an `f64` constant.
    fn c(x: f64) -> Self {
        Self::from_f64(x).unwrap()
    }

    /// Row-major `C (m x n) = op(A) * op(B)` (or `C += ...` when `accumulate`), with `op`
    /// transposing when asked (`A` stored `k x m`, `B` stored `n x k`). See [`crate::linalg`].
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize, k: usize, n: usize, a: &[Self], trans_a: bool, b: &[Self], trans_b: bool,
        accumulate: bool, c: &mut [Self], par: faer::Par,
    );
}

macro_rules! impl_real {
    ($t:ty) => {
        impl Real for $t {
            fn gemm(
                m: usize, k: usize, n: usize, a: &[$t], trans_a: bool, b: &[$t], trans_b: bool,
                accumulate: bool, c: &mut [$t], par: faer::Par,
            ) {
                use faer::{Accum, MatMut, MatRef};
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
                let accum = if accumulate { Accum::Add } else { Accum::Replace };
                faer::linalg::matmul::matmul(cm, accum, am, bm, 1.0 as $t, par);
            }
        }
    };
}

impl_real!(f32);
impl_real!(f64);
