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

    /// `C = A * B` (or `C += A * B` when `accumulate`) on faer views, on this thread.
    /// See [`crate::linalg::gemm`] and [`crate::linalg::op`] for views of row-major slices.
    fn gemm_view(c: faer::MatMut<'_, Self>, a: faer::MatRef<'_, Self>, b: faer::MatRef<'_, Self>, accumulate: bool);
}

macro_rules! impl_real {
    ($t:ty) => {
        impl Real for $t {
            fn gemm_view(c: faer::MatMut<'_, $t>, a: faer::MatRef<'_, $t>, b: faer::MatRef<'_, $t>, accumulate: bool) {
                let accum = if accumulate { faer::Accum::Add } else { faer::Accum::Replace };
                faer::linalg::matmul::matmul(c, accum, a, b, 1.0 as $t, faer::Par::Seq);
            }
        }
    };
}

impl_real!(f32);
impl_real!(f64);
