//! Every `.Call` entry point. Each converts its arguments, calls the core, converts back.
// Internal functions: R/extendr-wrappers.R is generated from these (no roxygen here).

use crate::r_callbacks::build_callbacks;
use crate::r_console::RHost;
use crate::r_convert::{from_spec, from_tensor, logs_to_r, to_tensor};
use crate::r_data::{arrays_x, generator, outputs_to_r, predict_array, read_data, recycle, Arrays, Data};
use crate::r_generator::CondSlot;
use extendr_api::prelude::*;
use rkeras_core::callbacks::{Halt, Logs};
use rkeras_core::data::split_point;
use rkeras_core::keras_h5;
use rkeras_core::model::{CompileSpec, Model, ModelSpec};
use rkeras_core::rng::Rng;
use rkeras_core::serialize;
use rkeras_core::train::{self, ArraySource, BatchSource, FitConfig, FitOutcome};

type R<T> = std::result::Result<T, String>;

/// The Rust side of an R model. `None` while a fit holds the model.
pub struct ModelHandle {
    model: Option<Model<f32>>,
    _live: crate::r_live::Live,
}

/// Runs `f` on the model behind `h`, taking it out meanwhile (an R callback that reaches
/// for the model during fit gets an error, never an aliased model; savers read the model
/// the loop lends instead: `crate::r_lent`).
pub(crate) fn with_model<T>(h: Robj, f: impl FnOnce(&mut Model<f32>) -> R<T>) -> R<T> {
    let key = crate::r_lent::key(&h);
    let mut p: ExternalPtr<ModelHandle> = h.try_into().map_err(|_| "not an rkeras model handle".to_string())?;
    // no borrow of the handle lives across `f`: R code it runs may reach the same handle
    let mut m = {
        let hd = p.try_addr_mut().map_err(|_| "the model handle is empty".to_string())?;
        hd.model.take().ok_or("the model is busy: it cannot be used from inside its own fit()")?
    };
    let at = rkeras_core::paused::address(&m);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::r_lent::taken(key, at, || f(&mut m))));
    if let Ok(hd) = p.try_addr_mut() {
        hd.model = Some(m);
    }
    r.unwrap_or_else(|p| std::panic::resume_unwind(p))
}

#[extendr]
fn rk_handle_alive(h: Robj) -> bool {
    let p: std::result::Result<ExternalPtr<ModelHandle>, _> = h.try_into();
    p.map(|p| p.try_addr().is_ok()).unwrap_or(false)
}

/// Frees the memory kept for the next conversion of large training data.
#[extendr]
fn rk_release_buffers() {
    rkeras_core::convert::release_spare();
}

/// Bounds the threads of matrix products (0 = all cores).
#[extendr]
fn rk_set_threads(n: i32) {
    rkeras_core::linalg::set_threads(n.max(0) as usize);
}

#[extendr]
fn rk_model_build(spec: Robj, seed: f64) -> R<Robj> {
    let spec: ModelSpec = from_spec(&spec, "model")?;
    let model = Model::build(spec, &mut Rng::seed_from(seed as u64))?;
    Ok(ExternalPtr::new(ModelHandle { model: Some(model), _live: crate::r_live::Live::new() }).into())
}

/// Checks a model spec by building it (shapes, names, graph) with a fixed stream: an error
/// names the layer and the shapes. Draws nothing from R's RNG.
#[extendr]
fn rk_model_check(spec: Robj) -> R<()> {
    let spec: ModelSpec = from_spec(&spec, "model")?;
    Model::<f32>::build(spec, &mut Rng::seed_from(0))?;
    Ok(())
}

#[extendr]
fn rk_model_compile(h: Robj, spec: Robj) -> R<()> {
    let spec: CompileSpec = from_spec(&spec, "compile() arguments")?;
    with_model(h, |m| m.compile(spec))
}

