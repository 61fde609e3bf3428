//! R closures behind the core's [`BatchSource`]: a generator returns `list(x, y[, w])` per
//! call. Every user closure reaches Rust wrapped by R's `guard_closure()`, which returns
//! `list(TRUE, value)` or `list(FALSE, condition, kind)`, so no R error or interrupt ever
//! unwinds through Rust; the condition is kept for R to re-raise.

use crate::r_convert::to_weights;
use crate::r_data::to_tensors;
use extendr_api::prelude::*;
use rkeras_core::callbacks::Halt;
use rkeras_core::data::check_data;
use rkeras_core::losses::Loss;
use rkeras_core::train::{Batch, BatchSource};
use std::cell::RefCell;
use std::rc::Rc;

/// The R condition of the first failure in user code during one call into Rust.
pub type CondSlot = Rc<RefCell<Option<Robj>>>;

/// Calls a guarded R closure; an R error is kept in `slot` and becomes `Halt::RCondition`.
///
/// The guard's `tryCatch()` turns every R error into a value, so the call itself fails only
/// when Ctrl-C lands while R runs the guard's own code, before `tryCatch()` has set up its
/// handlers or after it has returned (R polls for interrupts every 1,000 evaluations, so
/// that window is real). R has then consumed the interrupt: it is one, and stops the loop
/// as an interrupt does.
pub fn call_guarded(f: &Function, args: Pairlist, slot: &CondSlot, context: &str) -> Result<Robj, Halt> {
    let res = f.call(args).map_err(|_| Halt::Interrupt)?;
    let list = res.as_list().ok_or_else(|| Halt::Error(format!("{context}: internal guard returned no list")))?;
    let ok = list.elt(0).ok().and_then(|v| v.as_bool()).unwrap_or(false);
    let value = list.elt(1).unwrap_or_else(|_| ().into());
    if ok {
        return Ok(value);
    }
    let kind = list.elt(2).ok().and_then(|k| k.as_str().map(String::from)).unwrap_or_default();
    if kind == "interrupt" {
        return Err(Halt::Interrupt);
    }
    let msg = list.elt(3).ok().and_then(|m| m.as_str().map(String::from)).unwrap_or_default();
    let mut s = slot.borrow_mut();
    if s.is_none() {
        *s = Some(value);
    }
    Err(Halt::RCondition(format!("{context}: {msg}")))
}

/// What a generator's batches must fit.
pub struct Expect {
    /// Names and per-sample shapes of the model inputs.
    pub inputs: Vec<(String, Vec<usize>)>,
    /// Names, per-sample shapes and losses of the outputs.
    pub outputs: Vec<(String, Vec<usize>, Option<Loss>)>,
    /// `predict_generator()` accepts `list(x)` and ignores targets.
    pub needs_y: bool,
    /// Embeddings reading model inputs, whose ids each batch must hold.
    pub ids: Vec<rkeras_core::data::IdCheck>,
}

/// A generator closure as a batch source, called exactly once per step.
pub struct RGenerator {
    fun: Function,
    steps: usize,
    expect: Expect,
    slot: CondSlot,
    overlap: bool,
}

impl RGenerator {
    pub fn new(fun: Function, steps: usize, expect: Expect, slot: CondSlot, overlap: bool) -> Self {
        RGenerator { fun, steps, expect, slot, overlap }
    }

    fn convert(&self, v: &Robj, b: &mut Batch<f32>) -> std::result::Result<(), String> {
        let shape = "the generator must return list(x, y) or list(x, y, sample_weight)";
        if v.is_null() {
            return Err(format!("{shape}, got NULL"));
        }
        let Some(list) = v.as_list().filter(|_| !v.inherits("data.frame")) else {
            return Err(format!("{shape}, got a {} value", crate::r_convert::r_typeof(v)));
        };
        let n = list.len();
        let ok_len = if self.expect.needs_y { n == 2 || n == 3 } else { (1..=3).contains(&n) };
        if !ok_len {
            return Err(format!("{shape}, got a list of {n} elements"));
        }
        b.xs = to_tensors(&list.elt(0).unwrap(), self.expect.inputs.len(), "x")?;
        let inputs: Vec<(&str, &[usize])> = self.expect.inputs.iter().map(|(n, s)| (n.as_str(), &s[..])).collect();
        let outputs: Vec<(&str, Vec<usize>, Option<Loss>)> =
            self.expect.outputs.iter().map(|(n, s, l)| (n.as_str(), s.clone(), *l)).collect();
        if self.expect.needs_y {
            b.ys = to_tensors(&list.elt(1).unwrap(), self.expect.outputs.len(), "y")?;
            check_data(&b.xs, Some(&b.ys), &inputs, &outputs)?;
            b.w = if n == 3 { to_weights(&list.elt(2).unwrap(), b.rows(), "sample_weight")? } else { None };
        } else {
            check_data(&b.xs, None, &inputs, &outputs)?;
        }
        rkeras_core::data::check_input_ids(&b.xs, &self.expect.ids, 0)?;
        Ok(())
    }
}

impl BatchSource<f32> for RGenerator {
    fn steps(&self) -> usize {
        self.steps
    }

    fn fill(&mut self, epoch: usize, step: usize, b: &mut Batch<f32>) -> Result<(), Halt> {
        let context = format!("generator step {} of epoch {}", step + 1, epoch + 1);
        let v = call_guarded(&self.fun, pairlist!(), &self.slot, &context)?;
        self.convert(&v, b).map_err(|m| Halt::Error(format!("{context}: {m}")))
    }

    fn overlap(&self) -> bool {
        self.overlap
    }
}
