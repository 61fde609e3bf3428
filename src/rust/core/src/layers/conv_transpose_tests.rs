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

/// Keras' output length of a transposed convolution (tf.keras `deconv_output_length`).
fn keras_len(len: usize, k: usize, s: usize, d: usize, same: bool, op: Option<usize>) -> usize {
    let eff = (k - 1) * d + 1;
    match (same, op) {
        (false, op) => (len - 1) * s + eff + op.unwrap_or(s.max(eff) - eff),
        (true, None) => len * s,
        (true, Some(op)) => (len - 1) * s + eff % 2 + op,
    }
}

/// Transposed convolution by its definition, in f64: every input value times every tap is
/// added at output position `i * s + t * d - pad`, with TensorFlow's padding of the
/// convolution it transposes (`pad = max(0, (len - 1) * s + eff - out) / 2` for same).
#[allow(clippy::too_many_arguments)]
fn naive(
    x: &[f64],
    (n, h, w, c): (usize, usize, usize, usize),
    k: &[f64],
    (kh, kw, f): (usize, usize, usize),
    b: &[f64],
    (sh, sw): (usize, usize),
    (dh, dw): (usize, usize),
    same: bool,
    op: Option<(usize, usize)>,
) -> (Vec<usize>, Vec<f64>) {
    let oh = keras_len(h, kh, sh, dh, same, op.map(|o| o.0));
    let ow = keras_len(w, kw, sw, dw, same, op.map(|o| o.1));
    let pad = |len: usize, k: usize, s: usize, d: usize, out: usize| {
        if same {
            ((len - 1) * s + (k - 1) * d + 1).saturating_sub(out) / 2
        } else {
            0
        }
    };
    let (pt, pl) = (pad(h, kh, sh, dh, oh) as i64, pad(w, kw, sw, dw, ow) as i64);
    let mut out = vec![0.0; n * oh * ow * f];
    for i in 0..n {
        for o in out[i * oh * ow * f..(i + 1) * oh * ow * f].chunks_exact_mut(f) {
            o.copy_from_slice(b);
        }
        for y in 0..h {
            for xx in 0..w {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let oy = (y * sh + ky * dh) as i64 - pt;
                        let ox = (xx * sw + kx * dw) as i64 - pl;
                        if oy < 0 || ox < 0 || oy >= oh as i64 || ox >= ow as i64 {
                            continue;
                        }
                        for fo in 0..f {
                            let mut s = 0.0;
                            for ci in 0..c {
                                s += x[((i * h + y) * w + xx) * c + ci] * k[((ky * kw + kx) * f + fo) * c + ci];
                            }
                            out[((i * oh + oy as usize) * ow + ox as usize) * f + fo] += s;
                        }
                    }
                }
            }
        }
    }
    (vec![n, oh, ow, f], out)
}

const CASES: [(usize, usize, usize, usize, &str, Option<usize>); 12] = [
    // kh, kw, stride, dilation, padding, output_padding
    (3, 3, 1, 1, "valid", None),
    (3, 2, 1, 1, "same", None),
    (3, 3, 2, 1, "valid", None),
    (2, 3, 2, 1, "same", None),
    (3, 3, 1, 2, "valid", None),
    (2, 2, 1, 2, "same", None),
    (4, 4, 3, 1, "same", None),
    (1, 2, 3, 1, "valid", None),
    (3, 3, 2, 1, "valid", Some(1)),
    (3, 2, 2, 1, "same", Some(1)),
    (4, 4, 3, 1, "same", Some(2)),
    (2, 2, 3, 1, "same", Some(0)),
];

#[test]
fn conv2d_transpose_forward_equals_the_definition() {
    let (n, h, w, c, f) = (2, 4, 3, 3, 2);
    for (kh, kw, s, d, pad, op) in CASES {
        let sp = spec(json!({"class_name": "Conv2DTranspose", "name": "t", "filters": f, "kernel_size": [kh, kw],
                             "strides": [s, s], "dilation_rate": [d, d], "padding": pad,
                             "output_padding": op.map(|o| vec![o, o])}));
        let mut layer = build::<f64>(&sp, &[&[h, w, c]], &mut Rng::seed_from(1)).unwrap();
        let (k, b) = (random(kh * kw * f * c, 2), random(f, 3));
        {
            let mut ws = Vec::new();
            layer.push_weights_mut(&mut ws);
            ws[0].copy_from_slice(&k);
            ws[1].copy_from_slice(&b);
        }
        let x = Tensor::from_vec(&[n, h, w, c], random(n * h * w * c, 4));
        let mut out = Tensor::default();
        layer.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
        let want = naive(&x.data, (n, h, w, c), &k, (kh, kw, f), &b, (s, s), (d, d), pad == "same", op.map(|o| (o, o)));
        let case = format!("{kh}x{kw} s{s} d{d} {pad} op{op:?}");
        assert_eq!(out.shape, want.0, "{case}");
        assert_eq!(layer.output_shape(), &want.0[1..], "{case}");
        for (a, e) in out.data.iter().zip(&want.1) {
            assert!((a - e).abs() < 1e-12, "{case}: {a} vs {e}");
        }
    }
}