#[extendr]
fn rk_model_layers(h: Robj) -> R<Robj> {
    crate::r_lent::with_model_ref(h, |m| {
        let rows: Vec<Robj> = m
            .layer_rows()
            .into_iter()
            .map(|(name, shape, params, trainable, state)| {
                let shape: Vec<i32> = shape.iter().map(|d| *d as i32).collect();
                let (params, trainable, state) = (params as f64, trainable as f64, state as f64);
                list!(
                    name = name,
                    output_shape = shape,
                    params = params,
                    trainable_params = trainable,
                    state_params = state
                )
                .into()
            })
            .collect();
        Ok(List::from_values(rows).into())
    })
}

fn outcome_to_r(o: &FitOutcome, slot: &CondSlot, warnings: &[String]) -> Robj {
    let (status, message) = match &o.halt {
        None => ("ok", String::new()),
        Some(Halt::Interrupt) => ("interrupted", String::new()),
        Some(Halt::Error(m)) => ("error", m.clone()),
        Some(Halt::RCondition(m)) => ("rerror", m.clone()),
    };
    let names: Vec<&str> = o.history.metrics.iter().map(|(k, _)| k.as_str()).collect();
    let values: Vec<Robj> = o.history.metrics.iter().map(|(_, v)| Robj::from(v.clone())).collect();
    let metrics: Robj = List::from_names_and_values(names, values).map(Robj::from).unwrap_or(().into());
    let p = &o.params;
    let opt = |v: Option<usize>| v.map_or(Robj::from(()), |v| Robj::from(v as f64));
    let params = list!(
        epochs = p.epochs as f64,
        steps = opt(p.steps),
        verbose = p.verbose as i32,
        samples = opt(p.samples),
        batch_size = opt(p.batch_size),
        validation_samples = opt(p.validation_samples),
        do_validation = p.do_validation
    );
    let cond = slot.borrow().clone().unwrap_or_else(|| ().into());
    let states: Vec<Robj> = o
        .callback_states
        .iter()
        .map(|st| {
            let (names, values): (Vec<&str>, Vec<Robj>) = st.iter().map(|(k, v)| (*k, Robj::from(*v))).unzip();
            List::from_names_and_values(names, values).map(Robj::from).unwrap_or(().into())
        })
        .collect();
    list!(
        status = status,
        message = message,
        condition = cond,
        epoch = o.epoch as f64 + 1.0,
        step = o.step as f64 + 1.0,
        metrics = metrics,
        params = params,
        warnings = warnings.to_vec(),
        callback_states = List::from_values(states)
    )
    .into()
}

fn array_source<'a>(a: &'a Arrays, rows: std::ops::Range<usize>, bs: usize, shuffle: bool) -> ArraySource<'a, f32> {
    ArraySource::new(a.xs.iter().collect(), a.ys.iter().collect(), a.w.as_deref(), rows, bs, shuffle)
}

/// Keras applies `class_weight` to single-output models only.
fn check_class_weight(m: &Model<f32>) -> std::result::Result<(), String> {
    if m.n_outputs() > 1 {
        return Err("`class_weight` is only supported for models with a single output; use `sample_weight`".into());
    }
    Ok(())
}

