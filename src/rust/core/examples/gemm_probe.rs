//! GFLOP/s of faer on the tutorial model's products (and their 64-row halves, as split over
//! two threads), one thread, hot cache, in the arrangements the layers can use:
//! `cargo run --release --example gemm_probe`. Compare with the core's peak (2 AVX-512 FMA
//! units: 64 flops per cycle) to judge how much a different matrix multiply could win.
use faer::{MatMut, MatRef};
use rkeras_core::linalg::gemm;
use std::time::Instant;

fn time(name: &str, flops: f64, mut f: impl FnMut()) {
    for _ in 0..50 {
        f();
    }
    let reps = 400;
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    let s = t.elapsed().as_secs_f64() / reps as f64;
    println!("{name:58} {:7.1} us {:6.1} GFLOP/s", s * 1e6, flops / s / 1e9);
}

fn main() {
    let v = |n: usize| (0..n).map(|i| ((i * 7919) % 1000) as f32 / 997.0 - 0.5).collect::<Vec<f32>>();
    for (m, k, n) in [(128usize, 784usize, 256usize), (64, 784, 256), (128, 256, 128)] {
        let x = v(m * k);
        let w = v(k * n);
        let mut c = vec![0f32; m * n];
        let fl = 2.0 * (m * k * n) as f64;
        time(&format!("fwd {m}x{k}x{n}: C = X W (row-major)"), fl, || {
            gemm(
                MatMut::from_row_major_slice_mut(&mut c, m, n),
                MatRef::from_row_major_slice(&x, m, k),
                MatRef::from_row_major_slice(&w, k, n),
                false,
            )
        });
        time(&format!("fwd {m}x{k}x{n}: C^T = W^T X^T"), fl, || {
            gemm(
                MatMut::from_column_major_slice_mut(&mut c, n, m),
                MatRef::from_row_major_slice(&w, k, n).transpose(),
                MatRef::from_row_major_slice(&x, m, k).transpose(),
                false,
            )
        });
        let mut dw = vec![0f32; k * n];
        let dz = v(m * n);
        time(&format!("kgrad {k}x{m}x{n}: dW = X^T dZ"), fl, || {
            gemm(
                MatMut::from_row_major_slice_mut(&mut dw, k, n),
                MatRef::from_row_major_slice(&x, m, k).transpose(),
                MatRef::from_row_major_slice(&dz, m, n),
                false,
            )
        });
        time(&format!("kgrad half rows {}x{m}x{n}", k / 2), fl / 2.0, || {
            gemm(
                MatMut::from_row_major_slice_mut(&mut dw[..k / 2 * n], k / 2, n),
                MatRef::from_row_major_slice(&x, m, k).transpose().subrows(0, k / 2),
                MatRef::from_row_major_slice(&dz, m, n),
                false,
            )
        });
        let mut dx = vec![0f32; m * k];
        time(&format!("dx {m}x{n}x{k}: dX = dZ W^T"), fl, || {
            gemm(
                MatMut::from_row_major_slice_mut(&mut dx, m, k),
                MatRef::from_row_major_slice(&dz, m, n),
                MatRef::from_row_major_slice(&w, k, n).transpose(),
                false,
            )
        });
    }
}
