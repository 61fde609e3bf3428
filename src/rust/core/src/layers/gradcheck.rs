//! Finite-difference gradient checks (f64) through whole models: every layer kind, every
//! activation inside a dense layer, and the fused softmax/sigmoid + cross-entropy paths.

use crate::activations::Activation;
use crate::init::Initializer;
use crate::layers::{ActivationConfig, DenseConfig, DropoutConfig, FlattenConfig, LayerKind, LayerSpec};
use crate::losses::Loss;
use crate::model::{CompileSpec, Model, ModelSpec};
use crate::optimizers::OptimizerConfig;
use crate::rng::Rng;
use crate::tensor::Tensor;

fn layer(name: &str, kind: LayerKind) -> LayerSpec {
    LayerSpec { name: name.into(), trainable: true, kind }
}

fn dense(name: &str, units: usize, activation: Activation) -> LayerSpec {
    layer(
        name,
        LayerKind::Dense(DenseConfig {
            units,
            activation,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::RandomUniform { minval: -0.1, maxval: 0.1 },
        }),
    )
}

fn model(input_shape: Vec<usize>, layers: Vec<LayerSpec>, loss: Loss) -> Model<f64> {
    let spec = ModelSpec::chain("m", "Sequential", input_shape, None, layers);
    let mut m = Model::<f64>::build(spec, &mut Rng::seed_from(7)).unwrap();
    let opt = OptimizerConfig::defaults("sgd").unwrap();
    m.compile(CompileSpec::single(opt, loss, vec![])).unwrap();
    m
}

/// A Functional model of JSON layer specs, each taking the one before (the first the input `x`),
/// compiled with sgd (learning rate 0.01) and mse; weights drawn from seed 5.
pub(crate) fn json_chain(input: Vec<usize>, layers: Vec<serde_json::Value>) -> Model<f64> {
    use serde_json::json;
    let n = layers.len();
    let spec: ModelSpec = serde_json::from_value(json!({
        "name": "m", "class_name": "Functional", "inputs": [{"name": "x", "shape": input}],
        "layers": layers,
        "nodes": (0..n).map(|i| json!({"layer": i, "inputs": [if i == 0 { json!({"input": 0}) } else { json!({"node": i - 1}) }]})).collect::<Vec<_>>(),
        "outputs": [{"node": n - 1}]}))
    .unwrap();
    let mut m = Model::<f64>::build(spec, &mut Rng::seed_from(5)).unwrap();
    let c: CompileSpec =
        serde_json::from_value(json!({"optimizer": {"name": "sgd", "learning_rate": 0.01}, "loss": "mse"})).unwrap();
    m.compile(c).unwrap();
    m
}

/// A small uniform bias initializer (JSON), so that bias gradients are checked away from zero.
pub(crate) fn rand_bias() -> serde_json::Value {
    serde_json::json!({"name": "random_uniform", "minval": -0.1, "maxval": 0.1})
}

pub(crate) fn data(rows: usize, cols: usize, seed: u64) -> Tensor<f64> {
    let mut r = Rng::seed_from(seed);
    let shape = [rows, cols];
    Tensor::from_vec(&shape, (0..rows * cols).map(|_| r.uniform() * 2.0 - 1.0).collect())
}

pub(crate) fn one_hot(rows: usize, k: usize, seed: u64) -> Tensor<f64> {
    let mut r = Rng::seed_from(seed);
    let mut t = Tensor::zeros(&[rows, k]);
    for i in 0..rows {
        t.data[i * k + r.below(k)] = 1.0;
    }
    t
}

/// Loss with the given dropout stream, so that masks repeat between evaluations.
fn loss_at(m: &mut Model<f64>, xs: &[Tensor<f64>], ys: &[Tensor<f64>], w: Option<&[f64]>, rng: &Rng) -> f64 {
    m.rng = rng.clone();
    let lens: Vec<usize> = ys.iter().map(Tensor::row_len).collect();
    let mut run = m.new_running(&lens).unwrap();
    m.backprop(xs, ys, w, &mut run)
}

/// Compares every analytic parameter gradient with central differences.
fn check(m: Model<f64>, x: Tensor<f64>, y: Tensor<f64>, w: Option<Vec<f64>>) {
    check_graph(m, vec![x], vec![y], w)
}

/// [`check`] for a model with several inputs and outputs.
pub(crate) fn check_graph(mut m: Model<f64>, x: Vec<Tensor<f64>>, y: Vec<Tensor<f64>>, w: Option<Vec<f64>>) {
    let rng = Rng::seed_from(99);
    loss_at(&mut m, &x, &y, w.as_deref(), &rng);
    let analytic: Vec<Vec<f64>> =
        m.layers_mut().iter_mut().flat_map(|l| l.params_and_grads().into_iter().map(|(_, g)| g.to_vec())).collect();
    let h = 1e-6;
    let mut idx = 0;
    let n_layers = m.layers().len();
    for li in 0..n_layers {
        let n_params = m.layers_mut()[li].params_and_grads().len();
        for pi in 0..n_params {
            let len = m.layers_mut()[li].params_and_grads()[pi].0.len();
            for e in 0..len {
                let orig = m.layers_mut()[li].params_and_grads()[pi].0[e];
                m.layers_mut()[li].params_and_grads()[pi].0[e] = orig + h;
                let up = loss_at(&mut m, &x, &y, w.as_deref(), &rng);
                m.layers_mut()[li].params_and_grads()[pi].0[e] = orig - h;
                let down = loss_at(&mut m, &x, &y, w.as_deref(), &rng);
                m.layers_mut()[li].params_and_grads()[pi].0[e] = orig;
                let numeric = (up - down) / (2.0 * h);
                let a = analytic[idx][e];
                let err = (a - numeric).abs() / a.abs().max(numeric.abs()).max(1e-4);
                assert!(err < 1e-5, "layer {li} param {pi}[{e}]: analytic {a} numeric {numeric}");
            }
            idx += 1;
        }
    }
}

