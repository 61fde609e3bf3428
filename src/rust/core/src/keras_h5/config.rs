//! Keras model and training configurations (the JSON of an HDF5 file's `model_config` and
//! `training_config` attributes) to rkeras specs, and the Keras 3 `training_config` of a
//! compiled rkeras model.
//!
//! Read: Keras 2 (tf.keras 2.x: `Sequential`, `Functional` and `Model` configs, layers with
//! `batch_input_shape`, functional `inbound_nodes` as `[[["fc_1", 0, 0, {}]]]`) and Keras 3
//! (`batch_shape`, `DTypePolicy` dtypes, `inbound_nodes` as `__keras_tensor__` call
//! arguments). Supported: a chain of `Dense`, `Dropout`, `Activation` and `Flatten` layers
//! from one input; anything else is an error that names the layer.

use crate::activations::Activation;
use crate::init::Initializer;
use crate::keras_json::{compile_config_json, Json};
use crate::layers::{LayerKind, LayerSpec};
use crate::losses::Loss;
use crate::metrics::resolve_metric;
use crate::model::{CompileSpec, LossName, Model, ModelSpec, PerOutput};
use crate::optimizers::OptimizerConfig;
use crate::Real;
use serde_json::{json, Map, Value};

type R<T> = Result<T, String>;

/// The layer classes rkeras builds, for error messages.
pub const SUPPORTED_LAYERS: &str = "Dense, Dropout, Activation, Flatten, InputLayer";

/// Which Keras wrote a file, as far as its semantics differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// Keras 1/2 (tf.keras): `hard_sigmoid` is `clip(0.2 x + 0.5, 0, 1)`.
    Keras2,
    /// Keras 3: `hard_sigmoid` is `relu6(x + 3) / 6`, as in rkeras.
    Keras3,
}

impl Generation {
    /// From the file's `keras_version` attribute (Keras 3 when absent or unparsable).
    pub fn from_version(v: Option<&str>) -> Generation {
        match v.and_then(|s| s.split('.').next()).and_then(|m| m.trim().parse::<u32>().ok()) {
            Some(m) if m < 3 => Generation::Keras2,
            _ => Generation::Keras3,
        }
    }
}

fn parse_json(s: &str, what: &str) -> R<Value> {
    serde_json::from_str(s).map_err(|e| format!("the file's {what} is not valid JSON ({e})"))
}

/// `CamelCase` to `snake_case` (`GlorotUniform` -> `glorot_uniform`).
fn snake_case(s: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = i + 1 < chars.len() && chars[i + 1].is_ascii_lowercase();
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if i > 0 && (prev_lower || (prev_upper && next_lower)) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A Keras class name without `Custom>`/`Legacy>` registration prefixes or a module path.
fn bare_class(s: &str) -> &str {
    let s = s.rsplit('>').next().unwrap_or(s);
    s.rsplit('.').next().unwrap_or(s)
}

fn as_usize(v: &Value) -> Option<usize> {
    v.as_u64().map(|u| u as usize).or_else(|| v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as usize))
}

/// A Keras shape with its batch axis (`[null, 20]`) as a per-sample shape.
fn per_sample_shape(v: &Value, layer: &str) -> R<Vec<usize>> {
    let arr = v.as_array().ok_or_else(|| format!("layer '{layer}': the input shape {v} is not a list"))?;
    if arr.is_empty() {
        return Err(format!("layer '{layer}': the input shape is empty"));
    }
    arr[1..]
        .iter()
        .map(|d| {
            as_usize(d).filter(|d| *d > 0).ok_or_else(|| {
                format!(
                    "layer '{layer}': input shape {v} has an unknown or invalid dimension; rkeras needs fixed sizes"
                )
            })
        })
        .collect()
}

/// The batch input shape a layer config declares, if any (`batch_input_shape` in Keras 2,
/// `batch_shape` in Keras 3, or a per-sample `input_shape`).
fn declared_input_shape(config: &Value, layer: &str) -> R<Option<Vec<usize>>> {
    for key in ["batch_input_shape", "batch_shape"] {
        if let Some(v) = config.get(key).filter(|v| !v.is_null()) {
            return per_sample_shape(v, layer).map(Some);
        }
    }
    if let Some(v) = config.get("input_shape").filter(|v| !v.is_null()) {
        let mut with_batch = vec![Value::Null];
        with_batch.extend(v.as_array().cloned().unwrap_or_default());
        return per_sample_shape(&Value::Array(with_batch), layer).map(Some);
    }
    Ok(None)
}

