use rkeras_core::optimizers::{Optimizer, OptimizerConfig};
use std::time::Instant;
fn main() {
    let sizes = [784 * 256, 256, 256 * 128, 128, 1280, 10];
    let mut ws: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.1; n]).collect();
    let mut gs: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.01; n]).collect();
    let mut opt = Optimizer::<f32>::new(OptimizerConfig::defaults("rmsprop").unwrap(), &sizes);
    for th in [1usize, 2, 1, 2] {
        rkeras_core::linalg::set_threads(th);
        let reps = 3000;
        let t = Instant::now();
        for _ in 0..reps {
            let mut p: Vec<&mut [f32]> = ws.iter_mut().map(|v| &mut v[..]).collect();
            let mut g: Vec<&mut [f32]> = gs.iter_mut().map(|v| &mut v[..]).collect();
            opt.apply(&mut p, &mut g);
        }
        println!("rmsprop, {th} threads: {:.1} us", t.elapsed().as_secs_f64() / reps as f64 * 1e6);
    }
}
