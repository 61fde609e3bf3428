//! Pooling: forward values by hand, shape errors, and f64 finite-difference gradients through models.

use super::super::gradcheck::{check_graph, data, json_chain};
use super::super::{build, Layer, LayerSpec};
use crate::model::Model;
use crate::rng::Rng;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn layer(spec: Value, input: &[usize]) -> Result<Box<dyn Layer<f64>>, String> {
    let spec: LayerSpec = serde_json::from_value(spec).unwrap();
    build::<f64>(&spec, &[input], &mut Rng::seed_from(1))
}

fn run(spec: Value, input: &[usize], x: Vec<f64>) -> (Vec<usize>, Vec<f64>) {
    let mut l = layer(spec, input).unwrap();
    let mut shape = vec![x.len() / input.iter().product::<usize>()];
    shape.extend_from_slice(input);
    let x = Tensor::from_vec(&shape, x);
    let mut out = Tensor::zeros(&[1]);
    l.forward(&[&x], &mut out, false, &mut Rng::seed_from(2));
    assert_eq!(&out.shape[1..], l.output_shape());
    (out.shape, out.data)
}

fn seq(n: usize) -> Vec<f64> {
    (1..=n).map(|v| v as f64).collect()
}

#[test]
fn one_d_valid_same_and_strides() {
    // x = 1..5, one channel
    let x = seq(5);
    let s = |class: &str, extra: Value| {
        let mut v = json!({"class_name": class, "name": "p", "pool_size": [2]});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    // the examples of keras' AveragePooling1D docs
    assert_eq!(run(s("AveragePooling1D", json!({"strides": [1]})), &[5, 1], x.clone()).1, [1.5, 2.5, 3.5, 4.5]);
    assert_eq!(run(s("AveragePooling1D", json!({})), &[5, 1], x.clone()), (vec![1, 2, 1], vec![1.5, 3.5]));
    // same, stride 1: pad_total 1, pad_before 0: the last window holds only 5
    assert_eq!(
        run(s("AveragePooling1D", json!({"strides": [1], "padding": "same"})), &[5, 1], x.clone()).1,
        [1.5, 2.5, 3.5, 4.5, 5.0]
    );
    // same, stride 2: out 3, windows [1,2], [3,4], [5]
    assert_eq!(run(s("MaxPooling1D", json!({"padding": "same"})), &[5, 1], x.clone()).1, [2.0, 4.0, 5.0]);
    // pool 3, stride 2, same: out 3, pad_total 2, pad_before 1: windows [_,1,2], [2,3,4], [4,5,_]
    let p3 =
        json!({"class_name": "AveragePooling1D", "name": "p", "pool_size": [3], "strides": [2], "padding": "same"});
    assert_eq!(run(p3, &[5, 1], x.clone()).1, [1.5, 3.0, 4.5]);
    // two channels, inner loop over channels: x[t, c] = (t + 1) * (c == 0 ? 1 : -1)
    let x2: Vec<f64> = (1..=4).flat_map(|t| [t as f64, -(t as f64)]).collect();
    let m = json!({"class_name": "MaxPooling1D", "name": "p", "pool_size": [3], "strides": [1]});
    assert_eq!(run(m, &[4, 2], x2).1, [3.0, -1.0, 4.0, -2.0]);
}

#[test]
fn two_d_valid_same_and_strides() {
    // 3 x 4 image 1..12, one channel (keras' AveragePooling2D example: strides 2 valid -> 3.5, 5.5)
    let x = seq(12);
    let avg = json!({"class_name": "AveragePooling2D", "name": "p", "pool_size": [2, 2]});
    assert_eq!(run(avg, &[3, 4, 1], x.clone()), (vec![1, 1, 2, 1], vec![3.5, 5.5]));
    // 3 x 3 image 1..9, pool 2 stride 1 same: pad after only; windows shrink at the border
    let x9 = seq(9);
    let same = json!({"class_name": "AveragePooling2D", "name": "p", "pool_size": [2, 2], "strides": [1, 1], "padding": "same"});
    assert_eq!(run(same, &[3, 3, 1], x9.clone()).1, [3.0, 4.0, 4.5, 6.0, 7.0, 7.5, 7.5, 8.5, 9.0]);
    let max = json!({"class_name": "MaxPooling2D", "name": "p", "pool_size": [2, 2], "strides": [1, 1]});
    assert_eq!(run(max, &[3, 3, 1], x9.clone()).1, [5.0, 6.0, 8.0, 9.0]);
    // stride != pool: pool (2, 3), strides (1, 2) on 3 x 4 valid: out (2, 1)
    let m = json!({"class_name": "MaxPooling2D", "name": "p", "pool_size": [2, 3], "strides": [1, 2]});
    assert_eq!(run(m, &[3, 4, 1], x.clone()), (vec![1, 2, 1, 1], vec![7.0, 11.0]));
    // two samples: the second is negated, its maxima are the top-left values
    let mut x2 = x9.clone();
    x2.extend(x9.iter().map(|v| -v));
    let max = json!({"class_name": "MaxPooling2D", "name": "p", "pool_size": [2, 2], "strides": [1, 1]});
    assert_eq!(run(max, &[3, 3, 1], x2).1, [5.0, 6.0, 8.0, 9.0, -1.0, -2.0, -4.0, -5.0]);
}

#[test]
fn global_pooling_and_keepdims() {
    // 2 x 2 x 2: channel 0 = 1..4, channel 1 = 10, 0, -3, 1
    let x = vec![1.0, 10.0, 2.0, 0.0, 3.0, -3.0, 4.0, 1.0];
    let g = |class: &str, keep: bool| json!({"class_name": class, "name": "g", "keepdims": keep});
    assert_eq!(run(g("GlobalMaxPooling2D", false), &[2, 2, 2], x.clone()), (vec![1, 2], vec![4.0, 10.0]));
    assert_eq!(run(g("GlobalAveragePooling2D", true), &[2, 2, 2], x.clone()), (vec![1, 1, 1, 2], vec![2.5, 2.0]));
    assert_eq!(run(g("GlobalAveragePooling1D", false), &[4, 2], x.clone()), (vec![1, 2], vec![2.5, 2.0]));
    assert_eq!(run(g("GlobalMaxPooling1D", true), &[4, 2], x), (vec![1, 1, 2], vec![4.0, 10.0]));
}

#[test]
fn shape_errors_name_the_layer_and_shapes() {
    let e =
        layer(json!({"class_name": "MaxPooling2D", "name": "pool", "pool_size": [3, 3]}), &[2, 2, 1]).err().unwrap();
    assert_eq!(
        e,
        "pool: MaxPooling2D pool_size (3, 3) is larger than the input (None, 2, 2, 1) with padding = \"valid\""
    );
    // the same pool with padding "same" fits
    layer(json!({"class_name": "MaxPooling2D", "name": "pool", "pool_size": [3, 3], "padding": "same"}), &[2, 2, 1])
        .unwrap();
    let e = layer(json!({"class_name": "AveragePooling1D", "name": "a", "pool_size": [0]}), &[4, 1]).err().unwrap();
    assert_eq!(e, "a: AveragePooling1D `pool_size` must be 1 positive integer(s), got (0)");
    let e =
        layer(json!({"class_name": "MaxPooling2D", "name": "m", "pool_size": [2, 2], "strides": [0, 1]}), &[4, 4, 1])
            .err()
            .unwrap();
    assert_eq!(e, "m: MaxPooling2D `strides` must be 2 positive integer(s), got (0, 1)");
    let e = layer(json!({"class_name": "MaxPooling2D", "name": "m", "pool_size": [2, 2]}), &[4, 4]).err().unwrap();
    assert_eq!(e, "m: MaxPooling2D takes 4-d input (batch, rows, cols, channels), got shape (None, 4, 4)");
    let e = layer(json!({"class_name": "GlobalMaxPooling1D", "name": "g"}), &[4, 4, 2]).err().unwrap();
    assert_eq!(e, "g: GlobalMaxPooling1D takes 3-d input (batch, steps, features), got shape (None, 4, 4, 2)");
}

fn dense(name: &str, units: usize) -> Value {
    json!({"class_name": "Dense", "name": name, "units": units, "activation": "tanh",
           "bias_initializer": {"name": "random_uniform", "minval": -0.1, "maxval": 0.1}})
}

/// input -> dense (on the channels) -> pooling -> flatten -> dense(2): gradients of the first
/// dense go through the pooling's backward.
fn chain(input: Vec<usize>, pool: Value) -> Model<f64> {
    let layers = vec![dense("d1", 3), pool, json!({"class_name": "Flatten", "name": "f"}), dense("d2", 2)];
    json_chain(input, layers)
}

fn shaped(rows: usize, sample: &[usize], seed: u64) -> Tensor<f64> {
    let mut t = data(rows, sample.iter().product(), seed);
    t.shape = [vec![rows], sample.to_vec()].concat();
    t
}

#[test]
fn gradients_through_every_pooling() {
    let pools = [
        (vec![5, 2], json!({"class_name": "MaxPooling1D", "name": "p", "pool_size": [2]})),
        (
            vec![5, 2],
            json!({"class_name": "AveragePooling1D", "name": "p", "pool_size": [3], "strides": [2], "padding": "same"}),
        ),
        (
            vec![5, 2],
            json!({"class_name": "MaxPooling1D", "name": "p", "pool_size": [2], "strides": [1], "padding": "same"}),
        ),
        (vec![4, 5, 2], json!({"class_name": "MaxPooling2D", "name": "p", "pool_size": [2, 2]})),
        (
            vec![4, 5, 2],
            json!({"class_name": "MaxPooling2D", "name": "p", "pool_size": [3, 2], "strides": [1, 2], "padding": "same"}),
        ),
        (vec![4, 5, 2], json!({"class_name": "AveragePooling2D", "name": "p", "pool_size": [2, 3], "strides": [2, 1]})),
        (
            vec![4, 5, 2],
            json!({"class_name": "AveragePooling2D", "name": "p", "pool_size": [3, 3], "strides": [2, 2], "padding": "same"}),
        ),
        (vec![5, 2], json!({"class_name": "GlobalMaxPooling1D", "name": "p"})),
        (vec![5, 2], json!({"class_name": "GlobalAveragePooling1D", "name": "p", "keepdims": true})),
        (vec![4, 5, 2], json!({"class_name": "GlobalMaxPooling2D", "name": "p", "keepdims": true})),
        (vec![4, 5, 2], json!({"class_name": "GlobalAveragePooling2D", "name": "p"})),
    ];
    for (input, pool) in pools {
        let m = chain(input.clone(), pool);
        check_graph(m, vec![shaped(3, &input, 1)], vec![data(3, 2, 3)], None);
    }
}

#[test]
fn a_batch_split_between_threads_pools_like_one_image_at_a_time() {
    // 9 images of 16x16x8: over the splitting threshold, and an odd batch
    let (n, h, w, c) = (9, 16, 16, 8);
    let x = data(n, h * w * c, 3).data;
    for class in ["MaxPooling2D", "AveragePooling2D"] {
        let spec = json!({"class_name": class, "name": "p", "pool_size": [3, 3], "strides": [2, 2], "padding": "same"});
        let mut whole = layer(spec.clone(), &[h, w, c]).unwrap();
        let xt = Tensor::from_vec(&[n, h, w, c], x.clone());
        let (mut out, mut dx) = (Tensor::zeros(&[1]), Tensor::zeros(&[1]));
        whole.forward(&[&xt], &mut out, true, &mut Rng::seed_from(2));
        let g = Tensor::from_vec(&out.shape, data(1, out.data.len(), 4).data);
        whole.backward(&[&xt], &out, &mut g.clone(), &mut [Some(&mut dx)], false);
        let (per_in, per_out) = (h * w * c, out.data.len() / n);
        for i in 0..n {
            let mut one = layer(spec.clone(), &[h, w, c]).unwrap();
            let xi = Tensor::from_vec(&[1, h, w, c], x[i * per_in..(i + 1) * per_in].to_vec());
            let (mut o, mut d) = (Tensor::zeros(&[1]), Tensor::zeros(&[1]));
            one.forward(&[&xi], &mut o, true, &mut Rng::seed_from(2));
            assert_eq!(o.data, out.data[i * per_out..(i + 1) * per_out], "{class} forward, image {i}");
            let mut gi = Tensor::from_vec(&o.shape, g.data[i * per_out..(i + 1) * per_out].to_vec());
            one.backward(&[&xi], &o, &mut gi, &mut [Some(&mut d)], false);
            assert_eq!(d.data, dx.data[i * per_in..(i + 1) * per_in], "{class} backward, image {i}");
        }
    }
}

#[test]
fn config_key_order_is_keras3_and_tf_keras2s() {
    let keys = |c: &[(&'static str, crate::keras_json::Json)]| c.iter().map(|(k, _)| *k).collect::<Vec<_>>();
    for (class, pool) in
        [("MaxPooling1D", json!([2])), ("AveragePooling1D", json!([3])), ("MaxPooling2D", json!([2, 2]))]
    {
        let spec: LayerSpec =
            serde_json::from_value(json!({"name": "p", "class_name": class, "pool_size": pool})).unwrap();
        // Keras 3 (BasePooling.get_config) and tf.keras 2's Pooling2D
        let k3 = ["pool_size", "padding", "strides", "data_format"];
        assert_eq!(keys(&spec.kind.keras_config()), k3, "{class}");
        // tf.keras 2's Pooling1D.get_config() starts with strides
        let k2 =
            if class.ends_with("1D") { vec!["strides", "pool_size", "padding", "data_format"] } else { k3.to_vec() };
        assert_eq!(keys(&spec.kind.keras2_config("p").unwrap()), k2, "{class}");
    }
}