/// An activation given by name (or, in Keras 3, as a serialized function object).
fn activation(v: Option<&Value>, layer: &str, class: &str, generation: Generation) -> R<Activation> {
    let name = match v {
        None | Some(Value::Null) => "linear".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(o @ Value::Object(_)) => o
            .get("config")
            .and_then(|c| c.as_str().or_else(|| c.get("name").and_then(Value::as_str)))
            .or_else(|| o.get("class_name").and_then(Value::as_str))
            .map(|s| snake_case(bare_class(s)))
            .ok_or_else(|| format!("layer '{layer}' ({class}): activation {o} is not supported by rkeras"))?,
        Some(other) => return Err(format!("layer '{layer}' ({class}): activation {other} is not supported by rkeras")),
    };
    let act = Activation::from_name(&name).map_err(|e| format!("layer '{layer}' ({class}): {e}"))?;
    if act == Activation::HardSigmoid && generation == Generation::Keras2 {
        return Err(format!(
            "layer '{layer}' ({class}): Keras 2's hard_sigmoid (clip(0.2 * x + 0.5, 0, 1)) is not the Keras 3 \
             hard_sigmoid rkeras implements (relu6(x + 3) / 6)"
        ));
    }
    Ok(act)
}

/// A Keras initializer (a name, or `{"class_name", "config"}`). Unknown ones fall back to
/// `fallback` with a warning: they only matter if the weights are ever drawn afresh.
fn initializer(
    v: Option<&Value>,
    what: &str,
    layer: &str,
    fallback: Initializer,
    warnings: &mut Vec<String>,
) -> Initializer {
    let (class, config) = match v {
        None | Some(Value::Null) => return fallback,
        Some(Value::String(s)) => (s.clone(), Value::Object(Map::new())),
        Some(o) => (
            o.get("class_name").and_then(Value::as_str).unwrap_or("").to_string(),
            o.get("config").cloned().unwrap_or(Value::Object(Map::new())),
        ),
    };
    let name = snake_case(bare_class(&class));
    let num = |k: &str| config.get(k).and_then(Value::as_f64);
    let mut spec = Map::new();
    spec.insert("name".into(), Value::String(name.clone()));
    match name.as_str() {
        "constant" => {
            spec.insert("value".into(), json!(num("value").unwrap_or(0.0)));
        }
        "random_normal" | "truncated_normal" => {
            spec.insert("mean".into(), json!(num("mean").unwrap_or(0.0)));
            spec.insert("stddev".into(), json!(num("stddev").unwrap_or(0.05)));
        }
        "random_uniform" => {
            spec.insert("minval".into(), json!(num("minval").unwrap_or(-0.05)));
            spec.insert("maxval".into(), json!(num("maxval").unwrap_or(0.05)));
        }
        _ => {}
    }
    serde_json::from_value(Value::Object(spec)).unwrap_or_else(|_| {
        warnings.push(format!(
            "layer '{layer}': {what} {class} is not supported by rkeras; {} is used if the weights are ever \
             initialized afresh",
            match fallback {
                Initializer::Zeros => "zeros",
                _ => "glorot_uniform",
            }
        ));
        fallback
    })
}

fn require_null(config: &Value, keys: &[&str], layer: &str, class: &str) -> R<()> {
    for k in keys {
        match config.get(*k) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_f64() == Some(0.0) => {} // lora_rank: 0
            Some(v) => {
                return Err(format!("layer '{layer}' ({class}): {k} = {v} is not supported by rkeras"));
            }
        }
    }
    Ok(())
}

