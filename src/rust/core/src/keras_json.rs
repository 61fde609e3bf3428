//! A model's Keras 3 JSON, byte for byte as Python writes it.
//!
//! * [`model_to_json`]: `model.to_json()` (`serialization_lib.serialize_keras_object`): what
//!   the TensorBoard callback writes under the `keras` tag (the Graphs tab converts it) and
//!   what a `.keras` archive keeps in `config.json`.
//! * [`h5_model_config`]: the `model_config` attribute of a Keras 3 legacy HDF5 file
//!   (`{"class_name": ..., "config": model.get_config()}`, layers without `module`).
//!
//! Both follow Keras 3.15.1: layer configs with a `DTypePolicy` dtype, initializers as
//! `keras.initializers` objects, `build_config` on the layers Keras builds lazily (input
//! shapes; a list of them for merge layers), functional `inbound_nodes` as
//! `__keras_tensor__` call arguments (a list of tensors for merge layers and models with
//! several inputs; `keras_history` names the call of the source layer, so a shared layer's
//! second output is `[name, 1, 0]`), models used as layers with their own config, and
//! `input_layers` / `output_layers` in the flat form `[name, 0, 0]` for one tensor. Checked
//! against the reference files in `testdata/` and `tests/fixtures/keras/h5-graph` (written by
//! Keras 3.15.1).

use crate::activations::Activation;
use crate::graph::{Graph, TRef};
use crate::init::Initializer;
use crate::layers::{Layer, LayerKind, LayerSpec};
use crate::losses::Loss;
use crate::model::{CompileSpec, Model, ModelSpec};
use crate::optimizers::{OptimizerConfig, OptimizerKind};
use crate::Real;
use std::fmt::{self, Write};

/// A JSON value whose objects keep their key order, printed like Python's `json.dumps`
/// (`", "` and `": "` separators, `ensure_ascii`, floats as `repr`).
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub(crate) fn s(v: &str) -> Json {
        Json::Str(v.to_string())
    }

    /// The value of `key` in an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
    Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn push(o: &mut Json, key: &str, v: Json) {
    if let Json::Obj(kv) = o {
        kv.push((key.to_string(), v));
    }
}

fn write_str(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{08}' => f.write_str("\\b")?,
            '\u{0c}' => f.write_str("\\f")?,
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(f, "\\u{:04x}", u)?;
                }
            }
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Int(i) => write!(f, "{i}"),
            Json::Float(x) if x.is_nan() => f.write_str("NaN"),
            Json::Float(x) if x.is_infinite() => f.write_str(if *x > 0.0 { "Infinity" } else { "-Infinity" }),
            Json::Float(x) => f.write_str(&crate::csv_log::python_float_repr(*x)),
            Json::Str(s) => write_str(f, s),
            Json::Arr(items) => {
                f.write_char('[')?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(']')
            }
            Json::Obj(kv) => {
                f.write_char('{')?;
                for (i, (k, v)) in kv.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_str(f, k)?;
                    write!(f, ": {v}")?;
                }
                f.write_char('}')
            }
        }
    }
}

/// Which serializer's output to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `model.to_json()`: every object carries `module` and `registered_name`, layers that own
    /// weights a `build_config`, the model its `build_config` and `compile_config`.
    ToJson,
    /// HDF5 `model_config`: layers as `{"class_name", "config"}` only (legacy serialization).
    LegacyH5,
}

/// `model.to_json()` of Keras 3.
pub fn model_to_json<T: Real>(model: &Model<T>) -> String {
    model_json(model, Style::ToJson).to_string()
}

/// The `model_config` attribute Keras 3 writes into a legacy HDF5 file.
pub fn h5_model_config<T: Real>(model: &Model<T>) -> String {
    model_json(model, Style::LegacyH5).to_string()
}

/// A Keras object `{"module", "class_name", "config", "registered_name"}`.
fn keras_object(module: &str, class_name: &str, config: Json, registered: Json) -> Json {
    obj([
        ("module", Json::s(module)),
        ("class_name", Json::s(class_name)),
        ("config", config),
        ("registered_name", registered),
    ])
}

