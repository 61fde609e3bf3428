//! Keras model and training configurations (the JSON of an HDF5 file's `model_config` and
//! `training_config` attributes) to rkeras specs, and the Keras 3 `training_config` of a
//! compiled rkeras model.
//!
//! Read: Keras 2 (tf.keras 2.x: `Sequential`, `Functional` and `Model` configs, layers with
//! `batch_input_shape`, functional `inbound_nodes` as `[[["fc_1", 0, 0, {}]]]`) and Keras 3
//! (`batch_shape`, `DTypePolicy` dtypes, `inbound_nodes` as `__keras_tensor__` call
//! arguments). Functional configs become graph specs (see `functional.rs`: several inputs and
//! outputs, shared layers, merge and shape layers, models used as layers); Sequential ones
//! chains. Per-output training configs (dicts by output name or lists) become per-output
//! compile specs. A layer rkeras does not have is an error that names it.

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

pub use crate::layers::SUPPORTED_LAYERS;

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
pub(super) fn bare_class(s: &str) -> &str {
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
pub(super) fn declared_input_shape(config: &Value, layer: &str) -> R<Option<Vec<usize>>> {
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
        "orthogonal" | "identity" => {
            spec.insert("gain".into(), json!(num("gain").unwrap_or(1.0)));
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
pub(super) fn layer_spec(entry: &Value, generation: Generation, warnings: &mut Vec<String>) -> R<LayerSpec> {
    let class = bare_class(entry.get("class_name").and_then(Value::as_str).unwrap_or("?"));
    if super::functional::is_model_class(class) {
        return nested_layer_spec(entry, generation, warnings);
    }
    let config = entry.get("config").cloned().unwrap_or(Value::Null);
    let name = config
        .get("name")
        .or_else(|| entry.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("a {class} layer in the model config has no name"))?
        .to_string();
    let trainable = config.get("trainable").and_then(Value::as_bool).unwrap_or(true);
    let mut c = KerasLayerConfig { config: &config, name: &name, class, generation, warnings };
    let kind = LayerKind::from_keras(class, &mut c).unwrap_or_else(|| {
        Err(format!("layer '{name}' ({class}) is not supported by rkeras (supported layers: {SUPPORTED_LAYERS})"))
    })?;
    Ok(LayerSpec { name, trainable, kind })
}

/// A Keras layer's config as a layer kind reads it (see [`crate::layers::LayerDef::from_keras`]).
pub struct KerasLayerConfig<'a> {
    /// The layer's `config` object.
    pub config: &'a Value,
    /// The layer's name, for errors.
    pub name: &'a str,
    /// The layer's class (without module), for errors.
    pub class: &'a str,
    pub generation: Generation,
    /// Where ignored settings are reported.
    pub warnings: &'a mut Vec<String>,
}

impl KerasLayerConfig<'_> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.config.get(key)
    }

    /// A boolean argument, `default` when absent or not a boolean.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    /// A non-negative integer argument, if present and one.
    pub fn usize_arg(&self, key: &str) -> Option<usize> {
        self.get(key).and_then(as_usize)
    }

    /// An error unless each of `keys` is absent, null (or 0).
    pub fn require_null(&self, keys: &[&str]) -> R<()> {
        require_null(self.config, keys, self.name, self.class)
    }

    /// The activation under `key` (linear when absent).
    pub fn activation(&self, key: &str) -> R<Activation> {
        activation(self.get(key), self.name, self.class, self.generation)
    }

    /// The initializer under `key`; `fallback` (with a warning) for one rkeras lacks.
    pub fn initializer(&mut self, key: &str, fallback: Initializer) -> Initializer {
        initializer(self.config.get(key), key, self.name, fallback, self.warnings)
    }

    /// An optional integer argument.
    pub fn int_arg(&self, key: &str) -> R<Option<i64>> {
        int_arg(self.config, key, self.name, self.class)
    }

    /// A list of integers argument.
    pub fn int_list(&self, key: &str) -> R<Vec<i64>> {
        int_list(self.config, key, self.name, self.class)
    }

    /// A layer given as an argument (`TimeDistributed`'s `layer`): a Keras layer entry
    /// `{"class_name", "config", ...}` read as a layer spec.
    pub fn layer(&mut self, key: &str) -> R<LayerSpec> {
        let entry = self
            .config
            .get(key)
            .filter(|v| v.is_object())
            .ok_or_else(|| format!("layer '{}' ({}): `{key}` is missing or not a layer", self.name, self.class))?;
        layer_spec(entry, self.generation, self.warnings)
            .map_err(|e| format!("layer '{}' ({}): {e}", self.name, self.class))
    }
}