#[test]
fn dense_with_every_activation() {
    for act in Activation::all() {
        let layers = vec![dense("d1", 4, *act), dense("d2", 3, Activation::Linear)];
        check(model(vec![5], layers, Loss::MeanSquaredError), data(6, 5, 1), data(6, 3, 2), None);
    }
}

#[test]
fn the_tutorial_stack_with_dropout_and_fused_softmax_crossentropy() {
    let layers = vec![
        dense("d1", 8, Activation::Relu),
        layer("do1", LayerKind::Dropout(DropoutConfig { rate: 0.4 })),
        dense("d2", 6, Activation::Relu),
        layer("do2", LayerKind::Dropout(DropoutConfig { rate: 0.3 })),
        dense("d3", 4, Activation::Softmax),
    ];
    let m = model(vec![7], layers, Loss::CategoricalCrossentropy);
    check(m, data(5, 7, 3), one_hot(5, 4, 4), Some(vec![1.0, 0.5, 2.0, 1.0, 0.0]));
}

#[test]
fn sparse_crossentropy_and_sigmoid_binary_crossentropy_paths() {
    let m = model(vec![3], vec![dense("d", 4, Activation::Softmax)], Loss::SparseCategoricalCrossentropy);
    let y = Tensor::from_vec(&[4, 1], vec![0.0, 3.0, 1.0, 2.0]);
    check(m, data(4, 3, 5), y, None);
    let m = model(vec![3], vec![dense("d", 2, Activation::Sigmoid)], Loss::BinaryCrossentropy);
    let y = Tensor::from_vec(&[4, 2], vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    check(m, data(4, 3, 6), y, None);
}

#[test]
fn flatten_and_activation_layers_on_3d_input() {
    let layers = vec![
        layer("f", LayerKind::Flatten(FlattenConfig {})),
        dense("d", 3, Activation::Linear),
        layer("a", LayerKind::Activation(ActivationConfig { activation: Activation::Softmax })),
    ];
    let m = model(vec![2, 3], layers, Loss::KullbackLeiblerDivergence);
    let mut x = data(4, 6, 7);
    x.shape = vec![4, 2, 3];
    let mut y = data(4, 3, 8);
    y.data.iter_mut().for_each(|v| *v = v.abs() + 0.1);
    check(m, x, y, None);
}

#[test]
fn every_loss_through_a_dense_layer() {
    for loss in Loss::all() {
        let (act, k) = match loss {
            Loss::SparseCategoricalCrossentropy | Loss::CategoricalCrossentropy => (Activation::Softmax, 3),
            Loss::BinaryCrossentropy | Loss::Poisson | Loss::KullbackLeiblerDivergence => (Activation::Sigmoid, 3),
            Loss::MeanSquaredLogarithmicError => (Activation::Softplus, 3),
            _ => (Activation::Tanh, 3),
        };
        let y = match loss {
            Loss::SparseCategoricalCrossentropy => Tensor::from_vec(&[4, 1], vec![2.0, 0.0, 1.0, 1.0]),
            Loss::CategoricalCrossentropy | Loss::CategoricalHinge => one_hot(4, k, 9),
            _ => {
                let mut y = data(4, k, 10);
                y.data.iter_mut().for_each(|v| *v = (*v + 1.0) / 2.0 + 0.05);
                y
            }
        };
        check(model(vec![3], vec![dense("d", k, act)], *loss), data(4, 3, 11), y, None);
    }
}

#[test]
fn a_wide_first_layer_sums_two_partial_products_in_training() {
    // 32 rows, fewer than the 64 inputs, and 32 * 64 * 64 multiply-adds: the training
    // forward pass sums the products with the two halves of the kernel rows
    assert!(crate::parts::dense_kernel_row_halves(32, 64, 64, false));
    for act in [Activation::Relu, Activation::Swish] {
        let layers = vec![dense("d1", 64, act), dense("d2", 3, Activation::Linear)];
        let mut m = model(vec![64], layers, Loss::MeanSquaredError);
        let x = data(32, 64, 9);
        // the same values as one product (inference), up to rounding
        let (mut train, mut infer) = (Tensor::default(), Tensor::default());
        let mut rng = Rng::seed_from(1);
        m.layers_mut()[0].forward(&[&x], &mut train, true, &mut rng);
        m.layers_mut()[0].forward(&[&x], &mut infer, false, &mut rng);
        assert_eq!(train.shape, infer.shape);
        assert!(train.data.iter().zip(&infer.data).all(|(a, b)| (a - b).abs() <= 1e-12 * b.abs().max(1.0)));
        assert!(train.data.iter().filter(|v| **v != 0.0).count() > 1000);
        check(m, x, data(32, 3, 10), None);
    }
}