fn dtype_policy() -> Json {
    keras_object("keras", "DTypePolicy", obj([("name", Json::s("float32"))]), Json::Null)
}

/// `[null, d1, d2, ...]`: a shape with its batch axis.
fn batch_shape(per_sample: &[usize]) -> Json {
    let dims = per_sample.iter().map(|&d| Json::Int(d as i64));
    Json::Arr(std::iter::once(Json::Null).chain(dims).collect())
}

/// A Keras 3 initializer object.
pub fn initializer_json(init: &Initializer) -> Json {
    let seeded = || obj([("seed", Json::Null), ("input_axes", Json::Null), ("output_axes", Json::Null)]);
    let (class, config) = match init {
        Initializer::GlorotUniform => ("GlorotUniform", seeded()),
        Initializer::GlorotNormal => ("GlorotNormal", seeded()),
        Initializer::HeUniform => ("HeUniform", seeded()),
        Initializer::HeNormal => ("HeNormal", seeded()),
        Initializer::LecunUniform => ("LecunUniform", seeded()),
        Initializer::LecunNormal => ("LecunNormal", seeded()),
        Initializer::Zeros => ("Zeros", obj([])),
        Initializer::Ones => ("Ones", obj([])),
        Initializer::Constant { value } => ("Constant", obj([("value", Json::Float(*value))])),
        Initializer::RandomNormal { mean, stddev } => (
            "RandomNormal",
            obj([("mean", Json::Float(*mean)), ("stddev", Json::Float(*stddev)), ("seed", Json::Null)]),
        ),
        Initializer::RandomUniform { minval, maxval } => (
            "RandomUniform",
            obj([("minval", Json::Float(*minval)), ("maxval", Json::Float(*maxval)), ("seed", Json::Null)]),
        ),
        Initializer::TruncatedNormal { mean, stddev } => (
            "TruncatedNormal",
            obj([("mean", Json::Float(*mean)), ("stddev", Json::Float(*stddev)), ("seed", Json::Null)]),
        ),
        Initializer::Orthogonal { gain } => ("Orthogonal", obj([("seed", Json::Null), ("gain", Json::Float(*gain))])),
        Initializer::Identity { gain } => ("Identity", obj([("gain", Json::Float(*gain))])),
    };
    keras_object("keras.initializers", class, config, Json::Null)
}

/// Keras serializes activation functions by name; `swish` is an alias of `silu`.
pub(crate) fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Swish => "silu",
        a => a.name(),
    }
}

