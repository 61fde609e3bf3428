//! Reading the model of a running loop from code that the loop waits on.
//!
//! While `fit()` runs, the loop holds the model (`&mut Model`) and calls code on its own
//! thread that may want to read it: R callbacks between steps, and R generators, which run
//! while a worker thread computes the current step. Such code (`saveRDS()` or `save_model()`
//! in a callback) reads the model through [`peek`], and gets it as of the last finished
//! step:
//!
//! - [`paused`] lends the model for a call during which the loop does not touch it: `peek`
//!   reads it at once.
//! - [`overlapped`] runs one step on a worker thread while this thread makes a call: `peek`
//!   first waits for the step to finish, then reads the model.
//!
//! Why this is sound: both take the model as `&mut`, so the call they make cannot reach it
//! except through the pointer kept here, which is derived from that borrow and lives only
//! as long as it. Readers get shared references only, on the thread that lent the model
//! (the registry is thread-local, and everything that runs on this thread while a loan is
//! registered runs inside the lending call). In the overlapped case a reader touches the
//! model only after the worker has said, under a mutex, that it is done with it, and the
//! worker never touches it again.

use crate::model::Model;
use crate::Real;
use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::sync::{Condvar, Mutex, PoisonError};

/// Whether the worker of an [`overlapped`] step has finished: `None` while it runs,
/// `Some(true)` when the step finished, `Some(false)` when it panicked.
struct Gate {
    done: Mutex<Option<bool>>,
    cv: Condvar,
    /// The process the step runs in: a forked child has no worker to wait for.
    pid: u32,
}

impl Default for Gate {
    fn default() -> Self {
        Gate { done: Mutex::new(None), cv: Condvar::new(), pid: std::process::id() }
    }
}

impl Gate {
    fn finish(&self, ok: bool) {
        *self.done.lock().unwrap_or_else(PoisonError::into_inner) = Some(ok);
        self.cv.notify_all();
    }

    fn wait(&self) -> bool {
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(ok) = *done {
                return ok;
            }
            done = self.cv.wait(done).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// One lent model.
#[derive(Clone, Copy)]
struct Loan {
    ty: TypeId,
    model: *const (),
    gate: Option<*const Gate>,
    serial: u64,
}

thread_local! {
    static LOANS: RefCell<Vec<Loan>> = const { RefCell::new(Vec::new()) };
    static SERIAL: Cell<u64> = const { Cell::new(0) };
}

/// Ends a loan when dropped (also when the lending call unwinds).
struct Lent;

impl Drop for Lent {
    fn drop(&mut self) {
        LOANS.with(|l| l.borrow_mut().pop());
    }
}

fn lend<T: Real>(model: *mut Model<T>, gate: Option<&Gate>) -> Lent {
    let serial = SERIAL.with(|s| {
        s.set(s.get() + 1);
        s.get()
    });
    let loan = Loan { ty: TypeId::of::<T>(), model: model as *const (), gate: gate.map(|g| g as *const Gate), serial };
    LOANS.with(|l| l.borrow_mut().push(loan));
    Lent
}

fn find(addr: usize) -> Option<Loan> {
    LOANS.with(|l| l.try_borrow().ok().and_then(|l| l.iter().rev().find(|x| x.model as usize == addr).copied()))
}

/// The address [`peek`] and [`serial`] know a model by.
pub fn address<T: Real>(model: &Model<T>) -> usize {
    model as *const Model<T> as usize
}

/// Runs `f`, during which the caller does not touch `model`, with the model readable
/// through [`peek`].
pub fn paused<T: Real, R>(model: &mut Model<T>, f: impl FnOnce() -> R) -> R {
    let _lent = lend(model as *mut Model<T>, None);
    f()
}

/// A model pointer the worker of [`overlapped`] may hold.
struct WorkerPtr<T: Real>(*mut Model<T>);

// SAFETY: the worker is the only user of the model until it finishes (see `overlapped`),
// and the model itself may move between threads.
unsafe impl<T: Real> Send for WorkerPtr<T> where Model<T>: Send {}

/// Runs `work` on the model on a new thread while this thread runs `f`; the model is
/// readable through [`peek`] during `f`, after `work` has finished. A panic in `work` is
/// resumed here once `f` has returned.
pub fn overlapped<T: Real, R>(model: &mut Model<T>, work: impl FnOnce(&mut Model<T>) + Send, f: impl FnOnce() -> R) -> R
where
    Model<T>: Send,
{
    let gate = Gate::default();
    let ptr = model as *mut Model<T>;
    // taken by the worker, or by this thread when no thread can be started
    let work = Mutex::new(Some(work));
    std::thread::scope(|s| {
        let shared = WorkerPtr(ptr);
        let gate = &gate;
        let work_ref = &work;
        let spawned = std::thread::Builder::new().spawn_scoped(s, move || {
            let shared = shared;
            let work = work_ref.lock().unwrap_or_else(PoisonError::into_inner).take();
            // SAFETY: `ptr` comes from the `&mut` this function holds until the scope ends;
            // this thread uses the model only inside `work`, and the other thread reads it
            // only after `finish` below, which comes after the last use here.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if let Some(work) = work {
                    work(unsafe { &mut *shared.0 })
                }
            }));
            gate.finish(r.is_ok());
            if let Err(p) = r {
                std::panic::resume_unwind(p);
            }
        });
        let Ok(worker) = spawned else {
            // no thread to be had: the step first, then `f`, as without overlap
            if let Some(work) = work.lock().unwrap_or_else(PoisonError::into_inner).take() {
                // SAFETY: no other thread exists; `ptr` is this function's `&mut`.
                work(unsafe { &mut *ptr });
            }
            return paused(unsafe { &mut *ptr }, f);
        };
        let out = {
            let _lent = lend(ptr, Some(gate));
            f()
        };
        if let Err(p) = worker.join() {
            std::panic::resume_unwind(p);
        }
        out
    })
}

