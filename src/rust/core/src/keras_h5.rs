//! Keras HDF5 files: `save_model_hdf5()` / `load_model_hdf5()` and
//! `save_model_weights_hdf5()` / `load_model_weights_hdf5()`.
//!
//! # Layout (what Keras' `model.save("m.h5")` writes)
//!
//! ```text
//! /                     attrs keras_version, backend, model_config (JSON),
//!                             training_config (JSON, when saved with the optimizer)
//! /model_weights        attrs layer_names, backend, keras_version
//!   /<layer>            attr  weight_names (paths relative to this group)
//!     /<path>           one float32 dataset per weight (dense: kernel (in, units), bias)
//!   /top_level_model_weights   attr weight_names = []
//! /optimizer_weights    attr  weight_names; one dataset per optimizer variable
//! ```
//!
//! A weights file (`save_weights("w.h5")`) has the `layer_names` attribute and the layer
//! groups at the root.
//!
//! # Versions
//!
//! Read: Keras 2 (tf.keras 2.x: weights as `<layer>/<layer>/kernel:0`, optimizer variables
//! `iteration:0`, `Adam/m/<layer>/kernel:0`; the pre-2.11 optimizers' `Adam/iter:0`,
//! `Adam/<layer>/kernel/m:0`) and Keras 3's legacy HDF5 (`<layer>/<model>/<layer>/kernel` in
//! a Sequential model, `<layer>/<layer>/kernel` in a functional one; optimizer variables
//! `adam/iteration`, `adam/learning_rate`, `adam/<path>_momentum`, ...).
//!
//! Written ([`Layout`]): Keras 3.15.1's layout exactly (the `model_config` of
//! [`crate::keras_json::h5_model_config`], Keras 3 weight and optimizer variable names and
//! order), which `keras.models.load_model()` of Keras 3 loads, compiled; or tf.keras 2.12's
//! (R keras 2.x), which tf.keras 2 loads with its optimizer state and Keras 3 loads too (but
//! for nested models: see [`save_model`]).
//!
//! # Graph models
//!
//! Weights are kept per layer of the model as Keras lists it: one group per input (empty),
//! then one per layer in `model.layers` order; a shared layer once; a nested model one group
//! holding its layers' weights (paths `enc_dense/kernel`, or `head/head_dense/kernel` for the
//! layers of a Sequential model `head`), trainable weights first. The core inlines nested models, so a
//! spec layer owns a run of built layers (`Unit`).

mod config;
mod functional;
mod h5;
pub(crate) mod keras2;

pub use config::{
    compile_spec, model_spec, optimizer_config, training_config_json, Generation, KerasLayerConfig, SUPPORTED_LAYERS,
};
pub use keras2::KERAS2_VERSION;

use crate::keras_json::{h5_model_config, optimizer_json};
use crate::layers::LayerSpec;
use crate::model::{Model, ModelSpec};
use crate::optimizers::{OptimizerKind, OptimizerState};
use crate::rng::Rng;
use crate::Real;
use h5::{attr_string, attr_strings, Data, Tree, H5};

type R<T> = Result<T, String>;

/// The Keras release whose HDF5 layout rkeras writes (recorded as `keras_version`).
pub const KERAS_VERSION: &str = "3.15.1";
/// The backend recorded in written files (the weights are in TensorFlow's channels-last layout).
pub const BACKEND: &str = "tensorflow";

/// A weight as saved: its shape and values.
#[derive(Clone, Debug)]
struct SavedWeight {
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// A layer group of a weights group.
#[derive(Clone, Debug)]
struct SavedLayer {
    name: String,
    weights: Vec<SavedWeight>,
}

fn to_f32<T: Real>(v: &[T]) -> Vec<f32> {
    v.iter().map(|x| x.to_f32().unwrap_or(f32::NAN)).collect()
}

fn join(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{group}/{name}")
    }
}

fn fmt_shape(s: &[usize]) -> String {
    crate::layers::fmt_shape(s)
}

/// Runs a reader, turning a panic (a bug on some malformed input) into an error.
fn guarded<T>(f: impl FnOnce() -> R<T>) -> R<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!("the file is damaged or not a Keras HDF5 file (internal error: {msg})"))
    })
}

