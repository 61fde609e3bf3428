//! Keras masks through the graph executor: who makes them (embedding with `mask_zero`,
//! masking), who passes them on (dense, dropout, merges) and who uses them (global average
//! pooling 1-d, a recurrent-like test layer, the loss and metrics of a sequence output);
//! values by hand and f64 finite-difference gradients through every masked path.

use super::gradcheck::{check_graph, data, one_hot};
use crate::graph::{Graph, InputSpec, MaskFill, MaskPlan};
use crate::layers::LayerSpec;
use crate::model::{CompileSpec, Model, ModelSpec};
use crate::rng::Rng;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn dense(name: &str, units: usize, act: &str) -> Value {
    json!({"class_name": "Dense", "name": name, "units": units, "activation": act,
           "bias_initializer": {"name": "random_uniform", "minval": -0.1, "maxval": 0.1}})
}

fn emb(name: &str, input_dim: usize, output_dim: usize) -> Value {
    json!({"class_name": "Embedding", "name": name, "input_dim": input_dim, "output_dim": output_dim,
           "mask_zero": true, "embeddings_initializer": {"name": "random_uniform", "minval": -1.0, "maxval": 1.0}})
}

fn chain_spec(input: Vec<usize>, layers: Vec<Value>) -> ModelSpec {
    let n = layers.len();
    serde_json::from_value(json!({
        "name": "m", "class_name": "Functional", "inputs": [{"name": "x", "shape": input}],
        "layers": layers,
        "nodes": (0..n).map(|i| json!({"layer": i, "inputs": [if i == 0 { json!({"input": 0}) } else { json!({"node": i - 1}) }]})).collect::<Vec<_>>(),
        "outputs": [{"node": n - 1}]}))
    .unwrap()
}

fn compiled<T: crate::Real>(spec: ModelSpec, compile: Value) -> Model<T> {
    let mut m = Model::<T>::build(spec, &mut Rng::seed_from(5)).unwrap();
    let c: CompileSpec = serde_json::from_value(compile).unwrap();
    m.compile(c).unwrap();
    m
}

fn sgd(loss: &str) -> Value {
    json!({"optimizer": {"name": "sgd", "learning_rate": 0.01}, "loss": loss})
}

fn plan(input: Vec<usize>, layers: Vec<Value>) -> Result<MaskPlan, String> {
    let n = layers.len();
    let specs: Vec<LayerSpec> = layers.into_iter().map(|l| serde_json::from_value(l).unwrap()).collect();
    MaskPlan::new(&Graph::chain(InputSpec { name: "x".into(), shape: input }, n), &specs)
}

fn t(shape: &[usize], v: Vec<f64>) -> Tensor<f64> {
    Tensor::from_vec(shape, v)
}

#[test]
fn masks_are_made_passed_on_and_dropped_as_keras_does() {
    let p = plan(vec![4], vec![dense("d", 3, "relu"), dense("e", 2, "linear")]).unwrap();
    assert!(!p.any, "no layer makes a mask: the executor does nothing about masks");
    assert_eq!(p.of, vec![None, None]);
    let p = plan(
        vec![5],
        vec![
            emb("emb", 9, 4),
            dense("d", 3, "relu"),
            json!({"class_name": "Dropout", "name": "do", "rate": 0.5}),
            json!({"class_name": "Activation", "name": "a", "activation": "tanh"}),
            json!({"class_name": "Flatten", "name": "f"}),
            dense("out", 1, "sigmoid"),
        ],
    )
    .unwrap();
    assert!(p.any);
    assert_eq!(p.of, vec![Some(0), Some(0), Some(0), Some(0), None, None], "flatten drops the mask");
    assert_eq!(p.fill[0], MaskFill::Make);
    assert!(p.fill[1..].iter().all(|f| *f == MaskFill::None), "passing a mask on copies nothing");
    // an embedding without mask_zero makes none
    let plain = json!({"class_name": "Embedding", "name": "e", "input_dim": 9, "output_dim": 4});
    assert!(!plan(vec![5], vec![plain, dense("d", 3, "relu")]).unwrap().any);
    // a layer that would use the mask in a way rkeras does not yet: a clear build error
    let e =
        plan(vec![5], vec![emb("emb", 9, 4), json!({"class_name": "BatchNormalization", "name": "bn"})]).unwrap_err();
    assert_eq!(
        e,
        "bn (BatchNormalization): rkeras does not yet support a masked input here (the mask comes from an \
         embedding with mask_zero = TRUE or a masking layer)"
    );
}

