use crate::layers::gradcheck::{check_graph, data, json_chain as model, rand_bias};
use crate::layers::{build, LayerSpec};
use crate::model::{CompileSpec, Model, ModelSpec};
use crate::rng::Rng;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn spec(v: Value) -> LayerSpec {
    serde_json::from_value(v).unwrap()
}

/// Direct convolution in f64: input (n, h, w, c), kernel (kh, kw, c, f), Keras padding offsets.
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
) -> (Vec<usize>, Vec<f64>) {
    let (eh, ew) = ((kh - 1) * dh + 1, (kw - 1) * dw + 1);
    let (oh, ow, pt, pl) = if same {
        let (oh, ow) = (h.div_ceil(sh), w.div_ceil(sw));
        let pt = ((oh - 1) * sh + eh).saturating_sub(h) / 2;
        let pl = ((ow - 1) * sw + ew).saturating_sub(w) / 2;
        (oh, ow, pt, pl)
    } else {
        ((h - eh) / sh + 1, (w - ew) / sw + 1, 0, 0)
    };
    let mut out = vec![0.0; n * oh * ow * f];
    for i in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..f {
                    let mut s = b[o];
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * sh + ky * dh) as i64 - pt as i64;
                            let ix = (ox * sw + kx * dw) as i64 - pl as i64;
                            if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                                continue;
                            }
                            for ci in 0..c {
                                s += x[((i * h + iy as usize) * w + ix as usize) * c + ci]
                                    * k[((ky * kw + kx) * c + ci) * f + o];
                            }
                        }
                    }
                    out[((i * oh + oy) * ow + ox) * f + o] = s;
                }
            }
        }
    }
    (vec![n, oh, ow, f], out)
}

fn random(len: usize, seed: u64) -> Vec<f64> {
    data(1, len, seed).data
}

#[test]
fn conv2d_forward_equals_a_direct_convolution() {
    let (n, h, w, c, f) = (2, 7, 6, 3, 4);
    for (kh, kw, s, d, pad) in [
        (3, 3, 1, 1, "valid"),
        (3, 2, 1, 1, "same"),
        (3, 3, 2, 1, "valid"),
        (2, 3, 2, 1, "same"),
        (3, 3, 1, 2, "valid"),
        (2, 2, 1, 2, "same"),
        (4, 4, 3, 1, "same"),
    ] {
        let sp = spec(json!({"class_name": "Conv2D", "name": "c", "filters": f, "kernel_size": [kh, kw],
                             "strides": [s, s], "dilation_rate": [d, d], "padding": pad}));
        let mut layer = build::<f64>(&sp, &[&[h, w, c]], &mut Rng::seed_from(1)).unwrap();
        let (k, b) = (random(kh * kw * c * f, 2), random(f, 3));
        {
            let mut ws = Vec::new();
            layer.push_weights_mut(&mut ws);
            ws[0].copy_from_slice(&k);
            ws[1].copy_from_slice(&b);
        }
        let x = Tensor::from_vec(&[n, h, w, c], random(n * h * w * c, 4));
        let mut out = Tensor::default();
        layer.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
        let (shape, want) = naive(&x.data, (n, h, w, c), &k, (kh, kw, f), &b, (s, s), (d, d), pad == "same");
        assert_eq!(out.shape, shape, "{kh}x{kw} s{s} d{d} {pad}");
        assert_eq!(layer.output_shape(), &shape[1..]);
        for (a, e) in out.data.iter().zip(&want) {
            assert!((a - e).abs() < 1e-12, "{kh}x{kw} s{s} d{d} {pad}: {a} vs {e}");
        }
    }
}

