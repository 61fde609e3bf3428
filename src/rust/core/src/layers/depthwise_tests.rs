//! DepthwiseConv2D and SeparableConv2D.

use crate::layers::gradcheck::{check_graph, data, json_chain as model, rand_bias};
use crate::layers::{build, LayerSpec, WeightCount};
use crate::rng::Rng;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn spec(v: Value) -> LayerSpec {
    serde_json::from_value(v).unwrap()
}

fn random(len: usize, seed: u64) -> Vec<f64> {
    data(1, len, seed).data
}

/// Depthwise convolution by its definition, in f64: output channel `c * dm + j` of input
/// channel `c` and kernel `k[ky, kx, c, j]`, with Conv2D's padding.
#[allow(clippy::too_many_arguments)]
fn naive(
    x: &[f64],
    (n, h, w, c): (usize, usize, usize, usize),
    k: &[f64],
    (kh, kw, dm): (usize, usize, usize),
    b: &[f64],
    s: usize,
    d: usize,
    same: bool,
) -> (Vec<usize>, Vec<f64>) {
    let (eh, ew) = ((kh - 1) * d + 1, (kw - 1) * d + 1);
    let (oh, ow, pt, pl) = if same {
        let (oh, ow) = (h.div_ceil(s), w.div_ceil(s));
        (oh, ow, ((oh - 1) * s + eh).saturating_sub(h) / 2, ((ow - 1) * s + ew).saturating_sub(w) / 2)
    } else {
        ((h - eh) / s + 1, (w - ew) / s + 1, 0, 0)
    };
    let cm = c * dm;
    let mut out = vec![0.0; n * oh * ow * cm];
    for i in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ci in 0..c {
                    for j in 0..dm {
                        let mut v = if b.is_empty() { 0.0 } else { b[ci * dm + j] };
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * s + ky * d) as i64 - pt as i64;
                                let ix = (ox * s + kx * d) as i64 - pl as i64;
                                if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                    continue;
                                }
                                v += x[((i * h + iy as usize) * w + ix as usize) * c + ci]
                                    * k[((ky * kw + kx) * c + ci) * dm + j];
                            }
                        }
                        out[((i * oh + oy) * ow + ox) * cm + ci * dm + j] = v;
                    }
                }
            }
        }
    }
    (vec![n, oh, ow, cm], out)
}

const CASES: [(usize, usize, usize, usize, &str, usize); 7] = [
    // kh, kw, stride, dilation, padding, depth_multiplier
    (3, 3, 1, 1, "valid", 1),
    (3, 2, 1, 1, "same", 2),
    (3, 3, 2, 1, "valid", 3),
    (2, 3, 2, 1, "same", 1),
    (3, 3, 1, 2, "valid", 2),
    (2, 2, 1, 2, "same", 1),
    (2, 2, 2, 2, "same", 2),
];

fn set_weights(layer: &mut dyn crate::layers::Layer<f64>, values: &[&[f64]]) {
    let mut ws = Vec::new();
    layer.push_weights_mut(&mut ws);
    assert_eq!(ws.len(), values.len());
    for (w, v) in ws.iter_mut().zip(values) {
        w.copy_from_slice(v);
    }
}

#[test]
fn depthwise_forward_equals_the_definition() {
    let (n, h, w, c) = (2, 6, 5, 3);
    for (kh, kw, s, d, pad, dm) in CASES {
        let sp = spec(json!({"class_name": "DepthwiseConv2D", "name": "dw", "kernel_size": [kh, kw],
                             "strides": [s, s], "dilation_rate": [d, d], "padding": pad, "depth_multiplier": dm}));
        let mut layer = build::<f64>(&sp, &[&[h, w, c]], &mut Rng::seed_from(1)).unwrap();
        let (k, b) = (random(kh * kw * c * dm, 2), random(c * dm, 3));
        set_weights(layer.as_mut(), &[&k, &b]);
        let x = Tensor::from_vec(&[n, h, w, c], random(n * h * w * c, 4));
        let mut out = Tensor::default();
        layer.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
        let want = naive(&x.data, (n, h, w, c), &k, (kh, kw, dm), &b, s, d, pad == "same");
        let case = format!("{kh}x{kw} s{s} d{d} {pad} dm{dm}");
        assert_eq!(out.shape, want.0, "{case}");
        assert_eq!(layer.output_shape(), &want.0[1..], "{case}");
        for (a, e) in out.data.iter().zip(&want.1) {
            assert!((a - e).abs() < 1e-12, "{case}: {a} vs {e}");
        }
    }
}

