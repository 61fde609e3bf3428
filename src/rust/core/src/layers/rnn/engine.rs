//! The recurrent layer's forward and backward passes (see the module docs for the layout).

use super::{fastmath, Cell};
use crate::activations::Activation;
use crate::init::Initializer;
use crate::layers::{fmt_shape, Layer, LayerSpec, WeightRef};
use crate::linalg::{gemm, op};
use crate::rng::Rng;
use crate::tensor::{try_zeros, Tensor};
use crate::Real;
use crate::{forkjoin, parts};
use faer::{MatMut, MatRef};

/// What a recurrent layer kind says about its cell (from its config).
pub struct Args<'a> {
    pub cell: Cell,
    pub units: usize,
    pub activation: Activation,
    pub recurrent_activation: Activation,
    pub use_bias: bool,
    pub kernel_initializer: &'a Initializer,
    pub recurrent_initializer: &'a Initializer,
    pub bias_initializer: &'a Initializer,
    pub unit_forget_bias: bool,
    pub dropout: f64,
    pub recurrent_dropout: f64,
    pub return_sequences: bool,
    pub go_backwards: bool,
}

impl Args<'_> {
    /// Values of the bias: `(2, 3U)` for a GRU with `reset_after`, else `G·U`.
    pub fn bias_len(&self) -> usize {
        match self.cell {
            Cell::Gru { reset_after: true } => 6 * self.units,
            c => c.gates() * self.units,
        }
    }
}

/// Whether an activation can be a recurrent layer's: element-wise, with a derivative computed
/// from its output.
fn usable(a: Activation) -> bool {
    !a.is_row_wise() && !a.needs_input_for_backward()
}

/// Batch samples in the first block: half the batch from 16 samples on (the layout depends on
/// the batch size alone).
fn first_block(n: usize) -> usize {
    if n >= 16 {
        n / 2
    } else {
        n
    }
}

/// `C = A B` (or `+=`) into row-major `c` (`m x n`), in two row halves on two threads when
/// worth it (bitwise the same as one product).
fn gemm_rows<T: Real>(c: &mut [T], m: usize, n: usize, a: MatRef<'_, T>, b: MatRef<'_, T>, acc: bool) {
    if m == 0 || n == 0 {
        return;
    }
    if parts::split_product(m * a.ncols() * n, m) {
        let h = m / 2;
        let (c0, c1) = c[..m * n].split_at_mut(h * n);
        forkjoin::join(
            || gemm(MatMut::from_row_major_slice_mut(c0, h, n), a.subrows(0, h), b, acc),
            || gemm(MatMut::from_row_major_slice_mut(c1, m - h, n), a.subrows(h, m - h), b, acc),
        );
    } else {
        gemm(MatMut::from_row_major_slice_mut(&mut c[..m * n], m, n), a, b, acc);
    }
}

/// `C[:, cols] = A B` into the column block `c0..c0 + b.ncols()` of row-major `c` (`m x ldc`).
fn gemm_cols<T: Real>(c: &mut [T], m: usize, ldc: usize, c0: usize, a: MatRef<'_, T>, b: MatRef<'_, T>, acc: bool) {
    let w = b.ncols();
    let cm = MatMut::from_row_major_slice_mut(&mut c[..m * ldc], m, ldc).subcols_mut(c0, w);
    gemm(cm, a, b, acc);
}

/// The operands every block reads.
struct Ctx<'a, T> {
    cell: Cell,
    u: usize,
    g: usize,
    t: usize,
    act: Activation,
    ract: Activation,
    /// `(U, G·U)`.
    rkernel: &'a [T],
    /// The recurrent bias of a GRU with `reset_after` (empty otherwise or without bias).
    rbias: &'a [T],
    /// Per gate `(N, U)` recurrent dropout masks (none without recurrent dropout).
    rmask: &'a [Vec<T>],
}

/// One block's rows of the per-step buffers.
struct Block<'a, T> {
    /// First sample and samples.
    n0: usize,
    nb: usize,
    /// `(T·nb, G·U)`: input projections in, gate values out.
    p: &'a mut [T],
    /// `((T+1)·nb, U)` outputs (state 0 first).
    h: &'a mut [T],
    /// LSTM cell states, like `h`.
    c: &'a mut [T],
    /// GRU: `(T·nb, U)`, the recurrent part of the candidate (`reset_after`) or `r * h`.
    rq: &'a mut [T],
    /// Per gate `(T·nb, U)`: the previous outputs times the recurrent dropout masks.
    hd: [&'a mut [T]; 4],
    /// Scratch `(nb, G·U)`.
    q: &'a mut [T],
    /// Block-local time-major step mask (empty: none).
    mask: &'a [bool],
}

/// One block's rows for the backward pass.
struct BackBlock<'a, T> {
    n0: usize,
    nb: usize,
    p: &'a [T],
    h: &'a [T],
    c: &'a [T],
    rq: &'a [T],
    hd: [&'a [T]; 4],
    mask: &'a [bool],
    /// `(T·nb, G·U)` gradients of the input projections.
    dp: &'a mut [T],
    /// GRU with `reset_after`: gradients of the recurrent projections (with its bias).
    dq: &'a mut [T],
    /// Scratch `6·nb·U`.
    s: &'a mut [T],
}

fn empty4<'a, T>() -> [&'a mut [T]; 4] {
    [&mut [], &mut [], &mut [], &mut []]
}