/// Ids `a` and `b` through embeddings `ea` (then dense `da`) and `eb` (mask_zero), added,
/// summed over the steps that count (TestMaskUse without `pass`), then a dense layer. With
/// `shared_mask`: one input and embedding `ea` read by two dense layers, then added.
fn two_embeddings(shared_mask: bool) -> ModelSpec {
    let nodes = if shared_mask {
        // one embedding read twice through two dense layers: both carry its mask
        json!([{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 1, "inputs": [{"node": 0}]},
               {"layer": 2, "inputs": [{"node": 0}]}, {"layer": 3, "inputs": [{"node": 1}, {"node": 2}]},
               {"layer": 4, "inputs": [{"node": 3}]}])
    } else {
        json!([{"layer": 0, "inputs": [{"input": 0}]}, {"layer": 1, "inputs": [{"input": 1}]},
               {"layer": 2, "inputs": [{"node": 0}]}, {"layer": 3, "inputs": [{"node": 1}, {"node": 2}]},
               {"layer": 4, "inputs": [{"node": 3}]}])
    };
    let (l1, l2) = if shared_mask {
        (dense("da", 3, "tanh"), dense("db", 3, "linear"))
    } else {
        (emb("eb", 6, 3), dense("da", 3, "tanh"))
    };
    let inputs = if shared_mask {
        json!([{"name": "a", "shape": [4]}])
    } else {
        json!([{"name": "a", "shape": [4]}, {"name": "b", "shape": [4]}])
    };
    serde_json::from_value(json!({"name": "m", "class_name": "Functional", "inputs": inputs,
        "layers": [emb("ea", 6, 3), l1, l2, {"class_name": "Add", "name": "add"},
                   {"class_name": "TestMaskUse", "name": "use", "pass": false}, dense("out", 2, "linear")],
        "nodes": nodes.as_array().unwrap().iter().cloned().chain([json!({"layer": 5, "inputs": [{"node": 4}]})]).collect::<Vec<_>>(),
        "outputs": [{"node": 5}]}))
    .unwrap()
}