/// The layer groups (with their weights) listed by the `layer_names` of `group`.
fn read_layers(h: &H5, group: &str) -> R<Vec<SavedLayer>> {
    let attrs = h.attrs(group)?;
    let names =
        attr_strings(&attrs, "layer_names")?.ok_or_else(|| format!("group '/{group}' has no layer_names attribute"))?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let lg = join(group, &name);
        let la = h.attrs(&lg).map_err(|e| format!("layer '{name}': {e}"))?;
        let wnames = attr_strings(&la, "weight_names")?.unwrap_or_default();
        let mut weights = Vec::with_capacity(wnames.len());
        for wn in wnames {
            let (shape, values) = h.read_f32(&join(&lg, &wn))?;
            weights.push(SavedWeight { shape, values });
        }
        out.push(SavedLayer { name, weights });
    }
    Ok(out)
}

/// Where a file keeps its weights: the root of a weights file, or `model_weights`.
fn weights_group(h: &H5) -> R<&'static str> {
    let root = h.attrs("")?;
    if root.contains_key("layer_names") || root.contains_key("layer_names0") {
        Ok("")
    } else if h.has_group("model_weights") {
        Ok("model_weights")
    } else if h.has_group("layers") || h.has_group("_layer_checkpoint_dependencies") {
        Err("it is a Keras 3 `.weights.h5` file; rkeras reads the HDF5 layout of Keras' save_weights() to a \
             `.h5` file and of model.save(\"*.h5\")"
            .into())
    } else {
        Err("it holds no Keras weights (no layer_names attribute and no model_weights group)".into())
    }
}

/// How [`load_weights`] matches saved layers to the model's.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadWeightsOptions {
    /// Match layers by name instead of by position among the layers that have weights.
    pub by_name: bool,
    /// Skip (with a warning) weights whose shape or count does not fit instead of failing.
    pub skip_mismatch: bool,
    /// Accept a saved weight with the right number of values but another shape.
    pub reshape: bool,
}

/// A layer of the model as Keras lists it (a nested model counts as one) and the range of
/// built layers it became (the core inlines nested models in place, in layer order).
struct Unit {
    name: String,
    layers: std::ops::Range<usize>,
}

/// How many built layers a layer spec becomes.
fn flat_count(ls: &LayerSpec) -> usize {
    match ls.kind.nested() {
        Some(m) => m.layers.iter().map(flat_count).sum(),
        None => 1,
    }
}

fn units<T: Real>(model: &Model<T>) -> Vec<Unit> {
    let mut start = 0;
    model
        .spec
        .layers
        .iter()
        .map(|ls| {
            let n = flat_count(ls);
            start += n;
            Unit { name: ls.name.clone(), layers: start - n..start }
        })
        .collect()
}

/// A unit's weights in the order Keras' HDF5 files keep them (a layer's `trainable_weights`
/// then `non_trainable_weights`, so a nested model's frozen or state weights come last), as
/// (built layer, weight index in it).
fn unit_weights<T: Real>(model: &Model<T>, u: &Unit) -> Vec<(usize, usize)> {
    let (mut trained, mut other) = (Vec::new(), Vec::new());
    for li in u.layers.clone() {
        let l = &model.layers()[li];
        for (wi, w) in l.weights().iter().enumerate() {
            if l.spec().trainable && w.trainable {
                trained.push((li, wi));
            } else {
                other.push((li, wi));
            }
        }
    }
    trained.extend(other);
    trained
}

/// Per built layer: the prefix of its Keras 3 weight paths: the name of the Sequential model
/// it is a layer of (`outer/out/kernel`, `head/head_out/bias`), none in a functional model
/// (`enc_dense/kernel`), as Keras 3.15.1 names them.
fn keras3_prefixes(spec: &ModelSpec) -> Vec<String> {
    fn walk(model: &ModelSpec, out: &mut Vec<String>) {
        let prefix = if model.class_name == "Functional" { String::new() } else { format!("{}/", model.name) };
        for ls in &model.layers {
            match ls.kind.nested() {
                Some(inner) => walk(inner, out),
                None => out.push(prefix.clone()),
            }
        }
    }
    let mut out = Vec::new();
    walk(spec, &mut out);
    out
}