/// An optional integer argument of a layer config.
fn int_arg(config: &Value, key: &str, layer: &str, class: &str) -> R<Option<i64>> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            v.as_i64().map(Some).ok_or_else(|| format!("layer '{layer}' ({class}): {key} = {v} is not an integer"))
        }
    }
}

/// A list of integers argument of a layer config.
fn int_list(config: &Value, key: &str, layer: &str, class: &str) -> R<Vec<i64>> {
    let bad = || {
        format!(
            "layer '{layer}' ({class}): {key} = {} is not a list of integers",
            config.get(key).unwrap_or(&Value::Null)
        )
    };
    config.get(key).and_then(Value::as_array).ok_or_else(bad)?.iter().map(|v| v.as_i64().ok_or_else(bad)).collect()
}

/// A Keras model config (the `model_config` attribute, or `model.to_json()`) as an rkeras
/// model spec. Warnings (ignored settings) are appended to `warnings`.
pub fn model_spec(model_config: &str, generation: Generation, warnings: &mut Vec<String>) -> R<ModelSpec> {
    let v = parse_json(model_config, "model_config")?;
    model_spec_of(&v, generation, warnings)
}

/// A model entry `{"class_name", "config"}` (the whole `model_config`, or a model used as a
/// layer of another) as an rkeras model spec.
fn model_spec_of(v: &Value, generation: Generation, warnings: &mut Vec<String>) -> R<ModelSpec> {
    let class = v.get("class_name").and_then(Value::as_str).unwrap_or("?");
    let config = v.get("config").ok_or("the file's model_config has no `config`")?;
    match bare_class(class) {
        "Sequential" => sequential_spec(config, generation, warnings),
        "Functional" | "Model" => {
            // the graph layout, as keras_model() makes it (GRAPH-CONTRACT.md), chains included
            super::functional::functional_spec(config, generation, warnings)
        }
        other => Err(format!("model class '{other}' is not supported by rkeras (Sequential and Functional are)")),
    }
}