/// `layer.get_config()` in Keras 3.
pub fn layer_config(spec: &LayerSpec) -> Json {
    if let Some(entries) = spec.kind.keras_layer_config(&spec.name) {
        return Json::Obj(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    }
    let mut c =
        obj([("name", Json::s(&spec.name)), ("trainable", Json::Bool(spec.trainable)), ("dtype", dtype_policy())]);
    for (k, v) in spec.kind.keras_config() {
        push(&mut c, k, v);
    }
    c
}

/// A layer as Keras 3 serializes it inside another layer's config (`TimeDistributed`'s `layer`):
/// `{"module", "class_name", "config", "registered_name"}`.
pub(crate) fn layer_object(spec: &LayerSpec) -> Json {
    keras_object("keras.layers", spec.kind.class_name(), layer_config(spec), Json::Null)
}

/// A list of integers.
pub(crate) fn int_list(v: impl IntoIterator<Item = i64>) -> Json {
    Json::Arr(v.into_iter().map(Json::Int).collect())
}

/// A layer as the model config lists it, before the functional `name`/`inbound_nodes`.
fn layer_entry(class: &str, config: Json, build_input: Option<Json>, style: Style) -> Json {
    match style {
        Style::LegacyH5 => obj([("class_name", Json::s(class)), ("config", config)]),
        Style::ToJson => {
            let mut e = keras_object("keras.layers", class, config, Json::Null);
            if let Some(shape) = build_input {
                push(&mut e, "build_config", obj([("input_shape", shape)]));
            }
            e
        }
    }
}

fn input_layer_entry(name: &str, shape: &[usize], style: Style) -> Json {
    let config = obj([
        ("batch_shape", batch_shape(shape)),
        ("dtype", Json::s("float32")),
        ("sparse", Json::Bool(false)),
        ("ragged", Json::Bool(false)),
        ("name", Json::s(name)),
        ("optional", Json::Bool(false)),
    ]);
    layer_entry("InputLayer", config, None, style)
}

/// The built layers of a model spec (a nested model's layers are inlined in place, so each
/// spec layer owns a contiguous run of them).
pub(crate) type Built<'a, T> = &'a [Box<dyn Layer<T>>];

/// How many built layers a layer spec becomes.
fn flat_count(ls: &LayerSpec) -> usize {
    match ls.kind.nested() {
        Some(m) => m.layers.iter().map(flat_count).sum(),
        None => 1,
    }
}

/// What the writers need to know about a model spec's graph (nested models count as one
/// layer): per node, which call of its layer it is and its output shape; per layer, its built
/// layers.
pub(crate) struct GraphInfo {
    pub graph: Graph,
    /// Per node: how many earlier nodes apply the same layer (Keras' node index).
    pub call: Vec<usize>,
    /// Per node: its per-sample output shape.
    pub shapes: Vec<Vec<usize>>,
    /// Per layer of the spec: its range in the built layers.
    pub built: Vec<std::ops::Range<usize>>,
}

impl GraphInfo {
    pub fn new<T: Real>(spec: &ModelSpec, built: Built<'_, T>) -> Self {
        let graph = spec.graph();
        let mut start = 0;
        let ranges: Vec<_> = spec
            .layers
            .iter()
            .map(|ls| {
                start += flat_count(ls);
                start - flat_count(ls)..start
            })
            .collect();
        let mut seen = vec![0usize; spec.layers.len()];
        let mut call = Vec::with_capacity(graph.nodes.len());
        let mut shapes = Vec::with_capacity(graph.nodes.len());
        for n in &graph.nodes {
            call.push(seen[n.layer]);
            seen[n.layer] += 1;
            shapes.push(layer_output_shape(&spec.layers[n.layer], &built[ranges[n.layer].clone()]));
        }
        GraphInfo { graph, call, shapes, built: ranges }
    }

    /// The per-sample shape of a tensor.
    pub fn shape(&self, r: TRef) -> &[usize] {
        match r {
            TRef::Input(i) => &self.graph.inputs[i].shape,
            TRef::Node(j) => &self.shapes[j],
        }
    }

    /// The layer that makes a tensor (an input's name for an input) and its node index there.
    pub fn source<'s>(&'s self, spec: &'s ModelSpec, r: TRef) -> (&'s str, usize) {
        match r {
            TRef::Input(i) => (&self.graph.inputs[i].name, 0),
            TRef::Node(j) => (&spec.layers[self.graph.nodes[j].layer].name, self.call[j]),
        }
    }

    /// The nodes applying layer `layer`, in order.
    pub fn nodes_of(&self, layer: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.graph.nodes.len()).filter(move |&j| self.graph.nodes[j].layer == layer)
    }
}

/// The per-sample output shape of a layer spec (its first application) from its built layers.
fn layer_output_shape<T: Real>(ls: &LayerSpec, built: Built<'_, T>) -> Vec<usize> {
    match ls.kind.nested() {
        Some(m) => {
            let info = GraphInfo::new(m, built);
            info.shape(info.graph.outputs[0]).to_vec()
        }
        None => built[0].output_shape().to_vec(),
    }
}

/// A model used as a layer, as Keras lists it (before `name` and `inbound_nodes`).
fn nested_entry<T: Real>(ls: &LayerSpec, inner: &ModelSpec, built: Built<'_, T>, style: Style) -> Json {
    let config = model_config(inner, built, style, ls.trainable);
    let functional = inner.class_name == "Functional";
    match style {
        Style::LegacyH5 => obj([("class_name", Json::s(&inner.class_name)), ("config", config)]),
        Style::ToJson => {
            let (mut e, shape) = if functional {
                (keras_object("keras.src.models.functional", "Functional", config, Json::s("Functional")), Json::Null)
            } else {
                (keras_object("keras", "Sequential", config, Json::Null), batch_shape(&inner.graph().inputs[0].shape))
            };
            push(&mut e, "build_config", obj([("input_shape", shape)]));
            push(&mut e, "compile_config", obj([]));
            e
        }
    }
}

