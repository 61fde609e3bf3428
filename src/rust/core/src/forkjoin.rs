//! A two-way fork-join with one persistent helper thread, for splitting a matrix product
//! between the calling thread and the helper with microsecond hand-offs. (Handing work to a
//! thread pool from R's main thread parks and wakes threads on every product, which cost
//! more than it saved on the tutorial's shapes.) The helper spins briefly between jobs,
//! then sleeps.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A job: a pointer to a closure that lives on the caller's stack until the job is done, and
/// the caller's floating-point mode (see [`crate::denormal`]), which the helper adopts for it.
#[derive(Clone, Copy)]
struct Job(*const (dyn Fn() + Sync), crate::denormal::Mode);
// SAFETY: the closure is Sync and the caller blocks until the helper has finished with it.
unsafe impl Send for Job {}

/// The job hand-off, under the mutex: the posted job, and whether the helper sleeps on the
/// condition variable (only then does posting wake it: a wake-up is a system call).
struct Slot {
    job: Option<Job>,
    sleeping: bool,
}

struct Helper {
    slot: Mutex<Slot>,
    wake: Condvar,
    /// Bumped when a job is posted; the helper spins on it before sleeping.
    posted: AtomicUsize,
    done: AtomicBool,
    /// Set when the last job panicked; `join` re-raises it on the caller's thread.
    panicked: AtomicBool,
}

fn helper() -> &'static Helper {
    static HELPER: OnceLock<&'static Helper> = OnceLock::new();
    HELPER.get_or_init(|| {
        let h: &'static Helper = Box::leak(Box::new(Helper {
            slot: Mutex::new(Slot { job: None, sleeping: false }),
            wake: Condvar::new(),
            posted: AtomicUsize::new(0),
            done: AtomicBool::new(true),
            panicked: AtomicBool::new(false),
        }));
        std::thread::Builder::new()
            .name("rkeras-helper".into())
            .spawn(move || run_helper(h))
            .expect("cannot start the rkeras helper thread");
        h
    })
}

fn run_helper(h: &'static Helper) {
    let mut seen = 0;
    loop {
        // spin a little: the next product of a training step usually follows within microseconds
        let spin_until = Instant::now() + Duration::from_micros(50);
        let mut spins = 0u32;
        while h.posted.load(Ordering::Acquire) == seen {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            // reading the clock costs more than a spin: look every 256 spins
            if spins.is_multiple_of(256) && Instant::now() >= spin_until {
                break;
            }
        }
        let job = {
            let mut slot = h.slot.lock().unwrap_or_else(|e| e.into_inner());
            while slot.job.is_none() {
                slot.sleeping = true;
                slot = h.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
            }
            slot.sleeping = false;
            slot.job.take().unwrap()
        };
        seen = h.posted.load(Ordering::Acquire);
        // SAFETY: `join` keeps the closure alive until `done` is set below.
        let f = unsafe { &*job.0 };
        let _mode = crate::denormal::Scoped::set(job.1);
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
            h.panicked.store(true, Ordering::Release);
        }
        h.done.store(true, Ordering::Release);
    }
}

static BUSY: AtomicBool = AtomicBool::new(false);

/// Runs `a` on this thread and `b` on the helper thread, returning when both are done.
/// Calls from the helper thread itself, or nested calls, run both on this thread.
pub fn join<A: FnOnce(), B: FnOnce() + Send>(a: A, b: B) {
    if BUSY.swap(true, Ordering::Acquire) {
        a();
        b();
        return;
    }
    let h = helper();
    // The helper runs a `Fn`; it takes `b` out once.
    let pending = Mutex::new(Some(b));
    let run_b = || {
        if let Some(b) = pending.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b();
        }
    };
    let bref: &(dyn Fn() + Sync) = &run_b;
    // SAFETY: erase the lifetime; we wait for `done` before `run_b` goes out of scope.
    let job = Job(
        unsafe { std::mem::transmute::<&(dyn Fn() + Sync), &'static (dyn Fn() + Sync)>(bref) },
        crate::denormal::mode(),
    );
    h.done.store(false, Ordering::Release);
    h.panicked.store(false, Ordering::Release); // a panic of an earlier job is not this one's
    {
        let mut slot = h.slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.job = Some(job);
        if slot.sleeping {
            h.wake.notify_one();
        }
    }
    h.posted.fetch_add(1, Ordering::AcqRel);
    // Waits for the helper even if `a` panics: `b` borrows this frame.
    struct Wait(&'static Helper);
    impl Drop for Wait {
        fn drop(&mut self) {
            wait_done(self.0);
            BUSY.store(false, Ordering::Release);
        }
    }
    let wait = Wait(h);
    a();
    drop(wait);
    if h.panicked.swap(false, Ordering::AcqRel) {
        panic!("rkeras helper thread: a parallel task panicked");
    }
}

/// Spins briefly, then gives the core away: when another process holds the second core,
/// spinning would only delay the helper we are waiting for.
fn wait_done(h: &Helper) {
    let spin_until = Instant::now() + Duration::from_micros(20);
    let mut spins = 0u32;
    let mut yielding = false;
    while !h.done.load(Ordering::Acquire) {
        if yielding {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            yielding = spins.is_multiple_of(256) && Instant::now() >= spin_until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_halves_run_and_borrow_the_callers_data() {
        let data: Vec<u64> = (0..1000).collect();
        let left = std::sync::atomic::AtomicU64::new(0);
        let right = std::sync::atomic::AtomicU64::new(0);
        for _ in 0..100 {
            join(
                || left.store(data[..500].iter().sum(), Ordering::Relaxed),
                || right.store(data[500..].iter().sum(), Ordering::Relaxed),
            );
            assert_eq!(left.load(Ordering::Relaxed) + right.load(Ordering::Relaxed), 499500);
        }
    }

    #[test]
    fn a_panic_on_the_helper_reaches_the_caller_and_the_next_join_works() {
        let r = std::panic::catch_unwind(|| join(|| {}, || panic!("boom")));
        assert!(r.is_err());
        let hits = std::sync::atomic::AtomicU64::new(0);
        join(
            || {
                hits.fetch_add(1, Ordering::Relaxed);
            },
            || {
                hits.fetch_add(1, Ordering::Relaxed);
            },
        );
        assert_eq!(hits.load(Ordering::Relaxed), 2);
        // a panic on this thread still waits for the helper, and leaves no stale state
        let r = std::panic::catch_unwind(|| join(|| panic!("here"), || panic!("there")));
        assert!(r.is_err());
        join(|| {}, || {});
    }
}
