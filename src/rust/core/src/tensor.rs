//! A dense, row-major, batch-first tensor whose buffer is reused across steps.

use crate::Real;

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
    v.try_reserve_exact(n)
        .map_err(|_| format!("{what}: cannot allocate {n} values ({:.1} GiB)", (n * std::mem::size_of::<T>()) as f64 / (1u64 << 30) as f64))?;
    v.resize(n, T::zero());
    Ok(v)
}

/// Converts an R-style column-major array with dims `(n, d1, ..., dm)` into a row-major
/// tensor. `conv` turns each source element into `f32`, returning `None` for NA/NaN/Inf;
/// the error is the column-major index of the first such element.
pub fn from_col_major<S: Copy>(dims: &[usize], src: &[S], conv: impl Fn(S) -> Option<f32>) -> Result<Tensor<f32>, usize> {
    let n = dims.first().copied().unwrap_or(0);
    let sample: &[usize] = if dims.len() > 1 { &dims[1..] } else { &[1] };
    let s: usize = sample.iter().product();
    assert_eq!(n * s, src.len(), "from_col_major: dims do not match data length");
    // position, within a row-major sample, of each column-major sample index
    let mut perm = vec![0usize; s];
    let mut strides = vec![1usize; sample.len()];
    for a in (0..sample.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * sample[a + 1];
    }
    let mut idx = vec![0usize; sample.len()];
    for p in perm.iter_mut() {
        *p = idx.iter().zip(&strides).map(|(i, st)| i * st).sum();
        for a in 0..sample.len() {
            idx[a] += 1;
            if idx[a] < sample[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    let mut out = vec![0f32; n * s];
    const BLOCK: usize = 64;
    let mut i0 = 0;
    while i0 < n {
        let i1 = (i0 + BLOCK).min(n);
        for (q, &pq) in perm.iter().enumerate() {
            let col = &src[q * n..(q + 1) * n];
            for i in i0..i1 {
                match conv(col[i]) {
                    Some(v) => out[i * s + pq] = v,
                    None => return Err(q * n + i),
                }
            }
        }
        i0 = i1;
    }
    let mut shape = vec![n];
    shape.extend_from_slice(sample);
    Ok(Tensor { shape, data: out })
}

/// The inverse of [`from_col_major`]: row-major tensor to column-major doubles (R's layout).
pub fn to_col_major<T: Real>(t: &Tensor<T>) -> Vec<f64> {
    let n = t.rows();
    let sample = &t.shape[1..];
    let s = t.row_len();
    let mut strides = vec![1usize; sample.len()];
    for a in (0..sample.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * sample[a + 1];
    }
    let mut out = vec![0f64; n * s];
    let mut idx = vec![0usize; sample.len()];
    for q in 0..s {
        let pq: usize = idx.iter().zip(&strides).map(|(i, st)| i * st).sum();
        for i in 0..n {
            out[q * n + i] = t.data[i * s + pq].to_f64().unwrap_or(f64::NAN);
        }
        for a in 0..sample.len() {
            idx[a] += 1;
            if idx[a] < sample[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

/// Column gather on a column-major `rows x n` matrix: column `j` of `dst` is column
/// `cols[j] - 1` of `src` (1-based, as R gives them). Used by `array_reshape()`.
pub fn permute_columns<S: Copy>(src: &[S], rows: usize, cols: &[i32], dst: &mut [S]) -> Result<(), String> {
    let n = if rows == 0 { 0 } else { src.len() / rows };
    if dst.len() != rows * cols.len() {
        return Err(format!("output has {} values, expected {}", dst.len(), rows * cols.len()));
    }
    for (j, &c) in cols.iter().enumerate() {
        let c = c as usize;
        if c == 0 || c > n {
            return Err(format!("column index {c} is outside 1..{n}"));
        }
        dst[j * rows..(j + 1) * rows].copy_from_slice(&src[(c - 1) * rows..c * rows]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn col_major_matrix_round_trip_non_square() {
        // R matrix(1:6, 2, 3): rows (1,3,5) and (2,4,6)
        let src: Vec<f64> = (1..=6).map(|v| v as f64).collect();
        let t = from_col_major(&[2, 3], &src, |v| Some(v as f32)).unwrap();
        assert_eq!(t.data, vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        assert_eq!(to_col_major(&t), src);
    }

    #[test]
    fn col_major_3d_is_row_major_per_sample() {
        // R array(1:24, c(2, 3, 4)): x[i, r, c] = 1 + (i-1) + 2*(r-1) + 6*(c-1)
        let src: Vec<f64> = (1..=24).map(|v| v as f64).collect();
        let t = from_col_major(&[2, 3, 4], &src, |v| Some(v as f32)).unwrap();
        for i in 0..2 {
            for r in 0..3 {
                for c in 0..4 {
                    let want = 1 + i + 2 * r + 6 * c;
                    assert_eq!(t.data[i * 12 + r * 4 + c], want as f32);
                }
            }
        }
        assert_eq!(to_col_major(&t), src);
    }

    #[test]
    fn permute_columns_gathers_whole_columns() {
        let src = [1, 2, 3, 4, 5, 6]; // 2 x 3, columns (1,2) (3,4) (5,6)
        let mut dst = [0; 6];
        permute_columns(&src, 2, &[3, 1, 2], &mut dst).unwrap();
        assert_eq!(dst, [5, 6, 1, 2, 3, 4]);
        assert!(permute_columns(&src, 2, &[4, 1, 2], &mut dst).is_err());
    }

    #[test]
    fn col_major_reports_first_bad_value() {
        let src = [1.0, 2.0, f64::NAN, 4.0];
        let err = from_col_major(&[2, 2], &src, |v: f64| v.is_finite().then_some(v as f32)).unwrap_err();
        assert_eq!(err, 2);
    }

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