#[extendr]
fn rk_fit(h: Robj, train: Robj, val: Robj, spec: Robj, callbacks: List, console: Robj) -> R<Robj> {
    let cfg: FitConfig = from_spec(&spec, "fit() arguments")?;
    let slot = CondSlot::default();
    with_model(h, |m| {
        if m.compiled.is_none() {
            return Err(rkeras_core::model::not_compiled());
        }
        if cfg.class_weight.is_some() {
            check_class_weight(m)?;
        }
        let tdata = read_data(&train, m, true, "")?;
        let vdata = if val.is_null() { None } else { Some(read_data(&val, m, true, "validation_data: ")?) };
        let cbs = build_callbacks(&callbacks, &slot)?;
        let bs = cfg.batch_size.unwrap_or(32);
        let vbs = cfg.validation_batch_size.unwrap_or(bs);
        let mut host = RHost::new(&console);
        let outcome = match (&tdata, &vdata) {
            (Data::Arrays(a), v) => {
                let split = split_point(a.rows(), cfg.validation_split)?;
                let mut src = array_source(a, 0..split, bs, cfg.shuffle);
                let mut vsrc: Option<Box<dyn BatchSource<f32> + '_>> = match v {
                    Some(Data::Arrays(va)) => Some(Box::new(array_source(va, 0..va.rows(), vbs, false))),
                    Some(Data::Generator(f, s)) => Some(Box::new(generator(m, f.clone(), *s, true, &slot, false))),
                    None if split < a.rows() => Some(Box::new(array_source(a, split..a.rows(), vbs, false))),
                    None => None,
                };
                train::fit(m, &mut src, vsrc.as_deref_mut(), cbs, &mut host, &cfg)
            }
            (Data::Generator(f, steps), v) => {
                let mut src = generator(m, f.clone(), *steps, true, &slot, true);
                let mut vsrc: Option<Box<dyn BatchSource<f32> + '_>> = match v {
                    Some(Data::Arrays(va)) => Some(Box::new(array_source(va, 0..va.rows(), vbs, false))),
                    Some(Data::Generator(f, s)) => Some(Box::new(generator(m, f.clone(), *s, true, &slot, false))),
                    None => None,
                };
                train::fit(m, &mut src, vsrc.as_deref_mut(), cbs, &mut host, &cfg)
            }
        };
        recycle(tdata);
        if let Some(v) = vdata {
            recycle(v);
        }
        Ok(outcome_to_r(&outcome, &slot, &host.warnings))
    })
}

fn halt_to_r(h: Halt, slot: &CondSlot, host: &RHost) -> Robj {
    let outcome = FitOutcome { halt: Some(h), ..Default::default() };
    outcome_to_r(&outcome, slot, &host.warnings)
}

#[extendr]
fn rk_evaluate(h: Robj, data: Robj, batch_size: f64, verbose: i32, callbacks: List, console: Robj) -> R<Robj> {
    let slot = CondSlot::default();
    with_model(h, |m| {
        if m.compiled.is_none() {
            return Err(rkeras_core::model::not_compiled());
        }
        let d = read_data(&data, m, true, "")?;
        let cbs = build_callbacks(&callbacks, &slot)?;
        let mut host = RHost::new(&console);
        let r = match &d {
            Data::Arrays(a) => {
                let mut src = array_source(a, 0..a.rows(), batch_size as usize, false);
                train::evaluate(m, &mut src, cbs, &mut host, verbose as u8)
            }
            Data::Generator(f, steps) => {
                let mut src = generator(m, f.clone(), *steps, true, &slot, false);
                train::evaluate(m, &mut src, cbs, &mut host, verbose as u8)
            }
        };
        recycle(d);
        Ok(match r {
            Ok(logs) => list!(status = "ok", logs = logs_to_r(&logs), warnings = host.warnings.clone()).into(),
            Err(h) => halt_to_r(h, &slot, &host),
        })
    })
}

#[extendr]
fn rk_predict(h: Robj, data: Robj, batch_size: f64, verbose: i32, callbacks: List, console: Robj) -> R<Robj> {
    let slot = CondSlot::default();
    with_model(h, |m| {
        let mut host = RHost::new(&console);
        // no hooks to run: the arrays are read a chunk at a time
        if let Some(x) = arrays_x(&data).filter(|_| callbacks.is_empty() && verbose == 0) {
            return predict_array(m, &x, batch_size as usize);
        }
        let d = read_data(&data, m, false, "")?;
        let r = match &d {
            Data::Arrays(a) => {
                let cbs = build_callbacks(&callbacks, &slot)?;
                let mut src = array_source(a, 0..a.rows(), batch_size as usize, false);
                train::predict_source(m, &mut src, cbs, &mut host, verbose as u8)
            }
            Data::Generator(f, steps) => {
                let cbs = build_callbacks(&callbacks, &slot)?;
                let mut src = generator(m, f.clone(), *steps, false, &slot, false);
                train::predict_source(m, &mut src, cbs, &mut host, verbose as u8)
            }
        };
        Ok(match r {
            Ok(t) => list!(status = "ok", value = outputs_to_r(&t), warnings = host.warnings.clone()).into(),
            Err(h) => halt_to_r(h, &slot, &host),
        })
    })
}

