//! R's column-major numeric arrays (doubles, integers) read into row-major `f32` tensors,
//! batch first, a range of rows at a time; and tensors back to R's layout.

use crate::tensor::Tensor;
use crate::Real;
use std::ops::Range;

/// The smallest magnitude of a double that becomes Inf as an `f32`: `f32::MAX` plus half its
/// last place (2^103); anything below rounds to at most `f32::MAX`.
const F32_LIMIT: f64 = 3.4028235677973366e38;

/// A value an R array cannot be converted with: where it is (its column-major index, R's
/// order) and what it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BadValue {
    pub index: usize,
    /// The value as a double; NaN for NA.
    pub value: f64,
}

impl BadValue {
    /// A finite value whose magnitude is beyond the `f32` range (else NA, NaN or Inf).
    pub fn too_large(&self) -> bool {
        self.value.is_finite()
    }
}

/// A value of an R vector the core reads: double or integer, with R's missing values.
pub trait RValue: Copy + Sync {
    fn to_f32(self) -> f32;
    /// The value as a double (NaN for NA), for error messages.
    fn to_f64(self) -> f64;
    /// Values a model cannot take: NA and, for doubles, NaN, Inf and any value too large for
    /// an `f32` (it would become Inf).
    fn is_bad(self) -> bool;
    /// See [`convert_block`]; a type may bring a faster way.
    fn convert_block(cols: &[&[Self]; BLOCK], tile: &mut [f32], s: usize, p0: usize) -> bool {
        convert_block(cols, tile, s, p0)
    }
}

impl RValue for f64 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn is_bad(self) -> bool {
        // `|`, not `||`: no branch (the compiler makes it one unordered compare)
        (self.abs() >= F32_LIMIT) | self.is_nan()
    }
    fn convert_block(cols: &[&[f64]; BLOCK], tile: &mut [f32], s: usize, p0: usize) -> bool {
        #[cfg(target_arch = "x86_64")]
        if simd::available() {
            // SAFETY: AVX-512F is present (the sizes are checked inside).
            return unsafe { simd::convert_block_f64(cols, tile, s, p0) };
        }
        convert_block(cols, tile, s, p0)
    }
}

impl RValue for i32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        if self == i32::MIN {
            f64::NAN
        } else {
            self as f64
        }
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
    /// A value it cannot take ([`RValue::is_bad`]) is an error: the first one in the whole
    /// array in R's (column-major) order.
    pub fn read(&self, rows: Range<usize>, out: &mut [f32]) -> Result<(), BadValue> {
        let s = self.perm.len();
        assert_eq!(out.len(), rows.len() * s, "ColMajor::read: output size");
        let half = rows.len() / 2;
        let ok = if !crate::parts::split_elementwise(out.len()) || half == 0 {
            self.read_block(rows, out)
        } else {
            let (o0, o1) = out.split_at_mut(half * s);
            let mid = rows.start + half;
            let (mut ok0, mut ok1) = (true, true);
            crate::forkjoin::join(
                || ok0 = self.read_block(rows.start..mid, o0),
                || ok1 = self.read_block(mid..rows.end, o1),
            );
            ok0 && ok1
        };
        if ok {
            Ok(())
        } else {
            Err(self.first_bad())
        }
    }

    /// The whole array as a row-major tensor, in the spare buffer when it is large enough
    /// (see [`buffer`]).
    pub fn to_tensor(&self) -> Result<Tensor<f32>, BadValue> {
        let mut out = buffer(self.n * self.perm.len());
        if let Err(bad) = self.read(0..self.n, &mut out) {
            recycle(out);
            return Err(bad);
        }
        let mut shape = vec![self.n];
        shape.extend_from_slice(&self.sample);
        Ok(Tensor { shape, data: out })
    }

    /// The first value it cannot take, in column-major order.
    fn first_bad(&self) -> BadValue {
        let n = self.n;
        self.starts
            .iter()
            .enumerate()
            .find_map(|(q, &st)| {
                let col = &self.src[st..st + n];
                col.iter().position(|v| v.is_bad()).map(|i| BadValue { index: q * n + i, value: col[i].to_f64() })
            })
            .unwrap_or(BadValue { index: 0, value: f64::NAN })
    }

    /// Converts in tiles of 256 rows, so that a tile's rows stay in cache while its columns
    /// are read. Sixteen columns whose values sit side by side in a row-major sample (every
    /// column of a matrix) go together, 16 rows at a time: each column's 16 values are read
    /// and converted as one run, then written out as 16 rows of 16 adjacent values. Other
    /// columns go one at a time. False if a value is bad ([`RValue::is_bad`]).
    fn read_block(&self, rows: Range<usize>, out: &mut [f32]) -> bool {
        const ROWS: usize = 256;
        const AHEAD: usize = 4;
        let s = self.perm.len();
        let mut bad = false;
        let mut i0 = rows.start;
        while i0 < rows.end {
            let i1 = (i0 + ROWS).min(rows.end);
            let tile = &mut out[(i0 - rows.start) * s..(i1 - rows.start) * s];
            let mut q = 0;
            while q < s {
                if q + BLOCK <= s && self.perm[q..q + BLOCK].windows(2).all(|w| w[1] == w[0] + 1) {
                    // the next block's runs come from memory while this one converts
                    for &ahead in self.starts.iter().skip(q + BLOCK).take(BLOCK) {
                        prefetch(&self.src[ahead + i0..ahead + i1]);
                    }
                    let cols: [&[S]; BLOCK] = std::array::from_fn(|j| {
                        let st = self.starts[q + j];
                        &self.src[st + i0..st + i1]
                    });
                    bad |= S::convert_block(&cols, tile, s, self.perm[q]);
                    q += BLOCK;
                    continue;
                }
                // the source is read from memory one short run per column: ask for the run
                // AHEAD columns on now, so that its cache misses overlap this one's
                if let Some(&ahead) = self.starts.get(q + AHEAD) {
                    prefetch(&self.src[ahead + i0..ahead + i1]);
                }
                let st = self.starts[q];
                let col = &self.src[st + i0..st + i1];
                for (o, v) in tile[self.perm[q]..].iter_mut().step_by(s).zip(col) {
                    bad |= v.is_bad();
                    *o = v.to_f32();
                }
                q += 1;
            }
            i0 = i1;
        }
        !bad
    }
}

