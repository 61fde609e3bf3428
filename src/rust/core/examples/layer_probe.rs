//! Times each layer's forward and backward pass of the tutorial model on one batch, and the
//! optimizer update: `cargo run --release --example layer_probe [threads]`.
use rkeras_core::activations::Activation;
use rkeras_core::init::Initializer;
use rkeras_core::layers::{LayerKind, LayerSpec};
use rkeras_core::losses::Loss;
use rkeras_core::model::{CompileSpec, Model, ModelSpec};
use rkeras_core::optimizers::OptimizerConfig;
use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;
use std::time::Instant;

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
    let nl = model.layers().len();
    let mut acts: Vec<Tensor<f32>> = (0..nl).map(|_| Tensor::default()).collect();
    let mut rng = Rng::seed_from(5);
    let reps = 3000;
    let mut fwd = vec![0.0; nl];
    let mut bwd = vec![0.0; nl];
    let mut g = Tensor::default();
    let mut dx = Tensor::default();
    let mut again = 0.0;
    for rep in 0..reps + 200 {
        for i in 0..nl {
            let (done, rest) = acts.split_at_mut(i);
            let input = if i == 0 { &x } else { &done[i - 1] };
            let t = Instant::now();
            model.layers_mut()[i].forward(input, &mut rest[0], true, &mut rng);
            if rep >= 200 { fwd[i] += t.elapsed().as_secs_f64(); }
            if std::env::var("TWICE").is_ok() && i == 1 {
                let t = Instant::now();
                model.layers_mut()[i].forward(input, &mut rest[0], true, &mut rng);
                if rep >= 200 { again += t.elapsed().as_secs_f64(); }
            }
        }
        g.clone_from(&acts[nl - 1]);
        for i in (0..nl).rev() {
            let input = if i == 0 { &x } else { &acts[i - 1] };
            let t = Instant::now();
            let d = if i > 0 { Some(&mut dx) } else { None };
            model.layers_mut()[i].backward(input, &acts[i], &mut g, d, i == nl - 1);
            if rep >= 200 { bwd[i] += t.elapsed().as_secs_f64(); }
            if i > 0 { std::mem::swap(&mut g, &mut dx); }
        }
    }
    for i in 0..nl {
        println!("{:10} forward {:7.1} us  backward {:7.1} us", model.layers()[i].spec().name, fwd[i] / reps as f64 * 1e6, bwd[i] / reps as f64 * 1e6);
    }
    println!("dropout forward again: {:.1} us", again / reps as f64 * 1e6);
    println!("total      forward {:7.1} us  backward {:7.1} us", fwd.iter().sum::<f64>() / reps as f64 * 1e6, bwd.iter().sum::<f64>() / reps as f64 * 1e6);
}