#[test]
fn merges_or_the_masks_of_their_inputs() {
    let m = Model::<f64>::build(two_embeddings(false), &mut Rng::seed_from(1)).unwrap();
    let p = MaskPlan::new(m.graph(), &m.spec.layers).unwrap();
    assert_eq!(p.of[..5], [Some(0), Some(1), Some(0), Some(3), None]);
    assert_eq!(p.fill[3], MaskFill::Or, "inputs masked by different embeddings: their `or`");
    let m = Model::<f64>::build(two_embeddings(true), &mut Rng::seed_from(1)).unwrap();
    let p = MaskPlan::new(m.graph(), &m.spec.layers).unwrap();
    assert_eq!(p.of[..5], [Some(0), Some(0), Some(0), Some(0), None]);
    assert_eq!(p.fill[3], MaskFill::None, "one mask on both inputs is passed on as it is");
    // the values: with TestMaskUse's gamma (0.5, 0.75, 1) and an identity output layer, the output
    // is gamma * the sum of (ea[a] + eb[b]) over the steps where a or b is not 0
    let mut m = Model::<f64>::build(two_embeddings(false), &mut Rng::seed_from(1)).unwrap();
    let ea: Vec<f64> = (0..18).map(|i| i as f64).collect();
    let eb: Vec<f64> = (0..18).map(|i| 100.0 * i as f64).collect();
    let w = m.get_weights();
    let mut vals: Vec<(Vec<usize>, Vec<f64>)> = w.iter().map(|w| (w.2.clone(), w.3.clone())).collect();
    vals[0].1 = ea.clone();
    vals[1].1 = eb.clone();
    vals[2].1 = vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]; // da: tanh of the identity
    vals[3].1 = vec![0.0; 3];
    vals[5].1 = vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    vals[6].1 = vec![0.0; 2];
    m.set_weights(&vals).unwrap();
    let a = t(&[1, 4], vec![1.0, 0.0, 0.0, 2.0]);
    let b = t(&[1, 4], vec![0.0, 3.0, 0.0, 0.0]);
    let out = m.predict_all(&[a, b], 8).swap_remove(0);
    // steps 0, 1, 3 count (step 2 is 0 in both); the sum is eb's row + tanh of ea's row
    let row = |tab: &[f64], id: usize, j: usize| tab[id * 3 + j];
    let step = |ia: usize, ib: usize, j: usize| row(&ea, ia, j).tanh() + row(&eb, ib, j);
    let want: Vec<f64> =
        (0..2).map(|j| (step(1, 0, j) + step(0, 3, j) + step(2, 0, j)) * (0.5 + 0.25 * j as f64)).collect();
    for (o, w) in out.data.iter().zip(&want) {
        assert!((o - w).abs() < 1e-12, "{:?} vs {want:?}", out.data);
    }
}

#[test]
fn masking_and_global_average_pooling_average_over_the_steps_that_count() {
    let layers = vec![
        json!({"class_name": "Masking", "name": "mask", "mask_value": 0.0}),
        json!({"class_name": "GlobalAveragePooling1D", "name": "gap"}),
    ];
    let mut m = compiled::<f64>(chain_spec(vec![3, 2], layers), sgd("mse"));
    let x = t(&[3, 3, 2], vec![1., 2., 0., 0., 3., 4., 0., 0., 0., 0., 5., -1., 0., 7., 0., 0., 0., 0.]);
    let out = m.predict(&x, 8);
    // sample 1: steps 1 and 3; sample 2: step 3; sample 3: step 1 ((0, 7) is not all 0)
    assert_eq!(out.data, vec![2.0, 3.0, 5.0, -1.0, 0.0, 7.0]);
    // a masking layer alone zeroes the masked steps (it only matters for a value other than 0)
    let layers = vec![json!({"class_name": "Masking", "name": "mask", "mask_value": 1.5})];
    let mut m = compiled::<f64>(chain_spec(vec![2, 2], layers), sgd("mse"));
    let x = t(&[1, 2, 2], vec![1.5, 1.5, 1.5, 2.0]);
    assert_eq!(m.predict(&x, 8).data, vec![0.0, 0.0, 1.5, 2.0]);
    // every step masked: 0 / 0, NaN as in Keras
    let layers = vec![emb("e", 3, 2), json!({"class_name": "GlobalAveragePooling1D", "name": "gap"})];
    let mut m = compiled::<f64>(chain_spec(vec![3], layers), sgd("mse"));
    let out = m.predict(&t(&[2, 3], vec![0., 0., 0., 1., 0., 2.]), 8);
    assert!(out.data[..2].iter().all(|v| v.is_nan()));
    let tab = &m.get_weights()[0].3;
    assert!((out.data[2] - (tab[2] + tab[4]) / 2.0).abs() < 1e-15);
    assert!((out.data[3] - (tab[3] + tab[5]) / 2.0).abs() < 1e-15);
}