impl<T: Real> Ctx<'_, T> {
    fn masked(&self, mask: &[bool], row: usize) -> bool {
        !mask.is_empty() && !mask[row]
    }

    /// The recurrent kernel's columns `c0..c0 + w`.
    fn rk(&self, c0: usize, w: usize) -> MatRef<'_, T> {
        op(self.rkernel, self.u, self.g * self.u, false).subcols(c0, w)
    }

    fn forward(&self, b: Block<'_, T>) {
        let (u, g, nb) = (self.u, self.g, b.nb);
        let gu = g * u;
        let lstm = self.cell == Cell::Lstm;
        b.h[..nb * u].iter_mut().for_each(|v| *v = T::zero());
        if lstm {
            b.c[..nb * u].iter_mut().for_each(|v| *v = T::zero());
        }
        let dropout = !self.rmask.is_empty();
        let Block { n0, p, h, c, rq, mut hd, q, mask, .. } = b;
        for s in 0..self.t {
            let (hs, hn) = h.split_at_mut((s + 1) * nb * u);
            let hp = &hs[s * nb * u..];
            let hn = &mut hn[..nb * u];
            let rows = s * nb..(s + 1) * nb;
            // recurrent products into q
            let rec_cols = match self.cell {
                Cell::Gru { reset_after: false } => 2 * u,
                _ => gu,
            };
            if dropout {
                for (k, hdk) in hd.iter_mut().enumerate().take(g) {
                    let hk = &mut hdk[rows.start * u..rows.end * u];
                    let m = &self.rmask[k][n0 * u..(n0 + nb) * u];
                    hk.iter_mut().zip(hp).zip(m).for_each(|((d, x), m)| *d = *x * *m);
                    if k * u < rec_cols {
                        gemm_cols(q, nb, gu, k * u, op(hk, nb, u, false), self.rk(k * u, u), false);
                    }
                }
            } else {
                gemm_cols(q, nb, gu, 0, op(hp, nb, u, false), self.rk(0, rec_cols), false);
            }
            if !self.rbias.is_empty() {
                q.chunks_exact_mut(gu).for_each(|r| r.iter_mut().zip(self.rbias).for_each(|(v, b)| *v += *b));
            }
            let pstep = &mut p[rows.start * gu..rows.end * gu];
            match self.cell {
                Cell::Simple => {
                    pstep.iter_mut().zip(q.iter()).for_each(|(p, q)| *p += *q);
                    fastmath::forward(self.act, pstep, u);
                    hn.copy_from_slice(pstep);
                }
                Cell::Lstm => {
                    let (cs, cn) = c.split_at_mut((s + 1) * nb * u);
                    let cp = &cs[s * nb * u..];
                    let cn = &mut cn[..nb * u];
                    for i in 0..nb {
                        let pr = &mut pstep[i * gu..(i + 1) * gu];
                        pr.iter_mut().zip(&q[i * gu..(i + 1) * gu]).for_each(|(p, q)| *p += *q);
                        fastmath::forward(self.ract, &mut pr[..2 * u], u);
                        fastmath::forward(self.act, &mut pr[2 * u..3 * u], u);
                        fastmath::forward(self.ract, &mut pr[3 * u..], u);
                        let (cr, hr) = (&mut cn[i * u..(i + 1) * u], &mut hn[i * u..(i + 1) * u]);
                        let cpr = &cp[i * u..(i + 1) * u];
                        for j in 0..u {
                            cr[j] = pr[u + j] * cpr[j] + pr[j] * pr[2 * u + j];
                        }
                        hr.copy_from_slice(cr);
                        fastmath::forward(self.act, hr, u);
                        hr.iter_mut().zip(&pr[3 * u..]).for_each(|(h, o)| *h *= *o);
                    }
                }
                Cell::Gru { reset_after } => {
                    let rqs = &mut rq[rows.start * u..rows.end * u];
                    for i in 0..nb {
                        let pr = &mut pstep[i * gu..(i + 1) * gu];
                        let qr = &q[i * gu..(i + 1) * gu];
                        pr[..2 * u].iter_mut().zip(&qr[..2 * u]).for_each(|(p, q)| *p += *q);
                        fastmath::forward(self.ract, &mut pr[..2 * u], u);
                        let rr = &mut rqs[i * u..(i + 1) * u];
                        if reset_after {
                            rr.copy_from_slice(&qr[2 * u..]);
                        } else {
                            let hh: &[T] = if dropout { &hd[2][(rows.start + i) * u..] } else { &hp[i * u..] };
                            rr.iter_mut().zip(&pr[u..2 * u]).zip(hh).for_each(|((d, r), h)| *d = *r * *h);
                        }
                    }
                    if !reset_after {
                        gemm_cols(q, nb, gu, 2 * u, op(rqs, nb, u, false), self.rk(2 * u, u), false);
                    }
                    for i in 0..nb {
                        let pr = &mut pstep[i * gu..(i + 1) * gu];
                        let qr = &q[i * gu + 2 * u..(i + 1) * gu];
                        if reset_after {
                            let rr = &rqs[i * u..(i + 1) * u];
                            for j in 0..u {
                                pr[2 * u + j] += pr[u + j] * rr[j];
                            }
                        } else {
                            pr[2 * u..].iter_mut().zip(qr).for_each(|(p, q)| *p += *q);
                        }
                        fastmath::forward(self.act, &mut pr[2 * u..], u);
                        let (hpr, hr) = (&hp[i * u..(i + 1) * u], &mut hn[i * u..(i + 1) * u]);
                        for j in 0..u {
                            let z = pr[j];
                            hr[j] = z * hpr[j] + (T::one() - z) * pr[2 * u + j];
                        }
                    }
                }
            }
            if !mask.is_empty() {
                for i in 0..nb {
                    if !mask[s * nb + i] {
                        hn[i * u..(i + 1) * u].copy_from_slice(&hp[i * u..(i + 1) * u]);
                        if lstm {
                            let (cs, cn) = c.split_at_mut((s + 1) * nb * u);
                            cn[i * u..(i + 1) * u].copy_from_slice(&cs[(s * nb + i) * u..(s * nb + i + 1) * u]);
                        }
                    }
                }
            }
        }
    }

    /// The reverse time loop of one block: fills `dp` (and `dq`). `g` is dL/d(output), batch
    /// first: `(N, T, U)` with `return_sequences`, else `(N, U)`.
    fn backward(&self, b: BackBlock<'_, T>, g: &[T], seq: bool) {
        let (u, gates, nb, t) = (self.u, self.g, b.nb, self.t);
        let gu = gates * u;
        let dropout = !self.rmask.is_empty();
        let BackBlock { n0, p, h, c, rq, hd, mask, dp, dq, s: scratch, .. } = b;
        let (dh, rest) = scratch.split_at_mut(nb * u);
        let (dhn, rest) = rest.split_at_mut(nb * u);
        let (dc, rest) = rest.split_at_mut(nb * u);
        let (t1, rest) = rest.split_at_mut(nb * u);
        let (t2, t3) = rest.split_at_mut(nb * u);
        dh.iter_mut().for_each(|v| *v = T::zero());
        dc.iter_mut().for_each(|v| *v = T::zero());
        let one = T::one();
        for s in (0..t).rev() {
            for i in 0..nb {
                let n = n0 + i;
                let src = if seq {
                    Some(&g[(n * t + s) * u..(n * t + s + 1) * u])
                } else if s == t - 1 {
                    Some(&g[n * u..(n + 1) * u])
                } else {
                    None
                };
                if let Some(src) = src {
                    dh[i * u..(i + 1) * u].iter_mut().zip(src).for_each(|(d, v)| *d += *v);
                }
            }
            let rows = s * nb..(s + 1) * nb;
            let hp = &h[s * nb * u..(s + 1) * nb * u];
            let pst = &p[rows.start * gu..rows.end * gu];
            let dps = &mut dp[rows.start * gu..rows.end * gu];
            // direct terms of dh_{t-1} into dhn
            for i in 0..nb {
                let (dhr, dnr) = (&dh[i * u..(i + 1) * u], &mut dhn[i * u..(i + 1) * u]);
                let dpr = &mut dps[i * gu..(i + 1) * gu];
                if self.masked(mask, rows.start + i) {
                    dnr.copy_from_slice(dhr);
                    dpr.iter_mut().for_each(|v| *v = T::zero());
                    if !dq.is_empty() {
                        dq[(rows.start + i) * gu..(rows.start + i + 1) * gu].iter_mut().for_each(|v| *v = T::zero());
                    }
                    continue;
                }
                let pr = &pst[i * gu..(i + 1) * gu];
                match self.cell {
                    Cell::Simple => {
                        dpr.copy_from_slice(dhr);
                        self.act.backward(&[], pr, dpr, u);
                        dnr.iter_mut().for_each(|v| *v = T::zero());
                    }
                    Cell::Lstm => {
                        let cr = &c[(s + 1) * nb * u + i * u..(s + 1) * nb * u + (i + 1) * u];
                        let cpr = &c[s * nb * u + i * u..s * nb * u + (i + 1) * u];
                        let (tc, dtc) = (&mut t1[i * u..(i + 1) * u], &mut t2[i * u..(i + 1) * u]);
                        tc.copy_from_slice(cr);
                        fastmath::forward(self.act, tc, u);
                        let dcr = &mut dc[i * u..(i + 1) * u];
                        for j in 0..u {
                            dpr[3 * u + j] = dhr[j] * tc[j];
                            dtc[j] = dhr[j] * pr[3 * u + j];
                        }
                        self.act.backward(&[], tc, dtc, u);
                        for j in 0..u {
                            let dct = dcr[j] + dtc[j];
                            dpr[j] = dct * pr[2 * u + j];
                            dpr[u + j] = dct * cpr[j];
                            dpr[2 * u + j] = dct * pr[j];
                            dcr[j] = dct * pr[u + j];
                        }
                        self.ract.backward(&[], &pr[..2 * u], &mut dpr[..2 * u], u);
                        self.act.backward(&[], &pr[2 * u..3 * u], &mut dpr[2 * u..3 * u], u);
                        self.ract.backward(&[], &pr[3 * u..], &mut dpr[3 * u..], u);
                        dnr.iter_mut().for_each(|v| *v = T::zero());
                    }
                    Cell::Gru { reset_after } => {
                        let hpr = &hp[i * u..(i + 1) * u];
                        for j in 0..u {
                            let (z, hh) = (pr[j], pr[2 * u + j]);
                            dpr[2 * u + j] = dhr[j] * (one - z);
                            dpr[j] = dhr[j] * (hpr[j] - hh);
                            dnr[j] = dhr[j] * z;
                        }
                        self.act.backward(&[], &pr[2 * u..], &mut dpr[2 * u..], u);
                        self.ract.backward(&[], &pr[..u], &mut dpr[..u], u);
                        if reset_after {
                            let rr = &rq[(rows.start + i) * u..(rows.start + i + 1) * u];
                            for j in 0..u {
                                dpr[u + j] = dpr[2 * u + j] * rr[j];
                            }
                            self.ract.backward(&[], &pr[u..2 * u], &mut dpr[u..2 * u], u);
                            let dqr = &mut dq[(rows.start + i) * gu..(rows.start + i + 1) * gu];
                            dqr[..2 * u].copy_from_slice(&dpr[..2 * u]);
                            for j in 0..u {
                                dqr[2 * u + j] = dpr[2 * u + j] * pr[u + j];
                            }
                        }
                    }
                }
            }
            if self.cell == (Cell::Gru { reset_after: false }) {
                // d(r * h) = dP_h Uh^T, then the reset gate's gradient
                let drh = &mut *t3;
                let dps_h = MatRef::from_row_major_slice(&*dps, nb, gu).subcols(2 * u, u);
                gemm(MatMut::from_row_major_slice_mut(drh, nb, u), dps_h, self.rk(2 * u, u).transpose(), false);
                for i in 0..nb {
                    if self.masked(mask, rows.start + i) {
                        continue;
                    }
                    let pr = &pst[i * gu..(i + 1) * gu];
                    let dpr = &mut dps[i * gu..(i + 1) * gu];
                    let hh: &[T] = if dropout { &hd[2][(rows.start + i) * u..] } else { &hp[i * u..] };
                    let dnr = &mut dhn[i * u..(i + 1) * u];
                    for j in 0..u {
                        let d = drh[i * u + j];
                        dpr[u + j] = d * hh[j];
                        let back = d * pr[u + j];
                        dnr[j] += if dropout { back * self.rmask[2][(n0 + i) * u + j] } else { back };
                    }
                    self.ract.backward(&[], &pr[u..2 * u], &mut dpr[u..2 * u], u);
                }
            }
            // dh_{t-1} += dQ Ur^T (times the recurrent dropout masks)
            let dqs: &[T] = if dq.is_empty() { &*dps } else { &dq[rows.start * gu..rows.end * gu] };
            let rec_cols = match self.cell {
                Cell::Gru { reset_after: false } => 2 * u,
                _ => gu,
            };
            let dqm = MatRef::from_row_major_slice(dqs, nb, gu);
            if dropout {
                for k in 0..rec_cols / u {
                    let tk = &mut *t1;
                    let dmat = MatMut::from_row_major_slice_mut(tk, nb, u);
                    gemm(dmat, dqm.subcols(k * u, u), self.rk(k * u, u).transpose(), false);
                    let m = &self.rmask[k][n0 * u..(n0 + nb) * u];
                    dhn.iter_mut().zip(tk.iter()).zip(m).for_each(|((d, v), m)| *d += *v * *m);
                }
            } else {
                let dmat = MatMut::from_row_major_slice_mut(dhn, nb, u);
                gemm(dmat, dqm.subcols(0, rec_cols), self.rk(0, rec_cols).transpose(), true);
            }
            dh.copy_from_slice(dhn);
        }
    }
}

