use super::*;
use crate::layers::gradcheck::check_graph;
use crate::layers::{build, LayerSpec};
use crate::model::{CompileSpec, Model, ModelSpec};
use serde_json::{json, Value};

fn spec(v: Value) -> LayerSpec {
    serde_json::from_value(v).unwrap()
}

/// A 4 x 2 embedding whose row r is (10 r, 10 r + 1).
fn table() -> Box<dyn Layer<f64>> {
    let sp = spec(json!({"class_name": "Embedding", "name": "e", "input_dim": 4, "output_dim": 2}));
    let mut l = build::<f64>(&sp, &[&[3]], &mut Rng::seed_from(1)).unwrap();
    let mut w = Vec::new();
    l.push_weights_mut(&mut w);
    for (i, v) in w[0].iter_mut().enumerate() {
        *v = (10 * (i / 2) + i % 2) as f64;
    }
    drop(w);
    l
}

#[test]
fn forward_gathers_rows_and_backward_sums_them() {
    let mut l = table();
    assert_eq!(l.output_shape(), &[3, 2]);
    let x = Tensor::from_vec(&[2, 3], vec![0.0, 3.0, 2.0, 2.0, 2.0, 1.0]);
    let mut out = Tensor::default();
    l.forward(&[&x], &mut out, true, &mut Rng::seed_from(1));
    assert_eq!(out.shape, vec![2, 3, 2]);
    assert_eq!(out.data, vec![0.0, 1.0, 30.0, 31.0, 20.0, 21.0, 20.0, 21.0, 20.0, 21.0, 10.0, 11.0]);
    // dL/d(out) = 1, 2, 3, ...: row 2 gets three steps' gradients, row 0 one, row 3 one
    let mut g = Tensor::from_vec(&[2, 3, 2], (1..=12).map(f64::from).collect());
    l.backward(&[&x], &out, &mut g, &mut [None], false);
    let grads = l.params_and_grads();
    assert_eq!(grads[0].1, &[1.0, 2.0, 11.0, 12.0, 5.0 + 7.0 + 9.0, 6.0 + 8.0 + 10.0, 3.0, 4.0]);
    drop(grads);
    // a second step with other ids: rows of the first step only are zero again
    let x2 = Tensor::from_vec(&[1, 3], vec![1.0, 1.0, 0.0]);
    l.forward(&[&x2], &mut out, true, &mut Rng::seed_from(1));
    let mut g = Tensor::from_vec(&[1, 3, 2], vec![1.0, 1.0, 2.0, 2.0, 5.0, 6.0]);
    let mut dx = Tensor::from_vec(&[1, 3], vec![9.0; 3]);
    l.backward(&[&x2], &out, &mut g, &mut [Some(&mut dx)], false);
    assert_eq!(l.params_and_grads()[0].1, &[5.0, 6.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0]);
    // no gradient flows to the ids
    assert_eq!(dx.data, vec![0.0; 3]);
    assert_eq!(l.weights()[0].name, "embeddings");
    assert_eq!(l.weights()[0].shape, vec![4, 2]);
}

#[test]
fn n_d_ids_and_the_default_uniform_initializer() {
    let sp = spec(json!({"class_name": "Embedding", "name": "e", "input_dim": 1000, "output_dim": 50}));
    let l = build::<f32>(&sp, &[&[2, 5]], &mut Rng::seed_from(1)).unwrap();
    assert_eq!(l.output_shape(), &[2, 5, 50]);
    assert_eq!(l.param_count(), 50_000);
    let w = l.weights()[0].values;
    assert!(w.iter().all(|v| v.abs() <= 0.05));
    assert!(w.iter().fold(0f32, |a, v| a.max(v.abs())) > 0.049);
    let s = serde_json::to_string(&sp).unwrap();
    assert_eq!(
        s,
        r#"{"name":"e","trainable":true,"class_name":"Embedding","input_dim":1000,"output_dim":50,"embeddings_initializer":{"name":"random_uniform","minval":-0.05,"maxval":0.05}}"#
    );
}

