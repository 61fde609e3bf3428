//! The tutorial model (784-256 relu, dropout 0.4, 128 relu, dropout 0.3, 10 softmax; RMSprop,
//! categorical cross-entropy, accuracy), shared by the profiling examples; each uses some of it.
#![allow(dead_code)]

use rkeras_core::activations::Activation;
use rkeras_core::init::Initializer;
use rkeras_core::layers::{DenseConfig, DropoutConfig, LayerKind, LayerSpec};
use rkeras_core::losses::Loss;
use rkeras_core::model::{CompileSpec, Model, ModelSpec};
use rkeras_core::optimizers::OptimizerConfig;
use rkeras_core::rng::Rng;

fn dense(name: &str, units: usize, activation: Activation) -> LayerSpec {
    LayerSpec {
        name: name.into(),
        trainable: true,
        kind: LayerKind::Dense(DenseConfig {
            units,
            activation,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
        }),
    }
}

fn dropout(name: &str, rate: f64) -> LayerSpec {
    LayerSpec { name: name.into(), trainable: true, kind: LayerKind::Dropout(DropoutConfig { rate }) }
}

pub fn tutorial_model() -> Model<f32> {
    let layers = vec![
        dense("dense", 256, Activation::Relu),
        dropout("dropout", 0.4),
        dense("dense_1", 128, Activation::Relu),
        dropout("dropout_1", 0.3),
        dense("dense_2", 10, Activation::Softmax),
    ];
    let spec = ModelSpec::chain("m", "Sequential", vec![784], None, layers);
    let mut model = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    model
        .compile(CompileSpec::single(
            OptimizerConfig::defaults("rmsprop").unwrap(),
            Loss::CategoricalCrossentropy,
            vec!["accuracy".into()],
        ))
        .unwrap();
    model
}

/// Sets the thread count from the first command-line argument (default: all cores).
pub fn threads_from_args() -> usize {
    threads_from_arg(1)
}

/// Sets the thread count from command-line argument `pos` (default: all cores).
pub fn threads_from_arg(pos: usize) -> usize {
    let threads = std::env::args().nth(pos).and_then(|a| a.parse().ok()).unwrap_or(0);
    rkeras_core::linalg::set_threads(threads);
    threads
}

/// The tutorial model's weight sizes with constant weights and gradients, and RMSprop for
/// them: the optimizer probes' state.
pub fn tutorial_update() -> (Vec<Vec<f32>>, Vec<Vec<f32>>, rkeras_core::optimizers::Optimizer<f32>) {
    let sizes = [784 * 256, 256, 256 * 128, 128, 1280, 10];
    let ws = sizes.iter().map(|&n| vec![0.1; n]).collect();
    let gs = sizes.iter().map(|&n| vec![0.01; n]).collect();
    let opt = rkeras_core::optimizers::Optimizer::new(OptimizerConfig::defaults("rmsprop").unwrap(), &sizes);
    (ws, gs, opt)
}

/// `n` random 784-pixel rows and their one-hot labels (row i is class i % 10).
pub fn random_batch(n: usize, rng: &mut Rng) -> (rkeras_core::tensor::Tensor<f32>, rkeras_core::tensor::Tensor<f32>) {
    use rkeras_core::tensor::Tensor;
    let x = Tensor::from_vec(&[n, 784], (0..n * 784).map(|_| rng.uniform() as f32).collect());
    let y = Tensor::from_vec(&[n, 10], (0..n).flat_map(|i| (0..10).map(move |j| (i % 10 == j) as u8 as f32)).collect());
    (x, y)
}

/// The keras-for-R `mnist_cnn` example model (conv 32 3x3 relu, conv 64 3x3 relu, max-pool 2,
/// dropout .25, flatten, dense 128 relu, dropout .5, dense 10 softmax; Adadelta lr 1,
/// categorical cross-entropy, accuracy) on 28x28x1 inputs.
pub fn mnist_cnn_model() -> Model<f32> {
    let layers: Vec<LayerSpec> = serde_json::from_str(
        r#"[
        {"name": "conv2d", "class_name": "Conv2D", "filters": 32, "kernel_size": [3, 3], "activation": "relu"},
        {"name": "conv2d_1", "class_name": "Conv2D", "filters": 64, "kernel_size": [3, 3], "activation": "relu"},
        {"name": "max_pooling2d", "class_name": "MaxPooling2D", "pool_size": [2, 2]},
        {"name": "dropout", "class_name": "Dropout", "rate": 0.25},
        {"name": "flatten", "class_name": "Flatten"},
        {"name": "dense", "class_name": "Dense", "units": 128, "activation": "relu"},
        {"name": "dropout_1", "class_name": "Dropout", "rate": 0.5},
        {"name": "dense_1", "class_name": "Dense", "units": 10, "activation": "softmax"}
    ]"#,
    )
    .unwrap();
    let spec = ModelSpec::chain("m", "Sequential", vec![28, 28, 1], None, layers);
    let mut model = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    let mut opt = OptimizerConfig::defaults("adadelta").unwrap();
    opt.learning_rate = 1.0;
    model.compile(CompileSpec::single(opt, Loss::CategoricalCrossentropy, vec!["accuracy".into()])).unwrap();
    model
}