/// One Keras layer entry `{"class_name", "config", ...}` as an rkeras layer spec.
fn layer_spec(entry: &Value, generation: Generation, warnings: &mut Vec<String>) -> R<LayerSpec> {
    let class = bare_class(entry.get("class_name").and_then(Value::as_str).unwrap_or("?"));
    let config = entry.get("config").cloned().unwrap_or(Value::Null);
    let name = config
        .get("name")
        .or_else(|| entry.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a {class} layer in the model config has no name"))?
        .to_string();
    let trainable = config.get("trainable").and_then(Value::as_bool).unwrap_or(true);
    let kind = match class {
        "Dense" => {
            require_null(
                &config,
                &[
                    "kernel_regularizer",
                    "bias_regularizer",
                    "activity_regularizer",
                    "kernel_constraint",
                    "bias_constraint",
                    "lora_rank",
                    "quantization_config",
                ],
                &name,
                class,
            )?;
            let units = config
                .get("units")
                .and_then(as_usize)
                .filter(|u| *u > 0)
                .ok_or_else(|| format!("layer '{name}' (Dense): `units` is missing or not a positive integer"))?;
            LayerKind::Dense {
                units,
                activation: activation(config.get("activation"), &name, class, generation)?,
                use_bias: config.get("use_bias").and_then(Value::as_bool).unwrap_or(true),
                kernel_initializer: initializer(
                    config.get("kernel_initializer"),
                    "kernel_initializer",
                    &name,
                    Initializer::GlorotUniform,
                    warnings,
                ),
                bias_initializer: initializer(
                    config.get("bias_initializer"),
                    "bias_initializer",
                    &name,
                    Initializer::Zeros,
                    warnings,
                ),
            }
        }
        "Dropout" => {
            require_null(&config, &["noise_shape"], &name, class)?;
            let rate = config
                .get("rate")
                .and_then(Value::as_f64)
                .filter(|r| (0.0..1.0).contains(r))
                .ok_or_else(|| format!("layer '{name}' (Dropout): `rate` is missing or not in [0, 1)"))?;
            LayerKind::Dropout { rate }
        }
        "Activation" => {
            LayerKind::Activation { activation: activation(config.get("activation"), &name, class, generation)? }
        }
        "Flatten" => {
            if config.get("data_format").and_then(Value::as_str) == Some("channels_first") {
                return Err(format!(
                    "layer '{name}' (Flatten): data_format = \"channels_first\" is not supported by rkeras"
                ));
            }
            LayerKind::Flatten {}
        }
        _ => {
            return Err(format!(
                "layer '{name}' ({class}) is not supported by rkeras (supported layers: {SUPPORTED_LAYERS})"
            ))
        }
    };
    Ok(LayerSpec { name, trainable, kind })
}

/// `[name, 0, 0]` (Keras 3, one tensor) or `[[name, 0, 0], ...]` (Keras 2) as layer names.
fn io_layer_names(v: Option<&Value>) -> Vec<String> {
    match v.and_then(Value::as_array) {
        Some(a) if a.first().is_some_and(Value::is_string) => vec![a[0].as_str().unwrap().to_string()],
        Some(a) => a
            .iter()
            .filter_map(|t| t.as_array().and_then(|t| t.first()).and_then(Value::as_str).map(str::to_string))
            .collect(),
        None => vec![],
    }
}

/// Names of the layers whose outputs a Keras 3 call argument references.
fn keras_history_names(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) if o.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") => {
            if let Some(n) =
                o.get("config").and_then(|c| c.get("keras_history")).and_then(|h| h.get(0)).and_then(Value::as_str)
            {
                out.push(n.to_string());
            }
        }
        Value::Object(o) => o.values().for_each(|x| keras_history_names(x, out)),
        Value::Array(a) => a.iter().for_each(|x| keras_history_names(x, out)),
        _ => {}
    }
}

/// For each call of a functional layer (node), the names of the layers feeding it.
fn inbound_nodes(entry: &Value) -> Vec<Vec<String>> {
    let Some(nodes) = entry.get("inbound_nodes").and_then(Value::as_array) else { return vec![] };
    nodes
        .iter()
        .map(|node| {
            let mut names = Vec::new();
            match node {
                // Keras 2: [["fc_1", 0, 0, {}], ...]
                Value::Array(inputs) => {
                    for i in inputs {
                        if let Some(n) = i.get(0).and_then(Value::as_str) {
                            names.push(n.to_string());
                        }
                    }
                }
                // Keras 3: {"args": [...], "kwargs": {...}}
                Value::Object(o) => keras_history_names(o.get("args").unwrap_or(&Value::Null), &mut names),
                _ => {}
            }
            names
        })
        .collect()
}

/// A Keras model config (the `model_config` attribute, or `model.to_json()`) as an rkeras
/// model spec. Warnings (ignored settings) are appended to `warnings`.
pub fn model_spec(model_config: &str, generation: Generation, warnings: &mut Vec<String>) -> R<ModelSpec> {
    let v = parse_json(model_config, "model_config")?;
    let class = v.get("class_name").and_then(Value::as_str).unwrap_or("?");
    let config = v.get("config").ok_or("the file's model_config has no `config`")?;
    match bare_class(class) {
        "Sequential" => sequential_spec(config, generation, warnings),
        "Functional" | "Model" => functional_spec(config, generation, warnings),
        other => Err(format!("model class '{other}' is not supported by rkeras (Sequential and Functional are)")),
    }
}

