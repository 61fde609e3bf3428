//! Zero padding, cropping, upsampling and spatial dropout: forward values by hand and against
//! Keras (tests/fixtures/keras/spatial), Keras configs of both generations, shape errors,
//! f64 finite-difference gradients (of the layer alone and through models), and the spatial
//! dropout masks.

use super::gradcheck::{check_graph, data, json_chain};
use super::{build, Layer, LayerKind, LayerSpec};
use crate::keras_h5::{Generation, KerasLayerConfig};
use crate::model::Model;
use crate::rng::Rng;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn spec(v: Value) -> LayerSpec {
    serde_json::from_value(v).unwrap()
}

fn layer(v: Value, input: &[usize]) -> Result<Box<dyn Layer<f64>>, String> {
    build::<f64>(&spec(v), &[input], &mut Rng::seed_from(1))
}

fn shaped(rows: usize, sample: &[usize], seed: u64) -> Tensor<f64> {
    let mut t = data(rows, sample.iter().product(), seed);
    t.shape = [vec![rows], sample.to_vec()].concat();
    t
}

/// Runs the layer in inference on `x` (per-sample shape `input`) and returns the output.
fn run(v: Value, input: &[usize], x: Vec<f64>) -> Tensor<f64> {
    let mut l = layer(v, input).unwrap();
    let mut shape = vec![x.len() / input.iter().product::<usize>()];
    shape.extend_from_slice(input);
    let x = Tensor::from_vec(&shape, x);
    let mut out = Tensor::zeros(&[1]);
    l.forward(&[&x], &mut out, false, &mut Rng::seed_from(2));
    assert_eq!(&out.shape[1..], l.output_shape());
    out
}

fn seq(n: usize) -> Vec<f64> {
    (1..=n).map(|v| v as f64).collect()
}

#[test]
fn padding_and_cropping_by_hand() {
    // x[t, c] = 10 t + c (+ 11), 3 steps, 2 channels
    let x: Vec<f64> = (1..=3).flat_map(|t| [10.0 * t as f64 + 1.0, 10.0 * t as f64 + 2.0]).collect();
    let p = run(json!({"class_name": "ZeroPadding1D", "name": "p", "padding": [1, 2]}), &[3, 2], x.clone());
    assert_eq!(p.shape, [1, 6, 2]);
    assert_eq!(p.data, [0.0, 0.0, 11.0, 12.0, 21.0, 22.0, 31.0, 32.0, 0.0, 0.0, 0.0, 0.0]);
    let c = run(json!({"class_name": "Cropping1D", "name": "c", "cropping": [0, 2]}), &[3, 2], x.clone());
    assert_eq!((c.shape, c.data), (vec![1, 1, 2], vec![11.0, 12.0]));
    // channels first 1d: (channels 2, steps 3) = [[1, 2, 3], [4, 5, 6]]
    let p = run(
        json!({"class_name": "ZeroPadding1D", "name": "p", "padding": [0, 1], "data_format": "channels_first"}),
        &[2, 3],
        seq(6),
    );
    assert_eq!((p.shape, p.data), (vec![1, 2, 4], vec![1.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0, 0.0]));

    // 2 x 2 image [[1, 2], [3, 4]], one channel: one row on top, two columns on the right
    let p = run(json!({"class_name": "ZeroPadding2D", "name": "p", "padding": [[1, 0], [0, 2]]}), &[2, 2, 1], seq(4));
    assert_eq!(p.shape, [1, 3, 4, 1]);
    assert_eq!(p.data, [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0]);
    // 3 x 4 image 1..12: crop the top row and the last column
    let c = run(json!({"class_name": "Cropping2D", "name": "c", "cropping": [[1, 0], [0, 1]]}), &[3, 4, 1], seq(12));
    assert_eq!((c.shape, c.data), (vec![1, 2, 3, 1], vec![5.0, 6.0, 7.0, 9.0, 10.0, 11.0]));
    // two channels, channels last: channel 1 is the negation; crop one row and column each side
    let x2: Vec<f64> = seq(9).into_iter().flat_map(|v| [v, -v]).collect();
    let c = run(json!({"class_name": "Cropping2D", "name": "c", "cropping": [[1, 1], [1, 1]]}), &[3, 3, 2], x2);
    assert_eq!((c.shape, c.data), (vec![1, 1, 1, 2], vec![5.0, -5.0]));
    // channels first: (2, 2, 3), crop column 0 of each channel
    let c = run(
        json!({"class_name": "Cropping2D", "name": "c", "cropping": [[0, 0], [1, 0]], "data_format": "channels_first"}),
        &[2, 2, 3],
        seq(12),
    );
    assert_eq!((c.shape, c.data), (vec![1, 2, 2, 2], vec![2.0, 3.0, 5.0, 6.0, 8.0, 9.0, 11.0, 12.0]));
    // and padding channels first: a zero column before each row of each channel
    let p = run(
        json!({"class_name": "ZeroPadding2D", "name": "p", "padding": [[0, 0], [1, 0]], "data_format": "channels_first"}),
        &[2, 1, 2],
        seq(4),
    );
    assert_eq!((p.shape, p.data), (vec![1, 2, 1, 3], vec![0.0, 1.0, 2.0, 0.0, 3.0, 4.0]));
}

