//! R callbacks behind the core's [`Callback`] trait: `callback_lambda()` and user-defined
//! callbacks (hooks get 1-based epoch/batch and the logs as a named list; a returned named
//! list is merged into the logs), and the learning-rate schedule closure. While a hook runs,
//! the model is lent to it for reading (`rkeras_core::paused`, `crate::r_lent`).

use crate::r_convert::{from_spec, logs_to_r, merge_into_logs};
use crate::r_generator::{call_guarded, CondSlot};
use extendr_api::prelude::*;
use rkeras_core::callbacks::{Callback, CallbackSpec, Ctx, Halt, HookResult, LearningRateScheduler, Logs};
use std::collections::HashMap;

/// An R callback: guarded R functions by hook name.
pub struct RCallback {
    hooks: HashMap<String, Function>,
    slot: CondSlot,
}

impl RCallback {
    /// Calls the hook; R returns `list(result, stop_training)` (see `prepare_callback()`).
    fn call(&mut self, hook: &str, index: Option<usize>, logs: &mut Logs) -> Result<bool, Halt> {
        let Some(f) = self.hooks.get(hook) else { return Ok(false) };
        let r_logs = logs_to_r(logs);
        let args = match index {
            Some(i) => pairlist!(i as i32 + 1, r_logs),
            None => pairlist!(r_logs),
        };
        let v = call_guarded(f, args, &self.slot, &format!("callback {hook}()"))?;
        let parts = v.as_list();
        if let Some(result) = parts.as_ref().and_then(|l| l.elt(0).ok()) {
            merge_into_logs(&result, logs);
        }
        Ok(parts.and_then(|l| l.elt(1).ok()).and_then(|s| s.as_bool()).unwrap_or(false))
    }
}

macro_rules! r_hooks {
    ($($name:ident $(($idx:ident))?;)*) => {
        impl Callback<f32> for RCallback {
            $(fn $name(&mut self, cx: &mut Ctx<f32>, $($idx: usize,)? logs: &mut Logs) -> HookResult {
                // the hook may read the model (saveRDS(), save_model()): lend it
                let idx = r_hooks!(@idx $($idx)?);
                if rkeras_core::paused::paused(cx.model, || self.call(stringify!($name), idx, logs))? {
                    cx.stop_training = true;
                }
                Ok(())
            })*
        }
    };
    (@idx $i:ident) => { Some($i) };
    (@idx) => { None };
}

r_hooks! {
    on_train_begin; on_train_end; on_epoch_begin(epoch); on_epoch_end(epoch);
    on_train_batch_begin(batch); on_train_batch_end(batch); on_test_begin; on_test_end;
    on_test_batch_begin(batch); on_test_batch_end(batch); on_predict_begin; on_predict_end;
    on_predict_batch_begin(batch); on_predict_batch_end(batch);
}

fn schedule_closure(f: Function, slot: CondSlot) -> impl FnMut(usize, f64) -> Result<f64, Halt> {
    move |epoch, lr| {
        let v = call_guarded(&f, pairlist!(epoch as i32, lr), &slot, "learning rate schedule")?;
        match v.rtype() {
            Rtype::Doubles | Rtype::Integers if v.len() == 1 => Ok(crate::r_data::number(&v).unwrap_or(f64::NAN)),
            _ => Err(Halt::Error(format!(
                "callback_learning_rate_scheduler(): the schedule must return a single number, got a {:?} of length {}",
                v.rtype(),
                v.len()
            ))),
        }
    }
}

/// Builds the callback list R passed: built-in specs, R callbacks and schedules, in order.
pub fn build_callbacks(list: &List, slot: &CondSlot) -> std::result::Result<Vec<Box<dyn Callback<f32>>>, String> {
    let mut out: Vec<Box<dyn Callback<f32>>> = Vec::new();
    for cb in list.values() {
        let ty = cb.dollar("type").ok().and_then(|t| t.as_str().map(String::from)).unwrap_or_default();
        match ty.as_str() {
            "r" => {
                let hooks = cb.dollar("hooks").map_err(|e| e.to_string())?;
                let hooks = hooks.as_list().ok_or("R callback hooks must be a list")?;
                let map = hooks.iter().filter_map(|(k, v)| v.as_function().map(|f| (k.to_string(), f))).collect();
                out.push(Box::new(RCallback { hooks: map, slot: slot.clone() }));
            }
            "learning_rate_scheduler" => {
                let f =
                    cb.dollar("schedule").ok().and_then(|f| f.as_function()).ok_or("schedule must be a function")?;
                let verbose = cb.dollar("verbose").ok().and_then(|v| crate::r_data::number(&v)).unwrap_or(0.0) as u8;
                out.push(Box::new(LearningRateScheduler::new(schedule_closure(f, slot.clone()), verbose)));
            }
            _ => out.push(from_spec::<CallbackSpec>(&cb, "callback")?.build()?),
        }
    }
    Ok(out)
}