/// Checks the weights of `src` against model unit `u` and adds what fits to `plan`.
#[allow(clippy::too_many_arguments)]
fn plan_layer<'a>(
    model: &Model<f32>,
    u: &Unit,
    k: usize,
    src: &'a SavedLayer,
    opts: LoadWeightsOptions,
    by_name: bool,
    plan: &mut Vec<(usize, usize, &'a [f32])>,
    warnings: &mut Vec<String>,
) -> R<()> {
    let lname = &u.name;
    let at = unit_weights(model, u);
    let all: Vec<Vec<crate::layers::WeightRef<'_, f32>>> =
        u.layers.clone().map(|li| model.layers()[li].weights()).collect();
    let targets: Vec<&crate::layers::WeightRef<'_, f32>> =
        at.iter().map(|&(li, wi)| &all[li - u.layers.start][wi]).collect();
    if targets.len() != src.weights.len() {
        let msg = format!(
            "Weight count mismatch for layer #{k} (named {lname} in the current model, {} in the save file). Layer \
             expects {} weight(s). Received {} saved weight(s)",
            src.name,
            targets.len(),
            src.weights.len()
        );
        if by_name && opts.skip_mismatch {
            warnings.push(format!("Skipping loading of weights: {msg}"));
            return Ok(());
        }
        return Err(msg);
    }
    for (wi, (t, s)) in targets.iter().zip(&src.weights).enumerate() {
        let fits = t.shape == s.shape || (opts.reshape && t.values.len() == s.values.len());
        if fits && t.values.len() == s.values.len() {
            crate::serialize::check_finite_values(&format!("weight {lname}/{}", t.name), &s.values)?;
            plan.push((at[wi].0, at[wi].1, &s.values));
            continue;
        }
        let msg = format!(
            "Shape mismatch in layer #{k} (named {lname}) for weight {lname}/{}. Weight expects shape ({}). \
             Received saved weight with shape ({})",
            t.name,
            fmt_shape(&t.shape),
            fmt_shape(&s.shape)
        );
        if opts.skip_mismatch {
            warnings.push(format!("Skipping loading of a weight: {msg}"));
        } else {
            return Err(msg);
        }
    }
    Ok(())
}

/// Sets the model's weights from saved layers; nothing changes on error.
fn assign(model: &mut Model<f32>, saved: &[SavedLayer], opts: LoadWeightsOptions) -> R<Vec<String>> {
    let mut warnings = Vec::new();
    let mut plan = Vec::new();
    let units = units(model);
    if opts.by_name {
        for (k, src) in saved.iter().enumerate() {
            if let Some(u) = units.iter().find(|u| u.name == src.name) {
                plan_layer(model, u, k, src, opts, true, &mut plan, &mut warnings)?;
            }
        }
    } else {
        let targets: Vec<&Unit> = units.iter().filter(|u| !unit_weights(model, u).is_empty()).collect();
        let sources: Vec<&SavedLayer> = saved.iter().filter(|l| !l.weights.is_empty()).collect();
        if targets.len() != sources.len() {
            return Err(format!(
                "Layer count mismatch when loading weights from file. Model expected {} layers, found {} saved \
                 layers.",
                targets.len(),
                sources.len()
            ));
        }
        for (k, (u, src)) in targets.into_iter().zip(sources).enumerate() {
            plan_layer(model, u, k, src, opts, false, &mut plan, &mut warnings)?;
        }
    }
    for (li, wi, values) in plan {
        let mut ws = Vec::new();
        model.layers_mut()[li].push_weights_mut(&mut ws);
        ws[wi].copy_from_slice(values);
    }
    Ok(warnings)
}

/// A model loaded from a Keras HDF5 file.
pub struct LoadedModel {
    pub model: Model<f32>,
    /// Settings that were dropped or could not be restored (for R warnings).
    pub warnings: Vec<String>,
    /// The file's `keras_version` attribute.
    pub keras_version: Option<String>,
}