fn batch_logs(m: &mut Model<f32>, x: Robj, y: Robj, w: Robj, train: bool, cw: Robj) -> R<Robj> {
    if m.compiled.is_none() {
        return Err(rkeras_core::model::not_compiled());
    }
    let d = List::from_names_and_values(["type", "x", "y", "w"], [Robj::from("arrays"), x, y, w])
        .map_err(|e| e.to_string())?;
    let Data::Arrays(a) = read_data(&d.into(), m, true, "")? else { unreachable!() };
    let mut b = train::Batch { xs: a.xs, ys: a.ys, w: a.w };
    let mut run = m.new_running(&b.y_lens())?;
    if train {
        if let Some(cw) = cw.as_real_vector() {
            check_class_weight(m)?;
            train::apply_class_weight(&cw, &mut b);
        }
        m.train_step(&b.xs, &b.ys, b.w.as_deref(), &mut run);
    } else {
        m.test_step(&b.xs, &b.ys, b.w.as_deref(), &mut run);
    }
    let logs = Logs::sorted(run.values().map(|(k, v)| (k.to_string(), v)));
    Ok(logs_to_r(&logs))
}

#[extendr]
fn rk_train_on_batch(h: Robj, x: Robj, y: Robj, w: Robj, class_weight: Robj) -> R<Robj> {
    with_model(h, |m| batch_logs(m, x, y, w, true, class_weight))
}

#[extendr]
fn rk_test_on_batch(h: Robj, x: Robj, y: Robj, w: Robj) -> R<Robj> {
    with_model(h, |m| batch_logs(m, x, y, w, false, ().into()))
}

#[extendr]
fn rk_get_weights(h: Robj) -> R<Robj> {
    crate::r_lent::with_model_ref(h, |m| {
        let arrays: Vec<Robj> = m
            .get_weights()
            .into_iter()
            .map(|(_, _, shape, values)| {
                let t = rkeras_core::tensor::Tensor::from_vec(&shape, values);
                if shape.len() == 1 {
                    let mut r: Robj = t.data.iter().map(|v| *v as f64).collect::<Vec<f64>>().into();
                    let _ = r.set_attrib("dim", vec![shape[0] as i32]);
                    r
                } else {
                    from_tensor(&t)
                }
            })
            .collect();
        Ok(List::from_values(arrays).into())
    })
}

#[extendr]
fn rk_set_weights(h: Robj, weights: List) -> R<()> {
    with_model(h, |m| {
        let mut vals = Vec::new();
        for (i, w) in weights.values().enumerate() {
            let dims: Vec<usize> = match w.dim() {
                Some(d) => d.iter().map(|v| Option::<i32>::from(v).unwrap_or(0) as usize).collect(),
                None => vec![w.len()],
            };
            let t = to_tensor(&w, &format!("weights[[{}]]", i + 1))?;
            vals.push((dims, t.data));
        }
        m.set_weights(&vals)
    })
}

#[extendr]
fn rk_loss_values(name: &str, from_logits: bool, y_true: Robj, y_pred: Robj) -> R<Vec<f64>> {
    let loss = rkeras_core::losses::Loss::from_name(name)?;
    let yt = to_tensor(&y_true, "y_true")?;
    let yp = to_tensor(&y_pred, "y_pred")?;
    Ok(loss.per_sample_values(from_logits, &yt, &yp)?.iter().map(|v| *v as f64).collect())
}

/// Canonical Keras name of a loss name or alias; errors list the valid names.
#[extendr]
fn rk_loss_name(name: &str) -> R<String> {
    rkeras_core::losses::Loss::from_name(name).map(|l| l.name().to_string())
}