#[test]
fn separable_forward_is_depthwise_then_pointwise() {
    let (n, h, w, c, f) = (2, 6, 5, 3, 4);
    for (kh, kw, s, d, pad, dm) in CASES {
        let sp = spec(json!({"class_name": "SeparableConv2D", "name": "sc", "filters": f, "kernel_size": [kh, kw],
                             "strides": [s, s], "dilation_rate": [d, d], "padding": pad, "depth_multiplier": dm}));
        let mut layer = build::<f64>(&sp, &[&[h, w, c]], &mut Rng::seed_from(1)).unwrap();
        let (k, p, b) = (random(kh * kw * c * dm, 2), random(c * dm * f, 5), random(f, 3));
        set_weights(layer.as_mut(), &[&k, &p, &b]);
        let x = Tensor::from_vec(&[n, h, w, c], random(n * h * w * c, 4));
        let mut out = Tensor::default();
        layer.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
        let (shape, mid) = naive(&x.data, (n, h, w, c), &k, (kh, kw, dm), &[], s, d, pad == "same");
        let case = format!("{kh}x{kw} s{s} d{d} {pad} dm{dm}");
        assert_eq!(out.shape, vec![n, shape[1], shape[2], f], "{case}");
        let cm = c * dm;
        for (r, m) in mid.chunks_exact(cm).enumerate() {
            for o in 0..f {
                let want = b[o] + (0..cm).map(|q| m[q] * p[q * f + o]).sum::<f64>();
                let got = out.data[r * f + o];
                assert!((got - want).abs() < 1e-12, "{case}: {got} vs {want}");
            }
        }
    }
}

#[test]
fn a_tiny_depthwise_convolution_computed_by_hand() {
    // 2 channels, 2x2 input, 2x2 kernel, depth_multiplier 2, valid: one output position with
    // channels (c0 * k[.., 0, 0], c0 * k[.., 0, 1], c1 * k[.., 1, 0], c1 * k[.., 1, 1]) summed over taps
    let sp = spec(json!({"class_name": "DepthwiseConv2D", "name": "dw", "kernel_size": [2, 2],
                         "depth_multiplier": 2, "use_bias": false}));
    let mut layer = build::<f64>(&sp, &[&[2, 2, 2]], &mut Rng::seed_from(1)).unwrap();
    // kernel (ky, kx, c, j): taps t = 0..4 each [c0j0, c0j1, c1j0, c1j1]
    let k = [1.0, 0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 1.0, 1.0, 2.0];
    set_weights(layer.as_mut(), &[&k]);
    // x (y, x, c): channel 0 = 1, 2, 3, 4; channel 1 = 10, 20, 30, 40
    let x = Tensor::from_vec(&[1, 2, 2, 2], vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0]);
    let mut out = Tensor::default();
    layer.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
    assert_eq!(out.shape, vec![1, 1, 1, 4]);
    // c0 j0: sum of channel 0 = 10; c0 j1: only the last tap (4); c1 j0: 100; c1 j1: 2 * 100
    assert_eq!(out.data, vec![10.0, 4.0, 100.0, 200.0]);
}

#[test]
fn depthwise_and_separable_gradients_match_finite_differences() {
    // a Conv2D first, so that the input gradients of the layers under test reach a weight gradient
    for (kh, kw, s, d, pad, dm) in CASES {
        let first = json!({"class_name": "Conv2D", "name": "c0", "filters": 2, "kernel_size": [1, 1],
                           "bias_initializer": rand_bias()});
        let dw = json!({"class_name": "DepthwiseConv2D", "name": "dw", "kernel_size": [kh, kw], "strides": [s, s],
                        "dilation_rate": [d, d], "padding": pad, "depth_multiplier": dm, "activation": "tanh",
                        "bias_initializer": rand_bias()});
        let sc = json!({"class_name": "SeparableConv2D", "name": "sc", "filters": 3, "kernel_size": [2, 2],
                        "padding": "same", "depth_multiplier": dm, "activation": "sigmoid",
                        "bias_initializer": rand_bias()});
        let sc2 = json!({"class_name": "SeparableConv2D", "name": "sc2", "filters": 2, "kernel_size": [kh, kw],
                         "strides": [s, s], "dilation_rate": [d, d], "padding": pad, "depth_multiplier": dm,
                         "bias_initializer": rand_bias()});
        let tail =
            [json!({"class_name": "Flatten", "name": "f"}), json!({"class_name": "Dense", "name": "d", "units": 2})];
        let mut x = data(2, 6 * 5 * 2, 1);
        x.shape = vec![2, 6, 5, 2];
        let layers = [vec![first.clone(), dw, sc], tail.to_vec()].concat();
        check_graph(model(vec![6, 5, 2], layers), vec![x.clone()], vec![data(2, 2, 2)], None);
        let layers = [vec![first, sc2], tail.to_vec()].concat();
        check_graph(model(vec![6, 5, 2], layers), vec![x], vec![data(2, 2, 2)], None);
    }
}