fn sequential_spec(config: &Value, generation: Generation, warnings: &mut Vec<String>) -> R<ModelSpec> {
    // Keras <= 2.2 wrote the layer list itself as the config.
    let (name, layers) = match config {
        Value::Array(a) => ("sequential".to_string(), a.clone()),
        _ => (
            config.get("name").and_then(Value::as_str).unwrap_or("sequential").to_string(),
            config
                .get("layers")
                .and_then(Value::as_array)
                .cloned()
                .ok_or("the Sequential model config has no layers")?,
        ),
    };
    let mut input_shape = None;
    let mut input_name = None;
    let mut specs = Vec::new();
    for (i, entry) in layers.iter().enumerate() {
        let class = bare_class(entry.get("class_name").and_then(Value::as_str).unwrap_or(""));
        let lconfig = entry.get("config").cloned().unwrap_or(Value::Null);
        let lname = lconfig.get("name").and_then(Value::as_str).unwrap_or("?").to_string();
        if class == "InputLayer" {
            if i != 0 {
                return Err(format!("layer '{lname}' (InputLayer) must come first in a Sequential model"));
            }
            input_shape = declared_input_shape(&lconfig, &lname)?;
            // rkeras' own Sequential models have no input name and are written with
            // Keras 3's default one; keep any other.
            input_name = (lname != "input_layer").then_some(lname);
            continue;
        }
        if specs.is_empty() && input_shape.is_none() {
            input_shape = declared_input_shape(&lconfig, &lname)?;
        }
        specs.push(layer_spec(entry, generation, warnings)?);
    }
    if input_shape.is_none() {
        if let Some(b) = config.get("build_input_shape").filter(|b| !b.is_null()) {
            input_shape = Some(per_sample_shape(b, &name)?);
        }
    }
    let input_shape =
        input_shape.ok_or_else(|| format!("model '{name}' has no input shape in its config (it was never built)"))?;
    if specs.is_empty() {
        return Err(format!("model '{name}' has no layers"));
    }
    Ok(ModelSpec::chain(&name, "Sequential", input_shape, input_name, specs))
}