/// Canonical Keras name of an activation; errors list the valid names.
#[extendr]
fn rk_activation_name(name: &str) -> R<String> {
    rkeras_core::activations::Activation::from_name(name).map(|a| a.name().to_string())
}

/// Checks a metric name; errors list the valid names.
#[extendr]
fn rk_check_metric(name: &str) -> R<bool> {
    rkeras_core::metrics::resolve_metric(name, 2, 2).map(|_| true)
}

/// `x[, cols]` for a column-major `rows x n` double or integer matrix (its dim is not set).
/// Whether `x` is an `array_reshape()` view not copied out yet (for tests).
#[extendr]
fn rk_is_reshape_view(x: Robj) -> bool {
    crate::r_reshape::view_parts(&x).is_some()
}

/// `array_reshape()`'s column-permuting view (see `r_reshape.rs`).
#[extendr]
fn rk_reshape_view(x: Robj, rows: i32, cols: Vec<i32>, dim: Vec<i32>) -> R<Robj> {
    crate::r_reshape::reshape_view(x, rows, cols, dim)
}

#[extendr]
fn rk_read_scalars(log_dir: &str) -> R<Robj> {
    let recs = rkeras_core::tfevents::read_scalars(std::path::Path::new(log_dir))?;
    Ok(list!(
        run = recs.iter().map(|r| r.run.clone()).collect::<Vec<_>>(),
        tag = recs.iter().map(|r| r.tag.clone()).collect::<Vec<_>>(),
        step = recs.iter().map(|r| r.step as f64).collect::<Vec<_>>(),
        value = recs.iter().map(|r| r.value).collect::<Vec<_>>(),
        wall_time = recs.iter().map(|r| r.wall_time).collect::<Vec<_>>()
    )
    .into())
}

// ---- persistence and introspection (R/persistence.R, R/model-layers.R) ----

fn raw_arg(x: &Robj) -> R<&[u8]> {
    x.as_raw_slice().ok_or_else(|| "expected a raw vector".to_string())
}

/// The model in rkeras's file format (a raw vector).
#[extendr]
fn rk_model_to_bytes(h: Robj, include_optimizer: bool) -> R<Robj> {
    crate::r_lent::with_model_ref(h, |m| Ok(Raw::from_bytes(&m.to_bytes(include_optimizer)).into()))
}

/// A `model$state` for the model behind `h`: a raw vector of its bytes, taken only when R
/// reads it (saveRDS(), serialize()).
#[extendr]
fn rk_model_state(h: Robj) -> R<Robj> {
    if !rk_handle_alive(h.clone()) {
        return Err("the model handle is empty".into());
    }
    Ok(crate::r_persist::lazy_state(&h))
}

/// A model from rkeras's file format: `list(ptr, model = <spec>, compile = <spec or NULL>)`.
#[extendr]
fn rk_model_from_bytes(bytes: Robj, compile: bool) -> R<Robj> {
    let d = serialize::decode(raw_arg(&bytes)?)?;
    let spec = crate::r_persist::to_r(&d.header.model);
    let cspec = match (&d.header.compile, compile) {
        (Some(c), true) => crate::r_persist::to_r(c),
        _ => ().into(),
    };
    let model = Model::from_decoded(d, compile)?;
    let ptr: Robj = ExternalPtr::new(ModelHandle { model: Some(model), _live: crate::r_live::Live::new() }).into();
    Ok(list!(ptr = ptr, model = spec, compile = cspec).into())
}

/// Writes the model (or only its weights) to a new file `path`, flushed to disk.
#[extendr]
fn rk_model_write(h: Robj, path: &str, include_optimizer: bool, weights_only: bool) -> R<()> {
    crate::r_lent::with_model_ref(h, |m| {
        let bytes = if weights_only { m.weights_to_bytes() } else { m.to_bytes(include_optimizer) };
        serialize::write_new_file(std::path::Path::new(path), &bytes)
    })
}

/// Moves the finished temporary file `tmp` over `target` (atomic rename).
#[extendr]
fn rk_file_replace(tmp: &str, target: &str) -> R<()> {
    serialize::replace_file(std::path::Path::new(tmp), std::path::Path::new(target))
}

