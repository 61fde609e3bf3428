//! A training step allocates nothing once its buffers exist: a counting allocator around
//! `train_step` of a graph model (two inputs, a shared layer, a merge, dropout, two outputs
//! with their losses, loss weights and metrics), of the tutorial chain and of a model with Keras
//! masks.

use rkeras_core::model::{CompileSpec, Model, ModelSpec};
use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn data(shape: &[usize], seed: u64) -> Tensor<f32> {
    let mut r = Rng::seed_from(seed);
    let n = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|_| r.uniform() as f32).collect())
}

fn allocations_per_step(mut m: Model<f32>, xs: Vec<Tensor<f32>>, ys: Vec<Tensor<f32>>) -> usize {
    rkeras_core::linalg::set_threads(2);
    let lens: Vec<usize> = ys.iter().map(Tensor::row_len).collect();
    let mut run = m.new_running(&lens).unwrap();
    let w: Vec<f32> = (0..xs[0].rows()).map(|i| 1.0 + (i % 3) as f32).collect();
    for _ in 0..3 {
        m.train_step(&xs, &ys, Some(&w), &mut run);
    }
    let before = ALLOCS.load(Ordering::SeqCst);
    for _ in 0..5 {
        m.train_step(&xs, &ys, Some(&w), &mut run);
    }
    ALLOCS.load(Ordering::SeqCst) - before
}

/// The counter is global, so the checks run in one test: with two, the harness thread
/// reporting the first one's result allocates while the second one counts.
#[test]
fn a_training_step_allocates_nothing() {
    the_tutorial_chains_training_step_allocates_nothing();
    a_graph_models_training_step_allocates_nothing();
    a_masked_models_training_step_allocates_nothing();
}

fn a_graph_models_training_step_allocates_nothing() {
    let dense = |name: &str, units: usize, act: &str| json!({"class_name": "Dense", "name": name, "units": units, "activation": act});
    let spec: ModelSpec = serde_json::from_value(json!({
        "name": "g", "class_name": "Functional",
        "inputs": [{"name": "a", "shape": [64]}, {"name": "b", "shape": [64]}],
        "layers": [dense("shared", 128, "relu"), {"class_name": "Concatenate", "name": "cat"},
                   {"class_name": "Dropout", "name": "drop", "rate": 0.3}, dense("out", 10, "softmax"),
                   {"class_name": "Add", "name": "sum"}, dense("aux", 1, "linear")],
        "nodes": [{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 0, "inputs": [{"input": 1}]},
                  {"layer": 1, "inputs": [{"node": 0}, {"node": 1}]}, {"layer": 2, "inputs": [{"node": 2}]},
                  {"layer": 3, "inputs": [{"node": 3}]}, {"layer": 4, "inputs": [{"node": 0}, {"node": 1}]},
                  {"layer": 5, "inputs": [{"node": 5}]}],
        "outputs": [{"node": 4}, {"node": 6}]}))
    .unwrap();
    let mut m = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    let c: CompileSpec = serde_json::from_value(json!({
        "optimizer": {"name": "adam", "learning_rate": 0.001}, "loss": ["categorical_crossentropy", "mse"],
        "loss_weights": [1.0, 0.5], "metrics": [["accuracy"], ["mae"]]}))
    .unwrap();
    m.compile(c).unwrap();
    let mut y = Tensor::zeros(&[256, 10]);
    for i in 0..256 {
        y.data[i * 10 + i % 10] = 1.0;
    }
    let n = allocations_per_step(m, vec![data(&[256, 64], 1), data(&[256, 64], 2)], vec![y, data(&[256, 1], 3)]);
    assert_eq!(n, 0, "allocations in 5 training steps");
}

fn the_tutorial_chains_training_step_allocates_nothing() {
    let spec: ModelSpec = serde_json::from_value(json!({"name": "s", "input_shape": [784], "layers": [
        {"class_name": "Dense", "name": "d1", "units": 256, "activation": "relu"},
        {"class_name": "Dropout", "name": "do1", "rate": 0.4},
        {"class_name": "Dense", "name": "d2", "units": 128, "activation": "relu"},
        {"class_name": "Dropout", "name": "do2", "rate": 0.3},
        {"class_name": "Dense", "name": "d3", "units": 10, "activation": "softmax"}]}))
    .unwrap();
    let mut m = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    let c = CompileSpec::single(
        serde_json::from_value(json!({"name": "rmsprop", "learning_rate": 0.001})).unwrap(),
        rkeras_core::losses::Loss::CategoricalCrossentropy,
        vec!["accuracy".into()],
    );
    m.compile(c).unwrap();
    let mut y = Tensor::zeros(&[128, 10]);
    for i in 0..128 {
        y.data[i * 10 + i % 10] = 1.0;
    }
    assert_eq!(allocations_per_step(m, vec![data(&[128, 784], 4)], vec![y]), 0);
}

fn a_masked_models_training_step_allocates_nothing() {
    // ids -> two embeddings with mask_zero (their masks or-ed by the add) -> a masked sequence
    // output (softmax, cross-entropy per unmasked step) and a masked average pooling output
    let emb = |name: &str| json!({"class_name": "Embedding", "name": name, "input_dim": 20, "output_dim": 8, "mask_zero": true});
    let spec: ModelSpec = serde_json::from_value(json!({
        "name": "masked", "class_name": "Functional",
        "inputs": [{"name": "a", "shape": [12]}, {"name": "b", "shape": [12]}],
        "layers": [emb("ea"), emb("eb"), {"class_name": "Add", "name": "add"},
                   {"class_name": "Dense", "name": "seq", "units": 4, "activation": "softmax"},
                   {"class_name": "GlobalAveragePooling1D", "name": "gap"},
                   {"class_name": "Dense", "name": "out", "units": 1, "activation": "linear"}],
        "nodes": [{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 1, "inputs": [{"input": 1}]},
                  {"layer": 2, "inputs": [{"node": 0}, {"node": 1}]}, {"layer": 3, "inputs": [{"node": 2}]},
                  {"layer": 4, "inputs": [{"node": 2}]}, {"layer": 5, "inputs": [{"node": 4}]}],
        "outputs": [{"node": 3}, {"node": 5}]}))
    .unwrap();
    let mut m = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    let c: CompileSpec = serde_json::from_value(json!({
        "optimizer": {"name": "adam", "learning_rate": 0.001}, "loss": ["categorical_crossentropy", "mse"],
        "metrics": [["accuracy"], ["mae"]], "weighted_metrics": [["accuracy"], []]}))
    .unwrap();
    m.compile(c).unwrap();
    let ids = |seed: u64| {
        let mut r = Rng::seed_from(seed);
        // padding at the start of each row, at least one real id
        Tensor::from_vec(
            &[64, 12],
            (0..64 * 12).map(|i| if i % 12 < (i / 12) % 11 { 0.0 } else { (1 + r.below(19)) as f32 }).collect(),
        )
    };
    let mut y = Tensor::zeros(&[64, 12, 4]);
    for i in 0..64 * 12 {
        y.data[i * 4 + i % 4] = 1.0;
    }
    let n = allocations_per_step(m, vec![ids(1), ids(2)], vec![y, data(&[64, 1], 3)]);
    assert_eq!(n, 0, "allocations in 5 training steps");
}