/// A built SimpleRNN, LSTM or GRU layer.
pub struct Recurrent<T> {
    spec: LayerSpec,
    cell: Cell,
    u: usize,
    f: usize,
    t: usize,
    act: Activation,
    ract: Activation,
    return_sequences: bool,
    go_backwards: bool,
    dropout: f64,
    recurrent_dropout: f64,
    out_shape: Vec<usize>,
    names: [&'static str; 3],
    bias_shape: Vec<usize>,
    kernel: Vec<T>,
    dkernel: Vec<T>,
    rkernel: Vec<T>,
    drkernel: Vec<T>,
    bias: Vec<T>,
    dbias: Vec<T>,
    input_gradient: bool,
    // per-batch buffers, kept
    n: usize,
    /// Inputs, time-major in the block layout, times the input dropout masks (one copy per
    /// mask).
    xt: Vec<Vec<T>>,
    p: Vec<T>,
    h: Vec<T>,
    c: Vec<T>,
    rq: Vec<T>,
    hd: Vec<Vec<T>>,
    q: Vec<T>,
    dp: Vec<T>,
    dq: Vec<T>,
    scratch: Vec<T>,
    dxt: Vec<T>,
    dmask: Vec<Vec<T>>,
    rmask: Vec<Vec<T>>,
    /// The mask set by the graph, batch first; and the step mask in the block layout.
    in_mask: Option<Vec<bool>>,
    step_mask: Vec<bool>,
}

const NAMES: [[&str; 3]; 3] = [
    ["simple_rnn_cell/kernel", "simple_rnn_cell/recurrent_kernel", "simple_rnn_cell/bias"],
    ["lstm_cell/kernel", "lstm_cell/recurrent_kernel", "lstm_cell/bias"],
    ["gru_cell/kernel", "gru_cell/recurrent_kernel", "gru_cell/bias"],
];

impl<T: Real> Recurrent<T> {
    pub fn new(spec: LayerSpec, a: &Args<'_>, input_shape: &[usize], rng: &mut Rng) -> Result<Self, String> {
        let class = spec.kind.class_name();
        let name = &spec.name;
        if a.units == 0 {
            return Err(format!("{name}: units must be a positive integer"));
        }
        if input_shape.len() != 2 {
            return Err(format!(
                "{name} ({class}): expected input of shape (batch, timesteps, features), got (None, {}); \
                 reshape a matrix of sequences of single values first: array_reshape(x, c(nrow(x), ncol(x), 1))",
                fmt_shape(input_shape)
            ));
        }
        for (what, act) in [("activation", a.activation), ("recurrent_activation", a.recurrent_activation)] {
            if !usable(act) {
                return Err(format!(
                    "{name} ({class}): {what} = '{}' is not supported in a recurrent layer by rkeras",
                    act.name()
                ));
            }
        }
        for (what, r) in [("dropout", a.dropout), ("recurrent_dropout", a.recurrent_dropout)] {
            if !(0.0..1.0).contains(&r) {
                return Err(format!("{name} ({class}): {what} must be in [0, 1), got {r}"));
            }
        }
        let (t, f, u, g) = (input_shape[0], input_shape[1], a.units, a.cell.gates());
        let what = format!("{name} ({class}, {f} features x {u} units)");
        let gu = g.checked_mul(u).ok_or_else(|| format!("{what}: too many weights"))?;
        let nk = f.checked_mul(gu).ok_or_else(|| format!("{what}: too many weights"))?;
        let mut kernel = try_zeros(nk, &what)?;
        a.kernel_initializer.fill(&mut kernel, f, gu, rng);
        let mut rkernel = try_zeros(u * gu, &what)?;
        a.recurrent_initializer.fill(&mut rkernel, u, gu, rng);
        let mut bias = try_zeros(if a.use_bias { a.bias_len() } else { 0 }, &what)?;
        if a.use_bias {
            if a.unit_forget_bias && a.cell == Cell::Lstm {
                a.bias_initializer.fill(&mut bias[..u], u, u, rng);
                bias[u..2 * u].iter_mut().for_each(|v| *v = T::one());
                a.bias_initializer.fill(&mut bias[2 * u..], 2 * u, 2 * u, rng);
            } else {
                let n = bias.len();
                a.bias_initializer.fill(&mut bias, n, n, rng);
            }
        }
        let bias_shape = match a.cell {
            Cell::Gru { reset_after: true } => vec![2, gu],
            _ => vec![gu],
        };
        let names = NAMES[match a.cell {
            Cell::Simple => 0,
            Cell::Lstm => 1,
            Cell::Gru { .. } => 2,
        }];
        Ok(Recurrent {
            cell: a.cell,
            u,
            f,
            t,
            act: a.activation,
            ract: a.recurrent_activation,
            return_sequences: a.return_sequences,
            go_backwards: a.go_backwards,
            dropout: a.dropout,
            recurrent_dropout: a.recurrent_dropout,
            out_shape: if a.return_sequences { vec![t, u] } else { vec![u] },
            names,
            bias_shape,
            dkernel: vec![T::zero(); kernel.len()],
            drkernel: vec![T::zero(); rkernel.len()],
            dbias: vec![T::zero(); bias.len()],
            kernel,
            rkernel,
            bias,
            input_gradient: true,
            n: 0,
            xt: Vec::new(),
            p: Vec::new(),
            h: Vec::new(),
            c: Vec::new(),
            rq: Vec::new(),
            hd: Vec::new(),
            q: Vec::new(),
            dp: Vec::new(),
            dq: Vec::new(),
            scratch: Vec::new(),
            dxt: Vec::new(),
            dmask: Vec::new(),
            rmask: Vec::new(),
            in_mask: None,
            step_mask: Vec::new(),
            spec,
        })
    }

