//! Finite-difference gradient checks (f64) through graph models: every merge and shape layer,
//! an N-d (sequence) output, and a model with two inputs, a shared layer and two outputs with
//! loss weights. Also: the forward values of the merge layers computed by hand.

use super::gradcheck::{check_graph, data, one_hot};
use crate::model::{CompileSpec, Model, ModelSpec};
use crate::rng::Rng;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn dense(name: &str, units: usize, act: &str) -> Value {
    json!({"class_name": "Dense", "name": name, "units": units, "activation": act,
           "bias_initializer": {"name": "random_uniform", "minval": -0.1, "maxval": 0.1}})
}

fn build(spec: Value, compile: Value) -> Model<f64> {
    let spec: ModelSpec = serde_json::from_value(spec).unwrap();
    let mut m = Model::<f64>::build(spec, &mut Rng::seed_from(5)).unwrap();
    let c: CompileSpec = serde_json::from_value(compile).unwrap();
    m.compile(c).unwrap();
    m
}

fn sgd(loss: Value) -> Value {
    json!({"optimizer": {"name": "sgd", "learning_rate": 0.01}, "loss": loss})
}

/// a(4) -> dense(3) and b(4) -> dense(3), merged, then dense(2), mse.
fn merged(merge: Value) -> Model<f64> {
    build(
        json!({"name": "m", "class_name": "Functional",
               "inputs": [{"name": "a", "shape": [4]}, {"name": "b", "shape": [4]}],
               "layers": [dense("da", 3, "tanh"), dense("db", 3, "sigmoid"), merge, dense("out", 2, "linear")],
               "nodes": [{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 1, "inputs": [{"input": 1}]},
                         {"layer": 2, "inputs": [{"node": 0}, {"node": 1}]}, {"layer": 3, "inputs": [{"node": 2}]}],
               "outputs": [{"node": 3}]}),
        sgd(json!("mse")),
    )
}

#[test]
fn every_merge_layer() {
    for class in ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"] {
        let m = merged(json!({"class_name": class, "name": "merge"}));
        check_graph(m, vec![data(5, 4, 1), data(5, 4, 2)], vec![data(5, 2, 3)], None);
    }
    for normalize in [false, true] {
        let m = merged(json!({"class_name": "Dot", "name": "dot", "axes": [1, 1], "normalize": normalize}));
        check_graph(m, vec![data(5, 4, 1), data(5, 4, 2)], vec![data(5, 2, 3)], None);
    }
}

#[test]
fn shape_layers_and_a_sequence_output() {
    // x(6) -> dense(6) -> reshape(2, 3) -> permute(2, 1) -> flatten -> dense(4)
    //      -> repeat_vector(3) -> dense(5, softmax): a (3, 5) output per sample
    let m = build(
        json!({"name": "m", "class_name": "Functional", "inputs": [{"name": "x", "shape": [6]}],
               "layers": [dense("d1", 6, "tanh"), {"class_name": "Reshape", "name": "r", "target_shape": [2, -1]},
                          {"class_name": "Permute", "name": "p", "dims": [2, 1]}, {"class_name": "Flatten", "name": "f"},
                          dense("d2", 4, "relu"), {"class_name": "RepeatVector", "name": "rv", "n": 3},
                          dense("d3", 5, "softmax")],
               "nodes": (0..7).map(|i| json!({"layer": i, "inputs": [if i == 0 { json!({"input": 0}) } else { json!({"node": i - 1}) }]})).collect::<Vec<_>>(),
               "outputs": [{"node": 6}]}),
        sgd(json!("categorical_crossentropy")),
    );
    assert_eq!(m.output_shape(), vec![3, 5]);
    let mut y = one_hot(4 * 3, 5, 4);
    y.shape = vec![4, 3, 5];
    check_graph(m, vec![data(4, 6, 5)], vec![y], Some(vec![1.0, 0.5, 2.0, 0.0]));
}

/// Two inputs through one shared dense layer; a softmax output on their concatenation and a
/// linear output on their sum, with loss weights 1 and 0.3.
fn siamese() -> Model<f64> {
    build(
        json!({"name": "m", "class_name": "Functional",
               "inputs": [{"name": "a", "shape": [4]}, {"name": "b", "shape": [4]}],
               "layers": [dense("shared", 3, "tanh"), {"class_name": "Concatenate", "name": "cat"},
                          dense("o1", 3, "softmax"), {"class_name": "Add", "name": "sum"}, dense("o2", 1, "linear")],
               "nodes": [{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 0, "inputs": [{"input": 1}]},
                         {"layer": 1, "inputs": [{"node": 0}, {"node": 1}]}, {"layer": 2, "inputs": [{"node": 2}]},
                         {"layer": 3, "inputs": [{"node": 0}, {"node": 1}]}, {"layer": 4, "inputs": [{"node": 4}]}],
               "outputs": [{"node": 3}, {"node": 5}]}),
        json!({"optimizer": {"name": "sgd", "learning_rate": 0.01},
               "loss": ["categorical_crossentropy", "mse"], "loss_weights": [1.0, 0.3],
               "metrics": [["accuracy"], ["mae"]]}),
    )
}