/// A model used as a layer of a functional model: its own spec, nested.
fn nested_layer_spec(entry: &Value, generation: Generation, warnings: &mut Vec<String>) -> R<LayerSpec> {
    let inner = model_spec_of(entry, generation, warnings)?;
    let config = entry.get("config");
    let name = entry
        .get("name")
        .or_else(|| config.and_then(|c| c.get("name")))
        .and_then(Value::as_str)
        .map_or_else(|| inner.name.clone(), str::to_string);
    let trainable = config.and_then(|c| c.get("trainable")).and_then(Value::as_bool).unwrap_or(true);
    let model = Box::new(inner);
    let kind = match bare_class(entry.get("class_name").and_then(Value::as_str).unwrap_or("?")) {
        "Sequential" => LayerKind::Sequential { model },
        _ => LayerKind::Functional { model },
    };
    Ok(LayerSpec { name, trainable, kind })
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
        Value::Array(_) => Err("a list of losses does not match the model's outputs".into()),
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
pub fn compile_spec(training_config: &str, outputs: &[String], warnings: &mut Vec<String>) -> R<CompileSpec> {
    let v = parse_json(training_config, "training_config")?;
    let per_loss = per_output(v.get("loss").unwrap_or(&Value::Null), outputs, "loss")?;
    let (loss, from_logits) = match per_loss {
        PerOutput::All(l) => {
            let (loss, logits) = loss_from(l)?;
            (PerOutput::All(LossName(loss)), PerOutput::All(logits))
        }
        PerOutput::Each(ls) => {
            let ls = ls.into_iter().map(loss_from).collect::<R<Vec<_>>>()?;
            (
                PerOutput::Each(ls.iter().map(|l| LossName(l.0)).collect()),
                PerOutput::Each(ls.iter().map(|l| l.1).collect()),
            )
        }
    };
    let read = |key: &str, warnings: &mut Vec<String>| -> R<PerOutput<Vec<String>>> {
        let m = v.get(key).unwrap_or(&Value::Null);
        // tf.keras 2 writes per-output metrics as lists of metric objects named "<output>_<metric>"
        let keras2_lists = outputs.len() > 1
            && m.as_array().is_some_and(|a| a.len() == outputs.len() && a.iter().all(Value::is_array));
        let per = if keras2_lists {
            PerOutput::Each(m.as_array().unwrap().iter().collect())
        } else if m.is_object() && m.get("class_name").is_none() {
            per_output(m, outputs, key)?
        } else {
            PerOutput::All(m)
        };
        let names = |m: &Value, out: Option<&str>, warnings: &mut Vec<String>| {
            let mut metrics = Vec::new();
            metric_names(m, &mut metrics, warnings);
            if let Some(out) = out {
                let prefix = format!("{out}_");
                metrics =
                    metrics.into_iter().map(|n| n.strip_prefix(&prefix).map_or(n.clone(), str::to_string)).collect();
            }
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
        Ok(match per {
            PerOutput::All(m) => PerOutput::All(names(m, None, warnings)),
            PerOutput::Each(ms) => {
                PerOutput::Each(ms.into_iter().zip(outputs).map(|(m, o)| names(m, Some(o), warnings)).collect())
            }
        })
    };
    let metrics = read("metrics", warnings)?;
    let weighted_metrics = read("weighted_metrics", warnings)?;
    let loss_weights = match v.get("loss_weights") {
        None | Some(Value::Null) => None,
        Some(w) => {
            let weight = |x: &Value| match x {
                Value::Null => Ok(1.0),
                x => x.as_f64().ok_or_else(|| format!("the training config's loss_weights {w} are not numbers")),
            };
            match per_output(w, outputs, "loss_weights")? {
                PerOutput::All(x) if x.is_number() => Some(vec![weight(x)?; outputs.len()]),
                PerOutput::All(_) => return Err(format!("the training config's loss_weights {w} are not understood")),
                PerOutput::Each(ws) => Some(ws.into_iter().map(weight).collect::<R<Vec<_>>>()?),
            }
        }
    };
    let opt = v.get("optimizer_config").ok_or("the training config has no optimizer_config")?;
    let optimizer = optimizer_config(opt, warnings)?;
    Ok(CompileSpec { optimizer, loss, metrics, weighted_metrics, from_logits, loss_weights })
}

/// A compile setting of a Keras training config per output: a dict by output name or a list
/// with one entry per output (in output order), or one value for all outputs.
fn per_output<'a>(v: &'a Value, outputs: &[String], what: &str) -> R<PerOutput<&'a Value>> {
    match v {
        // a loss or metric object has a class_name; a dict by output name has output names
        Value::Object(o) if !o.contains_key("class_name") => {
            if let Some(k) = o.keys().find(|k| !outputs.contains(k)) {
                return Err(format!(
                    "the training config's {what} names '{k}', which is not an output of the model (outputs: {})",
                    outputs.join(", ")
                ));
            }
            // an output may have no metrics (or a loss weight of 1); every output needs a loss
            let each = outputs
                .iter()
                .map(|n| match o.get(n) {
                    Some(v) => Ok(v),
                    None if what != "loss" => Ok(&Value::Null),
                    None => Err(format!("the training config's {what} has no entry for output '{n}'")),
                })
                .collect::<R<Vec<_>>>()?;
            Ok(PerOutput::Each(each))
        }
        Value::Array(a) if outputs.len() > 1 || a.len() == 1 && !what.contains("metrics") => {
            if a.len() != outputs.len() {
                return Err(format!(
                    "the training config's {what} has {} entries for the model's {} outputs",
                    a.len(),
                    outputs.len()
                ));
            }
            Ok(if outputs.len() == 1 { PerOutput::All(&a[0]) } else { PerOutput::Each(a.iter().collect()) })
        }
        v => Ok(PerOutput::All(v)),
    }
}