/// Converted arrays from this many bytes on are worth keeping for the next call.
const SPARE_MIN_BYTES: usize = 16 << 20;

/// How many converted arrays are kept between calls: one per input of a model with several
/// inputs (up to four).
const SPARE_SLOTS: usize = 4;

/// The largest converted arrays given back by [`recycle`], kept for the next conversions.
static SPARE: std::sync::Mutex<Vec<Vec<f32>>> = std::sync::Mutex::new(Vec::new());

/// A vector of `len` values whose contents are unspecified, for a conversion to overwrite.
/// From 16 MiB on it is a spare buffer a previous call gave back when one holds `len` values
/// and not more than twice as many (a smaller array, such as the test data evaluated between
/// two fits, must not take the training data's buffer, which would be shorter when given
/// back): its memory is mapped already, where a fresh one costs a page fault per page at its
/// first write (the tutorial's 188 MB: 25-55 ms a `fit()` call on 2 MiB pages, 0.8 s when the
/// kernel has to find them first). Else a fresh vector, advised onto huge pages.
pub fn buffer(len: usize) -> Vec<f32> {
    if len * std::mem::size_of::<f32>() >= SPARE_MIN_BYTES {
        let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
        let fits = |v: &Vec<f32>| v.len() >= len && v.len() / 2 <= len;
        if let Some(i) = (0..spare.len()).filter(|&i| fits(&spare[i])).min_by_key(|&i| spare[i].len()) {
            let mut v = spare.swap_remove(i);
            v.truncate(len);
            return v;
        }
        if spare.len() >= SPARE_SLOTS {
            // the smallest spare cannot serve this size: freed before the larger copy is made
            if let Some(i) = (0..spare.len()).filter(|&i| spare[i].len() < len).min_by_key(|&i| spare[i].len()) {
                spare.swap_remove(i);
            }
        }
    }
    let mut v = vec![0f32; len];
    crate::hugepages::advise(&mut v);
    v
}

/// Gives a converted array's vector back for [`buffer`] to hand out again; the largest
/// [`SPARE_SLOTS`] of at least 16 MiB are kept (one per input of a model with several inputs).
pub fn recycle(v: Vec<f32>) {
    if v.len() * std::mem::size_of::<f32>() < SPARE_MIN_BYTES {
        return;
    }
    let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
    spare.push(v);
    if spare.len() > SPARE_SLOTS {
        let i = (0..spare.len()).min_by_key(|&i| spare[i].len()).unwrap();
        spare.swap_remove(i);
    }
}