/// A model's `config` (`get_config()`): name, trainable, layers and, for a functional model,
/// `input_layers`/`output_layers` (inputs first, then every layer once with its calls as
/// `__keras_tensor__` arguments), for a Sequential one its `dtype` and `build_input_shape`.
fn model_config<T: Real>(spec: &ModelSpec, built: Built<'_, T>, style: Style, trainable: bool) -> Json {
    let mut config = obj([("name", Json::s(&spec.name)), ("trainable", Json::Bool(trainable))]);
    let info = GraphInfo::new(spec, built);
    let entry = |li: usize, build: Option<Json>| {
        let ls = &spec.layers[li];
        match ls.kind.nested() {
            Some(inner) => nested_entry(ls, inner, &built[info.built[li].clone()], style),
            None => {
                layer_entry(ls.kind.class_name(), layer_config(ls), build.filter(|_| ls.kind.has_build_config()), style)
            }
        }
    };
    if spec.class_name != "Functional" {
        push(&mut config, "dtype", dtype_policy());
        let input = &info.graph.inputs[0];
        let name = spec.input_name.clone().unwrap_or_else(|| "input_layer".to_string());
        let mut layers = vec![input_layer_entry(&name, &input.shape, style)];
        let mut shape = input.shape.clone();
        for j in 0..spec.layers.len() {
            layers.push(entry(j, Some(batch_shape(&shape))));
            shape = info.shapes[j].clone();
        }
        push(&mut config, "layers", Json::Arr(layers));
        push(&mut config, "build_input_shape", batch_shape(&input.shape));
        return config;
    }
    let g = &info.graph;
    let tensor_ref = |r: TRef, output: bool| {
        let (name, mut node) = info.source(spec, r);
        // Keras 3 counts a nested functional model's own graph as its node 0 in
        // input_layers/output_layers (not in keras_history)
        if let (true, TRef::Node(j)) = (output, r) {
            node += usize::from(matches!(spec.layers[g.nodes[j].layer].kind, LayerKind::Functional { .. }));
        }
        Json::Arr(vec![Json::s(name), Json::Int(node as i64), Json::Int(0)])
    };
    let mut layers = Vec::with_capacity(g.inputs.len() + spec.layers.len());
    for input in &g.inputs {
        let mut e = input_layer_entry(&input.name, &input.shape, style);
        push(&mut e, "name", Json::s(&input.name));
        push(&mut e, "inbound_nodes", Json::Arr(vec![]));
        layers.push(e);
    }
    for (li, ls) in spec.layers.iter().enumerate() {
        let nested = ls.kind.nested();
        // merge layers and models with several inputs take a list of tensors
        let list = ls.kind.is_merge() || nested.is_some_and(|m| m.graph().inputs.len() > 1);
        let mut calls = Vec::new();
        let mut build = None;
        for j in info.nodes_of(li) {
            let tensors: Vec<Json> = g.nodes[j]
                .inputs
                .iter()
                .map(|&r| {
                    obj([
                        ("class_name", Json::s("__keras_tensor__")),
                        (
                            "config",
                            obj([
                                ("shape", batch_shape(info.shape(r))),
                                ("dtype", Json::s("float32")),
                                ("keras_history", tensor_ref(r, false)),
                            ]),
                        ),
                    ])
                })
                .collect();
            if build.is_none() {
                let shapes = g.nodes[j].inputs.iter().map(|&r| batch_shape(info.shape(r)));
                build = Some(if list { Json::Arr(shapes.collect()) } else { shapes.into_iter().next().unwrap() });
            }
            let arg = if list { Json::Arr(tensors) } else { tensors.into_iter().next().unwrap() };
            let kwargs = if nested.is_none() && ls.kind.mask_kwarg() && ls.kind.takes_training() {
                // recurrent layers: `call(sequences, initial_state=None, mask=None, training=False)`
                obj([("training", Json::Bool(false)), ("mask", Json::Null)])
            } else if nested.is_some() || ls.kind.mask_kwarg() {
                obj([("mask", Json::Null)])
            } else if ls.kind.takes_training() {
                obj([("training", Json::Bool(false))])
            } else {
                obj([])
            };
            calls.push(obj([("args", Json::Arr(vec![arg])), ("kwargs", kwargs)]));
        }
        let mut e = entry(li, build);
        push(&mut e, "name", Json::s(&ls.name));
        push(&mut e, "inbound_nodes", Json::Arr(calls));
        layers.push(e);
    }
    // one tensor is written flat (`["x", 0, 0]`), several as a list
    let refs = |rs: Vec<TRef>, output: bool| {
        let mut v: Vec<Json> = rs.into_iter().map(|r| tensor_ref(r, output)).collect();
        if v.len() == 1 {
            v.pop().unwrap()
        } else {
            Json::Arr(v)
        }
    };
    push(&mut config, "layers", Json::Arr(layers));
    push(&mut config, "input_layers", refs((0..g.inputs.len()).map(TRef::Input).collect(), false));
    push(&mut config, "output_layers", refs(g.outputs.clone(), true));
    config
}

