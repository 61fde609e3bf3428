//! Times the phases of one training step of the tutorial model on a fixed batch:
//! `cargo run --release --example step_probe [threads]`.
mod common;

use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;

fn main() {
    let threads = common::threads_from_args();
    let mut model = common::tutorial_model();
    let n = 128;
    let mut r = Rng::seed_from(2);
    let (x, y) = common::random_batch(n, &mut r);
    let mut run = model.new_running(&[10]).unwrap();
    let reps = 2000;
    for _ in 0..200 {
        model.train_step(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut run);
    }
    let t = std::time::Instant::now();
    for _ in 0..reps {
        model.backprop(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut run);
    }
    let bp = t.elapsed().as_secs_f64() / reps as f64;
    let t = std::time::Instant::now();
    for _ in 0..reps {
        model.train_step(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut run);
    }
    let ts = t.elapsed().as_secs_f64() / reps as f64;
    let t = std::time::Instant::now();
    for _ in 0..reps {
        model.test_step(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut run);
    }
    let te = t.elapsed().as_secs_f64() / reps as f64;
    let xv = Tensor::from_vec(&[12000, 784], (0..12000 * 784).map(|_| r.uniform() as f32).collect());
    let t = std::time::Instant::now();
    for _ in 0..20 {
        let _ = model.predict(&xv, 128);
    }
    let pr = t.elapsed().as_secs_f64() / 20.0;
    // distinct batches, as in an epoch (the data no longer sits in cache)
    let nb = 375;
    let xs: Vec<Tensor<f32>> =
        (0..nb).map(|_| Tensor::from_vec(&[n, 784], (0..n * 784).map(|_| r.uniform() as f32).collect())).collect();
    let t = std::time::Instant::now();
    for b in &xs {
        model.train_step(std::slice::from_ref(b), std::slice::from_ref(&y), None, &mut run);
    }
    let fresh = t.elapsed().as_secs_f64() / nb as f64;
    println!("fresh batches: train_step {:.1} us", fresh * 1e6);
    println!("threads {threads}: backprop {:.1} us, train_step {:.1} us (optimizer {:.1}), test_step {:.1} us, predict 12000 rows {:.2} ms; epoch estimate {:.3} s",
        bp * 1e6, ts * 1e6, (ts - bp) * 1e6, te * 1e6, pr * 1e3, 375.0 * ts + pr);
}
