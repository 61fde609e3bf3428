//! Times one training step, one test step and prediction of the keras-for-R `mnist_cnn`
//! model on random 28x28x1 batches of 128: `cargo run --release --example cnn_probe [threads]`.
mod common;

use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;

fn main() {
    let threads = common::threads_from_args();
    let mut model = common::mnist_cnn_model();
    let n = 128;
    let mut r = Rng::seed_from(2);
    let x = Tensor::from_vec(&[n, 28, 28, 1], (0..n * 784).map(|_| r.uniform() as f32).collect());
    let y = Tensor::from_vec(&[n, 10], (0..n).flat_map(|i| (0..10).map(move |j| (i % 10 == j) as u8 as f32)).collect());
    let mut run = model.new_running(&[10]).unwrap();
    let (xs, ys) = (std::slice::from_ref(&x), std::slice::from_ref(&y));
    for _ in 0..3 {
        model.train_step(xs, ys, None, &mut run);
    }
    let reps = 20;
    let time = |f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        for _ in 0..reps {
            f();
        }
        t.elapsed().as_secs_f64() / reps as f64
    };
    let ts = time(&mut || {
        model.train_step(xs, ys, None, &mut run);
    });
    let te = time(&mut || {
        model.test_step(xs, ys, None, &mut run);
    });
    // the fit regime of bench/cnn.R: 4,800 training rows (38 steps) and 1,200 validation rows
    println!(
        "threads {threads}: train_step {:.2} ms, test_step {:.2} ms; 6,000-row epoch estimate {:.3} s",
        ts * 1e3,
        te * 1e3,
        37.5 * ts + 9.375 * te
    );
}
