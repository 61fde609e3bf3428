// Registration of the Rust routines, the panic hook, and the interrupt and console helpers
// the Rust side calls (never R_CheckUserInterrupt from Rust: it would longjmp over Rust frames).
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Utils.h>
#include <R_ext/Print.h>

void R_init_rkeras_extendr(void *dll);
void register_extendr_panic_hook(void);

static void check_interrupt_fn(void *dummy) { R_CheckUserInterrupt(); }

/* 1 if Ctrl-C / Esc is pending. Never longjmps: R_ToplevelExec catches the jump. */
int rkeras_pending_interrupt(void) { return !(R_ToplevelExec(check_interrupt_fn, NULL)); }

/* Make progress-bar text appear now (RStudio and terminals buffer otherwise). */
void rkeras_flush_console(void) { R_FlushConsole(); }

void R_init_rkeras(void *dll) {
  register_extendr_panic_hook();
  R_init_rkeras_extendr(dll);
}
