/* model$state: a raw vector holding the model in rkeras's file format, taken from the Rust
 * model only when R reads it (saveRDS(), serialize(), length(), ...). Each call that
 * changes the Rust model puts a fresh one in the model environment (R/persistence.R), so
 * keeping the state costs nothing until the model is serialized.
 *
 * An ALTREP raw vector: data1 is the model handle (an external pointer, which keeps the
 * Rust model alive), data2 the bytes once taken, as CONS(bytes, tag). It has no
 * Serialized_state method, so R serializes it as an ordinary raw vector, which any R
 * session reads, with or without rkeras loaded.
 *
 * The tag says which model the bytes are of. 0: the model in its handle; nothing changes
 * it without R putting a fresh state in the environment, so such bytes stay valid. During
 * the model's own fit() (saveRDS() in a callback or a generator), the bytes are of the
 * model as of the last finished step, and the tag is the serial number of the pause in
 * which the loop lent it (src/rust/src/r_lent.rs): taken again in a later pause. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Altrep.h>

/* Rust (src/rust/src/r_persist.rs): the model's bytes (RAWSXP) and their tag, or an error
 * message (STRSXP). */
SEXP rkeras_state_bytes(SEXP handle, double *tag);
/* Rust (src/rust/src/r_lent.rs): the tag bytes taken now would get; -2 if none can be
 * taken now. Never allocates. */
double rkeras_state_tag(SEXP handle);

static R_altrep_class_t state_class;
static int state_class_ready = 0;

/* The cached bytes if they are still the model's, else NULL. Never allocates. */
static SEXP state_cached(SEXP x) {
  SEXP cache = R_altrep_data2(x), handle = R_altrep_data1(x);
  if (cache == R_NilValue) return NULL;
  /* a dead handle: nothing can change the model any more */
  if (TYPEOF(handle) != EXTPTRSXP || R_ExternalPtrAddr(handle) == NULL) return CAR(cache);
  return rkeras_state_tag(handle) == REAL(CDR(cache))[0] ? CAR(cache) : NULL;
}

static SEXP state_bytes(SEXP x) {
  SEXP bytes = state_cached(x);
  if (bytes == NULL) {
    double tag = 0;
    bytes = PROTECT(rkeras_state_bytes(R_altrep_data1(x), &tag));
    if (TYPEOF(bytes) != RAWSXP) {
      const char *msg = TYPEOF(bytes) == STRSXP && XLENGTH(bytes) > 0 ? CHAR(STRING_ELT(bytes, 0)) : "unknown error";
      Rf_error("cannot take the state of the rkeras model: %s", msg);
    }
    SEXP t = PROTECT(Rf_ScalarReal(tag));
    R_set_altrep_data2(x, Rf_cons(bytes, t));
    UNPROTECT(2);
  }
  return bytes;
}

static R_xlen_t state_length(SEXP x) { return XLENGTH(state_bytes(x)); }

static void *state_dataptr(SEXP x, Rboolean writeable) { return RAW(state_bytes(x)); }

static const void *state_dataptr_or_null(SEXP x) {
  SEXP bytes = state_cached(x);
  return bytes == NULL ? NULL : (const void *) RAW(bytes);
}

static Rboolean state_inspect(SEXP x, int pre, int deep, int pvec, void (*inspect_subtree)(SEXP, int, int, int)) {
  Rprintf(" rkeras model state (%s)\n", R_altrep_data2(x) == R_NilValue ? "not taken yet" : "taken");
  return TRUE;
}

/* A new, not yet taken, state of the model behind `handle`. */
SEXP rkeras_new_state(SEXP handle) {
  if (!state_class_ready) {
    state_class = R_make_altraw_class("rkeras_state", "rkeras", NULL);
    R_set_altrep_Length_method(state_class, state_length);
    R_set_altrep_Inspect_method(state_class, state_inspect);
    R_set_altvec_Dataptr_method(state_class, state_dataptr);
    R_set_altvec_Dataptr_or_null_method(state_class, state_dataptr_or_null);
    state_class_ready = 1;
  }
  return R_new_altrep(state_class, handle, R_NilValue);
}