fn functional_spec(config: &Value, generation: Generation, warnings: &mut Vec<String>) -> R<ModelSpec> {
    let name = config.get("name").and_then(Value::as_str).unwrap_or("model").to_string();
    let layers = config.get("layers").and_then(Value::as_array).ok_or("the functional model config has no layers")?;
    let inputs = io_layer_names(config.get("input_layers"));
    let outputs = io_layer_names(config.get("output_layers"));
    if inputs.len() != 1 || outputs.len() != 1 {
        return Err(format!(
            "model '{name}' has {} inputs and {} outputs; rkeras supports chains of layers from one input to one output",
            inputs.len(),
            outputs.len()
        ));
    }
    let entry_name = |e: &Value| -> String {
        e.get("name")
            .or_else(|| e.get("config").and_then(|c| c.get("name")))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let find = |n: &str| layers.iter().find(|e| entry_name(e) == n);
    // Walk back from the output to the input: every layer on the way has one call with one input.
    let mut chain: Vec<&Value> = Vec::new();
    let mut cur = outputs[0].clone();
    while cur != inputs[0] {
        let e = find(&cur).ok_or_else(|| format!("model '{name}': layer '{cur}' is referenced but not defined"))?;
        let class = bare_class(e.get("class_name").and_then(Value::as_str).unwrap_or("?"));
        let nodes = inbound_nodes(e);
        if nodes.len() != 1 || nodes[0].len() != 1 {
            if !matches!(class, "Dense" | "Dropout" | "Activation" | "Flatten" | "InputLayer") {
                return Err(format!(
                    "layer '{cur}' ({class}) is not supported by rkeras (supported layers: {SUPPORTED_LAYERS})"
                ));
            }
            return Err(format!(
                "layer '{cur}' ({class}) is called {} time(s) on {} input(s); rkeras supports chains of layers \
                 (one call, one input each)",
                nodes.len(),
                nodes.first().map_or(0, Vec::len)
            ));
        }
        chain.push(e);
        if chain.len() > layers.len() {
            return Err(format!("model '{name}': the layer graph has a cycle"));
        }
        cur = nodes[0][0].clone();
    }
    let input_entry =
        find(&inputs[0]).ok_or_else(|| format!("model '{name}': input layer '{}' is not defined", inputs[0]))?;
    let iclass = bare_class(input_entry.get("class_name").and_then(Value::as_str).unwrap_or("?"));
    if iclass != "InputLayer" {
        return Err(format!("layer '{}' ({iclass}) is not an input layer", inputs[0]));
    }
    let iconfig = input_entry.get("config").cloned().unwrap_or(Value::Null);
    let input_shape = declared_input_shape(&iconfig, &inputs[0])?
        .ok_or_else(|| format!("input layer '{}' has no shape", inputs[0]))?;
    let on_path: std::collections::HashSet<String> =
        chain.iter().map(|e| entry_name(e)).chain(std::iter::once(inputs[0].clone())).collect();
    if let Some(extra) = layers.iter().map(entry_name).find(|n| !on_path.contains(n)) {
        let e = find(&extra).unwrap();
        let class = bare_class(e.get("class_name").and_then(Value::as_str).unwrap_or("?"));
        return Err(format!(
            "layer '{extra}' ({class}) is not on the path from input '{}' to output '{}'; rkeras supports chains of \
             layers from one input",
            inputs[0], outputs[0]
        ));
    }
    let specs = chain.iter().rev().map(|e| layer_spec(e, generation, warnings)).collect::<R<Vec<_>>>()?;
    Ok(ModelSpec::chain(&name, "Functional", input_shape, Some(inputs[0].clone()), specs))
}

// ---------------------------------------------------------------------------------------
// training_config
// ---------------------------------------------------------------------------------------

/// The loss and whether it takes logits (`from_logits`).
fn loss_from(v: &Value) -> R<(Loss, bool)> {
    match v {
        Value::String(s) => Loss::from_name(s).map(|l| (l, false)),
        Value::Object(o) => {
            let config = o.get("config");
            let from_logits = config.and_then(|c| c.get("from_logits")).and_then(Value::as_bool) == Some(true);
            let class = o.get("class_name").and_then(Value::as_str).ok_or("the loss has no class_name")?;
            // a function serialized as an object (Keras 3), or a loss class
            let name = match config {
                Some(Value::String(s)) => s.clone(),
                _ => snake_case(bare_class(class)),
            };
            let loss = Loss::from_name(&name).or_else(|e| {
                let alt = name.replace("kullback_leibler_divergence", "kl_divergence");
                Loss::from_name(&alt).map_err(|_| e)
            })?;
            if from_logits && crate::losses::logits::LogitsLoss::of(loss).is_none() {
                return Err(format!("loss '{name}' with from_logits = TRUE is not supported by rkeras"));
            }
            Ok((loss, from_logits))
        }
        Value::Array(_) => Err("models with several losses (outputs) are not supported by rkeras".into()),
        other => Err(format!("loss {other} is not supported by rkeras")),
    }
}

/// Metric names from Keras 3 (`["accuracy"]`) and Keras 2 (`[[{"class_name":
/// "MeanMetricWrapper", "config": {"name": "accuracy", ...}}]]`) forms.
fn metric_names(v: &Value, out: &mut Vec<String>, warnings: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|m| metric_names(m, out, warnings)),
        Value::Object(o) => {
            let name = o
                .get("config")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| o.get("class_name").and_then(Value::as_str).map(|c| snake_case(bare_class(c))));
            match name {
                Some(n) => out.push(n),
                None => warnings.push(format!("metric {v} is not supported by rkeras and was dropped")),
            }
        }
        _ => {}
    }
}