/// Loads a Keras HDF5 model file: architecture, weights and, when `compile` and the file
/// has a training configuration, the compile configuration and the optimizer state.
/// `seed` seeds the model's random streams (dropout; initializers are overwritten).
pub fn load_model(bytes: Vec<u8>, compile: bool, seed: u64) -> R<LoadedModel> {
    guarded(|| {
        let h = H5::parse(bytes)?;
        let root = h.attrs("")?;
        let keras_version = attr_string(&root, "keras_version")
            .or_else(|| h.attrs("model_weights").ok().and_then(|a| attr_string(&a, "keras_version")));
        let generation = Generation::from_version(keras_version.as_deref());
        let mut warnings = Vec::new();
        let model_config = attr_string(&root, "model_config").ok_or(
            "it has no model_config attribute: it holds weights only (use load_model_weights_hdf5()) or is not a \
             Keras model file",
        )?;
        let spec = config::model_spec(&model_config, generation, &mut warnings)?;
        let mut model = Model::<f32>::build(spec, &mut Rng::seed_from(seed))?;
        if !h.has_group("model_weights") {
            return Err("it has no model_weights group".into());
        }
        let saved = read_layers(&h, "model_weights")?;
        warnings.extend(assign(&mut model, &saved, LoadWeightsOptions::default())?);
        if compile {
            match attr_string(&root, "training_config") {
                None => warnings.push(
                    "No training configuration found in the save file, so the model was *not* compiled. Compile \
                     it manually."
                        .into(),
                ),
                Some(tc) => match config::compile_spec(&tc, model.output_names(), &mut warnings) {
                    Err(e) => warnings.push(format!("the model was not compiled: {e}")),
                    Ok(cs) => {
                        model.compile(cs)?;
                        if h.has_group("optimizer_weights") {
                            if let Err(e) = restore_optimizer(&h, &mut model) {
                                warnings.push(format!(
                                    "the saved optimizer state could not be restored ({e}); the model starts with a \
                                     freshly initialized optimizer"
                                ));
                            }
                        }
                    }
                },
            }
        }
        Ok(LoadedModel { model, warnings, keras_version })
    })
}

/// Loads weights into `model` from a Keras HDF5 weights file or model file. Returns the
/// warnings (`skip_mismatch`). Nothing changes on error.
pub fn load_weights(model: &mut Model<f32>, bytes: Vec<u8>, opts: LoadWeightsOptions) -> R<Vec<String>> {
    let saved = guarded(|| {
        let h = H5::parse(bytes)?;
        let group = weights_group(&h)?;
        read_layers(&h, group)
    })?;
    assign(model, &saved, opts)
}

/// A trainable weight: its layer's name, its name, shape and Keras 3 path (`dense/kernel`).
struct Param {
    layer: String,
    weight: &'static str,
    shape: Vec<usize>,
    path3: String,
}

/// The trainable weights, in optimizer order.
fn trainable_params<T: Real>(model: &Model<T>) -> Vec<Param> {
    let prefixes = keras3_prefixes(&model.spec);
    model
        .layers()
        .iter()
        .zip(prefixes)
        .filter(|(l, _)| l.spec().trainable)
        .flat_map(|(l, prefix)| {
            let n = l.spec().name.clone();
            l.weights().into_iter().filter(|w| w.trainable).map(move |w| Param {
                layer: n.clone(),
                weight: w.name,
                path3: format!("{prefix}{n}/{}", w.name),
                shape: w.shape,
            })
        })
        .collect()
}

/// The slot names tf.keras' pre-2.11 optimizers (`optimizer_v2`) use, by Keras 3 slot name.
fn legacy_slot(kind: &OptimizerKind, slot: &str) -> &'static str {
    match (kind, slot) {
        (OptimizerKind::Rmsprop { .. }, "velocity") => "rms",
        (OptimizerKind::Rmsprop { .. }, "average_gradient") => "mg",
        (OptimizerKind::Sgd { .. } | OptimizerKind::Rmsprop { .. }, "momentum") => "momentum",
        (_, "momentum") => "m",
        (_, "velocity") | (_, "norm") => "v",
        (_, "velocity_hat") => "vhat",
        (_, "accumulator") => "accumulator",
        (_, "accumulated_grad") => "accum_grad",
        (_, "accumulated_delta_var") => "accum_var",
        _ => "?",
    }
}

