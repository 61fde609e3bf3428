//! A graph model's training step against its branches alone: two towers (784 -> 256 relu ->
//! 128 relu) on two inputs, concatenated, then a 10-way softmax; each tower alone with its
//! own softmax head. Prints microseconds per `train_step` and the ratio (target <= 1.10).
//!
//!     cargo run --release --example branch_probe [threads]

use rkeras_core::model::{CompileSpec, Model, ModelSpec};
use rkeras_core::rng::Rng;
use rkeras_core::tensor::Tensor;
use serde_json::{json, Value};

fn dense(name: &str, units: usize, act: &str) -> Value {
    json!({"class_name": "Dense", "name": name, "units": units, "activation": act})
}

fn model(spec: Value) -> Model<f32> {
    let spec: ModelSpec = serde_json::from_value(spec).unwrap();
    let mut m = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    let c: CompileSpec = serde_json::from_value(json!({"optimizer": {"name": "rmsprop", "learning_rate": 0.001},
        "loss": "categorical_crossentropy"}))
    .unwrap();
    m.compile(c).unwrap();
    m
}

fn data(shape: &[usize], seed: u64) -> Tensor<f32> {
    let mut r = Rng::seed_from(seed);
    Tensor::from_vec(shape, (0..shape.iter().product()).map(|_| r.uniform() as f32).collect())
}

fn us_per_step(m: &mut Model<f32>, xs: &[Tensor<f32>], y: &Tensor<f32>) -> f64 {
    let mut run = m.new_running(&[10]).unwrap();
    let ys = std::slice::from_ref(y);
    for _ in 0..100 {
        m.train_step(xs, ys, None, &mut run);
    }
    let reps = 1000;
    let t = std::time::Instant::now();
    for _ in 0..reps {
        m.train_step(xs, ys, None, &mut run);
    }
    t.elapsed().as_secs_f64() / reps as f64 * 1e6
}

fn main() {
    let threads = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    if threads > 0 {
        rkeras_core::linalg::set_threads(threads);
    }
    let n = 128;
    let mut y = Tensor::zeros(&[n, 10]);
    for i in 0..n {
        y.data[i * 10 + i % 10] = 1.0;
    }
    let (xa, xb) = (data(&[n, 784], 1), data(&[n, 784], 2));
    let tower = json!({"name": "t", "input_shape": [784],
        "layers": [dense("d1", 256, "relu"), dense("d2", 128, "relu"), dense("out", 10, "softmax")]});
    let two = json!({"name": "g", "class_name": "Functional",
        "inputs": [{"name": "a", "shape": [784]}, {"name": "b", "shape": [784]}],
        "layers": [dense("a1", 256, "relu"), dense("a2", 128, "relu"), dense("b1", 256, "relu"), dense("b2", 128, "relu"),
                   {"class_name": "Concatenate", "name": "cat"}, dense("out", 10, "softmax")],
        "nodes": [{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 1, "inputs": [{"node": 0}]},
                  {"layer": 2, "inputs": [{"input": 1}]}, {"layer": 3, "inputs": [{"node": 2}]},
                  {"layer": 4, "inputs": [{"node": 1}, {"node": 3}]}, {"layer": 5, "inputs": [{"node": 4}]}],
        "outputs": [{"node": 5}]});
    let mut best = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..3 {
        let a = us_per_step(&mut model(tower.clone()), std::slice::from_ref(&xa), &y);
        let b = us_per_step(&mut model(tower.clone()), std::slice::from_ref(&xb), &y);
        let ab = us_per_step(&mut model(two.clone()), &[xa.clone(), xb.clone()], &y);
        best = (best.0.min(a), best.1.min(b), best.2.min(ab));
    }
    let (a, b, ab) = best;
    println!(
        "tower A {a:.1} us, tower B {b:.1} us, two-branch {ab:.1} us per train_step: ratio {:.3} (target <= 1.10)",
        ab / (a + b)
    );
}
