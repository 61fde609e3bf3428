use crate::layers::gradcheck::{check_graph, data, json_chain as model};
use crate::layers::{build, Layer, LayerSpec, WeightCount};
use crate::model::{Model, ModelSpec};
use crate::rng::Rng;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn spec(v: Value) -> LayerSpec {
    serde_json::from_value(v).unwrap()
}

fn bn(extra: Value) -> Value {
    let mut v = json!({"class_name": "BatchNormalization", "name": "bn"});
    v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    v
}

fn layer(extra: Value, input: &[usize]) -> Box<dyn Layer<f64>> {
    build::<f64>(&spec(bn(extra)), &[input], &mut Rng::seed_from(1)).unwrap()
}

fn set_weights(l: &mut dyn Layer<f64>, values: &[Vec<f64>]) {
    let mut ws = Vec::new();
    l.push_weights_mut(&mut ws);
    assert_eq!(ws.len(), values.len());
    for (w, v) in ws.iter_mut().zip(values) {
        w.copy_from_slice(v);
    }
}

fn shaped(shape: &[usize], seed: u64) -> Tensor<f64> {
    let mut t = data(1, shape.iter().product(), seed);
    t.shape = shape.to_vec();
    t
}

#[test]
fn training_uses_batch_statistics_and_updates_the_moving_ones_by_hand() {
    let mut l = layer(json!({"momentum": 0.9, "epsilon": 0.01}), &[2]);
    set_weights(&mut *l, &[vec![2.0, 0.5], vec![1.0, -1.0], vec![0.5, 1.0], vec![2.0, 3.0]]);
    // feature 0: 1, 3, 8 -> mean 4, biased var (9 + 1 + 16) / 3 = 26/3
    // feature 1: 2, 2, 2 -> mean 2, var 0
    let x = Tensor::from_vec(&[3, 2], vec![1.0, 2.0, 3.0, 2.0, 8.0, 2.0]);
    let mut out = Tensor::default();
    l.forward(&[&x], &mut out, true, &mut Rng::seed_from(0));
    let s0 = (26.0f64 / 3.0 + 0.01).sqrt();
    let want = [2.0 * (1.0 - 4.0) / s0 + 1.0, -1.0, 2.0 * (3.0 - 4.0) / s0 + 1.0, -1.0, 2.0 * 4.0 / s0 + 1.0, -1.0];
    for (a, e) in out.data.iter().zip(want) {
        assert!((a - e).abs() < 1e-12, "{a} vs {e}");
    }
    let w = l.weights();
    let names: Vec<_> = w.iter().map(|w| (w.name, w.trainable)).collect();
    assert_eq!(
        names,
        [("gamma", true), ("beta", true), ("moving_mean", false), ("moving_variance", false)],
        "Keras order; the moving statistics are state"
    );
    // moving = moving * 0.9 + batch * 0.1 (biased variance, as Keras 3's ops.moments)
    let close = |a: &[f64], e: [f64; 2]| a.iter().zip(e).all(|(a, e)| (a - e).abs() < 1e-12);
    assert!(close(w[2].values, [0.5 * 0.9 + 4.0 * 0.1, 1.0 * 0.9 + 2.0 * 0.1]), "{:?}", w[2].values);
    assert!(close(w[3].values, [2.0 * 0.9 + 26.0 / 3.0 * 0.1, 3.0 * 0.9]), "{:?}", w[3].values);
    let (mm, mv) = (w[2].values.to_vec(), w[3].values.to_vec());
    // inference: the moving statistics, which it leaves alone
    l.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
    for (i, a) in out.data.iter().enumerate() {
        let j = i % 2;
        let e = [2.0, 0.5][j] * (x.data[i] - mm[j]) / (mv[j] + 0.01).sqrt() + [1.0, -1.0][j];
        assert!((a - e).abs() < 1e-12, "{a} vs {e}");
    }
    assert_eq!(l.weights()[2].values, &mm[..]);
}