#[test]
fn upsampling_by_hand() {
    // 1d: steps [1, 2] with channels (v, -v), size 3
    let x = vec![1.0, -1.0, 2.0, -2.0];
    let u = run(json!({"class_name": "UpSampling1D", "name": "u", "size": 3}), &[2, 2], x);
    assert_eq!(u.shape, [1, 6, 2]);
    assert_eq!(u.data, [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 2.0, -2.0, 2.0, -2.0, 2.0, -2.0]);
    // 2d nearest (2, 3) on [[1, 2], [3, 4]]
    let u = run(json!({"class_name": "UpSampling2D", "name": "u", "size": [2, 3]}), &[2, 2, 1], seq(4));
    assert_eq!(u.shape, [1, 4, 6, 1]);
    let row1 = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
    let row2 = [3.0, 3.0, 3.0, 4.0, 4.0, 4.0];
    assert_eq!(u.data, [row1, row1, row2, row2].concat());
    // nearest channels first: (2 channels, 1 x 2), size (2, 1)
    let u = run(
        json!({"class_name": "UpSampling2D", "name": "u", "size": [2, 1], "data_format": "channels_first"}),
        &[2, 1, 2],
        seq(4),
    );
    assert_eq!((u.shape, u.data), (vec![1, 2, 2, 2], vec![1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]));
    // bilinear (2, 2) on [[1, 2], [3, 4]]: sample points -0.25 (clamped to 0), 0.25, 0.75,
    // 1.25 (clamped to 1) on each axis
    let u = run(
        json!({"class_name": "UpSampling2D", "name": "u", "size": [2, 2], "interpolation": "bilinear"}),
        &[2, 2, 1],
        seq(4),
    );
    let want =
        [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3.0, 3.25, 3.75, 4.0]].concat();
    assert_eq!(u.shape, [1, 4, 4, 1]);
    assert!(u.data.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12), "{:?}", u.data);
    // bilinear (3, 1) on a column [0, 3]: rows sample 0 (clamped), 1/6, 1/2, 5/6, 7/6, 1 (clamped)
    let u = run(
        json!({"class_name": "UpSampling2D", "name": "u", "size": [3, 1], "interpolation": "bilinear"}),
        &[2, 1, 1],
        vec![0.0, 3.0],
    );
    let want = [0.0, 0.0, 1.0, 2.0, 3.0, 3.0];
    assert!(u.data.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12), "{:?}", u.data);
}