/// Frees the spare buffers [`recycle`] keeps (`k_clear_session()` in R).
pub fn release_spare() {
    *SPARE.lock().unwrap_or_else(|e| e.into_inner()) = Vec::new();
}

/// Columns converted together by [`ColMajor::read`].
pub const BLOCK: usize = 16;

/// Writes `cols` (the same rows of 16 columns) into rows of `tile` (row length `s`) at
/// positions `p0..p0 + 16`, 16 rows at a time through a converted 16 x 16 block. True if a
/// value is bad ([`RValue::is_bad`]).
fn convert_block<S: RValue>(cols: &[&[S]; BLOCK], tile: &mut [f32], s: usize, p0: usize) -> bool {
    let n = cols[0].len();
    let mut bad = false;
    let mut block = [[0f32; BLOCK]; BLOCK];
    let mut r = 0;
    while r + BLOCK <= n {
        for (b, col) in block.iter_mut().zip(cols) {
            for (o, v) in b.iter_mut().zip(&col[r..r + BLOCK]) {
                bad |= v.is_bad();
                *o = v.to_f32();
            }
        }
        for i in 0..BLOCK {
            let row = &mut tile[(r + i) * s + p0..(r + i) * s + p0 + BLOCK];
            for (o, b) in row.iter_mut().zip(&block) {
                *o = b[i];
            }
        }
        r += BLOCK;
    }
    for i in r..n {
        for (j, col) in cols.iter().enumerate() {
            bad |= col[i].is_bad();
            tile[i * s + p0 + j] = col[i].to_f32();
        }
    }
    bad
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use super::BLOCK;
    use std::arch::x86_64::*;

    pub fn available() -> bool {
        static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *OK.get_or_init(|| is_x86_feature_detected!("avx512f"))
    }

    /// [`super::convert_block`] for doubles with AVX-512. Eight rows at a time: each column's
    /// eight values are loaded as one run and converted, two columns to a register (column j
    /// in the low half, column j + 8 in the high one), and the eight registers are transposed
    /// in both halves at once (unpack, shuffle, then a two-source permute across 128-bit
    /// lanes) into eight output rows of 16 values. The last rows (fewer than eight) are
    /// gathered one output row at a time. A value is bad exactly when its `f32` is Inf or NaN
    /// (what [`super::RValue::is_bad`] says of the double).
    ///
    /// # Safety
    /// AVX-512F must be present.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn convert_block_f64(cols: &[&[f64]; BLOCK], tile: &mut [f32], s: usize, p0: usize) -> bool {
        let n = cols[0].len();
        assert!(cols.iter().all(|c| c.len() == n));
        assert!(n == 0 || (n - 1) * s + p0 + BLOCK <= tile.len(), "convert_block: tile too small");
        let inf = _mm512_set1_ps(f32::INFINITY);
        let out = tile.as_mut_ptr().add(p0);
        let mut bad: u16 = 0;
        // [a.L0, b.L0, a.L2, b.L2] and [a.L1, b.L1, a.L3, b.L3] (Lk: 128-bit lane k)
        let lanes_even = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        let lanes_odd = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
        let mut r = 0;
        while r + 8 <= n {
            let mut z = [_mm512_setzero_ps(); 8];
            for (j, zj) in z.iter_mut().enumerate() {
                let a = _mm512_cvtpd_ps(_mm512_loadu_pd(cols[j].as_ptr().add(r)));
                let b = _mm512_cvtpd_ps(_mm512_loadu_pd(cols[j + 8].as_ptr().add(r)));
                let ab = _mm512_insertf64x4::<1>(_mm512_castpd256_pd512(_mm256_castps_pd(a)), _mm256_castps_pd(b));
                *zj = _mm512_castpd_ps(ab);
                // |f32| >= Inf or unordered: NaN, Inf and doubles too large for an f32
                bad |= _mm512_cmp_ps_mask::<_CMP_NLT_UQ>(_mm512_abs_ps(*zj), inf);
            }
            let t0 = _mm512_unpacklo_ps(z[0], z[1]);
            let t1 = _mm512_unpackhi_ps(z[0], z[1]);
            let t2 = _mm512_unpacklo_ps(z[2], z[3]);
            let t3 = _mm512_unpackhi_ps(z[2], z[3]);
            let t4 = _mm512_unpacklo_ps(z[4], z[5]);
            let t5 = _mm512_unpackhi_ps(z[4], z[5]);
            let t6 = _mm512_unpacklo_ps(z[6], z[7]);
            let t7 = _mm512_unpackhi_ps(z[6], z[7]);
            let u = [
                _mm512_shuffle_ps::<0x44>(t0, t2),
                _mm512_shuffle_ps::<0xEE>(t0, t2),
                _mm512_shuffle_ps::<0x44>(t1, t3),
                _mm512_shuffle_ps::<0xEE>(t1, t3),
                _mm512_shuffle_ps::<0x44>(t4, t6),
                _mm512_shuffle_ps::<0xEE>(t4, t6),
                _mm512_shuffle_ps::<0x44>(t5, t7),
                _mm512_shuffle_ps::<0xEE>(t5, t7),
            ];
            let o = out.add(r * s);
            for k in 0..4 {
                _mm512_storeu_ps(o.add(k * s), _mm512_permutex2var_ps(u[k], lanes_even, u[k + 4]));
                _mm512_storeu_ps(o.add((k + 4) * s), _mm512_permutex2var_ps(u[k], lanes_odd, u[k + 4]));
            }
            r += 8;
        }
        if r < n {
            let base = cols[0].as_ptr();
            // each column's distance from the first, in values: plain address arithmetic, so
            // the columns may come from anywhere; every gathered address is a column's own value
            let offs: [i64; BLOCK] = std::array::from_fn(|j| (cols[j].as_ptr() as i64 - base as i64) / 8);
            let lo = _mm512_loadu_si512(offs.as_ptr().cast());
            let hi = _mm512_loadu_si512(offs.as_ptr().add(8).cast());
            let limit = _mm512_set1_pd(super::F32_LIMIT);
            for i in r..n {
                let row = base.wrapping_add(i);
                let a = _mm512_i64gather_pd::<8>(lo, row);
                let b = _mm512_i64gather_pd::<8>(hi, row);
                // not |x| < limit: NaN, +-Inf and values that would become +-Inf
                bad |= (_mm512_cmp_pd_mask::<_CMP_NLT_UQ>(_mm512_abs_pd(a), limit)
                    | _mm512_cmp_pd_mask::<_CMP_NLT_UQ>(_mm512_abs_pd(b), limit)) as u16;
                let o = out.add(i * s);
                _mm256_storeu_ps(o, _mm512_cvtpd_ps(a));
                _mm256_storeu_ps(o.add(8), _mm512_cvtpd_ps(b));
            }
        }
        bad != 0
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
/// tensor; a value it cannot take is an error: the first in R's (column-major) order.
pub fn from_col_major<S: RValue>(dims: &[usize], src: &[S]) -> Result<Tensor<f32>, BadValue> {
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
        assert_eq!(from_col_major(&[n, s], &src).unwrap_err().index, 5 * n + 900);
    }

    /// Row-major `f32` of an R array, one value at a time: the definition `read` must meet.
    fn naive(dims: &[usize], src: &[f64], starts: &[usize]) -> Vec<f32> {
        let n = dims[0];
        let sample = &dims[1..];
        let s: usize = sample.iter().product();
        let mut out = vec![0f32; n * s];
        for q in 0..s {
            // column-major sample index q -> row-major position
            let (mut rest, mut pos) = (q, 0);
            let mut stride: usize = s;
            let mut idx = Vec::new();
            for &d in sample {
                idx.push(rest % d);
                rest /= d;
            }
            for (a, &d) in sample.iter().enumerate() {
                stride /= d;
                pos += idx[a] * stride;
            }
            for i in 0..n {
                out[i * s + pos] = src[starts[q] + i] as f32;
            }
        }
        out
    }

    #[test]
    fn blocks_of_sixteen_columns_views_and_arrays_convert_like_one_value_at_a_time() {
        let val = |len: usize| (0..len).map(|v| (v as f64 * 0.37).sin() * 1e3).collect::<Vec<f64>>();
        for dims in [vec![300usize, 37], vec![17, 16], vec![15, 48], vec![258, 40], vec![40, 4, 8], vec![33, 28, 28]] {
            let len: usize = dims.iter().product();
            let src = val(len);
            let n = dims[0];
            let starts: Vec<usize> = (0..len / n).map(|q| q * n).collect();
            let want = naive(&dims, &src, &starts);
            assert_eq!(from_col_major(&dims, &src).unwrap().data, want, "{dims:?}");
            for (lo, hi) in [(0, n), (1, n - 1), (n / 2, n)] {
                let mut out = vec![0f32; (hi - lo) * (len / n)];
                ColMajor::new(&dims, &src).read(lo..hi, &mut out).unwrap();
                assert_eq!(out, want[lo * (len / n)..hi * (len / n)], "{dims:?} rows {lo}..{hi}");
            }
            // a view taking the source's columns in reverse order
            let rev: Vec<usize> = starts.iter().rev().copied().collect();
            let view = ColMajor::with_starts(&dims, &src, rev.clone()).to_tensor().unwrap();
            assert_eq!(view.data, naive(&dims, &src, &rev), "view {dims:?}");
        }
        // the portable block and the one this CPU may bring agree, missing values included
        let src = val(16 * 40);
        let cols: [&[f64]; BLOCK] = std::array::from_fn(|j| &src[j * 40 + 3..j * 40 + 40]);
        let (mut a, mut b) = (vec![0f32; 37 * 20], vec![0f32; 37 * 20]);
        assert!(!convert_block(&cols, &mut a, 20, 2));
        assert!(!<f64 as RValue>::convert_block(&cols, &mut b, 20, 2));
        assert_eq!(a, b);
        for (j, bad) in [(7, f64::NAN), (12, f64::INFINITY), (15, f64::NEG_INFINITY), (0, f64::NAN)] {
            let mut src = src.clone();
            src[j * 40 + 21] = bad;
            let cols: [&[f64]; BLOCK] = std::array::from_fn(|j| &src[j * 40 + 3..j * 40 + 40]);
            assert!(convert_block(&cols, &mut a, 20, 2));
            assert!(<f64 as RValue>::convert_block(&cols, &mut b, 20, 2), "{bad}");
        }
        // a missing value in a block, in the remainder rows and in the remainder columns
        let (n, s) = (300, 37);
        for (q, i) in [(3, 17), (20, 290), (35, 5), (0, 0)] {
            let mut src = val(n * s);
            src[q * n + i] = f64::NAN;
            src[36 * n + 299] = f64::NEG_INFINITY;
            assert_eq!(from_col_major(&[n, s], &src).unwrap_err().index, q * n + i, "NaN at column {q} row {i}");
        }
    }

    #[test]
    fn values_beyond_the_f32_range_are_bad_like_inf() {
        // bad exactly when the f32 would be Inf: f32::MAX and what rounds to it fit
        let below = f64::from_bits(F32_LIMIT.to_bits() - 1);
        assert_eq!(below as f32, f32::MAX);
        assert!((F32_LIMIT as f32).is_infinite());
        let fits = [f32::MAX as f64, -(f32::MAX as f64), 3.4028235e38, below, -below, 1e38, 5e-324];
        assert!(fits.iter().all(|v| !v.is_bad()), "{fits:?}");
        for big in [1e300, -3.5e38, f64::MAX, F32_LIMIT, -F32_LIMIT] {
            assert!(big.is_bad(), "{big}");
            // in a block of sixteen columns (the AVX-512 path where present), in the remainder
            // rows and columns, and on two threads
            let (n, s) = (300, 37);
            for (q, i) in [(3, 17), (20, 290), (35, 5), (0, 0)] {
                let mut src: Vec<f64> = (0..n * s).map(|v| (v % 255) as f64).collect();
                src[q * n + i] = big;
                let e = from_col_major(&[n, s], &src).unwrap_err();
                assert_eq!(e, BadValue { index: q * n + i, value: big }, "{big} at column {q} row {i}");
                assert!(e.too_large());
            }
            let src = vec![big; 16 * 40];
            let cols: [&[f64]; BLOCK] = std::array::from_fn(|j| &src[j * 40..j * 40 + 40]);
            let mut out = vec![0f32; 40 * 16];
            assert!(convert_block(&cols, &mut out, 16, 0));
            assert!(<f64 as RValue>::convert_block(&cols, &mut out, 16, 0));
        }
        let src = [1.0, f64::NAN, 1e300, 2.0];
        let e = from_col_major(&[4, 1], &src).unwrap_err();
        assert_eq!(e.index, 1, "the first bad value, whichever kind");
        assert!(!e.too_large());
        assert!(!BadValue { index: 0, value: f64::INFINITY }.too_large());
    }

    #[test]
    fn a_recycled_buffer_is_reused_and_every_value_rewritten() {
        // one test touches the spare buffer, so that tests running in parallel do not race
        let (n, s) = (12000usize, 784usize); // 37.6 MB of f32
        let src: Vec<f64> = (0..n * s).map(|v| (v % 251) as f64 / 7.0).collect();
        let fresh = from_col_major(&[n, s], &src).unwrap();
        let ptr = fresh.data.as_ptr();
        recycle(fresh.data.clone());
        recycle(vec![1.0; 10]); // small ones are not kept
        let mut dirty = buffer(n * s);
        assert_eq!(dirty.len(), n * s);
        dirty.iter_mut().for_each(|v| *v = f32::NAN);
        let dptr = dirty.as_ptr();
        recycle(dirty);
        // the spare is handed out again (not a fresh allocation) and fully overwritten
        let again = from_col_major(&[n, s], &src).unwrap();
        assert_eq!(again.data.as_ptr(), dptr);
        assert_eq!(again.data, fresh.data);
        assert_ne!(again.data.as_ptr(), ptr);
        // a much smaller array does not take it
        recycle(again.data);
        let small = buffer(n * s / 2 - 1);
        assert_ne!(small.as_ptr(), dptr);
        recycle(small);
        // a smaller array takes it too, a larger one cannot
        let m = n - 4000; // 25 MB
        let part = ColMajor::new(&[m, s], &src[..m * s]).to_tensor().unwrap();
        assert_eq!(part.data.as_ptr(), dptr);
        assert_eq!(part.data, from_col_major(&[m, s], &src[..m * s]).unwrap().data);
        recycle(part.data);
        // the spare holds only m rows now: a larger array gets a fresh buffer, and the spare
        // stays for an array of its size (a model's other input)
        let larger = buffer(n * s);
        assert_eq!(larger.len(), n * s);
        assert!(SPARE.lock().unwrap().iter().any(|v| v.as_ptr() == dptr));
        // two inputs of two sizes: each gets back its own buffer
        let lptr = larger.as_ptr();
        recycle(larger);
        let (b1, b2) = (buffer(m * s), buffer(n * s));
        assert_eq!((b1.as_ptr(), b2.as_ptr()), (dptr, lptr));
        drop((b1, b2));
        release_spare();
        recycle(ColMajor::new(&[m, s], &src[..m * s]).to_tensor().unwrap().data);
        let dptr = SPARE.lock().unwrap()[0].as_ptr();
        // a bad value gives the buffer back
        let mut bad = src.clone();
        bad[5 * m + 3] = f64::NAN;
        assert_eq!(ColMajor::new(&[m, s], &bad[..m * s]).to_tensor().unwrap_err().index, 5 * m + 3);
        let back = buffer(m * s);
        assert_eq!(back.as_ptr(), dptr);
        drop(back);
        // k_clear_session() frees the spare
        recycle(ColMajor::new(&[m, s], &src[..m * s]).to_tensor().unwrap().data);
        assert!(!SPARE.lock().unwrap().is_empty());
        release_spare();
        assert!(SPARE.lock().unwrap().is_empty());
    }

    #[test]
    fn a_column_view_reads_its_source_columns() {
        // R: x = matrix(1:6, 2, 3); the view is x[, c(3, 1)], a 2 x 2 matrix
        let src = [1, 2, 3, 4, 5, 6];
        let t = ColMajor::with_starts(&[2, 2], &src, vec![4, 0]).to_tensor().unwrap();
        assert_eq!(t.data, vec![5.0, 1.0, 6.0, 2.0]);
        let src = [1, 2, 3, i32::MIN, 5, 6];
        let e = ColMajor::with_starts(&[2, 2], &src, vec![4, 2]).to_tensor().unwrap_err();
        assert_eq!(e.index, 3, "row 2 of the view's second column");
    }

    #[test]
    fn col_major_reports_first_bad_value() {
        let src = [1.0, 2.0, f64::NAN, 4.0];
        let err = from_col_major(&[2, 2], &src).unwrap_err();
        assert_eq!(err.index, 2);
        assert!(!err.too_large());
    }
}