/// A Keras optimizer config `{"class_name", "config"}` as an rkeras optimizer config.
pub fn optimizer_config(v: &Value, warnings: &mut Vec<String>) -> R<OptimizerConfig> {
    let class = v.get("class_name").and_then(Value::as_str).ok_or("the optimizer config has no class_name")?;
    let class = bare_class(class).to_ascii_lowercase();
    let c = v.get("config").cloned().unwrap_or(Value::Object(Map::new()));
    let lr = c.get("learning_rate").or_else(|| c.get("lr")).cloned().unwrap_or(Value::Null);
    let (learning_rate, decay) = match &lr {
        Value::Number(n) => (n.as_f64().unwrap_or(0.001), c.get("decay").and_then(Value::as_f64).unwrap_or(0.0)),
        Value::Object(s) => {
            // lr / (1 + decay * t): InverseTimeDecay with decay_steps = 1 is the legacy decay
            let sc = s.get("config").cloned().unwrap_or(Value::Null);
            let cls = s.get("class_name").and_then(Value::as_str).map(bare_class);
            let f = |k: &str| sc.get(k).and_then(Value::as_f64);
            match (cls, f("initial_learning_rate"), f("decay_steps"), f("decay_rate")) {
                (Some("InverseTimeDecay"), Some(lr0), Some(steps), Some(rate))
                    if steps == 1.0 && sc.get("staircase").and_then(Value::as_bool) != Some(true) =>
                {
                    (lr0, rate)
                }
                _ => return Err(format!("learning-rate schedule {} is not supported by rkeras", cls.unwrap_or("?"))),
            }
        }
        Value::Null => (0.001, 0.0),
        other => return Err(format!("learning_rate {other} is not supported by rkeras")),
    };
    let (name, keys): (&str, &[&str]) = match class.as_str() {
        "sgd" => ("sgd", &["momentum", "nesterov"]),
        "rmsprop" => ("rmsprop", &["rho", "momentum", "epsilon", "centered"]),
        "adam" | "adamw" => ("adam", &["beta_1", "beta_2", "epsilon", "amsgrad"]),
        "adagrad" => ("adagrad", &["initial_accumulator_value", "epsilon"]),
        "adadelta" => ("adadelta", &["rho", "epsilon"]),
        "adamax" => ("adamax", &["beta_1", "beta_2", "epsilon"]),
        "nadam" => ("nadam", &["beta_1", "beta_2", "epsilon"]),
        _ => return Err(format!("optimizer '{class}' is not supported by rkeras")),
    };
    let mut spec = Map::new();
    spec.insert("name".into(), json!(name));
    for k in keys {
        if let Some(x) = c.get(*k).filter(|x| !x.is_null()) {
            spec.insert((*k).into(), x.clone());
        }
    }
    spec.insert("learning_rate".into(), json!(learning_rate));
    spec.insert("decay".into(), json!(decay));
    for k in ["clipnorm", "clipvalue", "global_clipnorm", "weight_decay"] {
        if let Some(x) = c.get(k).and_then(Value::as_f64) {
            spec.insert(k.into(), json!(x));
        }
    }
    if c.get("use_ema").and_then(Value::as_bool) == Some(true) {
        warnings.push("the optimizer's use_ema = TRUE is not supported by rkeras and was dropped".into());
    }
    let cfg: OptimizerConfig =
        serde_json::from_value(Value::Object(spec)).map_err(|e| format!("optimizer '{class}': {e}"))?;
    cfg.validate()?;
    Ok(cfg)
}

/// A Keras `training_config` as an rkeras compile spec.
pub fn compile_spec(training_config: &str, warnings: &mut Vec<String>) -> R<CompileSpec> {
    let v = parse_json(training_config, "training_config")?;
    let (loss, from_logits) = loss_from(v.get("loss").unwrap_or(&Value::Null))?;
    let read = |key: &str, warnings: &mut Vec<String>| {
        let mut metrics = Vec::new();
        metric_names(v.get(key).unwrap_or(&Value::Null), &mut metrics, warnings);
        metrics.retain(|m| {
            let ok = resolve_metric(m, 2, 2).is_ok();
            if !ok {
                warnings.push(format!("metric '{m}' is not supported by rkeras and was dropped"));
            }
            ok
        });
        metrics.dedup();
        metrics
    };
    let metrics = read("metrics", warnings);
    let weighted_metrics = read("weighted_metrics", warnings);
    for k in ["loss_weights"] {
        if v.get(k).is_some_and(|x| !x.is_null() && x.as_array().is_none_or(|a| !a.is_empty())) {
            warnings.push(format!("the training config's {k} is not supported by rkeras and was dropped"));
        }
    }
    let opt = v.get("optimizer_config").ok_or("the training config has no optimizer_config")?;
    let optimizer = optimizer_config(opt, warnings)?;
    Ok(CompileSpec {
        optimizer,
        loss: PerOutput::All(LossName(loss)),
        metrics: PerOutput::All(metrics),
        weighted_metrics: PerOutput::All(weighted_metrics),
        from_logits: PerOutput::All(from_logits),
        loss_weights: None,
    })
}

