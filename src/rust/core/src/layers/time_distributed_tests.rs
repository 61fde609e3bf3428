use crate::layers::gradcheck::{check_graph, data, one_hot};
use crate::model::{CompileSpec, Model, ModelSpec};
use crate::rng::Rng;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn dense(name: &str, units: usize, act: &str) -> Value {
    json!({"class_name": "Dense", "name": name, "units": units, "activation": act,
           "bias_initializer": {"name": "random_uniform", "minval": -0.1, "maxval": 0.1}})
}

fn td(name: &str, layer: Value) -> Value {
    json!({"class_name": "TimeDistributed", "name": name, "layer": layer})
}

fn model(input: Vec<usize>, layers: Vec<Value>, loss: &str) -> Result<Model<f64>, String> {
    let spec: ModelSpec = serde_json::from_value(json!({"name": "m", "input_shape": input, "layers": layers})).unwrap();
    let mut m = Model::<f64>::build(spec, &mut Rng::seed_from(3))?;
    let c: CompileSpec =
        serde_json::from_value(json!({"optimizer": {"name": "sgd", "learning_rate": 0.01}, "loss": loss})).unwrap();
    m.compile(c).unwrap();
    Ok(m)
}

#[test]
fn a_wrapped_dense_layer_is_the_dense_layer_on_every_step() {
    let mut m = model(vec![3, 4], vec![td("td", dense("inner", 2, "tanh"))], "mse").unwrap();
    assert_eq!(m.output_shape(), vec![3, 2]);
    let w = m.get_weights();
    assert_eq!((w[0].0.as_str(), w[0].1, w[0].2.clone()), ("td", "kernel", vec![4, 2]));
    assert_eq!(m.count_params(), (10, 10));
    let (k, b) = (w[0].3.clone(), w[1].3.clone());
    let mut x = data(2, 12, 1);
    x.shape = vec![2, 3, 4];
    let out = m.predict(&x, 8);
    assert_eq!(out.shape, vec![2, 3, 2]);
    for r in 0..6 {
        for j in 0..2 {
            let z: f64 = (0..4).map(|i| x.data[r * 4 + i] * k[i * 2 + j]).sum::<f64>() + b[j];
            assert!((out.data[r * 2 + j] - z.tanh()).abs() < 1e-14);
        }
    }
}

#[test]
fn gradients_through_time_distributed_layers() {
    // a fused softmax + cross-entropy through the wrapper, with sample weights
    let m = model(
        vec![3, 4],
        vec![td("td1", dense("d1", 5, "relu")), td("td2", dense("d2", 3, "softmax"))],
        "categorical_crossentropy",
    )
    .unwrap();
    let mut x = data(4, 12, 2);
    x.shape = vec![4, 3, 4];
    let mut y = one_hot(12, 3, 3);
    y.shape = vec![4, 3, 3];
    check_graph(m, vec![x], vec![y], Some(vec![1.0, 0.5, 2.0, 0.0]));
    // a wrapped layer on more than one axis per step (flatten of (2, 2) then dense)
    let m = model(
        vec![3, 2, 2],
        vec![td("tf", json!({"class_name": "Flatten", "name": "f"})), td("td", dense("d", 2, "linear"))],
        "mse",
    )
    .unwrap();
    let mut x = data(3, 12, 4);
    x.shape = vec![3, 3, 2, 2];
    let mut y = data(3, 6, 5);
    y.shape = vec![3, 3, 2];
    check_graph(m, vec![x], vec![y], None);
}

#[test]
fn bad_inputs_name_the_layers_and_shapes() {
    let e = model(vec![8], vec![td("td", dense("inner", 2, "tanh"))], "mse").err().unwrap();
    assert_eq!(
        e,
        "td: TimeDistributed applies \"inner\" (Dense) to every step of an input of shape (batch, steps, ...), at \
         least 3-d; got input shape (None, 8). Give each sample a steps axis (array_reshape() to (samples, steps, ...))"
    );
    let e = model(vec![3, 2], vec![td("td", json!({"class_name": "Add", "name": "add"}))], "mse").err().unwrap();
    assert_eq!(e, "td: TimeDistributed of a Add (\"add\") is not supported by rkeras; wrap a single layer");
    let e = model(vec![3, 2], vec![td("td", json!({"class_name": "GlobalAveragePooling1D", "name": "g"}))], "mse")
        .err()
        .unwrap();
    assert!(e.starts_with("td: g: GlobalAveragePooling1D takes 3-d input"), "{e}");
}

#[test]
fn a_frozen_inner_layer_is_not_trained() {
    let mut inner = dense("inner", 2, "linear");
    inner["trainable"] = json!(false);
    let mut m = model(vec![2, 3], vec![td("td", inner), dense("out", 1, "linear")], "mse").unwrap();
    assert_eq!(m.count_params(), (8 + 3, 3));
    let before = m.get_weights()[0].3.clone();
    let x = Tensor::from_vec(&[2, 2, 3], (0..12).map(|v| v as f64 * 0.1).collect());
    let y = Tensor::from_vec(&[2, 2, 1], vec![1.0, -1.0, 0.5, 0.0]);
    let mut run = m.new_running(&[2]).unwrap();
    m.train_step(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut run);
    assert_eq!(m.get_weights()[0].3, before);
}
