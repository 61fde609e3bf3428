//! Tests of the recurrent layers: finite-difference gradients through time (f64), Keras 3
//! forward values (tests/fixtures/keras/rnn), configs, thread-count independence.

use crate::layers::gradcheck::{check_graph, data, json_chain as model, rand_bias};
use crate::layers::{build, Layer, LayerSpec};
use crate::model::Model;
use crate::rng::Rng;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn seq(n: usize, t: usize, f: usize, seed: u64) -> Tensor<f64> {
    let mut x = data(n, t * f, seed);
    x.shape = vec![n, t, f];
    x
}

/// A pseudo-random mask with some steps off (never all of a sample's).
fn mask(n: usize, t: usize) -> Vec<bool> {
    (0..n * t).map(|i| (i * 7 + i / t) % 3 != 1 || i % t == 0).collect()
}

/// The kinds and options the gradient checks go through.
fn variants() -> Vec<Value> {
    let mut v = Vec::new();
    for (class, extra) in [
        ("SimpleRNN", json!({})),
        ("LSTM", json!({})),
        ("LSTM", json!({"unit_forget_bias": false, "recurrent_activation": "hard_sigmoid"})),
        ("GRU", json!({})),
        ("GRU", json!({"reset_after": false})),
    ] {
        for (seqs, back, bias) in [(false, false, true), (true, false, true), (false, true, true), (true, true, false)]
        {
            let mut l = json!({"class_name": class, "name": "r", "units": 3, "return_sequences": seqs,
                               "go_backwards": back, "use_bias": bias, "bias_initializer": rand_bias(),
                               "recurrent_initializer": {"name": "orthogonal", "gain": 1.5}});
            for (k, val) in extra.as_object().unwrap() {
                l[k] = val.clone();
            }
            v.push(l);
        }
    }
    v
}

/// Dense (so that the input gradient is checked through its kernel) -> recurrent -> dense.
fn rnn_model(layer: &Value, t: usize) -> Model<f64> {
    let seqs = layer["return_sequences"].as_bool().unwrap_or(false);
    let mut layers = vec![
        json!({"class_name": "Dense", "name": "pre", "units": 2, "activation": "tanh", "bias_initializer": rand_bias()}),
        layer.clone(),
    ];
    if seqs {
        layers.push(json!({"class_name": "Flatten", "name": "f"}));
    }
    layers.push(json!({"class_name": "Dense", "name": "out", "units": 2, "bias_initializer": rand_bias()}));
    model(vec![t, 3], layers)
}

#[test]
fn gradients_through_time_of_every_cell_and_option() {
    for (i, layer) in variants().iter().enumerate() {
        let t = 3 + i % 3;
        for n in [3, 16] {
            let m = rnn_model(layer, t);
            check_graph(m, vec![seq(n, t, 3, i as u64)], vec![data(n, 2, 50 + i as u64)], None);
        }
    }
}

#[test]
fn gradients_through_time_with_masks() {
    for (i, layer) in variants().iter().enumerate() {
        let t = 4 + i % 2;
        for n in [3, 16] {
            let mut m = rnn_model(layer, t);
            m.layers_mut()[1].set_input_mask(Some(&mask(n, t)));
            check_graph(m, vec![seq(n, t, 3, 7 + i as u64)], vec![data(n, 2, 70 + i as u64)], None);
        }
    }
}

#[test]
fn gradients_through_time_with_dropout_and_recurrent_dropout() {
    for (class, extra) in
        [("SimpleRNN", json!({})), ("LSTM", json!({})), ("GRU", json!({})), ("GRU", json!({"reset_after": false}))]
    {
        for (d, rd) in [(0.3, 0.0), (0.0, 0.3), (0.25, 0.35)] {
            let mut l = json!({"class_name": class, "name": "r", "units": 3, "return_sequences": true,
                               "dropout": d, "recurrent_dropout": rd, "bias_initializer": rand_bias()});
            for (k, val) in extra.as_object().unwrap() {
                l[k] = val.clone();
            }
            for n in [3, 16] {
                let mut m = rnn_model(&l, 4);
                m.layers_mut()[1].set_input_mask(Some(&mask(n, 4)));
                check_graph(m, vec![seq(n, 4, 3, 3)], vec![data(n, 2, 4)], None);
            }
        }
    }
}

fn spec(v: Value) -> LayerSpec {
    serde_json::from_value(v).unwrap()
}