/// The `training_config` Keras 3 writes for a compiled model: its compile config without
/// the optimizer object, then `optimizer_config` as `{"class_name", "config"}`.
pub fn training_config_json<T: Real>(model: &Model<T>) -> Option<String> {
    let c = model.compiled.as_ref()?;
    let Json::Obj(kv) = compile_config_json(&c.spec, c.optimizer.learning_rate()) else { return None };
    let mut out = Vec::new();
    let mut opt = None;
    for (k, v) in kv {
        if k == "optimizer" {
            opt = Some(v);
        } else {
            out.push((k, v));
        }
    }
    let opt = opt?;
    let pick = |k: &str| opt.get(k).cloned().unwrap_or(Json::Null);
    out.push((
        "optimizer_config".into(),
        Json::Obj(vec![("class_name".into(), pick("class_name")), ("config".into(), pick("config"))]),
    ));
    Some(Json::Obj(out).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_keras() {
        assert_eq!(snake_case("GlorotUniform"), "glorot_uniform");
        assert_eq!(snake_case("RMSprop"), "rm_sprop");
        assert_eq!(snake_case("CategoricalCrossentropy"), "categorical_crossentropy");
        assert_eq!(snake_case("KLDivergence"), "kl_divergence");
        assert_eq!(bare_class("Custom>Adam"), "Adam");
        assert_eq!(bare_class("keras.optimizers.SGD"), "SGD");
    }

    #[test]
    fn generation_from_version() {
        assert_eq!(Generation::from_version(Some("2.12.0")), Generation::Keras2);
        assert_eq!(Generation::from_version(Some("3.15.1")), Generation::Keras3);
        assert_eq!(Generation::from_version(None), Generation::Keras3);
        assert_eq!(Generation::from_version(Some("junk")), Generation::Keras3);
    }

    #[test]
    fn sequential_keras2_without_input_layer_and_old_list_form() {
        let mut w = vec![];
        let cfg = r#"{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "d",
            "batch_input_shape": [null, 3], "units": 2, "activation": "relu",
            "kernel_initializer": {"class_name": "VarianceScaling", "config": {"scale": 1.0}},
            "bias_initializer": "zeros"}},
            {"class_name": "Activation", "config": {"name": "a", "activation": "softmax", "trainable": false}}]}"#;
        let s = model_spec(cfg, Generation::Keras2, &mut w).unwrap();
        assert_eq!(s.input_shape, vec![3]);
        assert_eq!(s.layers.len(), 2);
        assert!(!s.layers[1].trainable);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("VarianceScaling"));
    }

    #[test]
    fn unsupported_layers_and_settings_are_named() {
        let mut w = vec![];
        let cfg = r#"{"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 8, 8, 1], "name": "in"}},
            {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 2}}]}}"#;
        let e = model_spec(cfg, Generation::Keras2, &mut w).unwrap_err();
        assert!(e.starts_with("layer 'conv2d' (Conv2D) is not supported by rkeras"), "{e}");
        let cfg = r#"{"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [null, 2],
             "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}}}]}}"#;
        let e = model_spec(cfg, Generation::Keras3, &mut w).unwrap_err();
        assert!(e.contains("layer 'd' (Dense): kernel_regularizer"), "{e}");
        let cfg = r#"{"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "Dense", "config": {"name": "d", "units": 2, "batch_input_shape": [null, null],
             "activation": "hard_sigmoid"}}]}}"#;
        assert!(model_spec(cfg, Generation::Keras2, &mut w).unwrap_err().contains("unknown or invalid dimension"));
        let cfg = cfg.replace("null, null", "null, 4");
        assert!(model_spec(&cfg, Generation::Keras2, &mut w).unwrap_err().contains("hard_sigmoid"));
        assert!(model_spec(&cfg, Generation::Keras3, &mut w).is_ok());
        assert!(model_spec(r#"{"class_name": "Bogus", "config": {}}"#, Generation::Keras3, &mut w).is_err());
        assert!(model_spec("{", Generation::Keras3, &mut w).unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn functional_graphs_that_are_not_chains() {
        let mut w = vec![];
        // fc_2 takes two inputs (Keras 2 node form), e.g. an Add layer
        let cfg = r#"{"class_name": "Functional", "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "x"}, "name": "x", "inbound_nodes": []},
            {"class_name": "Dense", "config": {"name": "a", "units": 4}, "name": "a", "inbound_nodes": [[["x", 0, 0, {}]]]},
            {"class_name": "Add", "config": {"name": "add"}, "name": "add", "inbound_nodes": [[["a", 0, 0, {}], ["x", 0, 0, {}]]]}],
            "input_layers": [["x", 0, 0]], "output_layers": [["add", 0, 0]]}}"#;
        let e = model_spec(cfg, Generation::Keras2, &mut w).unwrap_err();
        assert!(e.starts_with("layer 'add' (Add) is not supported by rkeras"), "{e}");
        // a dangling Dense layer
        let cfg = r#"{"class_name": "Functional", "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "x"}, "name": "x", "inbound_nodes": []},
            {"class_name": "Dense", "config": {"name": "a", "units": 4}, "name": "a", "inbound_nodes": [[["x", 0, 0, {}]]]},
            {"class_name": "Dense", "config": {"name": "b", "units": 4}, "name": "b", "inbound_nodes": [[["x", 0, 0, {}]]]}],
            "input_layers": [["x", 0, 0]], "output_layers": [["a", 0, 0]]}}"#;
        assert!(model_spec(cfg, Generation::Keras2, &mut w)
            .unwrap_err()
            .contains("layer 'b' (Dense) is not on the path"));
        // two inputs
        let cfg = cfg.replace(r#""input_layers": [["x", 0, 0]]"#, r#""input_layers": [["x", 0, 0], ["y", 0, 0]]"#);
        assert!(model_spec(&cfg, Generation::Keras2, &mut w).unwrap_err().contains("2 inputs"));
    }

    #[test]
    fn training_configs() {
        let mut w = vec![];
        let k2 = r#"{"loss": "categorical_crossentropy", "metrics": [[{"class_name": "MeanMetricWrapper",
            "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}]],
            "weighted_metrics": null, "loss_weights": null, "optimizer_config": {"class_name": "Custom>Adam",
            "config": {"name": "Adam", "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999,
            "epsilon": 1e-07, "amsgrad": false, "is_legacy_optimizer": false, "jit_compile": false}}}"#;
        let c = compile_spec(k2, &mut w).unwrap();
        assert_eq!(c.loss_of(0), Loss::CategoricalCrossentropy);
        assert_eq!(*c.metrics.first(), vec!["accuracy"]);
        assert_eq!(c.optimizer.name(), "adam");
        assert!(w.is_empty(), "{w:?}");
        // legacy Keras 2 optimizer with lr and decay; a loss object; an unknown metric
        let legacy = r#"{"loss": {"class_name": "MeanSquaredError", "config": {"reduction": "auto", "name": "mse"}},
            "metrics": ["mae", "bogus_metric"], "optimizer_config": {"class_name": "SGD",
            "config": {"name": "SGD", "lr": 0.1, "decay": 0.01, "momentum": 0.9, "nesterov": true}}}"#;
        let c = compile_spec(legacy, &mut w).unwrap();
        assert_eq!(c.loss_of(0), Loss::MeanSquaredError);
        assert_eq!(*c.metrics.first(), vec!["mae"]);
        assert_eq!(c.optimizer.learning_rate, 0.1);
        assert_eq!(c.optimizer.decay, 0.01);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("bogus_metric"));
        let e =
            compile_spec(&legacy.replace("\"class_name\": \"SGD\"", "\"class_name\": \"Ftrl\""), &mut w).unwrap_err();
        assert!(e.contains("optimizer 'ftrl' is not supported"), "{e}");
        let logits = r#"{"loss": {"class_name": "CategoricalCrossentropy", "config": {"from_logits": true}},
            "optimizer_config": {"class_name": "Adam", "config": {}}}"#;
        let c = compile_spec(logits, &mut w).unwrap();
        assert!(*c.from_logits.first() && c.loss_of(0) == Loss::CategoricalCrossentropy);
        let hinge = logits.replace("CategoricalCrossentropy", "Hinge");
        assert!(compile_spec(&hinge, &mut w).unwrap_err().contains("from_logits"));
        // what rkeras writes for a from-logits loss reads back the same (Keras 3 and 2 forms)
        for keras2 in [false, true] {
            let written = crate::keras_json::loss_json(&c, keras2).to_string();
            let tc = format!(r#"{{"loss": {written}, "optimizer_config": {{"class_name": "Adam", "config": {{}}}}}}"#);
            assert_eq!(compile_spec(&tc, &mut w).unwrap(), c, "{tc}");
        }
    }
}
