//! A dense, row-major, batch-first tensor whose buffer is reused across steps.

use crate::Real;
use std::ops::Range;

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

/// A value of an R vector the core reads: double or integer, with R's missing values.
pub trait RValue: Copy + Sync {
    fn to_f32(self) -> f32;
    /// NA (and, for doubles, NaN and Inf): values a model cannot take.
    fn is_bad(self) -> bool;
}

impl RValue for f64 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn is_bad(self) -> bool {
        !self.is_finite()
    }
}

impl RValue for i32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn is_bad(self) -> bool {
        self == i32::MIN
    }
}

/// Rows of an R-style column-major array with dims `(n, d1, ..., dm)`, read into row-major
/// `f32` (batch first) a range of rows at a time.
pub struct ColMajor<'a, S> {
    src: &'a [S],
    n: usize,
    sample: Vec<usize>,
    /// Position, within a row-major sample, of each column-major sample index.
    perm: Vec<usize>,
    /// Where, in `src`, the `n` values of each column-major sample index start (`q * n`
    /// for a plain array; anywhere for a view that permutes columns).
    starts: Vec<usize>,
}

impl<'a, S: RValue> ColMajor<'a, S> {
    pub fn new(dims: &[usize], src: &'a [S]) -> Self {
        let n = dims.first().copied().unwrap_or(0);
        let s: usize = dims.iter().skip(1).product();
        assert_eq!(n * s, src.len(), "ColMajor: dims do not match data length");
        Self::with_starts(dims, src, (0..s).map(|q| q * n).collect())
    }

    /// An array whose column-major column `q` (its `n` values for sample index `q`) is
    /// `src[starts[q]..starts[q] + n]`: a view that permutes the columns of `src`.
    pub fn with_starts(dims: &[usize], src: &'a [S], starts: Vec<usize>) -> Self {
        let n = dims.first().copied().unwrap_or(0);
        let sample: Vec<usize> = if dims.len() > 1 { dims[1..].to_vec() } else { vec![1] };
        let s: usize = sample.iter().product();
        assert_eq!(starts.len(), s, "ColMajor: one start per column");
        assert!(starts.iter().all(|&st| st + n <= src.len()), "ColMajor: a column lies outside the data");
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
        ColMajor { src, n, sample, perm, starts }
    }

    pub fn rows(&self) -> usize {
        self.n
    }

    /// Per-sample shape.
    pub fn sample_shape(&self) -> &[usize] {
        &self.sample
    }

    /// Rows `rows` into `out` (`rows.len()` row-major samples), on two threads when large.
    /// A missing value is an error: the column-major index of the first one in the whole
    /// array (R's order).
    pub fn read(&self, rows: Range<usize>, out: &mut [f32]) -> Result<(), usize> {
        let s = self.perm.len();
        assert_eq!(out.len(), rows.len() * s, "ColMajor::read: output size");
        let half = rows.len() / 2;
        let ok = if !crate::parts::split_elementwise(out.len()) || half == 0 {
            self.read_block(rows, out)
        } else {
            let (o0, o1) = out.split_at_mut(half * s);
            let mid = rows.start + half;
            let (mut ok0, mut ok1) = (true, true);
            crate::forkjoin::join(|| ok0 = self.read_block(rows.start..mid, o0), || ok1 = self.read_block(mid..rows.end, o1));
            ok0 && ok1
        };
        if ok {
            Ok(())
        } else {
            Err(self.first_bad())
        }
    }

    /// The whole array as a row-major tensor.
    pub fn to_tensor(&self) -> Result<Tensor<f32>, usize> {
        let mut out = vec![0f32; self.n * self.perm.len()];
        self.read(0..self.n, &mut out)?;
        let mut shape = vec![self.n];
        shape.extend_from_slice(&self.sample);
        Ok(Tensor { shape, data: out })
    }

    /// Column-major index of the first missing value.
    fn first_bad(&self) -> usize {
        let n = self.n;
        self.starts
            .iter()
            .enumerate()
            .find_map(|(q, &st)| self.src[st..st + n].iter().position(|v| v.is_bad()).map(|i| q * n + i))
            .unwrap_or(0)
    }