#[test]
fn a_fresh_layer_at_inference_divides_by_sqrt_one_plus_epsilon() {
    let mut l = layer(json!({}), &[3]);
    let x = Tensor::from_vec(&[1, 3], vec![1.0, -2.0, 4.0]);
    let mut out = Tensor::default();
    l.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
    for (a, v) in out.data.iter().zip(&x.data) {
        assert!((a - v / 1.001f64.sqrt()).abs() < 1e-12);
    }
}

#[test]
fn another_axis_normalizes_over_all_the_others() {
    // (batch 2, 3, 2) normalized along axis 1 (3 features): each feature over 2 x 2 values
    let mut l = layer(json!({"axis": 1, "momentum": 0.0, "center": false}), &[3, 2]);
    assert_eq!(l.weights().iter().map(|w| w.name).collect::<Vec<_>>(), ["gamma", "moving_mean", "moving_variance"]);
    let x = shaped(&[2, 3, 2], 4);
    let mut out = Tensor::default();
    l.forward(&[&x], &mut out, true, &mut Rng::seed_from(0));
    for j in 0..3 {
        let idx = [j * 2, j * 2 + 1, 6 + j * 2, 6 + j * 2 + 1];
        let mean = idx.iter().map(|&i| x.data[i]).sum::<f64>() / 4.0;
        let var = idx.iter().map(|&i| (x.data[i] - mean).powi(2)).sum::<f64>() / 4.0;
        for &i in &idx {
            let e = (x.data[i] - mean) / (var + 1e-3).sqrt();
            assert!((out.data[i] - e).abs() < 1e-12);
        }
        // momentum 0: the moving statistics are the batch's
        assert!((l.weights()[1].values[j] - mean).abs() < 1e-12);
        assert!((l.weights()[2].values[j] - var).abs() < 1e-12);
    }
    // axis 2 and -1 are the same axis of a rank-2 sample
    let a: Vec<_> = layer(json!({"axis": 2}), &[3, 2]).weights().iter().map(|w| w.shape.clone()).collect();
    assert_eq!(a, vec![vec![2]; 4]);
}

/// `sum(out * r)` for fixed `r`: analytic input gradient (backward with `g = r`) against
/// central differences, in training mode.
fn check_input_gradient(extra: Value, shape: &[usize]) {
    let mut l = layer(extra.clone(), &shape[1..]);
    let c = l.weights()[0].shape[0];
    let k = l.weights().len() - 2;
    let mut values: Vec<Vec<f64>> = (0..k).map(|i| data(1, c, 20 + i as u64).data).collect();
    values.extend([vec![0.0; c], vec![1.0; c]]);
    set_weights(&mut *l, &values);
    let x = shaped(shape, 7);
    let r = shaped(shape, 8);
    let loss = |l: &mut Box<dyn Layer<f64>>, x: &Tensor<f64>| {
        let mut out = Tensor::default();
        l.forward(&[x], &mut out, true, &mut Rng::seed_from(0));
        out.data.iter().zip(&r.data).map(|(a, b)| a * b).sum::<f64>()
    };
    let mut out = Tensor::default();
    l.forward(&[&x], &mut out, true, &mut Rng::seed_from(0));
    let mut g = r.clone();
    let mut dx = Tensor::default();
    l.backward(&[&x], &out, &mut g, &mut [Some(&mut dx)], false);
    let analytic: Vec<Vec<f64>> = l.params_and_grads().into_iter().map(|(_, g)| g.to_vec()).collect();
    assert_eq!(dx.shape, shape);
    let h = 1e-6;
    for e in 0..x.data.len() {
        let (mut up, mut down) = (x.clone(), x.clone());
        up.data[e] += h;
        down.data[e] -= h;
        let numeric = (loss(&mut l, &up) - loss(&mut l, &down)) / (2.0 * h);
        let a = dx.data[e];
        assert!(
            (a - numeric).abs() <= 1e-6 * a.abs().max(numeric.abs()).max(1e-3),
            "{extra} {shape:?} dx[{e}]: {a} vs {numeric}"
        );
    }
    // gamma and beta
    for (p, grad) in analytic.iter().enumerate() {
        for e in 0..c {
            let orig = l.params_and_grads()[p].0[e];
            l.params_and_grads()[p].0[e] = orig + h;
            let up = loss(&mut l, &x);
            l.params_and_grads()[p].0[e] = orig - h;
            let down = loss(&mut l, &x);
            l.params_and_grads()[p].0[e] = orig;
            let numeric = (up - down) / (2.0 * h);
            let a = grad[e];
            assert!(
                (a - numeric).abs() <= 1e-6 * a.abs().max(numeric.abs()).max(1e-3),
                "{extra} param {p}[{e}]: {a} vs {numeric}"
            );
        }
    }
}