#[test]
fn a_masked_sequence_output_averages_its_loss_and_metrics_over_the_steps_that_count() {
    // embedding(mask_zero) as the output: (batch, 3 steps, 2); Keras 3 (losses.loss.apply_mask)
    // weights the unmasked rows by rows / unmasked, metrics by 0/1 (times the sample weights
    // for weighted metrics)
    let spec = chain_spec(vec![3], vec![emb("e", 4, 2)]);
    let compile = json!({"optimizer": {"name": "sgd", "learning_rate": 0.01}, "loss": "mse",
                         "metrics": ["mae"], "weighted_metrics": ["mae"]});
    let mut m = compiled::<f64>(spec, compile);
    let tab: Vec<f64> = vec![9.0, 9.0, 1.0, 2.0, -1.0, 3.0, 0.5, -2.0];
    m.set_weights(&[(vec![4, 2], tab.clone())]).unwrap();
    let x = t(&[2, 3], vec![1., 0., 2., 3., 0., 0.]);
    let y = t(&[2, 3, 2], vec![0.0; 12]);
    for w in [None, Some(vec![2.0, 1.0])] {
        let mut run = m.new_running(&[6]).unwrap();
        let loss = m.test_step(std::slice::from_ref(&x), std::slice::from_ref(&y), w.as_deref(), &mut run);
        let r = |id: usize| &tab[id * 2..id * 2 + 2];
        let mse = |id: usize| r(id).iter().map(|v| v * v).sum::<f64>() / 2.0;
        let mae = |id: usize| r(id).iter().map(|v| v.abs()).sum::<f64>() / 2.0;
        let sw = w.clone().unwrap_or(vec![1.0, 1.0]);
        let rows = [(0, 1), (0, 2), (1, 3)]; // (sample, id) of the unmasked rows
        let want_loss = rows.iter().map(|&(b, id)| sw[b] * mse(id)).sum::<f64>() / 3.0;
        assert!((loss - want_loss).abs() < 1e-12, "{loss} vs {want_loss}");
        let vals: Vec<(String, f64)> = run.values().map(|(k, v)| (k.to_string(), v)).collect();
        let mae_plain = rows.iter().map(|&(_, id)| mae(id)).sum::<f64>() / 3.0;
        let mae_w =
            rows.iter().map(|&(b, id)| sw[b] * mae(id)).sum::<f64>() / rows.iter().map(|&(b, _)| sw[b]).sum::<f64>();
        assert_eq!(vals[1].0, "mae");
        assert!((vals[1].1 - mae_plain).abs() < 1e-12, "{vals:?}");
        assert_eq!(vals[2].0, "weighted_mae");
        assert!((vals[2].1 - mae_w).abs() < 1e-12, "{vals:?}");
    }
    // nothing counts: loss 0 (Keras divides with divide_no_nan)
    let mut run = m.new_running(&[6]).unwrap();
    let zeros = t(&[2, 3], vec![0.0; 6]);
    let loss = m.test_step(std::slice::from_ref(&zeros), std::slice::from_ref(&y), None, &mut run);
    assert_eq!(loss, 0.0);
}

fn ids(rows: usize, steps: usize, dim: usize, seed: u64) -> Tensor<f64> {
    let mut r = Rng::seed_from(seed);
    // about a third padding (0), each row keeps at least its first step
    let v = (0..rows * steps).map(|i| if i % steps == 0 { 1 + r.below(dim - 1) } else { r.below(dim) } as f64);
    Tensor::from_vec(&[rows, steps], v.collect())
}

#[test]
fn gradients_through_a_masking_layer_a_mask_using_layer_and_a_masked_sequence_loss() {
    let layers = vec![
        json!({"class_name": "Masking", "name": "mask"}),
        dense("d1", 3, "tanh"),
        json!({"class_name": "TestMaskUse", "name": "use", "pass": true}),
        dense("d2", 2, "linear"),
    ];
    let m = compiled::<f64>(chain_spec(vec![4, 2], layers), sgd("mse"));
    let mut x = data(5, 8, 1);
    x.shape = vec![5, 4, 2];
    for (b, t) in [(0, 1), (1, 0), (1, 3), (3, 2), (4, 1), (4, 2), (4, 3)] {
        x.data[(b * 4 + t) * 2..][..2].iter_mut().for_each(|v| *v = 0.0);
    }
    let mut y = data(5, 8, 2);
    y.shape = vec![5, 4, 2];
    check_graph(m, vec![x], vec![y], Some(vec![1.0, 0.5, 2.0, 1.0, 0.0]));
}

