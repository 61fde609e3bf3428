//! Two threads each multiply 64 rows by a 784x256 kernel: shared kernel vs a private copy,
//! one join per product vs one join for many products, and with the kernel rewritten in
//! halves by the two threads before each product (as the optimizer does):
//! `cargo run --release --example share_probe`.
use faer::{MatMut, MatRef};
use rkeras_core::forkjoin::join;
use rkeras_core::linalg::gemm;
use std::time::Instant;

fn main() {
    rkeras_core::linalg::set_threads(2);
    let v = |n: usize, s: usize| (0..n).map(|i| ((i * s) % 1000) as f32 / 997.0 - 0.5).collect::<Vec<f32>>();
    let (m, k, n) = (64usize, 784usize, 256usize);
    let xa = v(m * k, 7919);
    let xb = v(m * k, 7907);
    let w = v(k * n, 104729);
    let w2 = w.clone();
    let mut ca = vec![0f32; m * n];
    let mut cb = vec![0f32; m * n];
    let prod = |c: &mut [f32], x: &[f32], w: &[f32]| {
        gemm(
            MatMut::from_row_major_slice_mut(c, m, n),
            MatRef::from_row_major_slice(x, m, k),
            MatRef::from_row_major_slice(w, k, n),
            false,
        )
    };
    let reps = 400;
    for _ in 0..3 {
        // one thread alone
        let t = Instant::now();
        for _ in 0..reps {
            prod(&mut ca, &xa, &w);
        }
        let one = t.elapsed().as_secs_f64() / reps as f64 * 1e6;
        // join per product, shared kernel
        let t = Instant::now();
        for _ in 0..reps {
            join(|| prod(&mut ca, &xa, &w), || prod(&mut cb, &xb, &w));
        }
        let shared = t.elapsed().as_secs_f64() / reps as f64 * 1e6;
        let t = Instant::now();
        for _ in 0..reps {
            join(|| prod(&mut ca, &xa, &w), || prod(&mut cb, &xb, &w2));
        }
        let private = t.elapsed().as_secs_f64() / reps as f64 * 1e6;
        let t = Instant::now();
        join(
            || {
                for _ in 0..reps {
                    prod(&mut ca, &xa, &w)
                }
            },
            || {
                for _ in 0..reps {
                    prod(&mut cb, &xb, &w)
                }
            },
        );
        let long_shared = t.elapsed().as_secs_f64() / reps as f64 * 1e6;
        let t = Instant::now();
        join(
            || {
                for _ in 0..reps {
                    prod(&mut ca, &xa, &w)
                }
            },
            || {
                for _ in 0..reps {
                    prod(&mut cb, &xb, &w2)
                }
            },
        );
        let long_private = t.elapsed().as_secs_f64() / reps as f64 * 1e6;
        // kernel rewritten in halves by the two threads before each product (as the optimizer does)
        let mut wm = w.clone();
        let t = Instant::now();
        for _ in 0..reps {
            {
                let (w0, w1) = wm.split_at_mut(k / 2 * n);
                join(|| w0.iter_mut().for_each(|x| *x *= 1.0000001), || w1.iter_mut().for_each(|x| *x *= 1.0000001));
            }
            join(|| prod(&mut ca, &xa, &wm), || prod(&mut cb, &xb, &wm));
        }
        let rewritten = t.elapsed().as_secs_f64() / reps as f64 * 1e6;
        let t = Instant::now();
        for _ in 0..reps {
            wm.iter_mut().for_each(|x| *x *= 1.0000001);
            prod(&mut ca, &xa, &wm);
        }
        let rewritten_one = t.elapsed().as_secs_f64() / reps as f64 * 1e6;
        println!("alone {one:.1}  join shared {shared:.1} private {private:.1}  long shared {long_shared:.1} private {long_private:.1}  rewrite+2 threads {rewritten:.1} rewrite+1 thread {rewritten_one:.1} us");
    }
}
