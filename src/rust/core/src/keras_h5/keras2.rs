//! The Keras 2 (tf.keras 2.11+, R keras 2.x) flavour of the HDF5 layout: `model_config`
//! and `training_config` as tf.keras 2.12 writes them (`batch_input_shape`, dtype strings,
//! `[[["fc_1", 0, 0, {}]]]` inbound nodes, `Custom>Adam` optimizer configs), weights under
//! `<layer>/<layer>/kernel:0`, and optimizer variables `iteration:0`,
//! `Adam/m/<layer>/kernel:0`, ... in tf.keras' order. tf.keras 2 restores all of it; Keras
//! 3 reads such files too (its legacy loader converts the configs).

use crate::activations::Activation;
use crate::graph::TRef;
use crate::init::Initializer;
use crate::keras_json::{compile_entries, optimizer_json, Built, GraphInfo, Json};
use crate::layers::LayerSpec;
use crate::model::{Model, ModelSpec};
use crate::optimizers::OptimizerKind;
use crate::Real;

type R<T> = Result<T, String>;

/// The tf.keras release whose layout the Keras 2 flavour follows (its `keras_version`).
pub const KERAS2_VERSION: &str = "2.12.0";

fn s(v: &str) -> Json {
    Json::Str(v.to_string())
}

fn o(pairs: Vec<(&str, Json)>) -> Json {
    Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn batch_shape(per_sample: &[usize]) -> Json {
    Json::Arr(std::iter::once(Json::Null).chain(per_sample.iter().map(|&d| Json::Int(d as i64))).collect())
}

/// An initializer as tf.keras 2 writes it.
pub(crate) fn initializer(init: &Initializer) -> Json {
    let seed = || o(vec![("seed", Json::Null)]);
    let (class, config) = match init {
        Initializer::GlorotUniform => ("GlorotUniform", seed()),
        Initializer::GlorotNormal => ("GlorotNormal", seed()),
        Initializer::HeUniform => ("HeUniform", seed()),
        Initializer::HeNormal => ("HeNormal", seed()),
        Initializer::LecunUniform => ("LecunUniform", seed()),
        Initializer::LecunNormal => ("LecunNormal", seed()),
        Initializer::Zeros => ("Zeros", o(vec![])),
        Initializer::Ones => ("Ones", o(vec![])),
        Initializer::Constant { value } => ("Constant", o(vec![("value", Json::Float(*value))])),
        Initializer::RandomNormal { mean, stddev } => (
            "RandomNormal",
            o(vec![("mean", Json::Float(*mean)), ("stddev", Json::Float(*stddev)), ("seed", Json::Null)]),
        ),
        Initializer::RandomUniform { minval, maxval } => (
            "RandomUniform",
            o(vec![("minval", Json::Float(*minval)), ("maxval", Json::Float(*maxval)), ("seed", Json::Null)]),
        ),
        Initializer::TruncatedNormal { mean, stddev } => (
            "TruncatedNormal",
            o(vec![("mean", Json::Float(*mean)), ("stddev", Json::Float(*stddev)), ("seed", Json::Null)]),
        ),
        Initializer::Orthogonal { gain } => ("Orthogonal", o(vec![("gain", Json::Float(*gain)), ("seed", Json::Null)])),
        Initializer::Identity { gain } => ("Identity", o(vec![("gain", Json::Float(*gain))])),
    };
    o(vec![("class_name", s(class)), ("config", config)])
}

/// An activation as tf.keras 2 writes it (an error for one it lacks).
pub(crate) fn activation(a: Activation, layer: &str) -> R<Json> {
    Ok(s(match a {
        // Keras 2's hard_sigmoid is clip(0.2 x + 0.5, 0, 1), not rkeras' (Keras 3's)
        Activation::HardSigmoid => {
            return Err(format!(
                "layer '{layer}': hard_sigmoid cannot be saved for Keras 2, whose hard_sigmoid is another function \
                 (use keras_version = 3)"
            ))
        }
        Activation::Silu | Activation::Swish => "swish",
        a => a.name(),
    }))
}

/// A layer as tf.keras 2 serializes it inside another layer's config: `{"class_name", "config"}`.
pub(crate) fn layer_object(spec: &LayerSpec) -> R<Json> {
    Ok(o(vec![("class_name", s(spec.kind.class_name())), ("config", layer_config(spec)?)]))
}

/// A layer's config as tf.keras 2 writes it.
fn layer_config(spec: &LayerSpec) -> R<Json> {
    let mut c = vec![("name", s(&spec.name)), ("trainable", Json::Bool(spec.trainable)), ("dtype", s("float32"))];
    c.extend(spec.kind.keras2_config(&spec.name)?);
    Ok(o(c))
}

fn input_layer_config(name: &str, shape: &[usize]) -> Json {
    o(vec![
        ("batch_input_shape", batch_shape(shape)),
        ("dtype", s("float32")),
        ("sparse", Json::Bool(false)),
        ("ragged", Json::Bool(false)),
        ("name", s(name)),
    ])
}

/// `model_config` as tf.keras 2.12 writes it.
pub fn model_config<T: Real>(model: &Model<T>) -> R<String> {
    let spec = &model.spec;
    Ok(o(vec![("class_name", s(&spec.class_name)), ("config", config(spec, model.layers(), true)?)]).to_string())
}

/// A model's config as tf.keras 2 writes it. A nested model is a layer entry holding its own
/// config; tf.keras counts its construction as its node 0, so its calls are numbered from 1.
fn config<T: Real>(spec: &ModelSpec, built: Built<'_, T>, trainable: bool) -> R<Json> {
    let info = GraphInfo::new(spec, built);
    let g = &info.graph;
    let entry = |li: usize| -> R<Json> {
        let ls = &spec.layers[li];
        Ok(match ls.kind.nested() {
            Some(inner) => o(vec![
                ("class_name", s(&inner.class_name)),
                ("config", config(inner, &built[info.built[li].clone()], ls.trainable)?),
            ]),
            None => o(vec![("class_name", s(ls.kind.class_name())), ("config", layer_config(ls)?)]),
        })
    };
    if spec.class_name != "Functional" {
        let name = spec.input_name.clone().unwrap_or_else(|| "input_layer".to_string());
        let mut layers =
            vec![o(vec![("class_name", s("InputLayer")), ("config", input_layer_config(&name, &g.inputs[0].shape))])];
        for li in 0..spec.layers.len() {
            layers.push(entry(li)?);
        }
        return Ok(o(vec![("name", s(&spec.name)), ("layers", Json::Arr(layers))]));
    }
    let tref = |r: TRef| {
        let (name, mut node) = info.source(spec, r);
        if let TRef::Node(j) = r {
            node += usize::from(spec.layers[g.nodes[j].layer].kind.nested().is_some());
        }
        Json::Arr(vec![s(name), Json::Int(node as i64), Json::Int(0)])
    };
    let mut layers = vec![];
    for input in &g.inputs {
        layers.push(o(vec![
            ("class_name", s("InputLayer")),
            ("config", input_layer_config(&input.name, &input.shape)),
            ("name", s(&input.name)),
            ("inbound_nodes", Json::Arr(vec![])),
        ]));
    }
    for (li, ls) in spec.layers.iter().enumerate() {
        let calls = info
            .nodes_of(li)
            .map(|j| {
                let args = g.nodes[j].inputs.iter().map(|&r| {
                    let Json::Arr(mut v) = tref(r) else { unreachable!() };
                    v.push(o(vec![]));
                    Json::Arr(v)
                });
                Json::Arr(args.collect())
            })
            .collect();
        let Json::Obj(mut e) = entry(li)? else { unreachable!() };
        e.push(("name".into(), s(&ls.name)));
        e.push(("inbound_nodes".into(), Json::Arr(calls)));
        layers.push(Json::Obj(e));
    }
    Ok(o(vec![
        ("name", s(&spec.name)),
        ("trainable", Json::Bool(trainable)),
        ("layers", Json::Arr(layers)),
        ("input_layers", Json::Arr((0..g.inputs.len()).map(|i| tref(TRef::Input(i))).collect())),
        ("output_layers", Json::Arr(g.outputs.iter().map(|&r| tref(r)).collect())),
    ]))
}

/// The optimizer's class name in tf.keras 2 (also its default `name` and the prefix of its
/// variables).
pub fn optimizer_class(kind: &OptimizerKind) -> &'static str {
    match kind {
        OptimizerKind::Sgd { .. } => "SGD",
        OptimizerKind::Rmsprop { .. } => "RMSprop",
        OptimizerKind::Adam { .. } => "Adam",
        OptimizerKind::Adagrad { .. } => "Adagrad",
        OptimizerKind::Adadelta { .. } => "Adadelta",
        OptimizerKind::Adamax { .. } => "Adamax",
        OptimizerKind::Nadam { .. } => "Nadam",
    }
}