#[test]
fn keras_parameter_counts_and_weight_shapes() {
    let cases = [
        (
            json!({"class_name": "LSTM", "name": "l", "units": 32}),
            20608,
            vec![vec![128, 128], vec![32, 128], vec![128]],
        ),
        (json!({"class_name": "GRU", "name": "g", "units": 32}), 15552, vec![vec![128, 96], vec![32, 96], vec![2, 96]]),
        (
            json!({"class_name": "GRU", "name": "g", "units": 32, "reset_after": false}),
            15456,
            vec![vec![128, 96], vec![32, 96], vec![96]],
        ),
        (
            json!({"class_name": "SimpleRNN", "name": "s", "units": 32}),
            5152,
            vec![vec![128, 32], vec![32, 32], vec![32]],
        ),
        (
            json!({"class_name": "LSTM", "name": "l", "units": 32, "use_bias": false}),
            20480,
            vec![vec![128, 128], vec![32, 128]],
        ),
    ];
    for (v, params, shapes) in cases {
        let s = spec(v);
        let l = build::<f32>(&s, &[&[10, 128]], &mut Rng::seed_from(1)).unwrap();
        assert_eq!(l.param_count(), params, "{}", s.kind.class_name());
        let got: Vec<Vec<usize>> = l.weights().iter().map(|w| w.shape.clone()).collect();
        assert_eq!(got, shapes);
        let mut shape = vec![10, 128];
        assert_eq!(s.kind.weight_count(&mut shape), crate::layers::WeightCount::Values(params));
        assert_eq!(shape, vec![32]);
    }
    // LSTM biases: the forget gate's start at one (unit_forget_bias)
    let l =
        build::<f32>(&spec(json!({"class_name": "LSTM", "name": "l", "units": 2})), &[&[3, 4]], &mut Rng::seed_from(1))
            .unwrap();
    assert_eq!(l.weights()[2].values, [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    assert_eq!(l.weights()[0].name, "lstm_cell/kernel");
    assert_eq!(l.output_shape(), [2]);
    let s = spec(json!({"class_name": "GRU", "name": "g", "units": 5, "return_sequences": true}));
    assert_eq!(build::<f32>(&s, &[&[7, 4]], &mut Rng::seed_from(1)).unwrap().output_shape(), [7, 5]);
}

#[test]
fn bad_input_shapes_and_activations_are_errors_naming_the_layer() {
    let s = spec(json!({"class_name": "LSTM", "name": "lstm_3", "units": 4}));
    let e = build::<f32>(&s, &[&[10]], &mut Rng::seed_from(1)).err().unwrap();
    assert!(
        e.starts_with("lstm_3 (LSTM): expected input of shape (batch, timesteps, features), got (None, 10)"),
        "{e}"
    );
    assert!(e.contains("array_reshape(x, c(nrow(x), ncol(x), 1))"), "{e}");
    let s = spec(json!({"class_name": "GRU", "name": "g", "units": 4, "activation": "softmax"}));
    let e = build::<f32>(&s, &[&[3, 2]], &mut Rng::seed_from(1)).err().unwrap();
    assert!(e.contains("g (GRU): activation = 'softmax' is not supported"), "{e}");
}

/// Runs one forward pass of `layer` on `x` with the given number of threads.
fn run(s: &LayerSpec, x: &Tensor<f32>, threads: usize, training: bool) -> Vec<f32> {
    let l: &mut dyn Layer<f32> = &mut *build::<f32>(s, &[&x.shape[1..]], &mut Rng::seed_from(3)).unwrap();
    crate::linalg::set_threads(threads);
    let mut out = Tensor::default();
    l.forward(&[x], &mut out, training, &mut Rng::seed_from(4));
    let mut g = out.clone();
    g.data.iter_mut().enumerate().for_each(|(i, v)| *v = (i as f32 * 0.37).sin());
    let mut dx = Tensor::default();
    l.backward(&[x], &out, &mut g, &mut [Some(&mut dx)], false);
    crate::linalg::set_threads(0);
    let mut all = out.data;
    all.extend(dx.data);
    for (_, gr) in l.params_and_grads() {
        all.extend_from_slice(gr);
    }
    all
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let mut r = Rng::seed_from(5);
    let x = Tensor::from_vec(&[64, 20, 32], (0..64 * 20 * 32).map(|_| r.uniform() as f32 - 0.5).collect());
    for l in [
        json!({"class_name": "LSTM", "name": "l", "units": 64, "return_sequences": true}),
        json!({"class_name": "GRU", "name": "g", "units": 64, "dropout": 0.2, "recurrent_dropout": 0.2}),
        json!({"class_name": "GRU", "name": "g", "units": 64, "reset_after": false}),
        json!({"class_name": "SimpleRNN", "name": "s", "units": 64, "go_backwards": true}),
    ] {
        let s = spec(l);
        assert_eq!(run(&s, &x, 1, true), run(&s, &x, 2, true), "{}", s.kind.class_name());
    }
}

fn arr(v: &Value) -> (Vec<usize>, Vec<f64>) {
    let shape = v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let data = v["data"].as_array().unwrap().iter().map(|d| d.as_f64().unwrap()).collect();
    (shape, data)
}

#[test]
fn forward_values_equal_keras_3_for_every_layer_and_option() {
    let path = crate::testutil::fixture("keras/rnn/layers.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = all["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 36);
    let mut worst = 0f64;
    for (i, c) in cases.iter().enumerate() {
        let mut l = c["config"].clone();
        l["class_name"] = c["class"].clone();
        l["name"] = json!(format!("case{i}"));
        let s = spec(l);
        let (xs, xd) = arr(&c["x"]);
        let x = Tensor::from_vec(&xs, xd.iter().map(|v| *v as f32).collect());
        let mut layer = build::<f32>(&s, &[&xs[1..]], &mut Rng::seed_from(1)).unwrap();
        {
            let mut ws = Vec::new();
            layer.push_weights_mut(&mut ws);
            let given = c["weights"].as_array().unwrap();
            assert_eq!(ws.len(), given.len(), "case {i}");
            for (w, g) in ws.iter_mut().zip(given) {
                let (_, d) = arr(g);
                assert_eq!(w.len(), d.len(), "case {i}");
                w.iter_mut().zip(&d).for_each(|(w, v)| *w = *v as f32);
            }
        }
        let shapes: Vec<Vec<usize>> = layer.weights().iter().map(|w| w.shape.clone()).collect();
        let want_shapes: Vec<Vec<usize>> = c["weights"].as_array().unwrap().iter().map(|w| arr(w).0).collect();
        assert_eq!(shapes, want_shapes, "case {i}");
        if !c["mask"].is_null() {
            let m: Vec<bool> = arr(&c["mask"]).1.iter().map(|v| *v != 0.0).collect();
            layer.set_input_mask(Some(&m));
        }
        for training in [false, true] {
            let mut out = Tensor::default();
            layer.forward(&[&x], &mut out, training, &mut Rng::seed_from(2));
            let (ys, yd) = arr(&c["y"]);
            assert_eq!(out.shape, ys, "case {i}");
            for (a, b) in out.data.iter().zip(&yd) {
                let d = (*a as f64 - b).abs();
                worst = worst.max(d);
                assert!(d < 1e-5, "case {i} {}: {a} vs {b}", c["config"]);
            }
        }
    }
    assert!(worst < 1e-5, "worst {worst}");
}

/// Times the imdb_lstm layer's passes (`cargo test --release -p rkeras-core rnn_timing -- --ignored --nocapture`).
#[test]
#[ignore]
fn rnn_timing() {
    let mut r = Rng::seed_from(5);
    let x = Tensor::from_vec(&[32, 80, 128], (0..32 * 80 * 128).map(|_| r.uniform() as f32 - 0.5).collect());
    for l in [
        json!({"class_name": "LSTM", "name": "l", "units": 128}),
        json!({"class_name": "LSTM", "name": "l", "units": 128, "activation": "linear", "recurrent_activation": "linear"}),
        json!({"class_name": "LSTM", "name": "l", "units": 128, "dropout": 0.2, "recurrent_dropout": 0.2}),
        json!({"class_name": "GRU", "name": "g", "units": 128, "dropout": 0.2, "recurrent_dropout": 0.2}),
    ] {
        let s = spec(l.clone());
        let mut layer = build::<f32>(&s, &[&[80, 128]], &mut Rng::seed_from(3)).unwrap();
        let mut out = Tensor::default();
        let mut rng = Rng::seed_from(4);
        for threads in [1, 2] {
            crate::linalg::set_threads(threads);
            let t0 = std::time::Instant::now();
            for _ in 0..20 {
                layer.forward(&[&x], &mut out, false, &mut rng);
            }
            let inf = t0.elapsed().as_secs_f64() / 20.0;
            let t0 = std::time::Instant::now();
            let mut dx = Tensor::default();
            for _ in 0..20 {
                layer.forward(&[&x], &mut out, true, &mut rng);
                let mut g = out.clone();
                layer.backward(&[&x], &out, &mut g, &mut [Some(&mut dx)], false);
            }
            let tr = t0.elapsed().as_secs_f64() / 20.0;
            eprintln!("{l} threads {threads}: predict {:.2} ms, train step {:.2} ms", inf * 1e3, tr * 1e3);
        }
        crate::linalg::set_threads(0);
    }
}

#[test]
fn functional_calls_record_keras_3s_kwargs() {
    let m = model(
        vec![5, 3],
        vec![
            json!({"class_name": "LSTM", "name": "lstm", "units": 2}),
            json!({"class_name": "Dense", "name": "d", "units": 1}),
        ],
    );
    let j = crate::keras_json::model_json(&m, crate::keras_json::Style::ToJson).to_string();
    assert!(j.contains(r#""kwargs": {"training": false, "mask": null}"#), "{j}");
    assert_eq!(j.matches(r#""mask": null"#).count(), 1, "{j}");
}