/// Restores the optimizer state from `optimizer_weights` (Keras 3, tf.keras 2.11+ and
/// pre-2.11 tf.keras naming). On error nothing changes.
fn restore_optimizer(h: &H5, model: &mut Model<f32>) -> R<()> {
    let params = trainable_params(model);
    let attrs = h.attrs("optimizer_weights")?;
    let names = attr_strings(&attrs, "weight_names")?.ok_or("optimizer_weights has no weight_names")?;
    let opt = &model.compiled.as_ref().ok_or("the model is not compiled")?.optimizer;
    let cfg = opt.config().clone();
    let slots3 = cfg.slot_names();
    let slots2 = cfg.slot_names_keras2();
    let order = opt.keras_variable_order();
    let path = |n: &str| join("optimizer_weights", n);
    let first = names.first().ok_or("no optimizer variables were saved")?;
    let is_iter = ["iteration", "iteration:0", "iterations:0", "iter:0"]
        .iter()
        .any(|s| first == s || first.ends_with(&format!("/{s}")));
    if !is_iter {
        return Err(format!("the first optimizer variable is '{first}', not the iteration count"));
    }
    let iterations = h.read_i64_scalar(&path(first))?.max(0) as u64;
    let legacy = first.ends_with("iter:0");
    let mut rest = &names[1..];
    let mut lr = None;
    if let Some(n) = rest.first().filter(|n| n.ends_with("learning_rate") || n.ends_with("learning_rate:0")) {
        let (_, v) = h.read_f32(&path(n))?;
        crate::serialize::check_finite_values(&format!("optimizer variable '{n}'"), &v)?;
        lr = Some(*v.first().ok_or("the saved learning rate is empty")?);
        rest = &rest[1..];
    }
    let mut slots: Vec<Vec<Vec<f32>>> = vec![vec![Vec::new(); slots3.len()]; params.len()];
    let mut take = |p: usize, s: usize, name: &str| -> R<()> {
        let (shape, v) = h.read_f32(&path(name))?;
        crate::serialize::check_finite_values(&format!("optimizer variable '{name}'"), &v)?;
        if v.len() != params[p].shape.iter().product::<usize>() {
            return Err(format!(
                "optimizer variable '{name}' has shape ({}), the weight {}/{} has shape ({})",
                fmt_shape(&shape),
                params[p].layer,
                params[p].weight,
                fmt_shape(&params[p].shape)
            ));
        }
        slots[p][s] = v;
        Ok(())
    };
    if legacy {
        for &(p, s) in &order {
            let want = format!("{}/{}/{}:0", params[p].layer, params[p].weight, legacy_slot(&cfg.kind, slots3[s]));
            let name = rest
                .iter()
                .find(|n| *n == &want || n.ends_with(&format!("/{want}")))
                .ok_or_else(|| format!("no saved optimizer variable '{want}'"))?;
            take(p, s, name)?;
        }
    } else {
        let nadam_extra = matches!(cfg.kind, OptimizerKind::Nadam { .. }) && rest.len() == order.len() + 1;
        if rest.len() != order.len() && !nadam_extra {
            return Err(format!(
                "{} optimizer variables were saved, {} expected for a {} optimizer of {} weights",
                names.len(),
                order.len() + 1 + lr.is_some() as usize,
                cfg.name(),
                params.len()
            ));
        }
        for (&(p, s), name) in order.iter().zip(rest) {
            let k3 = format!("_{}", slots3[s]);
            let k2 = format!("/{}/", slots2[s]);
            if !(name.ends_with(&k3) || name.contains(&k2)) {
                return Err(format!(
                    "optimizer variable '{name}' is not the '{}' slot of {}/{}",
                    slots3[s], params[p].layer, params[p].weight
                ));
            }
            take(p, s, name)?;
        }
    }
    let c = model.compiled.as_mut().unwrap();
    let learning_rate = lr.unwrap_or(c.optimizer.learning_rate() as f32);
    c.optimizer.set_state(&OptimizerState { iterations, learning_rate, slots })
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// Which Keras' HDF5 layout to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// Keras 3 (`model.save("m.h5")` of Keras 3.15, R keras3).
    #[default]
    Keras3,
    /// tf.keras 2.11+ (R keras 2.x); Keras 3 reads it too.
    Keras2,
}