/// Keras' automatic optimizer name (`to_snake_case` of the class name).
fn optimizer_class(kind: &OptimizerKind) -> (&'static str, &'static str) {
    match kind {
        OptimizerKind::Sgd { .. } => ("SGD", "sgd"),
        OptimizerKind::Rmsprop { .. } => ("RMSprop", "rm_sprop"),
        OptimizerKind::Adam { .. } => ("Adam", "adam"),
        OptimizerKind::Adagrad { .. } => ("Adagrad", "adagrad"),
        OptimizerKind::Adadelta { .. } => ("Adadelta", "adadelta"),
        OptimizerKind::Adamax { .. } => ("Adamax", "adamax"),
        OptimizerKind::Nadam { .. } => ("Nadam", "nadam"),
    }
}

/// The optimizer object of a Keras 3 `compile_config`, with the current learning rate (a
/// float32 variable in Keras, hence the widened f32 value).
pub fn optimizer_json(cfg: &OptimizerConfig, learning_rate: f64) -> Json {
    let (class, name) = optimizer_class(&cfg.kind);
    let opt = |v: Option<f64>| v.map_or(Json::Null, Json::Float);
    let mut c = obj([
        ("name", Json::s(name)),
        ("learning_rate", Json::Float(learning_rate as f32 as f64)),
        ("weight_decay", opt(cfg.weight_decay)),
        ("clipnorm", opt(cfg.clipnorm)),
        ("global_clipnorm", opt(cfg.global_clipnorm)),
        ("clipvalue", opt(cfg.clipvalue)),
        ("use_ema", Json::Bool(false)),
        ("ema_momentum", Json::Float(0.99)),
        ("ema_overwrite_frequency", Json::Null),
        ("loss_scale_factor", Json::Null),
        ("gradient_accumulation_steps", Json::Null),
    ]);
    let f = |c: &mut Json, k: &str, v: f64| push(c, k, Json::Float(v));
    match cfg.kind {
        OptimizerKind::Sgd { momentum, nesterov } => {
            f(&mut c, "momentum", momentum);
            push(&mut c, "nesterov", Json::Bool(nesterov));
        }
        OptimizerKind::Rmsprop { rho, momentum, epsilon, centered } => {
            f(&mut c, "rho", rho);
            f(&mut c, "momentum", momentum);
            f(&mut c, "epsilon", epsilon);
            push(&mut c, "centered", Json::Bool(centered));
        }
        OptimizerKind::Adam { beta_1, beta_2, epsilon, amsgrad } => {
            f(&mut c, "beta_1", beta_1);
            f(&mut c, "beta_2", beta_2);
            f(&mut c, "epsilon", epsilon);
            push(&mut c, "amsgrad", Json::Bool(amsgrad));
        }
        OptimizerKind::Adagrad { initial_accumulator_value, epsilon } => {
            f(&mut c, "initial_accumulator_value", initial_accumulator_value);
            f(&mut c, "epsilon", epsilon);
        }
        OptimizerKind::Adadelta { rho, epsilon } => {
            f(&mut c, "rho", rho);
            f(&mut c, "epsilon", epsilon);
        }
        OptimizerKind::Adamax { beta_1, beta_2, epsilon } | OptimizerKind::Nadam { beta_1, beta_2, epsilon } => {
            f(&mut c, "beta_1", beta_1);
            f(&mut c, "beta_2", beta_2);
            f(&mut c, "epsilon", epsilon);
        }
    }
    keras_object("keras.optimizers", class, c, Json::Null)
}