/// The fixture of `tests/interop/make_spatial_fixtures.py` for one Keras generation.
fn fixture(tag: &str) -> Vec<Value> {
    let path = crate::testutil::fixture(&format!("keras/spatial/layers_{tag}.json"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn tensor(v: &Value) -> Tensor<f64> {
    let shape: Vec<usize> = v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    Tensor::from_vec(&shape, v["data"].as_array().unwrap().iter().map(|d| d.as_f64().unwrap()).collect())
}

/// Reads a case's Keras config as rkeras does when loading a file.
fn from_keras(case: &Value, generation: Generation) -> LayerSpec {
    let config: Value = serde_json::from_str(case["config"].as_str().unwrap()).unwrap();
    let class = case["class"].as_str().unwrap();
    let name = config["name"].as_str().unwrap().to_string();
    let mut warnings = Vec::new();
    let mut c = KerasLayerConfig { config: &config, name: &name, class, generation, warnings: &mut warnings };
    let kind = LayerKind::from_keras(class, &mut c).unwrap().unwrap_or_else(|e| panic!("{e}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    LayerSpec { name, trainable: true, kind }
}

#[test]
fn every_case_reads_its_keras_config_writes_it_back_and_gives_keras_values() {
    for (tag, generation) in [("keras3", Generation::Keras3), ("keras2", Generation::Keras2)] {
        let cases = fixture(tag);
        assert!(cases.len() >= 24, "{tag}: {} cases", cases.len());
        for case in &cases {
            let name = case["name"].as_str().unwrap();
            let spec = from_keras(case, generation);
            // the config rkeras writes is Keras' own, keys in order
            let written = match generation {
                Generation::Keras3 => crate::keras_json::layer_config(&spec).to_string(),
                Generation::Keras2 => {
                    let head = format!(r#"{{"name": "{}", "trainable": true, "dtype": "float32""#, spec.name);
                    let rest: Vec<String> = spec
                        .kind
                        .keras2_config(&spec.name)
                        .unwrap()
                        .into_iter()
                        .map(|(k, v)| format!(r#", "{k}": {v}"#))
                        .collect();
                    format!("{head}{}}}", rest.concat())
                }
            };
            assert_eq!(written, case["config"].as_str().unwrap(), "{tag} {name}");
            // forward values (inference) equal Keras' float32 ones
            let x = tensor(&case["x"]);
            let want = tensor(&case["y"]);
            let mut l = build::<f64>(&spec, &[&x.shape[1..]], &mut Rng::seed_from(1)).unwrap();
            assert_eq!(l.output_shape(), &want.shape[1..], "{tag} {name}");
            let mut out = Tensor::default();
            l.forward(&[&x], &mut out, false, &mut Rng::seed_from(2));
            assert_eq!(out.shape, want.shape, "{tag} {name}");
            let err = out.data.iter().zip(&want.data).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(err < 1e-6, "{tag} {name}: max abs error {err}");
        }
    }
}

#[test]
fn channels_first_one_d_layers_cannot_be_written_for_keras_2() {
    let zp =
        spec(json!({"class_name": "ZeroPadding1D", "name": "zp", "padding": [1, 1], "data_format": "channels_first"}));
    let e = zp.kind.keras2_config("zp").unwrap_err();
    assert!(e.starts_with("layer 'zp': tf.keras 2's ZeroPadding1D has no data_format"), "{e}");
    let sd =
        spec(json!({"class_name": "SpatialDropout2D", "name": "sd", "rate": 0.1, "data_format": "channels_first"}));
    let e = sd.kind.keras2_config("sd").unwrap_err();
    assert!(e.contains("SpatialDropout2D's data_format"), "{e}");
    // Keras 3 cannot represent channels first Cropping1D: rkeras refuses to build one
    let e = layer(
        json!({"class_name": "Cropping1D", "name": "c", "cropping": [1, 1], "data_format": "channels_first"}),
        &[3, 5],
    )
    .err()
    .unwrap();
    assert_eq!(e, "c: Cropping1D supports data_format = \"channels_last\" only");
}

#[test]
fn keras_configs_in_other_forms_read_as_keras_reads_them() {
    let read = |class: &str, config: Value| {
        let mut w = Vec::new();
        let mut c =
            KerasLayerConfig { config: &config, name: "l", class, generation: Generation::Keras3, warnings: &mut w };
        LayerKind::from_keras(class, &mut c).unwrap()
    };
    let k = read("ZeroPadding2D", json!({"padding": 3})).unwrap();
    assert_eq!(serde_json::to_value(&k).unwrap()["padding"], json!([[3, 3], [3, 3]]));
    let k = read("Cropping2D", json!({"cropping": [1, 2]})).unwrap();
    assert_eq!(serde_json::to_value(&k).unwrap()["cropping"], json!([[1, 1], [2, 2]]));
    let k = read("Cropping2D", json!({})).unwrap();
    assert_eq!(serde_json::to_value(&k).unwrap()["cropping"], json!([[0, 0], [0, 0]]));
    let k = read("ZeroPadding1D", json!({"padding": 2})).unwrap();
    assert_eq!(serde_json::to_value(&k).unwrap()["padding"], json!([2, 2]));
    let k = read("UpSampling2D", json!({"size": 3, "interpolation": "BILINEAR"})).unwrap();
    assert_eq!(serde_json::to_value(&k).unwrap()["size"], json!([3, 3]));
    assert_eq!(serde_json::to_value(&k).unwrap()["interpolation"], json!("bilinear"));
    let e = read("UpSampling2D", json!({"size": [2, 2], "interpolation": "bicubic"})).unwrap_err();
    assert_eq!(
        e,
        "layer 'l' (UpSampling2D): interpolation = \"bicubic\" is not supported by rkeras (only \"nearest\" and \"bilinear\")"
    );
    let e = read("ZeroPadding2D", json!({"padding": [[1, -1], [0, 0]]})).unwrap_err();
    assert!(
        e.starts_with("layer 'l' (ZeroPadding2D): `padding` = [[1,-1],[0,0]] is not a non-negative integer"),
        "{e}"
    );
    let e = read("UpSampling1D", json!({"size": 0})).unwrap_err();
    assert_eq!(e, "layer 'l' (UpSampling1D): `size` must be positive, got 0");
    let e = read("SpatialDropout1D", json!({"rate": 1.5})).unwrap_err();
    assert_eq!(e, "layer 'l' (SpatialDropout1D): `rate` is missing or not in [0, 1)");
    let e = read("SpatialDropout2D", json!({"rate": 0.5, "data_format": "channels_middle"})).unwrap_err();
    assert!(e.contains("data_format = \"channels_middle\" is not"), "{e}");
}

#[test]
fn shape_errors_name_the_layer_and_shapes() {
    let e = layer(json!({"class_name": "ZeroPadding2D", "name": "zp", "padding": [[1, 1], [1, 1]]}), &[4, 4])
        .err()
        .unwrap();
    assert_eq!(e, "zp: ZeroPadding2D takes 4-d input (batch, rows, cols, channels), got shape (None, 4, 4)");
    let e = layer(
        json!({"class_name": "UpSampling2D", "name": "u", "size": [2, 2], "data_format": "channels_first"}),
        &[4, 4, 3, 2],
    )
    .err()
    .unwrap();
    assert_eq!(e, "u: UpSampling2D takes 4-d input (batch, channels, rows, cols), got shape (None, 4, 4, 3, 2)");
    let e = layer(json!({"class_name": "SpatialDropout1D", "name": "sd", "rate": 0.5}), &[4, 4, 3]).err().unwrap();
    assert_eq!(e, "sd: SpatialDropout1D takes 3-d input (batch, steps, features), got shape (None, 4, 4, 3)");
    let e = layer(json!({"class_name": "Cropping1D", "name": "c", "cropping": [2, 3]}), &[5, 2]).err().unwrap();
    assert_eq!(e, "c: Cropping1D cropping (2, 3) leaves nothing of the input's 5 steps: input shape (None, 5, 2)");
    let e = layer(json!({"class_name": "Cropping2D", "name": "c", "cropping": [[1, 1], [3, 3]]}), &[4, 6, 2])
        .err()
        .unwrap();
    assert_eq!(
        e,
        "c: Cropping2D cropping ((1, 1), (3, 3)) leaves nothing of the input's 6 cols: input shape (None, 4, 6, 2)"
    );
    // cropping all but one row is fine
    layer(json!({"class_name": "Cropping2D", "name": "c", "cropping": [[1, 2], [0, 0]]}), &[4, 6, 2]).unwrap();
    let e = layer(json!({"class_name": "UpSampling2D", "name": "u", "size": [0, 2]}), &[4, 4, 1]).err().unwrap();
    assert_eq!(e, "u: UpSampling2D `size` must be positive, got (0, 2)");
    let e = layer(json!({"class_name": "UpSampling1D", "name": "u", "size": 0}), &[4, 1]).err().unwrap();
    assert_eq!(e, "u: UpSampling1D `size` must be positive, got 0");
    let e = layer(json!({"class_name": "SpatialDropout2D", "name": "s", "rate": 1.0}), &[4, 4, 1]).err().unwrap();
    assert_eq!(e, "s: SpatialDropout2D rate must be in [0, 1), got 1");
    let e = layer(json!({"class_name": "UpSampling1D", "name": "u", "size": usize::MAX / 2}), &[4, 1]).err().unwrap();
    assert!(e.starts_with("u: UpSampling1D size "), "{e}");
    assert!(e.ends_with("makes the input (None, 4, 1) too large"), "{e}");
    let e =
        layer(json!({"class_name": "ZeroPadding1D", "name": "z", "padding": [usize::MAX, 1]}), &[4, 1]).err().unwrap();
    assert!(e.starts_with("z: ZeroPadding1D padding ("), "{e}");
    // negative padding is no usize: the spec does not parse (R refuses it before)
    assert!(serde_json::from_value::<LayerSpec>(
        json!({"class_name": "ZeroPadding1D", "name": "z", "padding": [-1, 1]})
    )
    .is_err());
}

/// Every layer case of the gradient checks: (spec, per-sample input shape).
fn cases() -> Vec<(Value, Vec<usize>)> {
    let cf = "channels_first";
    vec![
        (json!({"class_name": "ZeroPadding1D", "name": "l", "padding": [2, 1]}), vec![4, 3]),
        (json!({"class_name": "ZeroPadding1D", "name": "l", "padding": [0, 2], "data_format": cf}), vec![3, 4]),
        (json!({"class_name": "ZeroPadding2D", "name": "l", "padding": [[1, 0], [2, 3]]}), vec![3, 4, 2]),
        (
            json!({"class_name": "ZeroPadding2D", "name": "l", "padding": [[0, 2], [1, 1]], "data_format": cf}),
            vec![2, 3, 4],
        ),
        (json!({"class_name": "Cropping1D", "name": "l", "cropping": [1, 2]}), vec![6, 3]),
        (json!({"class_name": "Cropping1D", "name": "l", "cropping": [0, 0]}), vec![4, 2]),
        (json!({"class_name": "Cropping2D", "name": "l", "cropping": [[0, 2], [3, 1]]}), vec![5, 6, 2]),
        (
            json!({"class_name": "Cropping2D", "name": "l", "cropping": [[1, 1], [0, 2]], "data_format": cf}),
            vec![2, 5, 6],
        ),
        (json!({"class_name": "UpSampling1D", "name": "l", "size": 3}), vec![4, 3]),
        (json!({"class_name": "UpSampling2D", "name": "l", "size": [2, 3]}), vec![3, 4, 2]),
        (json!({"class_name": "UpSampling2D", "name": "l", "size": [1, 2], "data_format": cf}), vec![2, 3, 4]),
        (
            json!({"class_name": "UpSampling2D", "name": "l", "size": [2, 2], "interpolation": "bilinear"}),
            vec![3, 4, 2],
        ),
        (
            json!({"class_name": "UpSampling2D", "name": "l", "size": [3, 1], "interpolation": "bilinear"}),
            vec![3, 4, 2],
        ),
        (
            json!({"class_name": "UpSampling2D", "name": "l", "size": [2, 3], "interpolation": "bilinear", "data_format": cf}),
            vec![2, 3, 4],
        ),
        (
            json!({"class_name": "UpSampling2D", "name": "l", "size": [4, 3], "interpolation": "bilinear"}),
            vec![1, 2, 1],
        ),
        (json!({"class_name": "SpatialDropout1D", "name": "l", "rate": 0.5}), vec![5, 3]),
        (json!({"class_name": "SpatialDropout2D", "name": "l", "rate": 0.4}), vec![3, 4, 3]),
        (json!({"class_name": "SpatialDropout2D", "name": "l", "rate": 0.4, "data_format": cf}), vec![3, 4, 3]),
    ]
}

/// dL/dx of the layer alone, in training, for `L = sum(w * layer(x))` with random `w`,
/// against central differences (the layer is linear in x, so they agree to rounding).
#[test]
fn input_gradients_of_every_case_match_finite_differences() {
    for (v, input) in cases() {
        let mut l = layer(v.clone(), &input).unwrap();
        let x = shaped(3, &input, 5);
        let stream = Rng::seed_from(17);
        let mut out = Tensor::default();
        l.forward(&[&x], &mut out, true, &mut stream.clone());
        let w = shaped(3, l.output_shape(), 6);
        let mut g = w.clone();
        let mut dx = Tensor::default();
        l.backward(&[&x], &out, &mut g, &mut [Some(&mut dx)], false);
        assert_eq!(dx.shape, x.shape);
        let mut loss = |x: &Tensor<f64>| {
            let mut out = Tensor::default();
            l.forward(&[x], &mut out, true, &mut stream.clone());
            out.data.iter().zip(&w.data).map(|(a, b)| a * b).sum::<f64>()
        };
        let h = 1e-6;
        let mut xp = x.clone();
        for e in 0..x.data.len() {
            xp.data[e] = x.data[e] + h;
            let up = loss(&xp);
            xp.data[e] = x.data[e] - h;
            let down = loss(&xp);
            xp.data[e] = x.data[e];
            let numeric = (up - down) / (2.0 * h);
            assert!((numeric - dx.data[e]).abs() < 1e-7, "{v}: x[{e}] analytic {} numeric {numeric}", dx.data[e]);
        }
        // and the dropout cases did drop something
        if v["class_name"].as_str().unwrap().starts_with("SpatialDropout") {
            assert!(dx.data.contains(&0.0) && dx.data.iter().any(|d| *d != 0.0), "{v}");
        }
    }
}

fn dense(name: &str, units: usize) -> Value {
    json!({"class_name": "Dense", "name": name, "units": units, "activation": "tanh",
           "bias_initializer": {"name": "random_uniform", "minval": -0.1, "maxval": 0.1}})
}

/// input -> dense (on the last axis) -> the layer -> flatten -> dense(2): gradients of both
/// dense layers go through the layer's forward and backward (spatial dropout in training).
fn chain(input: Vec<usize>, l: Value) -> Model<f64> {
    let layers =
        vec![dense("d1", input[input.len() - 1]), l, json!({"class_name": "Flatten", "name": "f"}), dense("d2", 2)];
    json_chain(input, layers)
}

#[test]
fn weight_gradients_through_every_case_match_finite_differences() {
    for (v, input) in cases() {
        let m = chain(input.clone(), v);
        check_graph(m, vec![shaped(3, &input, 1)], vec![data(3, 2, 3)], None);
    }
}

#[test]
fn spatial_dropout_drops_whole_channels_scales_the_rest_and_repeats_with_the_seed() {
    let (n, steps, c, rate) = (100, 7, 50, 0.3);
    let sd1 = json!({"class_name": "SpatialDropout1D", "name": "s", "rate": rate});
    let mut l = layer(sd1.clone(), &[steps, c]).unwrap();
    let x = Tensor::from_vec(&[n, steps, c], vec![1.0; n * steps * c]);
    let mut out = Tensor::default();
    let mut rng = Rng::seed_from(9);
    let start = rng.word_pos();
    l.forward(&[&x], &mut out, true, &mut rng);
    // one word per (sample, channel)
    assert_eq!(rng.word_pos() - start, (n * c) as u128);
    let scale = 1.0 / (1.0 - rate);
    let mut kept = 0;
    for b in 0..n {
        for ch in 0..c {
            let v: Vec<f64> = (0..steps).map(|t| out.data[(b * steps + t) * c + ch]).collect();
            assert!(v.iter().all(|&u| u == v[0]), "sample {b} channel {ch}: {v:?}");
            assert!(v[0] == 0.0 || (v[0] - scale).abs() < 1e-12);
            kept += usize::from(v[0] != 0.0);
        }
    }
    let frac = kept as f64 / (n * c) as f64;
    assert!((frac - 0.7).abs() < 0.025, "kept {frac}");
    // the same stream gives the same masks, another stream others
    let mut again = Tensor::default();
    layer(sd1.clone(), &[steps, c]).unwrap().forward(&[&x], &mut again, true, &mut Rng::seed_from(9));
    assert_eq!(again.data, out.data);
    layer(sd1, &[steps, c]).unwrap().forward(&[&x], &mut again, true, &mut Rng::seed_from(10));
    assert_ne!(again.data, out.data);
    // inference: the identity, the stream untouched
    let pos = rng.word_pos();
    let xr = shaped(n, &[steps, c], 3);
    l.forward(&[&xr], &mut out, false, &mut rng);
    assert_eq!(out.data, xr.data);
    assert_eq!(rng.word_pos(), pos);
    assert!(l.is_identity_at_inference());

    // 2d, channels last and first: each (sample, channel) plane is all kept or all zero
    for (format, shape) in [("channels_last", [4, 5, 6]), ("channels_first", [6, 4, 5])] {
        let v = json!({"class_name": "SpatialDropout2D", "name": "s", "rate": 0.5, "data_format": format});
        let mut l = layer(v, &shape).unwrap();
        let x = shaped(20, &shape, 4);
        l.forward(&[&x], &mut out, true, &mut Rng::seed_from(11));
        let mut zero_planes = 0;
        for b in 0..20 {
            for ch in 0..6 {
                let idx: Vec<usize> = (0..20)
                    .map(|p| if format == "channels_last" { b * 120 + p * 6 + ch } else { b * 120 + ch * 20 + p })
                    .collect();
                let dropped = idx.iter().all(|&i| out.data[i] == 0.0);
                let scaled = idx.iter().all(|&i| (out.data[i] - 2.0 * x.data[i]).abs() < 1e-12);
                assert!(dropped || scaled, "{format}: sample {b} channel {ch}");
                zero_planes += usize::from(dropped);
            }
        }
        assert!((30..=90).contains(&zero_planes), "{format}: {zero_planes} of 120 planes dropped");
    }
}

/// The layers of Keras' to_json() of the fixture models, byte for byte, from the models rkeras
/// reads from the same JSON.
#[test]
fn fixture_models_write_keras_3_to_json_layers() {
    for name in ["spatial2d", "spatial1d"] {
        let path = crate::testutil::fixture(&format!("keras/spatial/{name}_keras3_to_json.json"));
        let keras = std::fs::read_to_string(path).unwrap();
        let mut warnings = Vec::new();
        let spec = crate::keras_h5::model_spec(&keras, Generation::Keras3, &mut warnings).unwrap();
        let m = Model::<f32>::build(spec, &mut Rng::seed_from(1)).unwrap();
        let ours = crate::keras_json::model_to_json(&m);
        let layers = |s: &str| {
            let a = s.find(r#""layers": ["#).unwrap();
            let b = s.find(r#"], "build_input_shape""#).unwrap();
            s[a..b].to_string()
        };
        assert_eq!(layers(&ours), layers(&keras), "{name}");
    }
}