/// Loads weights from a file's bytes (Keras matching rules); returns the warnings.
#[extendr]
fn rk_model_load_weights(h: Robj, bytes: Robj, by_name: bool, skip_mismatch: bool) -> R<Vec<String>> {
    let b = raw_arg(&bytes)?;
    with_model(h, |m| m.load_weights_bytes(b, by_name, skip_mismatch))
}

/// Replaces the model by one built from `spec`, keeping the weights of unchanged layers and
/// the random stream (not compiled).
#[extendr]
fn rk_model_respec(h: Robj, spec: Robj, seed: f64) -> R<()> {
    let spec: ModelSpec = from_spec(&spec, "model")?;
    with_model(h, |m| {
        *m = m.rebuilt(spec, &mut Rng::seed_from(seed as u64))?;
        Ok(())
    })
}

/// Every weight: `list(layer, weight, shape, trainable, state)`, Keras order; trainable as built;
/// `state` for a weight the optimizer never trains (batch normalization's moving statistics).
#[extendr]
fn rk_model_weight_info(h: Robj) -> R<Robj> {
    crate::r_lent::with_model_ref(h, |m| {
        let mut layer = Vec::new();
        let mut weight = Vec::new();
        let mut shape: Vec<Robj> = Vec::new();
        let mut trainable = Vec::new();
        let mut state = Vec::new();
        for l in m.layers() {
            for w in l.weights() {
                layer.push(l.spec().name.clone());
                weight.push(w.name.to_string());
                shape.push(w.shape.iter().map(|d| *d as i32).collect::<Vec<i32>>().into());
                trainable.push(l.spec().trainable);
                state.push(!w.trainable);
            }
        }
        let shape = List::from_values(shape);
        Ok(list!(layer = layer, weight = weight, shape = shape, trainable = trainable, state = state).into())
    })
}

/// The live compile state: `NULL`, or `list(spec, iterations, learning_rate)`.
#[extendr]
fn rk_model_compile_info(h: Robj) -> R<Robj> {
    crate::r_lent::with_model_ref(h, |m| {
        Ok(match &m.compiled {
            None => ().into(),
            Some(c) => list!(
                spec = crate::r_persist::to_r(&c.spec),
                iterations = c.optimizer.iterations() as f64,
                log_keys = c.spec.log_keys(),
                learning_rate = c.optimizer.learning_rate()
            )
            .into(),
        })
    })
}

// ---- Keras HDF5 files (R/persistence-hdf5.R) ----

/// A model from a Keras HDF5 file's bytes: `list(ptr, model = <spec>, compile = <spec or
/// NULL>, warnings)`, the shape of [`rk_model_from_bytes`]'s answer.
#[extendr]
fn rk_h5_load_model(bytes: Robj, compile: bool, seed: f64) -> R<Robj> {
    let l = keras_h5::load_model(raw_arg(&bytes)?.to_vec(), compile, seed as u64)?;
    let spec = crate::r_persist::to_r(&l.model.spec);
    let cspec = match &l.model.compiled {
        // the live optimizer config: it carries the restored learning rate
        Some(c) => crate::r_persist::to_r(&CompileSpec { optimizer: c.optimizer.config().clone(), ..c.spec.clone() }),
        None => ().into(),
    };
    let ptr: Robj = ExternalPtr::new(ModelHandle { model: Some(l.model), _live: crate::r_live::Live::new() }).into();
    Ok(list!(ptr = ptr, model = spec, compile = cspec, warnings = l.warnings).into())
}

/// Writes the model as a Keras HDF5 file to a new file `path`; returns the warnings.
#[extendr]
fn rk_h5_save_model(h: Robj, path: &str, include_optimizer: bool, keras_version: i32) -> R<Vec<String>> {
    let layout = keras_h5::Layout::from_version(keras_version)?;
    crate::r_lent::with_model_ref(h, |m| {
        let (bytes, warnings) = keras_h5::save_model(m, include_optimizer, layout)?;
        serialize::write_new_file(std::path::Path::new(path), &bytes)?;
        Ok(warnings)
    })
}