    /// Converts in tiles of 256 rows: each column's run of the tile is read contiguously
    /// while the tile's rows stay in cache. False if a value is missing.
    fn read_block(&self, rows: Range<usize>, out: &mut [f32]) -> bool {
        const ROWS: usize = 256;
        const AHEAD: usize = 4;
        let s = self.perm.len();
        let mut bad = false;
        let mut i0 = rows.start;
        while i0 < rows.end {
            let i1 = (i0 + ROWS).min(rows.end);
            let tile = &mut out[(i0 - rows.start) * s..(i1 - rows.start) * s];
            for (q, &pq) in self.perm.iter().enumerate() {
                // the source is read from memory one short run per column: ask for the run
                // AHEAD columns on now, so that its cache misses overlap this one's
                if let Some(&ahead) = self.starts.get(q + AHEAD) {
                    prefetch(&self.src[ahead + i0..ahead + i1]);
                }
                let st = self.starts[q];
                let col = &self.src[st + i0..st + i1];
                for (o, v) in tile[pq..].iter_mut().step_by(s).zip(col) {
                    bad |= v.is_bad();
                    *o = v.to_f32();
                }
            }
            i0 = i1;
        }
        !bad
    }
}

/// Hints the CPU to bring `run` into cache (a no-op where there is no such instruction).
#[inline]
fn prefetch<S>(run: &[S]) {
    #[cfg(target_arch = "x86_64")]
    for line in run.chunks(64 / std::mem::size_of::<S>().max(1)) {
        // SAFETY: prefetching has no effect on memory and cannot fault; the address is
        // inside `run` anyway.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = run;
}

/// Converts an R-style column-major array with dims `(n, d1, ..., dm)` into a row-major
/// tensor; a missing value is an error: its column-major index (the first in R's order).
pub fn from_col_major<S: RValue>(dims: &[usize], src: &[S]) -> Result<Tensor<f32>, usize> {
    ColMajor::new(dims, src).to_tensor()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn col_major_matrix_round_trip_non_square() {
        // R matrix(1:6, 2, 3): rows (1,3,5) and (2,4,6)
        let src: Vec<f64> = (1..=6).map(|v| v as f64).collect();
        let t = from_col_major(&[2, 3], &src).unwrap();
        assert_eq!(t.data, vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
        assert_eq!(to_col_major(&t), src);
    }

    #[test]
    fn col_major_3d_is_row_major_per_sample() {
        // R array(1:24, c(2, 3, 4)): x[i, r, c] = 1 + (i-1) + 2*(r-1) + 6*(c-1)
        let src: Vec<f64> = (1..=24).map(|v| v as f64).collect();
        let t = from_col_major(&[2, 3, 4], &src).unwrap();
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
    fn col_major_tiles_and_halves_read_every_value_in_place() {
        crate::linalg::set_threads(2);
        for &(n, s) in &[(300usize, 37usize), (1000, 64), (130, 784)] {
            let src: Vec<i32> = (0..n * s).map(|v| v as i32 * 7 % 1000).collect();
            let t = from_col_major(&[n, s], &src).unwrap();
            for i in 0..n {
                for q in 0..s {
                    assert_eq!(t.data[i * s + q], src[q * n + i] as f32, "{n}x{s} [{i}, {q}]");
                }
            }
            let part = ColMajor::new(&[n, s], &src);
            let mut out = vec![0f32; 50 * s];
            part.read(n - 50..n, &mut out).unwrap();
            assert_eq!(out, t.data[(n - 50) * s..]);
        }
        // the first NA in R's (column-major) order, not the first met by a thread
        let (n, s) = (1000, 64);
        let mut src = vec![1.0f64; n * s];
        src[5 * n + 900] = f64::NAN; // row 901, column 6
        src[9 * n + 3] = f64::INFINITY; // row 4, column 10
        assert_eq!(from_col_major(&[n, s], &src).unwrap_err(), 5 * n + 900);
    }

    #[test]
    fn a_column_view_reads_its_source_columns() {
        // R: x = matrix(1:6, 2, 3); the view is x[, c(3, 1)], a 2 x 2 matrix
        let src = [1, 2, 3, 4, 5, 6];
        let t = ColMajor::with_starts(&[2, 2], &src, vec![4, 0]).to_tensor().unwrap();
        assert_eq!(t.data, vec![5.0, 1.0, 6.0, 2.0]);
        let src = [1, 2, 3, i32::MIN, 5, 6];
        let e = ColMajor::with_starts(&[2, 2], &src, vec![4, 2]).to_tensor().unwrap_err();
        assert_eq!(e, 3, "row 2 of the view's second column");
    }

    #[test]
    fn col_major_reports_first_bad_value() {
        let src = [1.0, 2.0, f64::NAN, 4.0];
        let err = from_col_major(&[2, 2], &src).unwrap_err();
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