#[test]
fn a_tiny_transposed_convolution_computed_by_hand() {
    // x = [[1, 2]] (1 x 2, one channel), kernel 2x2 [[1, 2], [3, 4]], stride 2, valid, bias 0.5:
    // each input value stamps x * kernel into its own 2x2 block
    let sp = spec(json!({"class_name": "Conv2DTranspose", "name": "t", "filters": 1, "kernel_size": [2, 2],
                         "strides": [2, 2]}));
    let mut layer = build::<f64>(&sp, &[&[1, 2, 1]], &mut Rng::seed_from(1)).unwrap();
    {
        let mut ws = Vec::new();
        layer.push_weights_mut(&mut ws);
        ws[0].copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
        ws[1].copy_from_slice(&[0.5]);
    }
    let x = Tensor::from_vec(&[1, 1, 2, 1], vec![1.0, 2.0]);
    let mut out = Tensor::default();
    layer.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
    assert_eq!(out.shape, vec![1, 2, 4, 1]);
    assert_eq!(out.data, vec![1.5, 2.5, 2.5, 4.5, 3.5, 4.5, 6.5, 8.5]);
    // stride 1, same, 3 taps in 1d (kernel 1x3 = [1, 10, 100]), x = [1, 2, 3]: out[j] = sum_i x[i] k[j - i + 1]
    let sp = spec(json!({"class_name": "Conv2DTranspose", "name": "t", "filters": 1, "kernel_size": [1, 3],
                         "padding": "same", "use_bias": false}));
    let mut layer = build::<f64>(&sp, &[&[1, 3, 1]], &mut Rng::seed_from(1)).unwrap();
    {
        let mut ws = Vec::new();
        layer.push_weights_mut(&mut ws);
        ws[0].copy_from_slice(&[1.0, 10.0, 100.0]);
    }
    let x = Tensor::from_vec(&[1, 1, 3, 1], vec![1.0, 2.0, 3.0]);
    layer.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
    assert_eq!(out.data, vec![10.0 + 2.0, 100.0 + 20.0 + 3.0, 200.0 + 30.0]);
}

#[test]
fn keras_output_shapes() {
    // (input, kernel, strides, padding, output_padding, dilation) -> Keras 3.15.1's compute_output_shape
    for (len, k, s, pad, op, d, want) in [
        (5, 2, 2, "valid", Some(1), 1, 11),
        (5, 3, 2, "same", None, 1, 10),
        (5, 3, 2, "same", Some(1), 1, 10),
        (5, 4, 2, "same", Some(1), 1, 9),
        (5, 1, 3, "valid", None, 1, 15),
        (7, 3, 1, "valid", None, 2, 11),
        (7, 3, 1, "same", None, 2, 7),
    ] {
        let sp = spec(json!({"class_name": "Conv2DTranspose", "name": "t", "filters": 2, "kernel_size": [k, 1],
                             "strides": [s, 1], "padding": pad, "dilation_rate": [d, 1],
                             "output_padding": op.map(|o| vec![o, 0])}));
        let l = build::<f32>(&sp, &[&[len, 4, 3]], &mut Rng::seed_from(1)).unwrap();
        assert_eq!(l.output_shape(), &[want, 4, 2], "{len} {k} {s} {pad} {op:?}");
    }
}