#[test]
fn gradients_through_an_embedding_mask_and_masked_pooling() {
    let layers = vec![
        emb("e", 6, 4),
        dense("d1", 3, "tanh"),
        json!({"class_name": "GlobalAveragePooling1D", "name": "gap"}),
        dense("d2", 3, "softmax"),
    ];
    let m = compiled::<f64>(chain_spec(vec![5], layers), sgd("categorical_crossentropy"));
    check_graph(m, vec![ids(6, 5, 6, 3)], vec![one_hot(6, 3, 4)], None);
}

#[test]
fn gradients_of_a_masked_sequence_output_through_the_fused_softmax_crossentropy() {
    let layers = vec![emb("e", 5, 3), dense("d", 4, "softmax")];
    let m = compiled::<f64>(chain_spec(vec![4], layers), sgd("categorical_crossentropy"));
    let mut y = one_hot(3 * 4, 4, 5);
    y.shape = vec![3, 4, 4];
    check_graph(m, vec![ids(3, 4, 5, 6)], vec![y], Some(vec![1.0, 2.0, 0.5]));
}

#[test]
fn gradients_through_merged_masks() {
    let spec = two_embeddings(false);
    let m = compiled::<f64>(spec, sgd("mse"));
    check_graph(m, vec![ids(4, 4, 6, 7), ids(4, 4, 6, 8)], vec![data(4, 2, 9)], None);
    let m = compiled::<f64>(two_embeddings(true), sgd("mse"));
    check_graph(m, vec![ids(4, 4, 6, 10)], vec![data(4, 2, 11)], None);
}

#[test]
fn a_model_without_masks_trains_bitwise_as_before_and_masks_change_nothing_for_f32() {
    // the same weights and data through embedding -> dense with and without mask_zero: with
    // ids that are never 0 every step counts, so the losses and weights agree exactly
    let run = |mask_zero: bool| {
        let mut e = emb("e", 5, 3);
        e["mask_zero"] = json!(mask_zero);
        let spec = chain_spec(vec![4], vec![e, dense("d", 2, "linear")]);
        let mut m = compiled::<f32>(spec, sgd("mse"));
        let x = Tensor::from_vec(&[3, 4], vec![1., 2., 3., 4., 4., 3., 2., 1., 1., 1., 2., 2.]);
        let y = Tensor::from_vec(&[3, 4, 2], (0..24).map(|i| (i % 5) as f32 * 0.1).collect());
        let mut r = m.new_running(&[8]).unwrap();
        let losses: Vec<f64> =
            (0..3).map(|_| m.train_step(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut r)).collect();
        (losses, m.get_weights().into_iter().map(|w| w.3).collect::<Vec<_>>())
    };
    assert_eq!(run(false), run(true));
}

#[test]
fn keras3_configs_with_mask_ops_read_as_the_layers_alone() {
    // Keras 3's to_json() of ids -> embeddings ea, eb (mask_zero) -> add -> time_distributed(dense)
    // -> global average pooling: it lists NotEqual, NotEqual and LogicalOr entries that compute
    // the masks, read through `mask` arguments; rkeras skips them and makes the masks itself
    let json = include_str!("../../testdata/keras3_or_mask_to_json.json");
    let mut warnings = Vec::new();
    let spec = crate::keras_h5::model_spec(json, crate::keras_h5::Generation::Keras3, &mut warnings).unwrap();
    let names: Vec<&str> = spec.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["ea", "eb", "add", "td", "gap"]);
    assert_eq!(spec.nodes.len(), 5);
    let m = Model::<f64>::build(spec, &mut Rng::seed_from(1)).unwrap();
    let p = MaskPlan::new(m.graph(), &m.spec.layers).unwrap();
    assert_eq!(p.of, vec![Some(0), Some(1), Some(2), Some(2), None]);
    assert_eq!(p.fill[2], MaskFill::Or);
}