/// Writes the weights as a Keras HDF5 weights file to a new file `path`.
#[extendr]
fn rk_h5_save_weights(h: Robj, path: &str) -> R<()> {
    crate::r_lent::with_model_ref(h, |m| {
        serialize::write_new_file(std::path::Path::new(path), &keras_h5::save_weights(m)?)
    })
}

/// Loads weights from a Keras HDF5 file's bytes; returns the warnings.
#[extendr]
fn rk_h5_load_weights(h: Robj, bytes: Robj, by_name: bool, skip_mismatch: bool, reshape: bool) -> R<Vec<String>> {
    let b = raw_arg(&bytes)?.to_vec();
    let opts = keras_h5::LoadWeightsOptions { by_name, skip_mismatch, reshape };
    with_model(h, |m| keras_h5::load_weights(m, b, opts))
}

/// `pad_sequences()`: a list of integer vectors (`integer`) or of double vectors as an
/// `n x maxlen` matrix of the same type (R has coerced each element already).
#[extendr]
fn rk_pad_sequences(seqs: List, maxlen: i32, pre_pad: bool, pre_trunc: bool, value: f64, integer: bool) -> R<Robj> {
    use rkeras_core::sequences::{pad_sequences, End};
    let end = |pre: bool| if pre { End::Pre } else { End::Post };
    let (n, maxlen) = (seqs.len(), maxlen.max(0) as usize);
    let bad = |i: usize| format!("pad_sequences(): element {} of `sequences` has the wrong type", i + 1);
    let items: Vec<Robj> = seqs.values().collect();
    let mut r: Robj = if integer {
        let s: Vec<&[i32]> =
            items.iter().enumerate().map(|(i, v)| v.as_integer_slice().ok_or_else(|| bad(i))).collect::<R<_>>()?;
        let mut r: Robj = Integers::new(n * maxlen).into();
        let out = r.as_integer_slice_mut().ok_or("pad_sequences(): could not allocate the result")?;
        pad_sequences(&s, maxlen, end(pre_pad), end(pre_trunc), value as i32, out);
        r
    } else {
        let s: Vec<&[f64]> =
            items.iter().enumerate().map(|(i, v)| v.as_real_slice().ok_or_else(|| bad(i))).collect::<R<_>>()?;
        let mut r: Robj = Doubles::new(n * maxlen).into();
        let out = r.as_real_slice_mut().ok_or("pad_sequences(): could not allocate the result")?;
        pad_sequences(&s, maxlen, end(pre_pad), end(pre_trunc), value, out);
        r
    };
    r.set_attrib("dim", vec![n as i32, maxlen as i32]).map_err(|e| e.to_string())?;
    Ok(r)
}

extendr_module! {
    mod r_api;
    fn rk_handle_alive;
    fn rk_set_threads;
    fn rk_pad_sequences;
    fn rk_release_buffers;
    fn rk_model_build;
    fn rk_model_check;
    fn rk_model_compile;
    fn rk_model_layers;
    fn rk_fit;
    fn rk_evaluate;
    fn rk_predict;
    fn rk_train_on_batch;
    fn rk_test_on_batch;
    fn rk_get_weights;
    fn rk_set_weights;
    fn rk_loss_values;
    fn rk_loss_name;
    fn rk_check_metric;
    fn rk_activation_name;
    fn rk_reshape_view;
    fn rk_is_reshape_view;
    fn rk_read_scalars;
    fn rk_model_to_bytes;
    fn rk_model_state;
    fn rk_model_from_bytes;
    fn rk_model_write;
    fn rk_file_replace;
    fn rk_model_load_weights;
    fn rk_model_respec;
    fn rk_model_weight_info;
    fn rk_model_compile_info;
    fn rk_h5_load_model;
    fn rk_h5_save_model;
    fn rk_h5_save_weights;
    fn rk_h5_load_weights;
}