#[test]
fn conv1d_forward_equals_a_direct_convolution_including_causal() {
    let (n, len, c, f, k) = (2, 9, 2, 3, 3);
    for (s, d, pad) in [(1, 1, "valid"), (2, 1, "same"), (1, 2, "same"), (1, 2, "causal"), (2, 1, "causal")] {
        let sp = spec(json!({"class_name": "Conv1D", "name": "c", "filters": f, "kernel_size": [k],
                             "strides": [s], "dilation_rate": [d], "padding": pad}));
        let mut layer = build::<f64>(&sp, &[&[len, c]], &mut Rng::seed_from(1)).unwrap();
        let (kv, b) = (random(k * c * f, 2), random(f, 3));
        {
            let mut ws = Vec::new();
            layer.push_weights_mut(&mut ws);
            ws[0].copy_from_slice(&kv);
            ws[1].copy_from_slice(&b);
        }
        let xv = random(n * len * c, 4);
        let x = Tensor::from_vec(&[n, len, c], xv.clone());
        let mut out = Tensor::default();
        layer.forward(&[&x], &mut out, false, &mut Rng::seed_from(0));
        // causal = left-pad by (k-1)*d then valid
        let (input, l2) = if pad == "causal" {
            let p = (k - 1) * d;
            let mut v = vec![0.0; n * (len + p) * c];
            for i in 0..n {
                v[(i * (len + p) + p) * c..(i + 1) * (len + p) * c]
                    .copy_from_slice(&xv[i * len * c..(i + 1) * len * c]);
            }
            (v, len + p)
        } else {
            (xv, len)
        };
        let (shape, want) = naive(&input, (n, 1, l2, c), &kv, (1, k, f), &b, (1, s), (1, d), pad == "same");
        assert_eq!(out.shape, vec![n, shape[2], f], "s{s} d{d} {pad}");
        for (a, e) in out.data.iter().zip(&want) {
            assert!((a - e).abs() < 1e-12, "s{s} d{d} {pad}: {a} vs {e}");
        }
    }
}

#[test]
fn conv_gradients_match_finite_differences() {
    // two convs so that the first one's weight gradient goes through the second's input gradient
    for (s, d, pad) in
        [(1, 1, "valid"), (1, 1, "same"), (2, 1, "same"), (2, 1, "valid"), (1, 2, "same"), (1, 2, "valid")]
    {
        let conv = |name: &str, act: &str| {
            json!({"class_name": "Conv2D", "name": name, "filters": 2, "kernel_size": [2, 3], "strides": [s, s],
                   "dilation_rate": [d, d], "padding": pad, "activation": act, "bias_initializer": rand_bias()})
        };
        let m = model(
            vec![9, 9, 2],
            vec![
                conv("c1", "tanh"),
                conv("c2", "linear"),
                json!({"class_name": "Flatten", "name": "f"}),
                json!({"class_name": "Dense", "name": "d", "units": 2, "bias_initializer": rand_bias()}),
            ],
        );
        let mut x = data(3, 9 * 9 * 2, 1);
        x.shape = vec![3, 9, 9, 2];
        check_graph(m, vec![x], vec![data(3, 2, 2)], None);
    }
    for pad in ["valid", "same", "causal"] {
        let conv = |name: &str| {
            json!({"class_name": "Conv1D", "name": name, "filters": 3, "kernel_size": [3], "dilation_rate": [2],
                   "padding": pad, "activation": "sigmoid", "bias_initializer": rand_bias()})
        };
        let m = model(
            vec![9, 2],
            vec![
                conv("c1"),
                conv("c2"),
                json!({"class_name": "Flatten", "name": "f"}),
                json!({"class_name": "Dense", "name": "d", "units": 2}),
            ],
        );
        let mut x = data(2, 18, 1);
        x.shape = vec![2, 9, 2];
        check_graph(m, vec![x], vec![data(2, 2, 2)], None);
    }
}

#[test]
fn keras_parameter_count_and_weight_shapes() {
    let sp = spec(json!({"class_name": "Conv2D", "name": "conv2d", "filters": 32, "kernel_size": [3, 3]}));
    let l = build::<f32>(&sp, &[&[28, 28, 1]], &mut Rng::seed_from(1)).unwrap();
    assert_eq!(l.param_count(), 320);
    assert_eq!(l.output_shape(), &[26, 26, 32]);
    assert_eq!(l.weights()[0].shape, vec![3, 3, 1, 32]);
    let mut shape = vec![28, 28, 1];
    assert_eq!(sp.kind.weight_count(&mut shape), super::WeightCount::Values(320));
    assert_eq!(shape, vec![26, 26, 32]);
    let sp = spec(json!({"class_name": "Conv1D", "name": "c1", "filters": 4, "kernel_size": [5], "use_bias": false}));
    let l = build::<f32>(&sp, &[&[10, 3]], &mut Rng::seed_from(1)).unwrap();
    assert_eq!(l.param_count(), 60);
    assert_eq!(l.weights()[0].shape, vec![5, 3, 4]);
    assert_eq!(l.output_shape(), &[6, 4]);
}