#[test]
fn conv2d_transpose_gradients_match_finite_differences() {
    // a Conv2D first, so that the transposed layers' input gradients reach a weight gradient
    for (kh, kw, s, d, pad, op) in CASES {
        let t = |name: &str, act: &str| {
            json!({"class_name": "Conv2DTranspose", "name": name, "filters": 2, "kernel_size": [kh, kw],
                   "strides": [s, s], "dilation_rate": [d, d], "padding": pad, "activation": act,
                   "output_padding": op.map(|o| vec![o, o]), "bias_initializer": rand_bias()})
        };
        let m = model(
            vec![4, 3, 2],
            vec![
                json!({"class_name": "Conv2D", "name": "c0", "filters": 2, "kernel_size": [2, 2], "padding": "same",
                       "bias_initializer": rand_bias()}),
                t("t1", "tanh"),
                t("t2", "linear"),
                json!({"class_name": "Flatten", "name": "f"}),
                json!({"class_name": "Dense", "name": "d", "units": 2, "bias_initializer": rand_bias()}),
            ],
        );
        let mut x = data(2, 4 * 3 * 2, 1);
        x.shape = vec![2, 4, 3, 2];
        check_graph(m, vec![x], vec![data(2, 2, 2)], None);
    }
}

#[test]
fn keras_parameter_count_and_weight_shapes() {
    let sp = spec(json!({"class_name": "Conv2DTranspose", "name": "t", "filters": 3, "kernel_size": [2, 2],
                         "strides": [2, 2], "output_padding": [1, 1]}));
    let l = build::<f32>(&sp, &[&[5, 5, 2]], &mut Rng::seed_from(1)).unwrap();
    assert_eq!(l.param_count(), 2 * 2 * 3 * 2 + 3);
    assert_eq!(l.output_shape(), &[11, 11, 3]);
    assert_eq!(l.weights()[0].shape, vec![2, 2, 3, 2]);
    assert_eq!(l.weights()[1].shape, vec![3]);
    let mut shape = vec![5, 5, 2];
    assert_eq!(sp.kind.weight_count(&mut shape), WeightCount::Values(27));
    assert_eq!(shape, vec![11, 11, 3]);
}

#[test]
fn shape_and_argument_errors_name_the_layer() {
    let err = |v: Value, input: &[usize]| build::<f32>(&spec(v), &[input], &mut Rng::seed_from(1)).err().unwrap();
    let e = err(json!({"class_name": "Conv2DTranspose", "name": "up", "filters": 2, "kernel_size": [3, 3]}), &[784]);
    assert!(
        e.starts_with(
            "up (Conv2DTranspose): expects input of shape (height, width, channels) per sample, got (784) (rank 2 \
             instead of 4); images stored one per row"
        ),
        "{e}"
    );
    let e = err(
        json!({"class_name": "Conv2DTranspose", "name": "up", "filters": 2, "kernel_size": [3, 3], "strides": [2, 2],
               "output_padding": [2, 1]}),
        &[4, 4, 1],
    );
    assert_eq!(
        e,
        "up (Conv2DTranspose): output_padding (2, 1) must be 2 non-negative integers, each less than its stride (2, 2)"
    );
    let e = err(
        json!({"class_name": "Conv2DTranspose", "name": "up", "filters": 2, "kernel_size": [3, 3], "strides": [2, 2],
               "dilation_rate": [2, 2]}),
        &[4, 4, 1],
    );
    assert_eq!(e, "up (Conv2DTranspose): strides (2, 2) > 1 cannot be combined with dilation_rate (2, 2) > 1");
    let e = err(
        json!({"class_name": "Conv2DTranspose", "name": "up", "filters": 2, "kernel_size": [2, 2], "padding": "same",
               "output_padding": [0, 0]}),
        &[1, 1, 1],
    );
    assert!(e.contains("give no output for the input (1, 1, 1)"), "{e}");
    let e = err(json!({"class_name": "Conv2DTranspose", "name": "up", "filters": 2, "kernel_size": [2]}), &[4, 4, 1]);
    assert_eq!(e, "up (Conv2DTranspose): kernel_size must be 2 positive integer(s), got (2)");
}

#[test]
fn wire_format_defaults() {
    let s = spec(json!({"class_name": "Conv2DTranspose", "name": "t", "filters": 2, "kernel_size": [3, 3]}));
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        r#"{"name":"t","trainable":true,"class_name":"Conv2DTranspose","filters":2,"kernel_size":[3,3],"strides":[1,1],"padding":"valid","output_padding":null,"dilation_rate":[1,1],"activation":"linear","use_bias":true,"kernel_initializer":{"name":"glorot_uniform"},"bias_initializer":{"name":"zeros"}}"#
    );
}
