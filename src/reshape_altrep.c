/* array_reshape()'s result when the reshape only permutes columns: a view of the source
 * array (column j of the result is column idx[j] of the source seen as a
 * prefix x ncol matrix) that is copied out only when R code asks for its memory.
 * rkeras itself reads the view straight from the source (to_tensor, src/rust/src), so
 * the tutorial's generator never pays for the copy.
 *
 * An ALTREP double or integer vector: data1 is list(source, prefix, idx) (idx 1-based
 * integers), data2 the copied-out vector once R asked for it. Without a
 * Serialized_state method R serializes it as an ordinary vector, readable anywhere. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Altrep.h>
#include <string.h>

static R_altrep_class_t view_real, view_int;
static int view_ready = 0;

#define SRC(x) VECTOR_ELT(R_altrep_data1(x), 0)
#define PREFIX(x) ((R_xlen_t) REAL(VECTOR_ELT(R_altrep_data1(x), 1))[0])
#define IDX(x) VECTOR_ELT(R_altrep_data1(x), 2)

static R_xlen_t view_length(SEXP x) { return PREFIX(x) * XLENGTH(IDX(x)); }

/* The result's values, copied out of the source on first use. */
static SEXP view_values(SEXP x) {
  SEXP out = R_altrep_data2(x);
  if (out != R_NilValue) return out;
  SEXP src = SRC(x), idx = IDX(x);
  R_xlen_t prefix = PREFIX(x), m = XLENGTH(idx);
  size_t width = TYPEOF(src) == REALSXP ? sizeof(double) : sizeof(int);
  out = PROTECT(Rf_allocVector(TYPEOF(src), prefix * m));
  const char *from = (const char *) DATAPTR_RO(src);
  char *to = (char *) DATAPTR(out);
  const int *cols = INTEGER_RO(idx);
  for (R_xlen_t j = 0; j < m; j++) {
    memcpy(to + (size_t) (j * prefix) * width, from + (size_t) ((cols[j] - 1) * prefix) * width, (size_t) prefix * width);
  }
  R_set_altrep_data2(x, out);
  UNPROTECT(1);
  return out;
}

static void *view_dataptr(SEXP x, Rboolean writeable) { return DATAPTR(view_values(x)); }

static const void *view_dataptr_or_null(SEXP x) {
  SEXP out = R_altrep_data2(x);
  return out == R_NilValue ? NULL : DATAPTR_RO(out);
}

/* Element i of the result without copying anything. */
static R_xlen_t view_source_index(SEXP x, R_xlen_t i) {
  R_xlen_t prefix = PREFIX(x);
  return (INTEGER_RO(IDX(x))[i / prefix] - 1) * prefix + i % prefix;
}

static double view_real_elt(SEXP x, R_xlen_t i) {
  SEXP out = R_altrep_data2(x);
  return out != R_NilValue ? REAL_RO(out)[i] : REAL_RO(SRC(x))[view_source_index(x, i)];
}

static int view_int_elt(SEXP x, R_xlen_t i) {
  SEXP out = R_altrep_data2(x);
  return out != R_NilValue ? INTEGER_RO(out)[i] : INTEGER_RO(SRC(x))[view_source_index(x, i)];
}

static Rboolean view_inspect(SEXP x, int pre, int deep, int pvec, void (*inspect_subtree)(SEXP, int, int, int)) {
  Rprintf(" rkeras reshape view (%s)\n", R_altrep_data2(x) == R_NilValue ? "not copied" : "copied");
  return TRUE;
}

static void view_init(DllInfo *dll) {
  view_real = R_make_altreal_class("rkeras_reshape_real", "rkeras", dll);
  view_int = R_make_altinteger_class("rkeras_reshape_int", "rkeras", dll);
  R_altrep_class_t classes[2] = {view_real, view_int};
  for (int k = 0; k < 2; k++) {
    R_set_altrep_Length_method(classes[k], view_length);
    R_set_altrep_Inspect_method(classes[k], view_inspect);
    R_set_altvec_Dataptr_method(classes[k], view_dataptr);
    R_set_altvec_Dataptr_or_null_method(classes[k], view_dataptr_or_null);
  }
  R_set_altreal_Elt_method(view_real, view_real_elt);
  R_set_altinteger_Elt_method(view_int, view_int_elt);
  view_ready = 1;
}

/* A view of `src` (double or integer) with column j = column idx[j] of src as a
 * prefix x (length(src) / prefix) matrix. The caller checks the arguments. */
SEXP rkeras_reshape_view(SEXP src, SEXP prefix, SEXP idx) {
  if (!view_ready) view_init(NULL);
  /* an ALTREP source (a compact sequence, another view) gets its memory now, so that
   * reading it later (Elt, other threads) never allocates */
  if (ALTREP(src)) (void) DATAPTR_RO(src);
  SEXP parts = PROTECT(Rf_allocVector(VECSXP, 3));
  SET_VECTOR_ELT(parts, 0, src);
  SET_VECTOR_ELT(parts, 1, Rf_ScalarReal((double) Rf_asInteger(prefix)));
  SET_VECTOR_ELT(parts, 2, idx);
  SEXP out = R_new_altrep(TYPEOF(src) == REALSXP ? view_real : view_int, parts, R_NilValue);
  UNPROTECT(1);
  return out;
}

/* list(source, prefix, idx) when `x` is a view not copied out yet, else NULL. */
SEXP rkeras_view_parts(SEXP x) {
  if (!view_ready || !ALTREP(x)) return R_NilValue;
  if (!R_altrep_inherits(x, view_real) && !R_altrep_inherits(x, view_int)) return R_NilValue;
  return R_altrep_data2(x) == R_NilValue ? R_altrep_data1(x) : R_NilValue;
}