/// The `training_config` Keras 3 writes for a compiled model: its compile config without
/// the optimizer object, then `optimizer_config` as `{"class_name", "config"}`.
pub fn training_config_json<T: Real>(model: &Model<T>) -> Option<String> {
    let c = model.compiled.as_ref()?;
    let Json::Obj(kv) = compile_config_json(&c.spec, c.optimizer.learning_rate(), model.output_names()) else {
        return None;
    };
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
            {"class_name": "ConvLSTM1D", "config": {"name": "lstm", "filters": 2}}]}}"#;
        let e = model_spec(cfg, Generation::Keras2, &mut w).unwrap_err();
        assert!(e.starts_with("layer 'lstm' (ConvLSTM1D) is not supported by rkeras"), "{e}");
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
    fn functional_graphs_both_node_forms() {
        use crate::graph::{NodeSpec, TRef::*};
        let mut w = vec![];
        // Keras 2 node form: a residual Add, a Dense shared by two calls, two outputs
        let cfg = r#"{"class_name": "Functional", "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "x"}, "name": "x", "inbound_nodes": []},
            {"class_name": "Dense", "config": {"name": "a", "units": 4}, "name": "a", "inbound_nodes": [[["x", 0, 0, {}]], [["add", 0, 0, {}]]]},
            {"class_name": "Add", "config": {"name": "add"}, "name": "add", "inbound_nodes": [[["a", 0, 0, {}], ["x", 0, 0, {}]]]}],
            "input_layers": [["x", 0, 0]], "output_layers": [["a", 1, 0], ["add", 0, 0]]}}"#;
        let s = model_spec(cfg, Generation::Keras2, &mut w).unwrap();
        assert!(s.is_graph());
        assert_eq!(s.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["a", "add"]);
        assert_eq!(s.inputs[0].shape, vec![4]);
        assert_eq!(
            s.nodes,
            vec![
                NodeSpec { layer: 0, inputs: vec![Input(0)] },
                NodeSpec { layer: 1, inputs: vec![Node(0), Input(0)] },
                NodeSpec { layer: 0, inputs: vec![Node(1)] },
            ]
        );
        assert_eq!(s.outputs, vec![Node(2), Node(1)]);
        // the same in Keras 3's form (a list of tensors as the first argument)
        let t = |l: &str, n: u32| {
            format!(
                r#"{{"class_name": "__keras_tensor__", "config": {{"shape": [null, 4], "dtype": "float32", "keras_history": ["{l}", {n}, 0]}}}}"#
            )
        };
        let cfg3 = format!(
            r#"{{"class_name": "Functional", "config": {{"name": "m", "layers": [
            {{"class_name": "InputLayer", "config": {{"batch_shape": [null, 4], "name": "x"}}, "name": "x", "inbound_nodes": []}},
            {{"class_name": "Dense", "config": {{"name": "a", "units": 4}}, "name": "a", "inbound_nodes": [{{"args": [{}], "kwargs": {{}}}}, {{"args": [{}], "kwargs": {{}}}}]}},
            {{"class_name": "Add", "config": {{"name": "add"}}, "name": "add", "inbound_nodes": [{{"args": [[{}, {}]], "kwargs": {{}}}}]}}],
            "input_layers": ["x", 0, 0], "output_layers": [["a", 1, 0], ["add", 0, 0]]}}}}"#,
            t("x", 0),
            t("add", 0),
            t("a", 0),
            t("x", 0)
        );
        assert_eq!(model_spec(&cfg3, Generation::Keras3, &mut w).unwrap(), s);
        // a chain reads in the graph layout too (as keras_model() makes it)
        let chain = r#"{"class_name": "Functional", "config": {"name": "c", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "x"}, "name": "x", "inbound_nodes": []},
            {"class_name": "Dense", "config": {"name": "a", "units": 4}, "name": "a", "inbound_nodes": [[["x", 0, 0, {}]]]}],
            "input_layers": [["x", 0, 0]], "output_layers": [["a", 0, 0]]}}"#;
        let c = model_spec(chain, Generation::Keras2, &mut w).unwrap();
        assert!(c.is_graph());
        assert_eq!((c.inputs[0].shape.clone(), c.inputs[0].name.as_str()), (vec![4], "x"));
        assert_eq!(c.nodes, vec![NodeSpec { layer: 0, inputs: vec![Input(0)] }]);
        // errors name the layer
        let err = |cfg: &str| model_spec(cfg, Generation::Keras2, &mut vec![]).unwrap_err();
        let e = err(&cfg.replace(r#"[["a", 1, 0], ["add", 0, 0]]"#, r#"[["a", 2, 0]]"#));
        assert!(e.contains("layer 'a' is referenced at node 2, but it is called 2 time(s)"), "{e}");
        let e = err(&cfg.replace(r#"[["a", 0, 0, {}], ["x", 0, 0, {}]]"#, r#"[["a", 1, 0, {}], ["x", 0, 0, {}]]"#));
        assert!(e.contains("the inputs of layer 'a' cannot be computed"), "{e}");
        let e = err(&cfg.replace(r#"["x", 0, 0, {}]]]}]"#, r#"["y", 0, 0, {}]]]}]"#));
        assert!(e.contains("layer 'y' is referenced but not defined"), "{e}");
        let e = err(&cfg.replace(r#"[["add", 0, 0, {}]]]"#, r#"[["add", 0, 1, {}]]]"#));
        assert!(e.contains("output 1 of layer 'add' is used"), "{e}");
        let e = err(&cfg.replace(r#""input_layers": [["x", 0, 0]]"#, r#""input_layers": [["x", 0, 0], ["y", 0, 0]]"#));
        assert!(e.contains("layer 'y' is referenced but not defined"), "{e}");
        let e = err(&cfg.replace(r#""input_layers": [["x", 0, 0]]"#, r#""input_layers": [["a", 0, 0]]"#));
        assert!(e.contains("input 'a' (Dense) is not an InputLayer"), "{e}");
        let e = err(&cfg.replace(r#""name": "add"}, "name": "add""#, r#""name": "a"}, "name": "a""#));
        assert!(e.contains("the layer name 'a' is used more than once"), "{e}");
        let e = err(&cfg.replace("\"Add\"", "\"Lambda\""));
        assert!(e.starts_with("layer 'add' (Lambda) is not supported by rkeras"), "{e}");
        // a dangling layer (Keras never writes one) is refused by the graph check
        let e = err(&cfg.replace(r#"[["a", 1, 0], ["add", 0, 0]]"#, r#"[["a", 0, 0]]"#));
        assert!(e.contains("does not lead to any model output"), "{e}");
    }

    #[test]
    fn multi_output_training_configs() {
        let mut w = vec![];
        let outs = ["cls".to_string(), "reg".to_string()];
        let opt = r#""optimizer_config": {"class_name": "Adam", "config": {}}"#;
        // Keras 3: dicts by output name; an output may have no metrics
        let tc = format!(
            r#"{{"loss": {{"reg": "mse", "cls": "categorical_crossentropy"}}, "loss_weights": {{"cls": 1.0, "reg": 0.25}},
            "metrics": {{"cls": ["accuracy"]}}, {opt}}}"#
        );
        let c = compile_spec(&tc, &outs, &mut w).unwrap();
        assert_eq!((c.loss_of(0), c.loss_of(1)), (Loss::CategoricalCrossentropy, Loss::MeanSquaredError));
        assert_eq!(c.loss_weights, Some(vec![1.0, 0.25]));
        assert_eq!(c.metrics, PerOutput::Each(vec![vec!["accuracy".to_string()], vec![]]));
        // lists in output order; tf.keras 2's per-output metric objects named <output>_<metric>
        let tc = format!(
            r#"{{"loss": ["categorical_crossentropy", "mse"], "loss_weights": [2, 1], "metrics": [[{{"class_name":
            "MeanMetricWrapper", "config": {{"name": "cls_accuracy", "fn": "categorical_accuracy"}}}}], [{{"class_name":
            "MeanMetricWrapper", "config": {{"name": "reg_mae", "fn": "mean_absolute_error"}}}}]], {opt}}}"#
        );
        let c = compile_spec(&tc, &outs, &mut w).unwrap();
        assert_eq!(c.loss_weights, Some(vec![2.0, 1.0]));
        assert_eq!(c.metrics, PerOutput::Each(vec![vec!["accuracy".to_string()], vec!["mae".to_string()]]));
        assert!(w.is_empty(), "{w:?}");
        // one loss for every output
        let c = compile_spec(&format!(r#"{{"loss": "mse", {opt}}}"#), &outs, &mut w).unwrap();
        assert_eq!(c.loss, PerOutput::All(LossName(Loss::MeanSquaredError)));
        // errors name the output
        let e = compile_spec(&format!(r#"{{"loss": {{"cls": "mse"}}, {opt}}}"#), &outs, &mut w).unwrap_err();
        assert!(e.contains("has no entry for output 'reg'"), "{e}");
        let e =
            compile_spec(&format!(r#"{{"loss": {{"cls": "mse", "zz": "mse"}}, {opt}}}"#), &outs, &mut w).unwrap_err();
        assert!(e.contains("names 'zz', which is not an output"), "{e}");
        let e = compile_spec(&format!(r#"{{"loss": ["mse"], {opt}}}"#), &outs, &mut w).unwrap_err();
        assert!(e.contains("has 1 entries for the model's 2 outputs"), "{e}");
    }

    #[test]
    fn training_configs() {
        let mut w = vec![];
        let one = ["out".to_string()];
        let k2 = r#"{"loss": "categorical_crossentropy", "metrics": [[{"class_name": "MeanMetricWrapper",
            "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"}}]],
            "weighted_metrics": null, "loss_weights": null, "optimizer_config": {"class_name": "Custom>Adam",
            "config": {"name": "Adam", "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999,
            "epsilon": 1e-07, "amsgrad": false, "is_legacy_optimizer": false, "jit_compile": false}}}"#;
        let c = compile_spec(k2, &one, &mut w).unwrap();
        assert_eq!(c.loss_of(0), Loss::CategoricalCrossentropy);
        assert_eq!(*c.metrics.first(), vec!["accuracy"]);
        assert_eq!(c.optimizer.name(), "adam");
        assert!(w.is_empty(), "{w:?}");
        // legacy Keras 2 optimizer with lr and decay; a loss object; an unknown metric
        let legacy = r#"{"loss": {"class_name": "MeanSquaredError", "config": {"reduction": "auto", "name": "mse"}},
            "metrics": ["mae", "bogus_metric"], "optimizer_config": {"class_name": "SGD",
            "config": {"name": "SGD", "lr": 0.1, "decay": 0.01, "momentum": 0.9, "nesterov": true}}}"#;
        let c = compile_spec(legacy, &one, &mut w).unwrap();
        assert_eq!(c.loss_of(0), Loss::MeanSquaredError);
        assert_eq!(*c.metrics.first(), vec!["mae"]);
        assert_eq!(c.optimizer.learning_rate, 0.1);
        assert_eq!(c.optimizer.decay, 0.01);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("bogus_metric"));
        let e = compile_spec(&legacy.replace("\"class_name\": \"SGD\"", "\"class_name\": \"Ftrl\""), &one, &mut w)
            .unwrap_err();
        assert!(e.contains("optimizer 'ftrl' is not supported"), "{e}");
        let logits = r#"{"loss": {"class_name": "CategoricalCrossentropy", "config": {"from_logits": true}},
            "optimizer_config": {"class_name": "Adam", "config": {}}}"#;
        let c = compile_spec(logits, &one, &mut w).unwrap();
        assert!(*c.from_logits.first() && c.loss_of(0) == Loss::CategoricalCrossentropy);
        let hinge = logits.replace("CategoricalCrossentropy", "Hinge");
        assert!(compile_spec(&hinge, &one, &mut w).unwrap_err().contains("from_logits"));
        // what rkeras writes for a from-logits loss reads back the same (Keras 3 and 2 forms)
        for keras2 in [false, true] {
            let written = crate::keras_json::loss_json(&c, 0, keras2).to_string();
            let tc = format!(r#"{{"loss": {written}, "optimizer_config": {{"class_name": "Adam", "config": {{}}}}}}"#);
            assert_eq!(compile_spec(&tc, &one, &mut w).unwrap(), c, "{tc}");
        }
    }
}