/// The serial number of the loan under which the model at `addr` is readable now (each
/// loan gets a new one; the model does not change during a loan), or `None` when no loop
/// on this thread lends it.
pub fn serial(addr: usize) -> Option<u64> {
    find(addr).map(|l| l.serial)
}

/// Reads the model at `addr` (see [`address`]) if a running loop on this thread lends it:
/// `None` when none does; otherwise `f`'s answer with the loan's [`serial`], or an error
/// when the step in flight failed. Waits for a step in flight to finish.
pub fn peek<T: Real, R>(addr: usize, f: impl FnOnce(&Model<T>) -> R) -> Option<Result<(u64, R), String>> {
    let loan = find(addr)?;
    if loan.ty != TypeId::of::<T>() {
        return None;
    }
    if let Some(gate) = loan.gate {
        // SAFETY: the gate lives in `overlapped`'s frame, which outlives its loan.
        let gate = unsafe { &*gate };
        if gate.pid != std::process::id() {
            // forked while a step ran: its worker thread (and maybe the lock) is not here
            return Some(Err("a model being trained cannot be read from a forked process".into()));
        }
        if !gate.wait() {
            return Some(Err("the training step in progress failed".into()));
        }
    }
    // SAFETY: the loan is registered, so its lending call is running further up this
    // thread's stack and keeps the `&mut` the pointer comes from; nothing else uses the
    // model meanwhile (module docs). The type was checked above.
    let model = unsafe { &*(loan.model as *const Model<T>) };
    Some(Ok((loan.serial, f(model))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelSpec;
    use crate::rng::Rng;

    fn model(seed: u64) -> Model<f32> {
        let spec: ModelSpec = serde_json::from_value(serde_json::json!({
            "name": "m", "class_name": "Sequential", "input_shape": [3],
            "layers": [{"class_name": "Dense", "name": "dense", "units": 2}]
        }))
        .unwrap();
        Model::build(spec, &mut Rng::seed_from(seed)).unwrap()
    }

    fn first_weight(m: &Model<f32>) -> f32 {
        m.get_weights()[0].3[0]
    }

    fn set_first_weight(m: &mut Model<f32>, v: f32) {
        let mut w: Vec<(Vec<usize>, Vec<f32>)> = m.get_weights().into_iter().map(|(_, _, s, v)| (s, v)).collect();
        w[0].1[0] = v;
        m.set_weights(&w).unwrap();
    }

    #[test]
    fn nothing_is_lent_outside_a_loan() {
        let mut m = model(1);
        let addr = address(&m);
        assert!(peek::<f32, _>(addr, first_weight).is_none());
        paused(&mut m, || assert!(peek::<f32, _>(addr, first_weight).is_some()));
        assert!(peek::<f32, _>(addr, first_weight).is_none());
        assert!(serial(addr).is_none());
    }

    #[test]
    fn paused_model_reads_as_it_is_and_each_loan_has_its_serial() {
        let mut m = model(1);
        set_first_weight(&mut m, 0.25);
        let addr = address(&m);
        let a = paused(&mut m, || peek::<f32, _>(addr, first_weight).unwrap().unwrap());
        let b = paused(&mut m, || peek::<f32, _>(addr, first_weight).unwrap().unwrap());
        assert_eq!(a.1, 0.25);
        assert_ne!(a.0, b.0);
        // another float type or another address is not lent
        paused(&mut m, || {
            assert!(peek::<f64, _>(addr, |_| ()).is_none());
            assert!(peek::<f32, _>(addr + 8, |_| ()).is_none());
        });
    }

    #[test]
    fn nested_loans_of_two_models() {
        let mut a = model(1);
        let mut b = model(2);
        set_first_weight(&mut a, 1.0);
        set_first_weight(&mut b, 2.0);
        let (aa, ba) = (address(&a), address(&b));
        paused(&mut a, || {
            paused(&mut b, || {
                assert_eq!(peek::<f32, _>(aa, first_weight).unwrap().unwrap().1, 1.0);
                assert_eq!(peek::<f32, _>(ba, first_weight).unwrap().unwrap().1, 2.0);
            });
            assert!(peek::<f32, _>(ba, first_weight).is_none());
        });
    }

    #[test]
    fn overlapped_reader_waits_for_the_step_in_flight() {
        let mut m = model(1);
        set_first_weight(&mut m, 0.0);
        let addr = address(&m);
        let seen = overlapped(
            &mut m,
            |m| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                set_first_weight(m, 7.0);
            },
            || peek::<f32, _>(addr, first_weight).unwrap().unwrap().1,
        );
        assert_eq!(seen, 7.0);
        assert_eq!(first_weight(&m), 7.0);
    }

    /// A process forked while a step runs (R's mclapply inside a generator) has no worker:
    /// reading the model there is an error at once, never a wait on the parent's step.
    #[test]
    fn a_forked_child_gets_an_error_instead_of_waiting_for_the_step() {
        let mut m = model(5);
        let addr = address(&m);
        let status = overlapped(
            &mut m,
            |_| std::thread::sleep(std::time::Duration::from_millis(300)),
            || {
                crate::forkjoin::tests::in_forked_child(
                    || matches!(peek::<f32, _>(addr, |_| ()), Some(Err(e)) if e.contains("forked process")),
                )
            },
        );
        assert_eq!(status, 0, "the child read the model or failed otherwise");
        // the parent still reads it after the step
        assert!(matches!(overlapped(&mut m, |_| (), || peek::<f32, _>(addr, |_| ())), Some(Ok(_))));
    }

    #[test]
    fn overlapped_without_a_reader_does_not_wait() {
        let mut m = model(1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // the worker waits for the caller's call to end: with a wait for the worker in
        // between, this would deadlock
        overlapped(
            &mut m,
            move |_| {
                let _ = rx.recv();
            },
            move || tx.send(()).unwrap(),
        );
    }

    #[test]
    fn a_failed_step_is_an_error_for_readers_and_a_panic_after() {
        let mut m = model(1);
        let addr = address(&m);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            overlapped(
                &mut m,
                |_| panic!("step failed"),
                || {
                    let e = peek::<f32, _>(addr, first_weight).unwrap().unwrap_err();
                    assert!(e.contains("failed"), "{e}");
                },
            )
        }));
        assert!(r.is_err());
        // the registry is empty again after the unwinding
        assert!(serial(addr).is_none());
    }

    /// A slow source (overlapped with the steps) that reads the model at every batch.
    struct Peeking {
        addr: usize,
        overlap: bool,
        seen: Vec<u64>,
        x: crate::tensor::Tensor<f32>,
        y: crate::tensor::Tensor<f32>,
    }

    impl crate::train::BatchSource<f32> for Peeking {
        fn steps(&self) -> usize {
            4
        }
        fn fill(&mut self, _: usize, _: usize, b: &mut crate::train::Batch<f32>) -> Result<(), crate::callbacks::Halt> {
            let (_, it) = peek::<f32, _>(self.addr, |m| m.compiled.as_ref().unwrap().optimizer.iterations())
                .expect("the loop lends the model to its source")
                .unwrap();
            self.seen.push(it);
            b.xs = vec![self.x.clone()];
            b.ys = vec![self.y.clone()];
            Ok(())
        }
        fn overlap(&self) -> bool {
            self.overlap
        }
    }

    #[test]
    fn a_source_reads_the_model_as_of_the_last_finished_step() {
        for overlap in [false, true] {
            let mut m = model(1);
            m.compile(crate::model::CompileSpec::single(
                crate::optimizers::OptimizerConfig::defaults("sgd").unwrap(),
                crate::losses::Loss::MeanSquaredError,
                vec![],
            ))
            .unwrap();
            let x = crate::tensor::Tensor::from_vec(&[2, 3], vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
            let y = crate::tensor::Tensor::from_vec(&[2, 2], vec![1.0, 0.0, 0.0, 1.0]);
            let mut src = Peeking { addr: address(&m), overlap, seen: vec![], x, y };
            let cfg = crate::train::FitConfig { epochs: 2, ..Default::default() };
            let mut host = crate::callbacks::StringHost::default();
            let out = crate::train::fit(&mut m, &mut src, None, Vec::new(), &mut host, &cfg);
            assert!(out.halt.is_none());
            // the n-th batch is asked for after n - 1 steps, overlapped or not
            assert_eq!(src.seen, (0..8).collect::<Vec<u64>>(), "overlap = {overlap}");
        }
    }
}