#[test]
fn keras_parameter_counts_and_weight_shapes() {
    // Keras 3: DepthwiseConv2D(3, depth_multiplier = 2) on (11, 11, 3): kernel (3, 3, 3, 2), bias (6)
    let sp = spec(json!({"class_name": "DepthwiseConv2D", "name": "dw", "kernel_size": [3, 3], "depth_multiplier": 2,
                         "padding": "same"}));
    let l = build::<f32>(&sp, &[&[11, 11, 3]], &mut Rng::seed_from(1)).unwrap();
    assert_eq!(l.param_count(), 3 * 3 * 3 * 2 + 6);
    assert_eq!(l.output_shape(), &[11, 11, 6]);
    let w = l.weights();
    assert_eq!((w[0].name, w[0].shape.clone(), w[1].shape.clone()), ("kernel", vec![3, 3, 3, 2], vec![6]));
    let mut shape = vec![11, 11, 3];
    assert_eq!(sp.kind.weight_count(&mut shape), WeightCount::Values(60));
    assert_eq!(shape, vec![11, 11, 6]);
    // SeparableConv2D(4, 2) on (11, 11, 6): depthwise (2, 2, 6, 1), pointwise (1, 1, 6, 4), bias (4)
    let sp = spec(json!({"class_name": "SeparableConv2D", "name": "sc", "filters": 4, "kernel_size": [2, 2]}));
    let l = build::<f32>(&sp, &[&[11, 11, 6]], &mut Rng::seed_from(1)).unwrap();
    assert_eq!(l.param_count(), 24 + 24 + 4);
    assert_eq!(l.output_shape(), &[10, 10, 4]);
    let w = l.weights();
    assert_eq!(
        w.iter().map(|w| (w.name, w.shape.clone())).collect::<Vec<_>>(),
        vec![("depthwise_kernel", vec![2, 2, 6, 1]), ("pointwise_kernel", vec![1, 1, 6, 4]), ("bias", vec![4])]
    );
    let mut shape = vec![11, 11, 6];
    assert_eq!(sp.kind.weight_count(&mut shape), WeightCount::Values(52));
    assert_eq!(shape, vec![10, 10, 4]);
}

#[test]
fn shape_and_argument_errors_name_the_layer() {
    let err = |v: Value, input: &[usize]| build::<f32>(&spec(v), &[input], &mut Rng::seed_from(1)).err().unwrap();
    let e = err(json!({"class_name": "DepthwiseConv2D", "name": "dw", "kernel_size": [5, 5]}), &[4, 6, 1]);
    assert_eq!(
        e,
        "dw (DepthwiseConv2D): kernel_size (5, 5) with dilation_rate (1, 1) is larger than the input (4, 6) with \
         padding 'valid'"
    );
    let e = err(json!({"class_name": "SeparableConv2D", "name": "sc", "filters": 2, "kernel_size": [3, 3]}), &[28, 28]);
    assert_eq!(
        e,
        "sc (SeparableConv2D): expects input of shape (height, width, channels) per sample, got (28, 28) (rank 3 \
         instead of 4)"
    );
    let e = err(
        json!({"class_name": "DepthwiseConv2D", "name": "dw", "kernel_size": [3, 3], "depth_multiplier": 0}),
        &[8, 8, 1],
    );
    assert_eq!(e, "dw (DepthwiseConv2D): depth_multiplier must be a positive integer");
    let e =
        err(json!({"class_name": "SeparableConv2D", "name": "sc", "filters": 0, "kernel_size": [3, 3]}), &[8, 8, 1]);
    assert_eq!(e, "sc (SeparableConv2D): filters must be a positive integer");
}

#[test]
fn wire_format_defaults() {
    let s = spec(json!({"class_name": "DepthwiseConv2D", "name": "dw", "kernel_size": [3, 3]}));
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        r#"{"name":"dw","trainable":true,"class_name":"DepthwiseConv2D","kernel_size":[3,3],"strides":[1,1],"padding":"valid","depth_multiplier":1,"dilation_rate":[1,1],"activation":"linear","use_bias":true,"depthwise_initializer":{"name":"glorot_uniform"},"bias_initializer":{"name":"zeros"}}"#
    );
    let s = spec(json!({"class_name": "SeparableConv2D", "name": "sc", "filters": 2, "kernel_size": [3, 3]}));
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        r#"{"name":"sc","trainable":true,"class_name":"SeparableConv2D","filters":2,"kernel_size":[3,3],"strides":[1,1],"padding":"valid","dilation_rate":[1,1],"depth_multiplier":1,"activation":"linear","use_bias":true,"depthwise_initializer":{"name":"glorot_uniform"},"pointwise_initializer":{"name":"glorot_uniform"},"bias_initializer":{"name":"zeros"}}"#
    );
}
