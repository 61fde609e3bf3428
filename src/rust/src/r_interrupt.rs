//! Esc / Ctrl-C, seen through the C helper in `src/entrypoint.c` (R_ToplevelExec-protected).

extern "C" {
    fn rkeras_pending_interrupt() -> std::os::raw::c_int;
    fn rkeras_flush_console();
}

/// True when the user asked R to interrupt. Call only on the R main thread.
pub fn pending() -> bool {
    // SAFETY: plain C call on the main thread; the helper never longjmps.
    unsafe { rkeras_pending_interrupt() != 0 }
}

/// Flushes R's console so in-place progress bars show up at once.
pub fn flush_console() {
    // SAFETY: plain C call on the main thread.
    unsafe { rkeras_flush_console() }
}