#[test]
fn two_inputs_a_shared_layer_and_two_weighted_outputs() {
    let m = siamese();
    assert_eq!(m.count_params().0, 4 * 3 + 3 + 6 * 3 + 3 + 3 + 1, "the shared layer's weights count once");
    check_graph(m, vec![data(6, 4, 1), data(6, 4, 2)], vec![one_hot(6, 3, 3), data(6, 1, 4)], None);
}

#[test]
fn multi_output_logs_are_keyed_by_output_and_the_loss_is_the_weighted_sum() {
    let mut m = siamese();
    let (xs, ys) = (vec![data(6, 4, 1), data(6, 4, 2)], vec![one_hot(6, 3, 3), data(6, 1, 4)]);
    let mut run = m.new_running(&[3, 1]).unwrap();
    let loss = m.test_step(&xs, &ys, None, &mut run);
    let v: Vec<(String, f64)> = run.values().map(|(k, v)| (k.to_string(), v)).collect();
    let keys: Vec<&str> = v.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["loss", "o1_accuracy", "o2_mae", "o1_loss", "o2_loss"]);
    let get = |k: &str| v.iter().find(|(n, _)| n == k).unwrap().1;
    assert!((get("loss") - (get("o1_loss") + 0.3 * get("o2_loss"))).abs() < 1e-12);
    assert!((loss - get("loss")).abs() < 1e-12);
    // the same outputs as predict, and the mae by hand
    let mut outs = vec![Tensor::default(), Tensor::default()];
    m.predict_batch(&xs, &mut outs);
    let mae: f64 = outs[1].data.iter().zip(&ys[1].data).map(|(p, y)| (p - y).abs()).sum::<f64>() / 6.0;
    assert!((get("o2_mae") - mae).abs() < 1e-12);
}

#[test]
fn merge_layers_compute_what_keras_computes() {
    let spec = |class: &str, extra: Value| {
        let mut l = json!({"class_name": class, "name": "m"});
        l.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"name": "g", "class_name": "Functional",
               "inputs": [{"name": "a", "shape": [2, 2]}, {"name": "b", "shape": [2, 2]}],
               "layers": [l], "nodes": [{"layer": 0, "inputs": [{"input": 0}, {"input": 1}]}],
               "outputs": [{"node": 0}]})
    };
    let a = Tensor::from_vec(&[1, 2, 2], vec![1.0, -2.0, 3.0, 4.0]);
    let b = Tensor::from_vec(&[1, 2, 2], vec![0.5, 5.0, -1.0, 2.0]);
    let run = |class: &str, extra: Value| {
        let s: ModelSpec = serde_json::from_value(spec(class, extra)).unwrap();
        let mut m = Model::<f64>::build(s, &mut Rng::seed_from(1)).unwrap();
        m.predict_all(&[a.clone(), b.clone()], 32).remove(0)
    };
    assert_eq!(run("Add", json!({})).data, vec![1.5, 3.0, 2.0, 6.0]);
    assert_eq!(run("Subtract", json!({})).data, vec![0.5, -7.0, 4.0, 2.0]);
    assert_eq!(run("Multiply", json!({})).data, vec![0.5, -10.0, -3.0, 8.0]);
    assert_eq!(run("Average", json!({})).data, vec![0.75, 1.5, 1.0, 3.0]);
    assert_eq!(run("Maximum", json!({})).data, vec![1.0, 5.0, 3.0, 4.0]);
    assert_eq!(run("Minimum", json!({})).data, vec![0.5, -2.0, -1.0, 2.0]);
    let c = run("Concatenate", json!({"axis": 1}));
    assert_eq!((c.shape.clone(), c.data), (vec![1, 4, 2], vec![1.0, -2.0, 3.0, 4.0, 0.5, 5.0, -1.0, 2.0]));
    let c = run("Concatenate", json!({}));
    assert_eq!((c.shape.clone(), c.data), (vec![1, 2, 4], vec![1.0, -2.0, 0.5, 5.0, 3.0, 4.0, -1.0, 2.0]));
    // batch_dot over the last axes: a b^T per sample
    let d = run("Dot", json!({"axes": [2, 2]}));
    assert_eq!((d.shape.clone(), d.data), (vec![1, 2, 2], vec![-9.5, -5.0, 21.5, 5.0]));
    // over the first per-sample axes: a^T b
    let d = run("Dot", json!({"axes": [1, 1]}));
    assert_eq!(d.data, vec![-2.5, 11.0, -5.0, -2.0]);
}

