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

    /// `C = alpha * A * B + beta * C` for strided matrices (`A` is `m x k`, `B` is `k x n`).
    ///
    /// # Safety
    /// The pointers and strides must describe valid, non-overlapping (for `C`) matrices.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_raw(
        m: usize, k: usize, n: usize, alpha: Self,
        a: *const Self, rsa: isize, csa: isize,
        b: *const Self, rsb: isize, csb: isize,
        beta: Self, c: *mut Self, rsc: isize, csc: isize,
    );
}

impl Real for f32 {
    unsafe fn gemm_raw(
        m: usize, k: usize, n: usize, alpha: f32, a: *const f32, rsa: isize, csa: isize,
        b: *const f32, rsb: isize, csb: isize, beta: f32, c: *mut f32, rsc: isize, csc: isize,
    ) {
        matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
}

impl Real for f64 {
    unsafe fn gemm_raw(
        m: usize, k: usize, n: usize, alpha: f64, a: *const f64, rsa: isize, csa: isize,
        b: *const f64, rsb: isize, csb: isize, beta: f64, c: *mut f64, rsc: isize, csc: isize,
    ) {
        matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
    }
}