/// The compiled loss of output `o` as Keras writes it: its canonical name, or for
/// `from_logits = TRUE` the loss object (Keras 3's `{module, class_name, config,
/// registered_name}`, or tf.keras 2's `{class_name, config}` when `keras2`).
pub(crate) fn loss_json(spec: &CompileSpec, o: usize, keras2: bool) -> Json {
    let loss = spec.loss_of(o);
    if !*spec.from_logits.get(o) {
        return Json::s(loss.name());
    }
    let (class, extra) = match loss {
        Loss::SparseCategoricalCrossentropy => ("SparseCategoricalCrossentropy", vec![("ignore_class", Json::Null)]),
        Loss::BinaryCrossentropy => {
            ("BinaryCrossentropy", vec![("label_smoothing", Json::Float(0.0)), ("axis", Json::Int(-1))])
        }
        _ => ("CategoricalCrossentropy", vec![("label_smoothing", Json::Float(0.0)), ("axis", Json::Int(-1))]),
    };
    // tf.keras 2 wrote "auto", which Keras 3 refuses; both read "sum_over_batch_size"
    let mut config = vec![
        ("name".to_string(), Json::s(loss.name())),
        ("reduction".to_string(), Json::s("sum_over_batch_size")),
        ("from_logits".to_string(), Json::Bool(true)),
    ];
    config.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
    if keras2 {
        Json::Obj(vec![("class_name".into(), Json::s(class)), ("config".into(), Json::Obj(config))])
    } else {
        keras_object("keras.losses", class, Json::Obj(config), Json::Null)
    }
}

/// A compile setting as Keras records it: the value of a single-output model, or a dict by
/// output name (in output order) that Keras 3 and tf.keras 2 both read back; `None` entries
/// are left out.
fn per_output_json(outputs: &[String], f: impl Fn(usize) -> Option<Json>) -> Json {
    if outputs.len() <= 1 {
        return f(0).unwrap_or(Json::Null);
    }
    let kv: Vec<(String, Json)> =
        outputs.iter().enumerate().filter_map(|(o, n)| f(o).map(|v| (n.clone(), v))).collect();
    if kv.is_empty() {
        Json::Null
    } else {
        Json::Obj(kv)
    }
}

