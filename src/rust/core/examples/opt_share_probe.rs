//! The optimizer step when both cores have just read the weights (as the forward pass does),
//! against the weights hot in one cache: `cargo run --release --example opt_share_probe`.
use rkeras_core::optimizers::{Optimizer, OptimizerConfig};
use std::time::Instant;
fn main() {
    let sizes = [784 * 256, 256, 256 * 128, 128, 1280, 10];
    let mut ws: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.1; n]).collect();
    let mut gs: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.01; n]).collect();
    let mut opt = Optimizer::<f32>::new(OptimizerConfig::defaults("rmsprop").unwrap(), &sizes);
    rkeras_core::linalg::set_threads(2);
    for mode in ["hot", "W1 read by both cores first"] {
        let reps = 3000;
        let mut tot = 0.0;
        for _ in 0..reps {
            if mode != "hot" {
                let w = &ws[0];
                let (mut s1, mut s2) = (0f32, 0f32);
                rkeras_core::forkjoin::join(|| s1 = w.iter().sum(), || s2 = w.iter().rev().sum());
                std::hint::black_box((s1, s2));
            }
            let t = Instant::now();
            let mut p: Vec<&mut [f32]> = ws.iter_mut().map(|v| &mut v[..]).collect();
            let mut g: Vec<&mut [f32]> = gs.iter_mut().map(|v| &mut v[..]).collect();
            opt.apply(&mut p, &mut g);
            tot += t.elapsed().as_secs_f64();
        }
        println!("rmsprop, 2 threads, {mode}: {:.1} us", tot / reps as f64 * 1e6);
    }
}