#[test]
fn input_gamma_and_beta_gradients_in_training_match_finite_differences() {
    for flags in
        [json!({}), json!({"center": false}), json!({"scale": false}), json!({"center": false, "scale": false})]
    {
        check_input_gradient(flags.clone(), &[5, 3]);
        check_input_gradient(flags.clone(), &[2, 3, 4, 3]);
        let mut on_axis = flags.clone();
        on_axis.as_object_mut().unwrap().insert("axis".into(), json!(2));
        check_input_gradient(on_axis, &[2, 3, 4, 2]);
    }
}

fn rand_init() -> Value {
    json!({"name": "random_uniform", "minval": 0.5, "maxval": 1.5})
}

#[test]
fn gradients_through_batch_normalization_in_models() {
    // dense -> bn -> dense: the first dense's kernel gradient goes through bn's input gradient
    for flags in [json!({}), json!({"center": false}), json!({"scale": false})] {
        let mut b = bn(flags);
        b["gamma_initializer"] = rand_init();
        b["beta_initializer"] = json!({"name": "random_uniform", "minval": -0.5, "maxval": 0.5});
        let m = model(
            vec![4],
            vec![
                json!({"class_name": "Dense", "name": "d1", "units": 3, "activation": "tanh"}),
                b,
                json!({"class_name": "Dense", "name": "d2", "units": 2, "activation": "tanh"}),
            ],
        );
        check_graph(m, vec![data(6, 4, 1)], vec![data(6, 2, 2)], Some(vec![1.0, 0.5, 2.0, 1.0, 0.0, 1.5]));
    }
    // conv -> bn -> relu-free flatten -> dense on images
    let mut b = bn(json!({}));
    b["gamma_initializer"] = rand_init();
    let m = model(
        vec![5, 5, 2],
        vec![
            json!({"class_name": "Conv2D", "name": "c", "filters": 3, "kernel_size": [3, 3], "activation": "linear"}),
            b,
            json!({"class_name": "Flatten", "name": "f"}),
            json!({"class_name": "Dense", "name": "d", "units": 2}),
        ],
    );
    check_graph(m, vec![shaped(&[3, 5, 5, 2], 3)], vec![data(3, 2, 4)], None);
}

#[test]
fn a_frozen_layer_runs_on_its_moving_statistics_in_training() {
    let mut l = build::<f64>(
        &spec(json!({"class_name": "BatchNormalization", "name": "bn", "trainable": false})),
        &[&[2]],
        &mut Rng::seed_from(1),
    )
    .unwrap();
    set_weights(&mut *l, &[vec![2.0, 1.0], vec![0.0, 1.0], vec![1.0, -1.0], vec![4.0, 0.25]]);
    let x = Tensor::from_vec(&[2, 2], vec![3.0, 0.0, 5.0, 1.0]);
    let mut out = Tensor::default();
    l.forward(&[&x], &mut out, true, &mut Rng::seed_from(0));
    let want = [
        2.0 * 2.0 / 4.001f64.sqrt(),
        1.0 + 1.0 / 0.251f64.sqrt(),
        2.0 * 4.0 / 4.001f64.sqrt(),
        1.0 + 2.0 / 0.251f64.sqrt(),
    ];
    for (a, e) in out.data.iter().zip(want) {
        assert!((a - e).abs() < 1e-12, "{a} vs {e}");
    }
    assert_eq!(l.weights()[2].values, &[1.0, -1.0]);
    let mut g = Tensor::from_vec(&[2, 2], vec![1.0, 1.0, 1.0, 1.0]);
    let mut dx = Tensor::default();
    l.backward(&[&x], &out, &mut g, &mut [Some(&mut dx)], false);
    assert!((dx.data[0] - 2.0 / 4.001f64.sqrt()).abs() < 1e-12);
}

