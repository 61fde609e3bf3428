//! A dense, row-major, batch-first tensor whose buffer is reused across steps.

use crate::Real;

pub use crate::convert::{from_col_major, to_col_major, ColMajor, RValue, BLOCK};

/// N-d array stored row-major (C order); `shape[0]` is the batch axis.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensor<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

impl<T: Real> Tensor<T> {
    /// A zero tensor of the given shape.
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor { shape: shape.to_vec(), data: vec![T::zero(); shape.iter().product()] }
    }

    /// Wraps row-major data; panics when the length does not match the shape.
    pub fn from_vec(shape: &[usize], data: Vec<T>) -> Self {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "tensor data does not match shape");
        Tensor { shape: shape.to_vec(), data }
    }

    /// Reshapes to `shape`, growing the allocation only when it is too small.
    /// Contents are unspecified afterwards.
    pub fn resize(&mut self, shape: &[usize]) {
        let len: usize = shape.iter().product();
        if self.shape != shape {
            self.shape.clear();
            self.shape.extend_from_slice(shape);
        }
        self.data.resize(len, T::zero());
    }

    /// Same as [`Tensor::resize`] with a batch size and a per-sample shape.
    pub fn resize_batch(&mut self, rows: usize, sample_shape: &[usize]) {
        let len = rows * sample_shape.iter().product::<usize>();
        self.shape.clear();
        self.shape.push(rows);
        self.shape.extend_from_slice(sample_shape);
        self.data.resize(len, T::zero());
    }

    /// Number of samples (the batch axis).
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// Elements per sample.
    pub fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// Size of the last axis.
    pub fn last_dim(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }
}

/// Weights per layer beyond which building refuses (2^31 values: 8 GiB of f32), so that an
/// absurd size is an error instead of an allocation failure that would abort R.
pub const MAX_WEIGHTS: usize = 1 << 31;

/// A zero vector of `n` values, or an error naming `what` when it is too large or memory
/// cannot be had (never an abort).
pub fn try_zeros<T: Real>(n: usize, what: &str) -> Result<Vec<T>, String> {
    if n > MAX_WEIGHTS {
        return Err(format!("{what}: {n} values is too many (at most {MAX_WEIGHTS} per weight)"));
    }
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        format!(
            "{what}: cannot allocate {n} values ({:.1} GiB)",
            (n * std::mem::size_of::<T>()) as f64 / (1u64 << 30) as f64
        )
    })?;
    v.resize(n, T::zero());
    Ok(v)
}

/// Hints the CPU to bring `run` into this core's cache ready to be written: another core's
/// copies are dropped now rather than at the first write (PREFETCHW; a no-op where there is
/// no such instruction).
#[inline]
pub(crate) fn prefetch_for_write<S>(run: &[S]) {
    #[cfg(target_arch = "x86_64")]
    for line in run.chunks(64 / std::mem::size_of::<S>().max(1)) {
        // SAFETY: prefetching has no effect on memory and cannot fault.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_ET0 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = run;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_keeps_allocation_when_shrinking() {
        let mut t = Tensor::<f32>::zeros(&[128, 784]);
        let ptr = t.data.as_ptr();
        t.resize_batch(100, &[784]);
        assert_eq!(t.shape, vec![100, 784]);
        assert_eq!(t.data.len(), 78400);
        assert_eq!(t.data.as_ptr(), ptr);
        assert_eq!(t.rows(), 100);
        assert_eq!(t.row_len(), 784);
    }
}