#[test]
fn wrong_graphs_are_errors_that_name_the_layer_and_the_shapes() {
    let bad = |inputs: Value, layers: Value, nodes: Value, outputs: Value| {
        let s: ModelSpec = serde_json::from_value(json!({"name": "g", "class_name": "Functional",
            "inputs": inputs, "layers": layers, "nodes": nodes, "outputs": outputs}))
        .unwrap();
        Model::<f32>::build(s, &mut Rng::seed_from(1)).err().unwrap()
    };
    let two = json!([{"name": "a", "shape": [4]}, {"name": "b", "shape": [5]}]);
    let both = json!([{"layer": 0, "inputs": [{"input": 0}, {"input": 1}]}]);
    let e = bad(two.clone(), json!([{"class_name": "Add", "name": "add"}]), both.clone(), json!([{"node": 0}]));
    assert_eq!(e, "add: inputs have incompatible shapes: (None, 4), (None, 5)");
    let e = bad(two.clone(), json!([{"class_name": "Dense", "name": "d", "units": 2}]), both, json!([{"node": 0}]));
    assert_eq!(e, "d (Dense) takes one input tensor, got 2");
    let e = bad(
        two.clone(),
        json!([{"class_name": "Dense", "name": "d", "units": 2}, {"class_name": "Dense", "name": "a", "units": 2}]),
        json!([{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 1, "inputs": [{"node": 0}]}]),
        json!([{"node": 1}]),
    );
    assert!(e.contains("the name \"a\" is used more than once"), "{e}");
    let e = bad(
        two,
        json!([{"class_name": "Dense", "name": "d", "units": 2}, {"class_name": "Dense", "name": "e", "units": 2}]),
        json!([{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 1, "inputs": [{"input": 1}]}]),
        json!([{"node": 1}]),
    );
    assert!(e.contains("the output of layer \"d\" does not lead to any model output"), "{e}");
}

/// An encoder model (dense 4 -> 3, dropout, dense 3) used as a layer on two inputs, whose
/// outputs are subtracted and scored: one set of encoder weights, counted once.
fn nested_siamese() -> Model<f64> {
    let encoder = json!({"name": "encoder", "class_name": "Functional", "inputs": [{"name": "e_in", "shape": [4]}],
        "layers": [dense("e1", 3, "tanh"), {"class_name": "Dropout", "name": "e_drop", "rate": 0.2}, dense("e2", 3, "linear")],
        "nodes": [{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 1, "inputs": [{"node": 0}]},
                  {"layer": 2, "inputs": [{"node": 1}]}],
        "outputs": [{"node": 2}]});
    build(
        json!({"name": "m", "class_name": "Functional",
               "inputs": [{"name": "a", "shape": [4]}, {"name": "b", "shape": [4]}],
               "layers": [{"class_name": "Functional", "name": "encoder", "model": encoder},
                          {"class_name": "Subtract", "name": "diff"}, dense("score", 1, "sigmoid")],
               "nodes": [{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 0, "inputs": [{"input": 1}]},
                         {"layer": 1, "inputs": [{"node": 0}, {"node": 1}]}, {"layer": 2, "inputs": [{"node": 2}]}],
               "outputs": [{"node": 3}]}),
        sgd(json!("binary_crossentropy")),
    )
}

#[test]
fn a_nested_model_applied_twice_shares_its_weights() {
    let m = nested_siamese();
    let rows = m.layer_rows();
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["encoder", "diff", "score"]);
    assert_eq!((rows[0].1.clone(), rows[0].2), (vec![3], 4 * 3 + 3 + 3 * 3 + 3));
    assert_eq!(m.output_names(), ["score"]);
    let weights: Vec<String> = m.get_weights().iter().map(|w| format!("{}/{}", w.0, w.1)).collect();
    assert_eq!(weights, ["e1/kernel", "e1/bias", "e2/kernel", "e2/bias", "score/kernel", "score/bias"]);
    let mut y = data(6, 1, 9);
    y.data.iter_mut().for_each(|v| *v = (*v > 0.0) as u8 as f64);
    check_graph(m, vec![data(6, 4, 1), data(6, 4, 2)], vec![y], None);
}

#[test]
fn a_nested_model_checks_the_shapes_it_is_applied_to() {
    let encoder =
        json!({"name": "encoder", "class_name": "Sequential", "input_shape": [4], "layers": [dense("e1", 3, "tanh")]});
    let s: ModelSpec = serde_json::from_value(json!({"name": "m", "class_name": "Functional",
        "inputs": [{"name": "a", "shape": [5]}],
        "layers": [{"class_name": "Sequential", "name": "encoder", "model": encoder}],
        "nodes": [{"layer": 0, "inputs": [{"input": 0}]}], "outputs": [{"node": 0}]}))
    .unwrap();
    let e = Model::<f32>::build(s, &mut Rng::seed_from(1)).err().unwrap();
    assert_eq!(e, "encoder: the model expects input shape (None, 4), got (None, 5)");
}