impl Layout {
    /// From a Keras major version (2 or 3).
    pub fn from_version(v: i32) -> R<Layout> {
        match v {
            3 => Ok(Layout::Keras3),
            2 => Ok(Layout::Keras2),
            _ => Err(format!("keras_version must be 2 or 3, got {v}")),
        }
    }

    fn version(self) -> &'static str {
        match self {
            Layout::Keras3 => KERAS_VERSION,
            Layout::Keras2 => KERAS2_VERSION,
        }
    }
}

/// Writes the layer groups under `group` with its `layer_names`, `backend`, `keras_version`.
/// A weight's path (`weight_names`) is, in Keras 3, `<layer>/<weight>` prefixed by the
/// Sequential models it sits in (`seq/dense/kernel`); in Keras 2 `<layer>/<weight>:0`. A
/// nested model is one group holding its layers' weights.
fn write_layers<T: Real>(t: &mut Tree, group: &str, model: &Model<T>, layout: Layout) {
    let mut layer_names = Vec::new();
    if model.spec.class_name == "Functional" {
        for input in &model.spec.graph().inputs {
            t.attr_strings(&join(group, &input.name), "weight_names", &[]);
            layer_names.push(input.name.clone());
        }
    }
    let prefixes = keras3_prefixes(&model.spec);
    for u in units(model) {
        let lg = join(group, &u.name);
        let mut paths = Vec::new();
        for (li, wi) in unit_weights(model, &u) {
            let l = &model.layers()[li];
            let w = &l.weights()[wi];
            let p = match layout {
                Layout::Keras2 => format!("{}/{}:0", l.spec().name, w.name),
                Layout::Keras3 => format!("{}{}/{}", prefixes[li], l.spec().name, w.name),
            };
            t.dataset(&join(&lg, &p), &w.shape, Data::F32(to_f32(w.values)));
            paths.push(p);
        }
        t.attr_strings(&lg, "weight_names", &paths);
        layer_names.push(u.name);
    }
    t.attr_strings(&join(group, "top_level_model_weights"), "weight_names", &[]);
    t.attr_strings(group, "layer_names", &layer_names);
    t.attr_str(group, "backend", BACKEND);
    t.attr_str(group, "keras_version", layout.version());
}

