//! A two-way fork-join with one persistent helper thread, for splitting a matrix product
//! between the calling thread and the helper with microsecond hand-offs. (Handing work to a
//! thread pool from R's main thread parks and wakes threads on every product, which cost
//! more than it saved on the tutorial's shapes.) The helper spins briefly between jobs,
//! then sleeps.
//!
//! Each process has its own helper. A process forked from one whose helper runs (R's
//! `parallel::mclapply()`, future's multicore) has a copy of the parent's memory but only the
//! thread that forked: the parent's helper does not exist there, and the copy of its mutex
//! may be locked by it forever. A handler run in the child at each `fork()`
//! (`pthread_atfork`) forgets the parent's helper without touching it, so the child's first
//! split starts a helper of its own. If no thread can be started, both halves run on the
//! caller (the results are the same: see [`crate::parts`]).

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, Once};
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

/// This process's helper: null until the first split, and again in a child after `fork()`.
/// Only the thread holding [`BUSY`] starts one.
static HELPER: AtomicPtr<Helper> = AtomicPtr::new(std::ptr::null_mut());
/// Set when this process could not start a helper thread: joins then run on the caller.
static NO_HELPER: AtomicBool = AtomicBool::new(false);

/// This process's helper, started on first use; `None` if no thread can be started. Call
/// only while holding [`BUSY`].
fn helper() -> Option<&'static Helper> {
    let p = HELPER.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: helpers are leaked, never freed.
        return Some(unsafe { &*p });
    }
    if NO_HELPER.load(Ordering::Relaxed) {
        return None;
    }
    forget_helper_in_forked_children();
    let p = Box::into_raw(Box::new(Helper {
        slot: Mutex::new(Slot { job: None, sleeping: false }),
        wake: Condvar::new(),
        posted: AtomicUsize::new(0),
        done: AtomicBool::new(true),
        panicked: AtomicBool::new(false),
    }));
    // SAFETY: from Box::into_raw; leaked on success, so 'static.
    let h: &'static Helper = unsafe { &*p };
    match std::thread::Builder::new().name("rkeras-helper".into()).spawn(move || run_helper(h)) {
        Ok(_) => {
            HELPER.store(p, Ordering::Release);
            Some(h)
        }
        Err(_) => {
            // SAFETY: the closure that held `h` was dropped with the failed spawn.
            drop(unsafe { Box::from_raw(p) });
            NO_HELPER.store(true, Ordering::Relaxed);
            None
        }
    }
}

/// Registers, once per process, [`after_fork_in_child`] to run in every child forked from now on.
fn forget_helper_in_forked_children() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        #[cfg(unix)]
        // SAFETY: registers a handler that only stores to atomics (async-signal-safe, as a
        // handler run in a child of a multithreaded process must be). The registration is
        // tied to the shared object it is made from and dropped if that is unloaded.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
}

/// Runs in a forked child, on its only thread: the parent's helper (and any join another
/// parent thread was in) does not exist here. Its memory is left alone: its mutex may be
/// held by the helper thread that was not copied.
#[cfg(unix)]
extern "C" fn after_fork_in_child() {
    HELPER.store(std::ptr::null_mut(), Ordering::Relaxed);
    NO_HELPER.store(false, Ordering::Relaxed);
    BUSY.store(false, Ordering::Relaxed);
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

/// Held by the thread whose join uses the helper; a join that finds it held runs both halves
/// itself.
static BUSY: AtomicBool = AtomicBool::new(false);

/// Runs `a` on this thread and `b` on the helper thread, returning when both are done.
/// Calls from the helper thread itself, or nested calls, run both on this thread.
pub fn join<A: FnOnce(), B: FnOnce() + Send>(a: A, b: B) {
    if BUSY.swap(true, Ordering::Acquire) {
        a();
        b();
        return;
    }
    let Some(h) = helper() else {
        BUSY.store(false, Ordering::Release);
        a();
        b();
        return;
    };
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
pub(crate) mod tests {
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

    /// Forks this (multithreaded) test process; the child runs `child` and exits with 0 if it
    /// returns true, 1 if false or on a panic. Returns the child's exit status, or fails if
    /// the child has not exited after 30 s (a hang), killing it.
    #[cfg(unix)]
    pub(crate) fn in_forked_child(child: impl FnOnce() -> bool) -> i32 {
        // SAFETY: the child calls only its closure and _exit (no destructors, no harness code).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(false);
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut status = 0;
        loop {
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid {
                break;
            }
            if Instant::now() > deadline {
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                panic!("the forked child hung");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(libc::WIFEXITED(status), "the forked child died: status {status}");
        libc::WEXITSTATUS(status)
    }

    /// A join whose halves sum halves of 0..1000 and report the threads they ran on.
    fn sum_and_threads() -> (u64, std::thread::ThreadId, std::thread::ThreadId) {
        let data: Vec<u64> = (0..1000).collect();
        let (left, right) = (Mutex::new((0, None)), Mutex::new((0, None)));
        join(
            || *left.lock().unwrap() = (data[..500].iter().sum(), Some(std::thread::current().id())),
            || *right.lock().unwrap() = (data[500..].iter().sum(), Some(std::thread::current().id())),
        );
        let (l, r) = (left.into_inner().unwrap(), right.into_inner().unwrap());
        (l.0 + r.0, l.1.unwrap(), r.1.unwrap())
    }

    #[cfg(unix)]
    #[test]
    fn a_forked_child_starts_its_own_helper_and_the_parent_keeps_its_own() {
        // the threads other than the caller that ran second halves (the parent's helper; none
        // when another test's join held it each time)
        let helpers = || -> std::collections::HashSet<std::thread::ThreadId> {
            (0..50)
                .filter_map(|_| {
                    let (sum, a, b) = sum_and_threads();
                    assert_eq!((sum, a), (499500, std::thread::current().id()));
                    (a != b).then_some(b)
                })
                .collect()
        };
        let before = helpers();
        // another thread of the parent keeps joining, so that the fork may copy a join in
        // progress (the helper mid-job, its mutex held, BUSY set)
        let stop = AtomicBool::new(false);
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(sum_and_threads().0, 499500);
                }
            });
            let _stop = Stop(&stop); // also on a failure below
            for _ in 0..20 {
                let status = in_forked_child(|| {
                    (0..200).all(|_| {
                        let (sum, a, b) = sum_and_threads();
                        // the second half ran on a thread of the child's own, not inline
                        sum == 499500 && a == std::thread::current().id() && a != b
                    })
                });
                assert_eq!(status, 0, "a join in the forked child failed");
            }
        });
        // the parent's helper, and no other thread, still serves the parent
        let after = helpers();
        assert!(before.union(&after).count() <= 1, "{before:?} {after:?}");
    }
}
