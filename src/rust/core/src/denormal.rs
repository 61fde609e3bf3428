//! Denormal floats are flushed to zero while rkeras computes, as Keras does: TensorFlow and
//! XLA (Keras' TensorFlow and JAX backends) run their CPU kernels with flush-to-zero (FTZ:
//! results that would be denormal are 0) and denormals-are-zero (DAZ: denormal inputs read as
//! 0). Besides matching Keras' numbers, it matters for speed: on Intel CPUs every operation
//! on a denormal takes a microcode assist (~100 cycles), and optimizer slots of weights whose
//! gradient is always 0 (an always-black pixel's row, a dead ReLU unit) decay into the
//! denormal range within a few epochs; without the flush RMSprop's update ran 20 x slower.
//!
//! The mode is per thread. [`flush`] sets it for a scope and restores the caller's mode on
//! drop, so R's own arithmetic (and the user's R closures, which run outside these scopes)
//! keep IEEE denormals. The fork-join helper takes the mode of the thread that posts a job.

/// The thread's floating-point control word (x86-64: MXCSR; aarch64: FPCR).
pub type Mode = u64;

#[cfg(target_arch = "x86_64")]
mod arch {
    /// MXCSR bits: FTZ (15) and DAZ (6).
    pub const FLUSH: u64 = 0x8040;

    pub fn get() -> u64 {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr writes the 4-byte control register to the given address.
        unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags)) };
        csr as u64
    }

    pub fn set(mode: u64) {
        let csr = mode as u32;
        // SAFETY: ldmxcsr loads a valid control word (read from the register, bits added).
        unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags, readonly)) };
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    /// FPCR bit 24 (FZ): denormal inputs and results are flushed to zero.
    pub const FLUSH: u64 = 1 << 24;

    pub fn get() -> u64 {
        let fpcr: u64;
        // SAFETY: reading FPCR has no side effects.
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack, preserves_flags)) };
        fpcr
    }

    pub fn set(mode: u64) {
        // SAFETY: writes back a value read from FPCR with the FZ bit changed.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) mode, options(nomem, nostack, preserves_flags)) };
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod arch {
    pub const FLUSH: u64 = 0;
    pub fn get() -> u64 {
        0
    }
    pub fn set(_: u64) {}
}

/// The calling thread's mode.
pub fn mode() -> Mode {
    arch::get()
}

/// Sets the calling thread's mode for as long as it lives, then restores the previous one.
pub struct Scoped {
    saved: Mode,
}

impl Scoped {
    pub fn set(mode: Mode) -> Self {
        let saved = arch::get();
        if mode != saved {
            arch::set(mode);
        }
        Scoped { saved }
    }
}

impl Drop for Scoped {
    fn drop(&mut self) {
        if arch::get() != self.saved {
            arch::set(self.saved);
        }
    }
}

/// Denormals flushed to zero on this thread until dropped (see the module docs).
pub fn flush() -> Scoped {
    Scoped::set(arch::get() | arch::FLUSH)
}

#[cfg(all(test, any(target_arch = "x86_64", target_arch = "aarch64")))]
mod tests {
    use super::*;
    use std::hint::black_box;

    /// (denormal input times 4, normal input halved into the denormal range)
    fn probe() -> (f32, f32) {
        (black_box(1e-39f32) * black_box(4.0), black_box(1e-38f32) * black_box(0.5))
    }

    #[test]
    fn flush_zeroes_denormal_inputs_and_results_like_keras_then_restores() {
        let before = probe();
        assert!(before.0 > 0.0 && before.1 > 0.0, "IEEE denormals outside the scope");
        {
            let _f = flush();
            assert_eq!(probe(), (0.0, 0.0));
            {
                let _again = flush();
                assert_eq!(probe(), (0.0, 0.0));
            }
            assert_eq!(probe(), (0.0, 0.0), "an inner scope restores the outer one");
        }
        assert_eq!(probe(), before);
        assert_eq!(black_box(f64::MIN_POSITIVE) / black_box(4.0), f64::MIN_POSITIVE / 4.0);
    }

    #[test]
    fn the_fork_join_helper_computes_in_the_callers_mode() {
        let (a, b) = (std::sync::Mutex::new((1.0f32, 1.0f32)), std::sync::Mutex::new((1.0f32, 1.0f32)));
        {
            let _f = flush();
            crate::forkjoin::join(|| *a.lock().unwrap() = probe(), || *b.lock().unwrap() = probe());
        }
        assert_eq!(*a.lock().unwrap(), (0.0, 0.0));
        assert_eq!(*b.lock().unwrap(), (0.0, 0.0));
        crate::forkjoin::join(|| *a.lock().unwrap() = probe(), || *b.lock().unwrap() = probe());
        assert!(a.lock().unwrap().0 > 0.0);
        assert!(b.lock().unwrap().0 > 0.0, "the helper went back to IEEE denormals");
    }
}
