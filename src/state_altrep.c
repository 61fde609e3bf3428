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
#include <stdio.h>
#include <string.h>

/* Rust (src/rust/src/r_persist.rs): the model's bytes (a Rust allocation of *len bytes)
 * and their tag, or with *is_error an error message (NUL-terminated); either is given back
 * to rkeras_bytes_free. Allocates no R memory. */
unsigned char *rkeras_state_take(SEXP handle, double *tag, size_t *len, int *is_error);
void rkeras_bytes_free(unsigned char *ptr, size_t len);

/* Bytes from Rust on their way into an R vector. */
struct taken { unsigned char *ptr; size_t len; };

static SEXP taken_copy(void *data) {
  struct taken *t = data;
  SEXP v = Rf_allocVector(RAWSXP, (R_xlen_t) t->len);
  if (t->len) memcpy(RAW(v), t->ptr, t->len);
  return v;
}

/* Runs on return and on an R error (longjmp) alike. */
static void taken_free(void *data) {
  struct taken *t = data;
  rkeras_bytes_free(t->ptr, t->len);
  t->ptr = NULL;
}
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
    size_t len = 0;
    int is_error = 0;
    unsigned char *p = rkeras_state_take(R_altrep_data1(x), &tag, &len, &is_error);
    if (is_error) {
      char msg[512];
      snprintf(msg, sizeof msg, "%s", p ? (const char *) p : "unknown error");
      rkeras_bytes_free(p, len);
      Rf_error("cannot take the state of the rkeras model: %s", msg);
    }
    struct taken tk = {p, len};
    bytes = PROTECT(R_ExecWithCleanup(taken_copy, &tk, taken_free, &tk));
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
