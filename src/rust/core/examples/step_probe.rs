//! Times the phases of one training step of the tutorial model on a fixed batch:
//! `cargo run --release --example step_probe [threads]`.
use rkeras_core::activations::Activation;
use rkeras_core::init::Initializer;
use rkeras_core::layers::{LayerKind, LayerSpec};
use rkeras_core::losses::Loss;
use rkeras_core::model::{CompileSpec, Model, ModelSpec};
use rkeras_core::optimizers::OptimizerConfig;
use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;

fn dense(name: &str, units: usize, activation: Activation) -> LayerSpec {
    LayerSpec { name: name.into(), trainable: true, kind: LayerKind::Dense { units, activation, use_bias: true,
        kernel_initializer: Initializer::GlorotUniform, bias_initializer: Initializer::Zeros } }
}

fn main() {
    let threads: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    rkeras_core::linalg::set_threads(threads);
    let layers = vec![
        dense("dense", 256, Activation::Relu),
        LayerSpec { name: "dropout".into(), trainable: true, kind: LayerKind::Dropout { rate: 0.4 } },
        dense("dense_1", 128, Activation::Relu),
        LayerSpec { name: "dropout_1".into(), trainable: true, kind: LayerKind::Dropout { rate: 0.3 } },
        dense("dense_2", 10, Activation::Softmax),
    ];
    let spec = ModelSpec { name: "m".into(), class_name: "Sequential".into(), input_shape: vec![784], input_name: None, layers };
    let mut model = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    model.compile(CompileSpec { optimizer: OptimizerConfig::defaults("rmsprop").unwrap(),
        loss: Loss::CategoricalCrossentropy, metrics: vec!["accuracy".into()] }).unwrap();
    let n = 128;
    let mut r = Rng::seed_from(2);
    let x = Tensor::from_vec(&[n, 784], (0..n * 784).map(|_| r.uniform() as f32).collect());
    let y = Tensor::from_vec(&[n, 10], (0..n).flat_map(|i| (0..10).map(move |j| (i % 10 == j) as u8 as f32)).collect());
    let mut run = model.new_running(10).unwrap();
    let reps = 2000;
    for _ in 0..200 { model.train_step(&x, &y, None, &mut run); }
    let t = std::time::Instant::now();
    for _ in 0..reps { model.backprop(&x, &y, None, &mut run); }
    let bp = t.elapsed().as_secs_f64() / reps as f64;
    let t = std::time::Instant::now();
    for _ in 0..reps { model.train_step(&x, &y, None, &mut run); }
    let ts = t.elapsed().as_secs_f64() / reps as f64;
    let t = std::time::Instant::now();
    for _ in 0..reps { model.test_step(&x, &y, None, &mut run); }
    let te = t.elapsed().as_secs_f64() / reps as f64;
    let xv = Tensor::from_vec(&[12000, 784], (0..12000 * 784).map(|_| r.uniform() as f32).collect());
    let t = std::time::Instant::now();
    for _ in 0..20 { let _ = model.predict(&xv, 128); }
    let pr = t.elapsed().as_secs_f64() / 20.0;
    // distinct batches, as in an epoch (the data no longer sits in cache)
    let nb = 375;
    let xs: Vec<Tensor<f32>> = (0..nb).map(|_| Tensor::from_vec(&[n, 784], (0..n * 784).map(|_| r.uniform() as f32).collect())).collect();
    let t = std::time::Instant::now();
    for b in &xs { model.train_step(b, &y, None, &mut run); }
    let fresh = t.elapsed().as_secs_f64() / nb as f64;
    println!("fresh batches: train_step {:.1} us", fresh * 1e6);
    println!("threads {threads}: backprop {:.1} us, train_step {:.1} us (optimizer {:.1}), test_step {:.1} us, predict 12000 rows {:.2} ms; epoch estimate {:.3} s",
        bp * 1e6, ts * 1e6, (ts - bp) * 1e6, te * 1e6, pr * 1e3, 375.0 * ts + pr);
}