/// Writes `optimizer_weights` as Keras 3 does: `iteration`, `learning_rate`, the slots in
/// Keras' variable order, and Nadam's `u_product` last; or as tf.keras 2 does: `iteration:0`
/// and the slots (`Adam/m/<layer>/kernel:0`, ...) in the same order.
fn write_optimizer<T: Real>(t: &mut Tree, model: &Model<T>, layout: Layout) {
    let Some(c) = &model.compiled else { return };
    let opt = &c.optimizer;
    if layout == Layout::Keras2 {
        let class = keras2::optimizer_class(&opt.config().kind);
        let state = opt.state();
        let params = trainable_params(model);
        let slots = opt.config().slot_names_keras2();
        let mut names = vec!["iteration:0".to_string()];
        t.dataset("optimizer_weights/iteration:0", &[], Data::I64(vec![state.iterations as i64]));
        for (p, s) in opt.keras_variable_order() {
            let Param { layer, weight, shape, .. } = &params[p];
            let name = format!("{class}/{}/{layer}/{weight}:0", slots[s]);
            t.dataset(&format!("optimizer_weights/{name}"), shape, Data::F32(state.slots[p][s].clone()));
            names.push(name);
        }
        t.attr_strings("optimizer_weights", "weight_names", &names);
        return;
    }
    let prefix = optimizer_json(opt.config(), opt.learning_rate())
        .get("config")
        .and_then(|c| c.get("name"))
        .map(|n| match n {
            crate::keras_json::Json::Str(s) => s.clone(),
            _ => "optimizer".into(),
        })
        .unwrap_or_else(|| "optimizer".into());
    let params = trainable_params(model);
    let state = opt.state();
    let mut names = vec![format!("{prefix}/iteration"), format!("{prefix}/learning_rate")];
    t.dataset(&format!("optimizer_weights/{prefix}/iteration"), &[], Data::I64(vec![state.iterations as i64]));
    t.dataset(&format!("optimizer_weights/{prefix}/learning_rate"), &[], Data::F32(vec![state.learning_rate]));
    let slot_names = opt.slot_names();
    for (p, s) in opt.keras_variable_order() {
        let Param { path3, shape, .. } = &params[p];
        let name = format!("{prefix}/{}_{}", path3.replace('/', "_"), slot_names[s]);
        t.dataset(&format!("optimizer_weights/{name}"), shape, Data::F32(state.slots[p][s].clone()));
        names.push(name);
    }
    if matches!(opt.config().kind, OptimizerKind::Nadam { .. }) {
        let name = format!("{prefix}/variable");
        t.dataset(&format!("optimizer_weights/{name}"), &[], Data::F32(vec![opt.u_product().to_f32().unwrap_or(1.0)]));
        names.push(name);
    }
    t.attr_strings("optimizer_weights", "weight_names", &names);
}

/// A Keras HDF5 model file (`model.save("m.h5")`) of `model` in the given layout. The
/// training configuration and the optimizer state are included when `include_optimizer` and
/// the model is compiled. Returns the bytes and warnings (settings Keras cannot represent).
pub fn save_model<T: Real>(model: &Model<T>, include_optimizer: bool, layout: Layout) -> R<(Vec<u8>, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut t = Tree::default();
    t.attr_str("", "keras_version", layout.version());
    t.attr_str("", "backend", BACKEND);
    let (model_config, training_config) = match layout {
        Layout::Keras3 => (h5_model_config(model), training_config_json(model)),
        Layout::Keras2 => (keras2::model_config(model)?, keras2::training_config(model)),
    };
    t.attr_str("", "model_config", &model_config);
    if layout == Layout::Keras2 && refers_to_nested(&model.spec) {
        warnings.push(
            "in the Keras 2 layout a nested model's calls are numbered from 1 (tf.keras 2 counts the model's own \
             construction), which tf.keras 2 reads but Keras 3.15 does not (not in files of tf.keras 2 either); \
             save with keras_version = 3 for Keras 3"
                .into(),
        );
    }
    if include_optimizer {
        if let Some(tc) = training_config {
            t.attr_str("", "training_config", &tc);
            let decay = model.compiled.as_ref().map_or(0.0, |c| c.optimizer.config().decay);
            if decay != 0.0 {
                warnings.push(format!(
                    "Keras 3 and tf.keras 2.11+ optimizers have no `decay` argument: the file records learning_rate \
                     = {} without the decay ({decay})",
                    model.compiled.as_ref().unwrap().optimizer.learning_rate() as f32
                ));
            }
            write_optimizer(&mut t, model, layout);
        }
    }
    write_layers(&mut t, "model_weights", model, layout);
    Ok((t.finish()?, warnings))
}

/// Whether a functional model (or one nested in the model) applies a nested model: its
/// tf.keras 2 config then numbers that model's calls from 1.
fn refers_to_nested(spec: &ModelSpec) -> bool {
    spec.layers.iter().any(|l| match l.kind.nested() {
        Some(m) => spec.class_name == "Functional" || refers_to_nested(m),
        None => false,
    })
}

/// A Keras HDF5 weights file (`model.save_weights("w.h5")`): `layer_names` and the layer
/// groups at the root.
pub fn save_weights<T: Real>(model: &Model<T>) -> R<Vec<u8>> {
    let mut t = Tree::default();
    write_layers(&mut t, "", model, Layout::Keras3);
    t.finish()
}

#[cfg(test)]
mod tests;