#[test]
fn parameter_counts_and_shapes_like_keras() {
    let l = build::<f32>(&spec(bn(json!({}))), &[&[26, 26, 32]], &mut Rng::seed_from(1)).unwrap();
    assert_eq!((l.param_count(), l.trainable_param_count()), (128, 64));
    assert_eq!(l.output_shape(), &[26, 26, 32]);
    let l = build::<f32>(&spec(bn(json!({"center": false, "scale": false}))), &[&[7]], &mut Rng::seed_from(1)).unwrap();
    assert_eq!((l.param_count(), l.trainable_param_count()), (14, 0));
    let mut shape = vec![4, 6, 5];
    assert_eq!(spec(bn(json!({"axis": 2, "center": false}))).kind.weight_count(&mut shape), WeightCount::Values(18));
    assert_eq!(shape, vec![4, 6, 5]);
}

#[test]
fn bad_arguments_name_the_layer() {
    let e =
        |extra: Value, input: &[usize]| build::<f32>(&spec(bn(extra)), &[input], &mut Rng::seed_from(1)).err().unwrap();
    assert_eq!(e(json!({"epsilon": 0.0}), &[3]), "bn (BatchNormalization): epsilon must be a positive number, got 0");
    assert_eq!(e(json!({"momentum": 1.5}), &[3]), "bn (BatchNormalization): momentum must be in [0, 1], got 1.5");
    assert_eq!(
        e(json!({"axis": 3}), &[4, 5]),
        "bn (BatchNormalization): axis 3 is not a feature axis of input shape (None, 4, 5); use -1 (the last axis) \
         or 1 to 2, counting the batch axis as 0"
    );
    assert!(e(json!({"axis": 0}), &[4, 5]).contains("axis 0 (the batch axis) is not a feature axis"));
    assert!(e(json!({"axis": -3}), &[4, 5]).contains("axis -3 (the batch axis)"));
}

#[test]
fn keras_config_entries_in_keras_order() {
    let s = spec(bn(json!({"momentum": 0.9})));
    let keys: Vec<&str> = s.kind.keras_config().iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        [
            "axis",
            "momentum",
            "epsilon",
            "center",
            "scale",
            "beta_initializer",
            "gamma_initializer",
            "moving_mean_initializer",
            "moving_variance_initializer",
            "beta_regularizer",
            "gamma_regularizer",
            "beta_constraint",
            "gamma_constraint",
            "synchronized",
            "renorm",
            "renorm_clipping",
            "renorm_momentum"
        ]
    );
    let k2: Vec<&str> = s.kind.keras2_config("bn").unwrap().iter().map(|(k, _)| *k).collect();
    assert_eq!(k2, keys[..13]);
    assert_eq!(crate::keras_json::layer_config(&s).to_string().contains("\"momentum\": 0.9, \"epsilon\": 0.001"), true);
}

#[test]
fn the_hdf5_model_config_of_a_functional_model_is_keras_3s() {
    // Input(4, 3) -> BatchNormalization(momentum = 0.9, center = False) -> Dense(2), as Keras 3.15.1
    // writes it (tests/interop/make_batchnorm_fixtures.py): the call kwargs are {"mask": null}
    let spec: ModelSpec = serde_json::from_value(json!({
        "name": "functional", "class_name": "Functional", "inputs": [{"name": "input_layer", "shape": [4, 3]}],
        "layers": [bn(json!({"name": "batch_normalization", "momentum": 0.9, "center": false})),
                   {"class_name": "Dense", "name": "dense", "units": 2}],
        "nodes": [{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 1, "inputs": [{"node": 0}]}],
        "outputs": [{"node": 1}]}))
    .unwrap();
    let m = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
    let want = std::fs::read_to_string(crate::testutil::fixture("batchnorm/functional_bn_model_config.json")).unwrap();
    assert_eq!(crate::keras_json::h5_model_config(&m), want.trim_end());
}
