//! Trains the tutorial model (784-256-128-10, dropout, RMSprop, batch 128) on random data for
//! profiling the core without R: `cargo run --release --example fit_profile [epochs]`.

use rkeras_core::activations::Activation;
use rkeras_core::callbacks::{Callback, StringHost};
use rkeras_core::init::Initializer;
use rkeras_core::layers::{LayerKind, LayerSpec};
use rkeras_core::losses::Loss;
use rkeras_core::model::{CompileSpec, Model, ModelSpec};
use rkeras_core::optimizers::OptimizerConfig;
use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;
use rkeras_core::train::{fit, ArraySource, FitConfig};

fn dense(name: &str, units: usize, activation: Activation) -> LayerSpec {
    LayerSpec {
        name: name.into(),
        trainable: true,
        kind: LayerKind::Dense {
            units,
            activation,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
        },
    }
}

fn main() {
    let epochs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let layers = vec![
        dense("dense", 256, Activation::Relu),
        LayerSpec { name: "dropout".into(), trainable: true, kind: LayerKind::Dropout { rate: 0.4 } },
        dense("dense_1", 128, Activation::Relu),
        LayerSpec { name: "dropout_1".into(), trainable: true, kind: LayerKind::Dropout { rate: 0.3 } },
        dense("dense_2", 10, Activation::Softmax),
    ];
    let spec = ModelSpec { name: "m".into(), class_name: "Sequential".into(), input_shape: vec![784], input_name: None, layers };
    let mut model = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    model
        .compile(CompileSpec {
            optimizer: OptimizerConfig::defaults("rmsprop").unwrap(),
            loss: Loss::CategoricalCrossentropy,
            metrics: vec!["accuracy".into()],
        })
        .unwrap();
    let n = 60000;
    let mut r = Rng::seed_from(2);
    let x = Tensor::from_vec(&[n, 784], (0..n * 784).map(|_| r.uniform() as f32).collect());
    let y = Tensor::from_vec(&[n, 10], (0..n).flat_map(|i| (0..10).map(move |j| (i % 10 == j) as u8 as f32)).collect());
    let mut host = StringHost::default();
    for e in 0..epochs {
        let t = std::time::Instant::now();
        let mut train = ArraySource::new(&x, &y, None, 0..48000, 128, true);
        let mut val = ArraySource::new(&x, &y, None, 48000..n, 128, false);
        let cbs: Vec<Box<dyn Callback<f32>>> = Vec::new();
        fit(&mut model, &mut train, Some(&mut val), cbs, &mut host, &FitConfig { epochs: 1, ..Default::default() });
        eprintln!("epoch {e}: {:.3} s", t.elapsed().as_secs_f64());
    }
}