#[test]
fn shape_errors_name_the_layer_and_the_shapes() {
    let sp = spec(json!({"class_name": "Conv2D", "name": "conv_a", "filters": 2, "kernel_size": [5, 5]}));
    let e = build::<f32>(&sp, &[&[4, 6, 1]], &mut Rng::seed_from(1)).err().unwrap();
    assert_eq!(
        e,
        "conv_a (Conv2D): kernel_size (5, 5) with dilation_rate (1, 1) is larger than the input (4, 6) with padding 'valid'"
    );
    let e = build::<f32>(&sp, &[&[28, 28]], &mut Rng::seed_from(1)).err().unwrap();
    assert_eq!(
        e,
        "conv_a (Conv2D): expects input of shape (height, width, channels) per sample, got (28, 28) (rank 3 instead of 4)"
    );
    let sp =
        spec(json!({"class_name": "Conv1D", "name": "c1", "filters": 2, "kernel_size": [3], "dilation_rate": [4]}));
    let e = build::<f32>(&sp, &[&[8, 1]], &mut Rng::seed_from(1)).err().unwrap();
    assert!(e.contains("c1 (Conv1D): kernel_size (3) with dilation_rate (4) is larger than the input (8)"), "{e}");
    let sp = spec(json!({"class_name": "Conv2D", "name": "c2", "filters": 2, "kernel_size": [3], "padding": "same"}));
    let e = build::<f32>(&sp, &[&[8, 8, 1]], &mut Rng::seed_from(1)).err().unwrap();
    assert_eq!(e, "c2 (Conv2D): kernel_size must be 2 positive integer(s), got (3)");
    let sp =
        spec(json!({"class_name": "Conv2D", "name": "c3", "filters": 2, "kernel_size": [3, 3], "padding": "causal"}));
    let e = build::<f32>(&sp, &[&[8, 8, 1]], &mut Rng::seed_from(1)).err().unwrap();
    assert!(e.contains("causal"), "{e}");
}

#[test]
fn wire_format_defaults() {
    let s = spec(json!({"class_name": "Conv2D", "name": "c", "filters": 2, "kernel_size": [3, 3]}));
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        r#"{"name":"c","trainable":true,"class_name":"Conv2D","filters":2,"kernel_size":[3,3],"strides":[1,1],"padding":"valid","dilation_rate":[1,1],"activation":"linear","use_bias":true,"kernel_initializer":{"name":"glorot_uniform"},"bias_initializer":{"name":"zeros"}}"#
    );
}

/// Two convolutions large enough to be computed in halves (of the batch, and of the kernel
/// gradient's columns), then a dense layer.
fn halves_model<T: crate::Real>() -> Model<T> {
    let conv = |name: &str, filters: usize| {
        json!({"class_name": "Conv2D", "name": name, "filters": filters, "kernel_size": [3, 3], "padding": "same",
               "activation": "tanh", "bias_initializer": rand_bias()})
    };
    let layers = vec![
        conv("c1", 8),
        conv("c2", 4),
        json!({"class_name": "Flatten", "name": "f"}),
        json!({"class_name": "Dense", "name": "d", "units": 2}),
    ];
    let spec: ModelSpec = serde_json::from_value(json!({
        "name": "m", "class_name": "Sequential", "input_shape": [12, 12, 4], "layers": layers}))
    .unwrap();
    let mut m = Model::<T>::build(spec, &mut Rng::seed_from(5)).unwrap();
    let c: CompileSpec =
        serde_json::from_value(json!({"optimizer": {"name": "adam", "learning_rate": 0.01}, "loss": "mse"})).unwrap();
    m.compile(c).unwrap();
    m
}

#[test]
fn conv_gradients_in_halves_match_finite_differences() {
    // batch 4 on 12x12: 576 output rows, 36 x 8 and 72 x 4 kernels: over the halving threshold
    let (m, k1, k2) = (4 * 144, 36, 72);
    assert!(m * k1 * 8 >= crate::parts::MIN_PRODUCT_WORK && m * k2 * 4 >= crate::parts::MIN_PRODUCT_WORK);
    let mut x = data(4, 12 * 12 * 4, 1);
    x.shape = vec![4, 12, 12, 4];
    check_graph(halves_model::<f64>(), vec![x], vec![data(4, 2, 2)], None);
}