/// `training_config` as tf.keras 2.12 writes it (metrics by name).
pub fn training_config<T: Real>(model: &Model<T>) -> Option<String> {
    let c = model.compiled.as_ref()?;
    let opt = &c.optimizer;
    let k3 = optimizer_json(opt.config(), opt.learning_rate());
    let Some(Json::Obj(k3c)) = k3.get("config").cloned() else { return None };
    let get = |k: &str| k3c.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or(Json::Null);
    let class = optimizer_class(&opt.config().kind);
    let mut cfg = vec![("name".to_string(), s(class))];
    for k in ["weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema", "ema_momentum"] {
        cfg.push((k.to_string(), get(k)));
    }
    // tf.keras 2.12's RMSprop defaults ema_overwrite_frequency to 100, the others to None
    let ema_freq = if class == "RMSprop" { Json::Int(100) } else { Json::Null };
    cfg.push(("ema_overwrite_frequency".into(), ema_freq));
    cfg.push(("jit_compile".into(), Json::Bool(false)));
    cfg.push(("is_legacy_optimizer".into(), Json::Bool(false)));
    cfg.push(("learning_rate".into(), get("learning_rate")));
    const COMMON: [&str; 11] = [
        "name",
        "learning_rate",
        "weight_decay",
        "clipnorm",
        "global_clipnorm",
        "clipvalue",
        "use_ema",
        "ema_momentum",
        "ema_overwrite_frequency",
        "loss_scale_factor",
        "gradient_accumulation_steps",
    ];
    for (k, v) in &k3c {
        if !COMMON.contains(&k.as_str()) {
            cfg.push((k.clone(), v.clone()));
        }
    }
    let [loss, loss_weights, metrics, weighted_metrics] = compile_entries(&c.spec, model.output_names(), true);
    let tc = o(vec![
        loss,
        metrics,
        weighted_metrics,
        loss_weights,
        ("optimizer_config", o(vec![("class_name", s(&format!("Custom>{class}"))), ("config", Json::Obj(cfg))])),
    ]);
    Some(tc.to_string())
}
