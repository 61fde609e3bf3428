//! The optimizer step when both cores have just read the weights (as the forward pass does),
//! against the weights hot in one cache: `cargo run --release --example opt_share_probe`.
mod common;

use std::time::Instant;
fn main() {
    let (mut ws, mut gs, mut opt) = common::tutorial_update();
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