    fn gu(&self) -> usize {
        self.cell.gates() * self.u
    }

    /// The row of step `s`, sample `n` in the block layout for batch `n_all`.
    fn row(&self, s: usize, n: usize, n_all: usize) -> usize {
        let n1 = first_block(n_all);
        if n < n1 {
            s * n1 + n
        } else {
            self.t * n1 + s * (n_all - n1) + (n - n1)
        }
    }

    /// The input step processing step `s` reads.
    fn src(&self, s: usize) -> usize {
        if self.go_backwards {
            self.t - 1 - s
        } else {
            s
        }
    }

    fn blocks(&self, n: usize) -> Vec<(usize, usize)> {
        let n1 = first_block(n);
        if n1 < n {
            vec![(0, n1), (n1, n - n1)]
        } else {
            vec![(0, n)]
        }
    }

    fn draw(mask: &mut Vec<T>, len: usize, rate: f64, rng: &mut Rng) {
        mask.resize(len, T::zero());
        let keep = T::c(1.0 / (1.0 - rate));
        mask.iter_mut().for_each(|m| *m = if rng.uniform() < rate { T::zero() } else { keep });
    }

    /// Sizes the buffers for a batch of `n`; draws the dropout masks when training.
    fn prepare(&mut self, n: usize, training: bool, rng: &mut Rng) {
        let (t, f, u, gu, g) = (self.t, self.f, self.u, self.gu(), self.cell.gates());
        self.n = n;
        let rec_drop = training && self.recurrent_dropout > 0.0;
        let in_drop = training && self.dropout > 0.0;
        let kx = if in_drop {
            if rec_drop {
                g
            } else {
                1
            }
        } else {
            1
        };
        self.dmask.resize_with(if in_drop { kx } else { 0 }, Vec::new);
        for m in self.dmask.iter_mut() {
            Self::draw(m, n * f, self.dropout, rng);
        }
        self.rmask.resize_with(if rec_drop { g } else { 0 }, Vec::new);
        for m in self.rmask.iter_mut() {
            Self::draw(m, n * u, self.recurrent_dropout, rng);
        }
        self.xt.resize_with(kx, Vec::new);
        for x in self.xt.iter_mut() {
            x.resize(t * n * f, T::zero());
        }
        self.p.resize(t * n * gu, T::zero());
        self.h.resize((t + 1) * n * u, T::zero());
        self.c.resize(if self.cell == Cell::Lstm { (t + 1) * n * u } else { 0 }, T::zero());
        self.rq.resize(if matches!(self.cell, Cell::Gru { .. }) { t * n * u } else { 0 }, T::zero());
        self.hd.resize_with(if rec_drop { g } else { 0 }, Vec::new);
        for x in self.hd.iter_mut() {
            x.resize(t * n * u, T::zero());
        }
        self.q.resize(n * gu, T::zero());
        self.step_mask.clear();
        if let Some(m) = &self.in_mask {
            if m.len() == n * t {
                self.step_mask.resize(n * t, true);
                for nn in 0..n {
                    for s in 0..t {
                        let r = self.row(s, nn, n);
                        self.step_mask[r] = m[nn * t + self.src(s)];
                    }
                }
            }
        }
    }
}

impl<T: Real> Layer<T> for Recurrent<T> {
    fn spec(&self) -> &LayerSpec {
        &self.spec
    }

    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }

    fn forward(&mut self, xs: &[&Tensor<T>], out: &mut Tensor<T>, training: bool, rng: &mut Rng) {
        let x = xs[0];
        let n = x.rows();
        out.resize_batch(n, &self.out_shape);
        if n == 0 {
            return;
        }
        self.prepare(n, training, rng);
        let (t, f, u, gu, g) = (self.t, self.f, self.u, self.gu(), self.cell.gates());
        // inputs, time-major (reversed with go_backwards), times the dropout masks
        for k in 0..self.xt.len() {
            for nn in 0..n {
                let m = self.dmask.get(k).map(|m| &m[nn * f..(nn + 1) * f]);
                for s in 0..t {
                    let r = self.row(s, nn, n);
                    let src = &x.data[(nn * t + self.src(s)) * f..(nn * t + self.src(s) + 1) * f];
                    let dst = &mut self.xt[k][r * f..(r + 1) * f];
                    match m {
                        Some(m) => dst.iter_mut().zip(src).zip(m).for_each(|((d, x), m)| *d = *x * *m),
                        None => dst.copy_from_slice(src),
                    }
                }
            }
        }
        // all input projections (plus the input bias)
        let rows = t * n;
        let in_bias = &self.bias[..self.bias.len().min(gu)];
        if !in_bias.is_empty() {
            self.p.chunks_exact_mut(gu).for_each(|r| r.copy_from_slice(in_bias));
        }
        let acc = !in_bias.is_empty();
        let kern = op(&self.kernel, f, gu, false);
        if self.xt.len() == 1 {
            gemm_rows(&mut self.p, rows, gu, op(&self.xt[0], rows, f, false), kern, acc);
        } else {
            for k in 0..g {
                let pm = MatMut::from_row_major_slice_mut(&mut self.p, rows, gu).subcols_mut(k * u, u);
                gemm(pm, op(&self.xt[k], rows, f, false), kern.subcols(k * u, u), acc);
            }
        }
        // the time loops, block by block
        let rbias: &[T] = match self.cell {
            Cell::Gru { reset_after: true } if !self.bias.is_empty() => &self.bias[gu..],
            _ => &[],
        };
        let ctx = Ctx {
            cell: self.cell,
            u,
            g,
            t,
            act: self.act,
            ract: self.ract,
            rkernel: &self.rkernel,
            rbias,
            rmask: &self.rmask,
        };
        let blocks = self.blocks(n);
        let mut p = &mut self.p[..];
        let mut h = &mut self.h[..];
        let mut c = &mut self.c[..];
        let mut rq = &mut self.rq[..];
        let mut q = &mut self.q[..];
        let mut mask = &self.step_mask[..];
        let mut hd: Vec<&mut [T]> = self.hd.iter_mut().map(|v| &mut v[..]).collect();
        let mut parts = Vec::with_capacity(2);
        for &(n0, nb) in &blocks {
            let take = take_mut::<T>;
            let bp = take(&mut p, t * nb * gu);
            let bh = take(&mut h, (t + 1) * nb * u);
            let bc = take(&mut c, (t + 1) * nb * u);
            let brq = take(&mut rq, t * nb * u);
            let bq = take(&mut q, nb * gu);
            let mut bhd = empty4();
            for (k, v) in hd.iter_mut().enumerate() {
                bhd[k] = take(v, t * nb * u);
            }
            let bm = if mask.is_empty() {
                &[][..]
            } else {
                let (a, b) = mask.split_at(t * nb);
                mask = b;
                a
            };
            parts.push(Block { n0, nb, p: bp, h: bh, c: bc, rq: brq, hd: bhd, q: bq, mask: bm });
        }
        let split = parts.len() == 2 && parts::split_product(t * n * u * gu, n);
        if parts.len() == 2 {
            let b1 = parts.pop().unwrap();
            let b0 = parts.pop().unwrap();
            if split {
                forkjoin::join(|| ctx.forward(b0), || ctx.forward(b1));
            } else {
                ctx.forward(b0);
                ctx.forward(b1);
            }
        } else {
            ctx.forward(parts.pop().unwrap());
        }
        // outputs: h of each processing step (return_sequences) or of the last
        for nn in 0..n {
            let (n0, nb, i) = if nn < first_block(n) {
                (0, first_block(n), nn)
            } else {
                (first_block(n), n - first_block(n), nn - first_block(n))
            };
            let base = (t + 1) * n0 * u;
            if self.return_sequences {
                for s in 0..t {
                    let src = base + ((s + 1) * nb + i) * u;
                    out.data[(nn * t + s) * u..(nn * t + s + 1) * u].copy_from_slice(&self.h[src..src + u]);
                }
            } else {
                let src = base + (t * nb + i) * u;
                out.data[nn * u..(nn + 1) * u].copy_from_slice(&self.h[src..src + u]);
            }
        }
    }