/// The `loss`, `loss_weights`, `metrics` and `weighted_metrics` of a compile config for a
/// model with outputs `outputs` (`keras2`: tf.keras 2's loss objects).
pub(crate) fn compile_entries(spec: &CompileSpec, outputs: &[String], keras2: bool) -> [(&'static str, Json); 4] {
    let list = |m: &[String]| (!m.is_empty()).then(|| Json::Arr(m.iter().map(|m| Json::s(m)).collect()));
    let loss_weights = match &spec.loss_weights {
        Some(_) if outputs.len() > 1 => per_output_json(outputs, |o| Some(Json::Float(spec.loss_weight(o)))),
        _ => Json::Null,
    };
    [
        ("loss", per_output_json(outputs, |o| Some(loss_json(spec, o, keras2)))),
        ("loss_weights", loss_weights),
        ("metrics", per_output_json(outputs, |o| list(spec.metrics.get(o)))),
        ("weighted_metrics", per_output_json(outputs, |o| list(spec.weighted_metrics.get(o)))),
    ]
}

/// `model.get_compile_config()` of a model with outputs `outputs`. Losses are given by their
/// canonical Keras names; per-output settings as dicts by output name.
pub fn compile_config_json(spec: &CompileSpec, learning_rate: f64, outputs: &[String]) -> Json {
    let mut c = obj([("optimizer", optimizer_json(&spec.optimizer, learning_rate))]);
    for (k, v) in compile_entries(spec, outputs, false) {
        push(&mut c, k, v);
    }
    push(&mut c, "run_eagerly", Json::Bool(false));
    push(&mut c, "steps_per_execution", Json::Int(1));
    push(&mut c, "jit_compile", Json::Bool(false));
    c
}

/// The model as Keras 3 serializes it in the given style.
pub fn model_json<T: Real>(model: &Model<T>, style: Style) -> Json {
    let spec = &model.spec;
    let functional = spec.class_name == "Functional";
    let config = model_config(spec, model.layers(), style, true);
    match style {
        Style::LegacyH5 => {
            let class = if functional { "Functional" } else { "Sequential" };
            obj([("class_name", Json::s(class)), ("config", config)])
        }
        Style::ToJson => {
            let mut m = if functional {
                keras_object("keras.src.models.functional", "Functional", config, Json::s("Functional"))
            } else {
                keras_object("keras", "Sequential", config, Json::Null)
            };
            let build_shape = if functional { Json::Null } else { batch_shape(&spec.input_shape) };
            push(&mut m, "build_config", obj([("input_shape", build_shape)]));
            if let Some(c) = &model.compiled {
                let cc = compile_config_json(&c.spec, c.optimizer.learning_rate(), model.output_names());
                push(&mut m, "compile_config", cc);
            }
            m
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSpec;
    use crate::rng::Rng;

    fn build(spec: serde_json::Value) -> Model<f32> {
        let spec: ModelSpec = serde_json::from_value(spec).unwrap();
        Model::build(spec, &mut Rng::seed_from(1)).unwrap()
    }

    fn compile(m: &mut Model<f32>, spec: serde_json::Value) {
        m.compile(serde_json::from_value(spec).unwrap()).unwrap();
    }

    /// The model of `keras3-reference/tb_epoch`: its `keras` tag, byte for byte (the
    /// optimizer there was the session's second RMSprop, hence `rm_sprop_1`).
    #[test]
    fn sequential_to_json_matches_keras() {
        let mut m = build(serde_json::json!({
            "name": "sequential_1", "class_name": "Sequential", "input_shape": [4],
            "input_name": "input_layer_1",
            "layers": [
                {"name": "dense_2", "class_name": "Dense", "units": 8, "activation": "relu"},
                {"name": "dense_3", "class_name": "Dense", "units": 1, "activation": "sigmoid"}
            ]
        }));
        compile(
            &mut m,
            serde_json::json!({
                "optimizer": {"name": "rmsprop", "learning_rate": 0.001},
                "loss": "binary_crossentropy", "metrics": ["accuracy"]
            }),
        );
        let want = include_str!("../testdata/keras_tb_epoch_to_json.json").replace("rm_sprop_1", "rm_sprop");
        assert_eq!(model_to_json(&m), want);
    }

    /// `keras3-reference/h5/functional_keras3.h5`'s `model_config` attribute, byte for byte.
    #[test]
    fn functional_h5_config_matches_keras() {
        let m = build(serde_json::json!({
            "name": "functional", "class_name": "Functional", "input_shape": [20],
            "input_name": "input_layer",
            "layers": [
                {"name": "fc_1", "class_name": "Dense", "units": 16, "activation": "relu"},
                {"name": "dropout_1", "class_name": "Dropout", "rate": 0.4},
                {"name": "fc_2", "class_name": "Dense", "units": 8, "activation": "tanh"},
                {"name": "output_layer", "class_name": "Dense", "units": 3, "activation": "softmax"}
            ]
        }));
        let want = include_str!("../testdata/keras_functional_h5_model_config.json");
        assert_eq!(h5_model_config(&m), want);

        // to_json(): the same layers with module/registered_name, build_config on the
        // layers with weights, and the Functional class registered under its own name.
        let j = model_json(&m, Style::ToJson);
        assert_eq!(j.get("module"), Some(&Json::s("keras.src.models.functional")));
        assert_eq!(j.get("registered_name"), Some(&Json::s("Functional")));
        assert_eq!(j.get("build_config"), Some(&obj([("input_shape", Json::Null)])));
        assert_eq!(j.get("compile_config"), None); // not compiled
        let Some(Json::Arr(layers)) = j.get("config").and_then(|c| c.get("layers")) else { panic!() };
        let keys = |e: &Json| match e {
            Json::Obj(kv) => kv.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            _ => vec![],
        };
        assert_eq!(keys(&layers[0]), ["module", "class_name", "config", "registered_name", "name", "inbound_nodes"]);
        assert_eq!(
            keys(&layers[1]),
            ["module", "class_name", "config", "registered_name", "build_config", "name", "inbound_nodes"]
        );
        assert_eq!(keys(&layers[2]), keys(&layers[0])); // dropout: no build_config
        assert_eq!(layers[3].get("build_config").unwrap().to_string(), r#"{"input_shape": [null, 16]}"#);
        let s = j.to_string();
        assert!(s.contains(r#""input_layers": ["input_layer", 0, 0], "output_layers": ["output_layer", 0, 0]}"#));
        // the string parses as JSON
        assert!(serde_json::from_str::<serde_json::Value>(&s).is_ok());
    }

    #[test]
    fn layers_optimizers_and_escapes() {
        let mut m = build(serde_json::json!({
            "name": "m\u{e9}\"x", "class_name": "Sequential", "input_shape": [2, 3],
            "layers": [
                {"name": "flatten", "class_name": "Flatten"},
                {"name": "act", "class_name": "Activation", "activation": "swish"},
                {"name": "d", "class_name": "Dense", "units": 2, "use_bias": false, "trainable": false,
                 "kernel_initializer": {"name": "random_normal", "stddev": 0.5},
                 "bias_initializer": {"name": "constant", "value": 2}}
            ]
        }));
        compile(
            &mut m,
            serde_json::json!({
                "optimizer": {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9, "clipnorm": 1},
                "loss": "mse"
            }),
        );
        let s = model_to_json(&m);
        assert!(s.starts_with(r#"{"module": "keras", "class_name": "Sequential", "config": {"name": "m\u00e9\"x", "#));
        assert!(s.contains(r#""name": "input_layer", "optional": false}, "registered_name": null}, "#));
        assert!(s.contains(r#""name": "flatten", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape": [null, 2, 3]}}"#));
        assert!(s.contains(r#""activation": "silu"}, "registered_name": null}"#));
        assert!(s.contains(r#""trainable": false"#));
        assert!(s.contains(r#""kernel_initializer": {"module": "keras.initializers", "class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.5, "seed": null}, "registered_name": null}"#));
        assert!(s.contains(r#""class_name": "Constant", "config": {"value": 2.0}"#));
        assert!(s.contains(r#""build_config": {"input_shape": [null, 6]}"#)); // dense after flatten
        assert!(s.contains(r#""build_input_shape": [null, 2, 3]}"#));
        assert!(s.contains(r#""class_name": "SGD", "config": {"name": "sgd", "learning_rate": 0.009999999776482582, "weight_decay": null, "clipnorm": 1.0, "#));
        assert!(s.contains(r#""momentum": 0.9, "nesterov": false}"#));
        assert!(s.contains(r#""loss": "mean_squared_error", "loss_weights": null, "metrics": null, "#));
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["config"]["name"], "m\u{e9}\"x");
        assert_eq!(
            Json::Arr(vec![Json::Float(f64::NAN), Json::Float(-f64::INFINITY), Json::Int(-3)]).to_string(),
            "[NaN, -Infinity, -3]"
        );
        assert_eq!(Json::s("\u{1F600}\n\u{1}").to_string(), r#""\ud83d\ude00\n\u0001""#);
    }
}