#[test]
fn bad_ids_are_named_with_their_row_and_step() {
    let ok = [0.0f32, 4.0, 2.0, 3.0];
    assert!(check_ids(&ok, &[2], 0, "emb", 5, "x").is_ok());
    let e = check_ids(&[0.0f32, 4.0, 2.0, 5.0], &[2], 0, "emb", 5, "x").unwrap_err();
    assert_eq!(
        e,
        "emb (Embedding): x[row 2, step 2] is 5, outside [0, 5); ids must be whole numbers from 0 to 4 (input_dim = 5)"
    );
    let e = check_ids(&[0.0f64, 1.5, 2.0, 3.0], &[2], 10, "emb", 5, "x").unwrap_err();
    assert!(e.contains("x[row 11, step 2] is 1.5, not an integer"), "{e}");
    let e = check_ids(&[0.0f64, -1.0], &[2], 0, "emb", 5, "x").unwrap_err();
    assert!(e.contains("x[row 1, step 2] is -1, outside [0, 5)"), "{e}");
    let e = check_ids(&[0.0f64, 1.0, 1.0, f64::NAN], &[2, 2], 0, "emb", 5, "x").unwrap_err();
    assert!(e.contains("x[row 1, position (2, 2)] is missing (NA/NaN)"), "{e}");
    // a bad id that reaches the layer anyway: a zero row, no gradient, no panic
    let mut l = table();
    let x = Tensor::from_vec(&[1, 3], vec![1.0, 7.0, 0.5]);
    let mut out = Tensor::default();
    l.forward(&[&x], &mut out, true, &mut Rng::seed_from(1));
    assert_eq!(out.data, vec![10.0, 11.0, 0.0, 0.0, 0.0, 0.0]);
    let mut g = Tensor::from_vec(&[1, 3, 2], vec![1.0; 6]);
    l.backward(&[&x], &out, &mut g, &mut [None], false);
    assert_eq!(l.params_and_grads()[0].1, &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
}

fn ids(rows: usize, steps: usize, input_dim: usize, seed: u64) -> Tensor<f64> {
    let mut r = Rng::seed_from(seed);
    Tensor::from_vec(&[rows, steps], (0..rows * steps).map(|_| r.below(input_dim) as f64).collect())
}

fn small_model(input_dim: usize) -> Model<f64> {
    let layers = json!([
        {"class_name": "Embedding", "name": "e", "input_dim": input_dim, "output_dim": 3,
         "embeddings_initializer": {"name": "random_uniform", "minval": -0.5, "maxval": 0.5}},
        {"class_name": "Flatten", "name": "f"},
        {"class_name": "Dense", "name": "d", "units": 2, "activation": "tanh"},
    ]);
    let spec: ModelSpec =
        serde_json::from_value(json!({"name": "m", "class_name": "Sequential", "input_shape": [4], "layers": layers}))
            .unwrap();
    let mut m = Model::<f64>::build(spec, &mut Rng::seed_from(5)).unwrap();
    let c: CompileSpec =
        serde_json::from_value(json!({"optimizer": {"name": "sgd", "learning_rate": 0.01}, "loss": "mse"})).unwrap();
    m.compile(c).unwrap();
    m
}

#[test]
fn embedding_gradients_match_finite_differences() {
    // 6 ids in 5 rows x 4 steps: repeated ids accumulate, unused rows get zero gradient
    let x = ids(5, 4, 6, 3);
    let mut r = Rng::seed_from(4);
    let y = Tensor::from_vec(&[5, 2], (0..10).map(|_| r.uniform() - 0.5).collect());
    check_graph(small_model(6), vec![x], vec![y], None);
}

#[test]
fn the_model_checks_ids_of_its_inputs() {
    let m = small_model(6);
    let checks = m.id_checks();
    assert_eq!(checks, vec![crate::data::IdCheck { input: 0, layer: "e".into(), input_dim: 6 }]);
    let mut x = ids(3, 4, 6, 1);
    assert!(m.check_data(std::slice::from_ref(&x), None).is_ok());
    x.data[6] = 6.0;
    let e = m.check_data(std::slice::from_ref(&x), None).unwrap_err();
    assert!(e.starts_with("e (Embedding): x[row 2, step 3] is 6, outside [0, 6)"), "{e}");
}

#[test]
fn imdb_cnn_builds_with_keras_parameter_counts() {
    let layers = json!([
        {"class_name": "Embedding", "name": "embedding", "input_dim": 5000, "output_dim": 50},
        {"class_name": "Dropout", "name": "dropout", "rate": 0.2},
        {"class_name": "Conv1D", "name": "conv1d", "filters": 250, "kernel_size": [3], "activation": "relu"},
        {"class_name": "GlobalMaxPooling1D", "name": "gmp"},
        {"class_name": "Dense", "name": "dense", "units": 250},
        {"class_name": "Dropout", "name": "dropout_1", "rate": 0.2},
        {"class_name": "Activation", "name": "activation", "activation": "relu"},
        {"class_name": "Dense", "name": "dense_1", "units": 1, "activation": "sigmoid"},
    ]);
    let spec: ModelSpec = serde_json::from_value(
        json!({"name": "m", "class_name": "Sequential", "input_shape": [400], "layers": layers}),
    )
    .unwrap();
    let m = Model::<f32>::build(spec.clone(), &mut Rng::seed_from(5)).unwrap();
    let rows = m.layer_rows();
    assert_eq!((rows[0].1.clone(), rows[0].2), (vec![400, 50], 250_000));
    assert_eq!(rows[2].2, 37_750);
    assert_eq!(m.count_params().0, 250_000 + 37_750 + 62_750 + 251);
    // the size check of a file's architecture counts the same
    let mut shape = vec![400];
    assert_eq!(spec.layers[0].kind.weight_count(&mut shape), WeightCount::Values(250_000));
    assert_eq!(shape, vec![400, 50]);
}

#[test]
fn build_errors() {
    let sp = spec(json!({"class_name": "Embedding", "name": "e", "input_dim": 0, "output_dim": 2}));
    let e = build::<f32>(&sp, &[&[3]], &mut Rng::seed_from(1)).err().unwrap();
    assert_eq!(e, "e: input_dim and output_dim must be positive integers");
    let sp = spec(json!({"class_name": "Embedding", "name": "e", "input_dim": 20_000_000, "output_dim": 1}));
    let e = build::<f32>(&sp, &[&[3]], &mut Rng::seed_from(1)).err().unwrap();
    assert!(e.contains("larger than rkeras supports"), "{e}");
}