    fn backward(
        &mut self,
        _xs: &[&Tensor<T>],
        _out: &Tensor<T>,
        g: &mut Tensor<T>,
        dxs: &mut [Option<&mut Tensor<T>>],
        _g_is_preactivation: bool,
    ) {
        let n = self.n;
        let (t, f, u, gu, gates) = (self.t, self.f, self.u, self.gu(), self.cell.gates());
        if n == 0 {
            return;
        }
        let gru_ra = self.cell == (Cell::Gru { reset_after: true });
        self.dp.resize(t * n * gu, T::zero());
        self.dq.resize(if gru_ra { t * n * gu } else { 0 }, T::zero());
        self.scratch.resize(6 * n * u, T::zero());
        let rbias: &[T] = match self.cell {
            Cell::Gru { reset_after: true } if !self.bias.is_empty() => &self.bias[gu..],
            _ => &[],
        };
        let ctx = Ctx {
            cell: self.cell,
            u,
            g: gates,
            t,
            act: self.act,
            ract: self.ract,
            rkernel: &self.rkernel,
            rbias,
            rmask: &self.rmask,
        };
        let blocks = self.blocks(n);
        {
            let (mut p, mut h, mut c, mut rq) = (&self.p[..], &self.h[..], &self.c[..], &self.rq[..]);
            let mut mask = &self.step_mask[..];
            let mut hd: Vec<&[T]> = self.hd.iter().map(|v| &v[..]).collect();
            let (mut dp, mut dq, mut sc) = (&mut self.dp[..], &mut self.dq[..], &mut self.scratch[..]);
            let mut parts = Vec::with_capacity(2);
            for &(n0, nb) in &blocks {
                let (take, takem) = (take_ref::<T>, take_mut::<T>);
                let mut bhd: [&[T]; 4] = [&[], &[], &[], &[]];
                for (k, v) in hd.iter_mut().enumerate() {
                    bhd[k] = take(v, t * nb * u);
                }
                parts.push(BackBlock {
                    n0,
                    nb,
                    p: take(&mut p, t * nb * gu),
                    h: take(&mut h, (t + 1) * nb * u),
                    c: take(&mut c, (t + 1) * nb * u),
                    rq: take(&mut rq, t * nb * u),
                    hd: bhd,
                    mask: take_b(&mut mask, if self.step_mask.is_empty() { 0 } else { t * nb }),
                    dp: takem(&mut dp, t * nb * gu),
                    dq: takem(&mut dq, t * nb * gu),
                    s: takem(&mut sc, 6 * nb * u),
                });
            }
            let gd = &g.data[..];
            let seq = self.return_sequences;
            if parts.len() == 2 {
                let b1 = parts.pop().unwrap();
                let b0 = parts.pop().unwrap();
                if parts::split_product(t * n * u * gu, n) {
                    forkjoin::join(|| ctx.backward(b0, gd, seq), || ctx.backward(b1, gd, seq));
                } else {
                    ctx.backward(b0, gd, seq);
                    ctx.backward(b1, gd, seq);
                }
            } else {
                ctx.backward(parts.pop().unwrap(), gd, seq);
            }
        }
        let rows = t * n;
        let dpm = op(&self.dp, rows, gu, false);
        // kernel gradient: X^T dP
        if self.xt.len() == 1 {
            gemm_rows(&mut self.dkernel, f, gu, op(&self.xt[0], f, rows, true), dpm, false);
        } else {
            for k in 0..gates {
                gemm_cols(
                    &mut self.dkernel,
                    f,
                    gu,
                    k * u,
                    op(&self.xt[k], f, rows, true),
                    dpm.subcols(k * u, u),
                    false,
                );
            }
        }
        // recurrent kernel gradient: H_{t-1}^T dQ
        let dqm = if gru_ra { op(&self.dq, rows, gu, false) } else { dpm };
        let rec_cols = if self.cell == (Cell::Gru { reset_after: false }) { 2 * u } else { gu };
        if !self.hd.is_empty() {
            for k in 0..rec_cols / u {
                gemm_cols(
                    &mut self.drkernel,
                    u,
                    gu,
                    k * u,
                    op(&self.hd[k], u, rows, true),
                    dqm.subcols(k * u, u),
                    false,
                );
            }
        } else {
            for (bi, &(n0, nb)) in blocks.iter().enumerate() {
                let hb = &self.h[(t + 1) * n0 * u..];
                let a = op(hb, u, t * nb, true);
                let dqb = dqm.subrows(t * n0, t * nb).subcols(0, rec_cols);
                gemm_cols(&mut self.drkernel, u, gu, 0, a, dqb, bi > 0);
            }
        }
        if rec_cols < gu {
            // GRU without reset_after: the candidate's recurrent kernel from r * h
            gemm_cols(&mut self.drkernel, u, gu, 2 * u, op(&self.rq, u, rows, true), dpm.subcols(2 * u, u), false);
        }
        // bias gradients
        if !self.bias.is_empty() {
            self.dbias.iter_mut().for_each(|v| *v = T::zero());
            let (din, drec) = self.dbias.split_at_mut(gu);
            for r in self.dp.chunks_exact(gu) {
                din.iter_mut().zip(r).for_each(|(d, v)| *d += *v);
            }
            if gru_ra {
                for r in self.dq.chunks_exact(gu) {
                    drec.iter_mut().zip(r).for_each(|(d, v)| *d += *v);
                }
            }
        }
        // input gradient: dP W^T (times the dropout masks), back to batch-first order
        let Some(dx) = dxs.first_mut().and_then(|d| d.as_deref_mut()) else { return };
        if !self.input_gradient {
            return;
        }
        dx.resize(&[n, t, f]);
        self.dxt.resize(rows * f, T::zero());
        let kern = op(&self.kernel, f, gu, false);
        if self.xt.len() == 1 || self.dmask.is_empty() {
            gemm_rows(&mut self.dxt, rows, f, dpm, kern.transpose(), false);
        }
        for nn in 0..n {
            for s in 0..t {
                let r = self.row(s, nn, n);
                let dst = &mut dx.data[(nn * t + self.src(s)) * f..(nn * t + self.src(s) + 1) * f];
                if self.dmask.is_empty() {
                    dst.copy_from_slice(&self.dxt[r * f..(r + 1) * f]);
                } else if self.dmask.len() == 1 {
                    let m = &self.dmask[0][nn * f..(nn + 1) * f];
                    dst.iter_mut().zip(&self.dxt[r * f..(r + 1) * f]).zip(m).for_each(|((d, v), m)| *d = *v * *m);
                } else {
                    dst.iter_mut().for_each(|v| *v = T::zero());
                }
            }
        }
        if self.dmask.len() > 1 {
            // one gate at a time: dx += (dP_k W_k^T) * mask_k
            for k in 0..gates {
                gemm_rows(&mut self.dxt, rows, f, dpm.subcols(k * u, u), kern.subcols(k * u, u).transpose(), false);
                for nn in 0..n {
                    let m = &self.dmask[k][nn * f..(nn + 1) * f];
                    for s in 0..t {
                        let r = self.row(s, nn, n);
                        let dst = &mut dx.data[(nn * t + self.src(s)) * f..(nn * t + self.src(s) + 1) * f];
                        dst.iter_mut().zip(&self.dxt[r * f..(r + 1) * f]).zip(m).for_each(|((d, v), m)| *d += *v * *m);
                    }
                }
            }
        }
    }

