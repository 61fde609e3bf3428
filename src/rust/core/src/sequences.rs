//! Sequence preprocessing: Keras' `pad_sequences`.

/// Where a sequence is padded or cut: at its start (`"pre"`) or its end (`"post"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Pre,
    Post,
}

/// Writes `seqs` padded or cut to `maxlen` values each into `out`, an `n x maxlen` matrix in
/// column-major order (R's layout; `n = seqs.len()`), as Keras' `pad_sequences` does:
/// sequences longer than `maxlen` lose values at `truncating`'s end, shorter ones get `value`
/// at `padding`'s end.
pub fn pad_sequences<T: Copy>(seqs: &[&[T]], maxlen: usize, padding: End, truncating: End, value: T, out: &mut [T]) {
    let n = seqs.len();
    assert_eq!(out.len(), n * maxlen, "pad_sequences: output size");
    // blocks of rows, column by column: contiguous writes, one read stream per row of the block
    const BLOCK: usize = 64;
    let mut parts: Vec<(&[T], usize)> = Vec::with_capacity(BLOCK);
    for b0 in (0..n).step_by(BLOCK) {
        let rows = &seqs[b0..(b0 + BLOCK).min(n)];
        parts.clear();
        parts.extend(rows.iter().map(|s| {
            let keep = s.len().min(maxlen);
            let kept = match truncating {
                End::Pre => &s[s.len() - keep..],
                End::Post => &s[..keep],
            };
            (kept, if padding == End::Pre { maxlen - keep } else { 0 })
        }));
        for j in 0..maxlen {
            let col = &mut out[j * n + b0..j * n + b0 + rows.len()];
            for (o, (kept, col0)) in col.iter_mut().zip(&parts) {
                *o = if j >= *col0 && j - col0 < kept.len() { kept[j - col0] } else { value };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_and_cuts_at_either_end() {
        let seqs: [&[i32]; 3] = [&[1, 2, 3], &[4], &[]];
        let mut out = vec![0; 6];
        // column-major 3 x 2
        pad_sequences(&seqs, 2, End::Pre, End::Pre, 0, &mut out);
        assert_eq!(out, vec![2, 0, 0, 3, 4, 0]);
        pad_sequences(&seqs, 2, End::Post, End::Post, -1, &mut out);
        assert_eq!(out, vec![1, 4, -1, 2, -1, -1]);
        pad_sequences(&seqs, 2, End::Pre, End::Post, 9, &mut out);
        assert_eq!(out, vec![1, 9, 9, 2, 4, 9]);
    }

    #[test]
    fn blocks_of_rows_give_each_row_its_values() {
        // 150 rows (three blocks, the last partial) against a row-at-a-time reference
        let seqs: Vec<Vec<i32>> =
            (0..150).map(|i| (0..(i * 7 % 13) as i32).map(|v| v + 100 * i as i32).collect()).collect();
        let refs: Vec<&[i32]> = seqs.iter().map(|s| &s[..]).collect();
        for (p, t) in [(End::Pre, End::Pre), (End::Post, End::Pre), (End::Pre, End::Post), (End::Post, End::Post)] {
            let maxlen = 8;
            let mut out = vec![0; 150 * maxlen];
            pad_sequences(&refs, maxlen, p, t, -1, &mut out);
            for (i, s) in seqs.iter().enumerate() {
                let keep = s.len().min(maxlen);
                let kept = if t == End::Pre { &s[s.len() - keep..] } else { &s[..keep] };
                let mut row = vec![-1; maxlen];
                let c0 = if p == End::Pre { maxlen - keep } else { 0 };
                row[c0..c0 + keep].copy_from_slice(kept);
                let got: Vec<i32> = (0..maxlen).map(|j| out[j * 150 + i]).collect();
                assert_eq!(got, row, "row {i}");
            }
        }
    }
}
