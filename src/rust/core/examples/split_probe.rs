//! Layer 1 of the tutorial model (784 -> 256, relu) over a training step, with the batch
//! gathered in row halves and the output gradient arriving in row halves, three ways:
//! `rows`, the forward pass by batch rows (each core reads the whole kernel, half of it
//! just updated by the other core); `cols`, the kernel stored as two column blocks, each
//! core computing and updating its block; `ksplit`, the forward pass as two partial
//! products over the halves of the kernel rows, summed by batch rows. Kernel gradient and
//! update by kernel rows except in `cols`. `cargo run --release --example split_probe [threads]`.
use faer::{MatMut, MatRef};
use rkeras_core::forkjoin::join;
use rkeras_core::linalg::gemm;
use std::time::Instant;

fn rms(w: &mut [f32], g: &[f32], v: &mut [f32]) {
    for ((w, g), v) in w.iter_mut().zip(g).zip(v.iter_mut()) {
        *v = 0.9 * *v + 0.1 * g * g;
        *w -= 0.001 * g / (v.sqrt() + 1e-7);
    }
}

fn main() {
    let threads: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2);
    let two = threads > 1;
    let par = |a: &mut (dyn FnMut() + Send), b: &mut (dyn FnMut() + Send)| {
        if two {
            join(a, b)
        } else {
            a();
            b()
        }
    };
    let (m, k, n) = (128usize, 784usize, 256usize);
    let (h, c) = (m / 2, n / 2);
    let src: Vec<f32> = (0..48000 * k).map(|i| ((i * 7919) % 1000) as f32 / 997.0 - 0.5).collect();
    let mut w: Vec<f32> = (0..k * n).map(|i| ((i * 104729) % 1000) as f32 / 99700.0 - 0.005).collect();
    let mut dw = vec![0f32; k * n];
    let mut v = vec![0f32; k * n];
    let mut x = vec![0f32; m * k];
    let mut z = vec![0f32; m * n];
    let mut g = vec![0f32; m * n];
    let steps = 375;
    let mut pb = vec![0f32; m * n];
    for scheme in ["rows", "cols", "ksplit", "rows", "cols", "ksplit"] {
        let t = Instant::now();
        for s in 0..steps {
            // gather: row halves
            {
                let (x0, x1) = x.split_at_mut(h * k);
                let rows = |d: &mut [f32], off: usize| {
                    for (i, r) in d.chunks_exact_mut(k).enumerate() {
                        let src_row = ((s * m + off + i) * 7919) % 48000;
                        r.copy_from_slice(&src[src_row * k..(src_row + 1) * k]);
                    }
                };
                par(&mut || rows(x0, 0), &mut || rows(x1, h));
            }
            if scheme == "rows" {
                let (z0, z1) = z.split_at_mut(h * n);
                let fwd = |zz: &mut [f32], r0: usize| {
                    gemm(
                        MatMut::from_row_major_slice_mut(zz, h, n),
                        MatRef::from_row_major_slice(&x[r0 * k..(r0 + h) * k], h, k),
                        MatRef::from_row_major_slice(&w, k, n),
                        false,
                    );
                    zz.iter_mut().for_each(|v| *v = v.max(0.0));
                };
                par(&mut || fwd(z0, 0), &mut || fwd(z1, h));
            } else if scheme == "ksplit" {
                // partial products over kernel-row halves, then their sum by batch rows
                let (wa, wb) = w.split_at(k / 2 * n);
                let xm = MatRef::from_row_major_slice(&x, m, k);
                let (zz, pp) = (&mut z, &mut pb);
                par(
                    &mut || {
                        gemm(
                            MatMut::from_row_major_slice_mut(zz, m, n),
                            xm.subcols(0, k / 2),
                            MatRef::from_row_major_slice(wa, k / 2, n),
                            false,
                        )
                    },
                    &mut || {
                        gemm(
                            MatMut::from_row_major_slice_mut(pp, m, n),
                            xm.subcols(k / 2, k - k / 2),
                            MatRef::from_row_major_slice(wb, k - k / 2, n),
                            false,
                        )
                    },
                );
                let (z0, z1) = z.split_at_mut(h * n);
                let (p0, p1) = pb.split_at(h * n);
                let sum = |z: &mut [f32], p: &[f32]| {
                    for (z, p) in z.iter_mut().zip(p) {
                        *z = (*z + *p).max(0.0)
                    }
                };
                par(&mut || sum(z0, p0), &mut || sum(z1, p1));
            } else {
                // kernel as two column blocks, each k x c row-major
                let zm = MatMut::from_row_major_slice_mut(&mut z, m, n);
                let (za, zb) = zm.split_at_col_mut(c);
                let (wa, wb) = w.split_at(k * c);
                let xm = MatRef::from_row_major_slice(&x, m, k);
                let mut za = Some(za);
                let mut zb = Some(zb);
                par(
                    &mut || {
                        let mut zz = za.take().unwrap();
                        gemm(zz.as_mut(), xm, MatRef::from_row_major_slice(wa, k, c), false);
                        for i in 0..m {
                            for j in 0..c {
                                let v = zz[(i, j)];
                                zz[(i, j)] = v.max(0.0);
                            }
                        }
                    },
                    &mut || {
                        let mut zz = zb.take().unwrap();
                        gemm(zz.as_mut(), xm, MatRef::from_row_major_slice(wb, k, c), false);
                        for i in 0..m {
                            for j in 0..c {
                                let v = zz[(i, j)];
                                zz[(i, j)] = v.max(0.0);
                            }
                        }
                    },
                );
            }
            // the gradient arrives in row halves (layer 2's input gradient)
            {
                let (g0, g1) = g.split_at_mut(h * n);
                let zz = &z;
                par(
                    &mut || {
                        for (i, v) in g0.iter_mut().enumerate() {
                            *v = zz[i] * 0.01 - 0.001
                        }
                    },
                    &mut || {
                        for (i, v) in g1.iter_mut().enumerate() {
                            *v = zz[h * n + i] * 0.01 - 0.001
                        }
                    },
                );
            }
            let xt = MatRef::from_row_major_slice(&x, m, k).transpose();
            if scheme != "cols" {
                let (d0, d1) = dw.split_at_mut(k / 2 * n);
                let gm = MatRef::from_row_major_slice(&g, m, n);
                par(
                    &mut || gemm(MatMut::from_row_major_slice_mut(d0, k / 2, n), xt.subrows(0, k / 2), gm, false),
                    &mut || gemm(MatMut::from_row_major_slice_mut(d1, k / 2, n), xt.subrows(k / 2, k / 2), gm, false),
                );
            } else {
                let (d0, d1) = dw.split_at_mut(k * c);
                let gm = MatRef::from_row_major_slice(&g, m, n);
                par(&mut || gemm(MatMut::from_row_major_slice_mut(d0, k, c), xt, gm.subcols(0, c), false), &mut || {
                    gemm(MatMut::from_row_major_slice_mut(d1, k, c), xt, gm.subcols(c, c), false)
                });
            }
            // the update: the same flat halves either way (rows of the kernel, or its blocks)
            let (w0, w1) = w.split_at_mut(k * n / 2);
            let (g0, g1) = dw.split_at(k * n / 2);
            let (v0, v1) = v.split_at_mut(k * n / 2);
            let (mut a, mut b) = (Some((w0, g0, v0)), Some((w1, g1, v1)));
            par(
                &mut || {
                    let (w, g, v) = a.take().unwrap();
                    rms(w, g, v)
                },
                &mut || {
                    let (w, g, v) = b.take().unwrap();
                    rms(w, g, v)
                },
            );
        }
        println!("threads {threads} {scheme}: {:.1} us/step", t.elapsed().as_secs_f64() / steps as f64 * 1e6);
    }
}