#[test]
fn conv_training_is_bitwise_the_same_on_one_thread_and_two() {
    let run = || {
        let mut model = halves_model::<f32>();
        let mut r = Rng::seed_from(3);
        let x = Tensor::from_vec(&[6, 12, 12, 4], (0..6 * 576).map(|_| r.uniform() as f32).collect());
        let y = Tensor::from_vec(&[6, 2], (0..12).map(|_| r.uniform() as f32).collect());
        let mut running = model.new_running(&[2]).unwrap();
        let losses: Vec<f64> = (0..3)
            .map(|_| model.train_step(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut running))
            .collect();
        let out = model.predict(&x, 4);
        (losses, model.get_weights(), out.data)
    };
    let one = crate::linalg::sequential(run);
    let two = run();
    assert_eq!(one.0, two.0);
    assert_eq!(one.1, two.1);
    assert_eq!(one.2, two.2);
}

#[test]
fn grouped_convolution_gradients_match_finite_differences() {
    let m = model(
        vec![6, 5, 4],
        vec![
            json!({"class_name": "Conv2D", "name": "c1", "filters": 6, "kernel_size": [3, 2], "groups": 2,
                   "padding": "same", "activation": "tanh", "bias_initializer": rand_bias()}),
            json!({"class_name": "Conv2D", "name": "c2", "filters": 3, "kernel_size": [2, 2], "groups": 3}),
            json!({"class_name": "Flatten", "name": "f"}),
            json!({"class_name": "Dense", "name": "d", "units": 2}),
        ],
    );
    let mut x = data(3, 6 * 5 * 4, 1);
    x.shape = vec![3, 6, 5, 4];
    check_graph(m, vec![x], vec![data(3, 2, 2)], None);
    let m = model(
        vec![7, 6],
        vec![
            json!({"class_name": "Conv1D", "name": "c", "filters": 4, "kernel_size": [3], "groups": 2,
                   "padding": "causal", "bias_initializer": rand_bias()}),
            json!({"class_name": "Flatten", "name": "f"}),
            json!({"class_name": "Dense", "name": "d", "units": 2}),
        ],
    );
    let mut x = data(2, 42, 3);
    x.shape = vec![2, 7, 6];
    check_graph(m, vec![x], vec![data(2, 2, 4)], None);
}

/// A grouped convolution is the convolutions of its groups side by side: each group's output
/// channels equal an ungrouped convolution of the group's input channels with its kernel slice.
#[test]
fn a_grouped_convolution_is_its_groups_side_by_side() {
    let (cin, cout, groups) = (4, 6, 2);
    let (cg, og) = (cin / groups, cout / groups);
    let layer = |filters: usize, groups: usize| {
        spec(json!({"class_name": "Conv2D", "name": "c", "filters": filters, "kernel_size": [2, 3],
                    "groups": groups, "padding": "same"}))
    };
    let mut rng = Rng::seed_from(3);
    let mut whole = build::<f64>(&layer(cout, groups), &[&[5, 4, cin]], &mut rng).unwrap();
    let kernel = whole.weights()[0].values.to_vec();
    assert_eq!(whole.weights()[0].shape, vec![2, 3, cg, cout]);
    let x = data(2, 5 * 4 * cin, 7);
    let mut x4 = x.clone();
    x4.shape = vec![2, 5, 4, cin];
    let mut y = Tensor::zeros(&[0]);
    whole.forward(&[&x4], &mut y, false, &mut rng);
    for grp in 0..groups {
        let mut part = build::<f64>(&layer(og, 1), &[&[5, 4, cg]], &mut rng).unwrap();
        let mut w: Vec<Vec<f64>> = part.weights().iter().map(|w| w.values.to_vec()).collect();
        for (i, v) in w[0].iter_mut().enumerate() {
            *v = kernel[i / og * cout + grp * og + i % og];
        }
        w[1].iter_mut().for_each(|b| *b = 0.0);
        let mut dst = Vec::new();
        part.push_weights_mut(&mut dst);
        for (d, src) in dst.into_iter().zip(&w) {
            d.copy_from_slice(src);
        }
        let xs: Vec<f64> = x.data.chunks_exact(cin).flat_map(|p| p[grp * cg..(grp + 1) * cg].to_vec()).collect();
        let xg = Tensor::from_vec(&[2, 5, 4, cg], xs);
        let mut yg = Tensor::zeros(&[0]);
        part.forward(&[&xg], &mut yg, false, &mut rng);
        for (p, row) in yg.data.chunks_exact(og).enumerate() {
            for (o, v) in row.iter().enumerate() {
                assert!((y.data[p * cout + grp * og + o] - v).abs() < 1e-12, "group {grp} position {p} channel {o}");
            }
        }
    }
}