    fn set_input_gradient_needed(&mut self, needed: bool) {
        self.input_gradient = needed;
    }

    fn set_input_mask(&mut self, mask: Option<&[bool]>) {
        match mask {
            Some(m) => {
                let v = self.in_mask.get_or_insert_with(Vec::new);
                v.clear();
                v.extend_from_slice(m);
            }
            None => self.in_mask = None,
        }
    }

    fn weights(&self) -> Vec<WeightRef<'_, T>> {
        let gu = self.gu();
        let mut w = vec![
            WeightRef { name: self.names[0], shape: vec![self.f, gu], values: &self.kernel, trainable: true },
            WeightRef { name: self.names[1], shape: vec![self.u, gu], values: &self.rkernel, trainable: true },
        ];
        if !self.bias.is_empty() {
            w.push(WeightRef {
                name: self.names[2],
                shape: self.bias_shape.clone(),
                values: &self.bias,
                trainable: true,
            });
        }
        w
    }

    fn push_params<'a>(&'a mut self, params: &mut Vec<&'a mut [T]>, grads: &mut Vec<&'a mut [T]>) {
        params.push(&mut self.kernel);
        grads.push(&mut self.dkernel);
        params.push(&mut self.rkernel);
        grads.push(&mut self.drkernel);
        if !self.bias.is_empty() {
            params.push(&mut self.bias);
            grads.push(&mut self.dbias);
        }
    }

    fn push_weights_mut<'a>(&'a mut self, out: &mut Vec<&'a mut [T]>) {
        out.push(&mut self.kernel);
        out.push(&mut self.rkernel);
        if !self.bias.is_empty() {
            out.push(&mut self.bias);
        }
    }
}

/// The first `len` values of `s` (fewer if it is shorter), leaving the rest in `s`.
fn take_mut<'a, T>(s: &mut &'a mut [T], len: usize) -> &'a mut [T] {
    let l = len.min(s.len());
    let (a, b) = std::mem::take(s).split_at_mut(l);
    *s = b;
    a
}

fn take_ref<'a, T>(s: &mut &'a [T], len: usize) -> &'a [T] {
    let (a, b) = s.split_at(len.min(s.len()));
    *s = b;
    a
}

fn take_b<'a>(s: &mut &'a [bool], len: usize) -> &'a [bool] {
    let (a, b) = s.split_at(len.min(s.len()));
    *s = b;
    a
}
