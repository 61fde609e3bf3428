# Every user closure (generator, callback hook, schedule) reaches Rust wrapped by
# guard_closure(): it returns list(TRUE, value) or list(FALSE, condition, kind, message),
# so no R error or interrupt ever unwinds through Rust frames. After the loop stops,
# R re-raises the original condition (see raise_outcome()).
guard_closure <- function(fn) {
  force(fn)
  function(...) {
    tryCatch(
      list(TRUE, fn(...)),
      error = function(e) list(FALSE, e, "error", conditionMessage(e)),
      interrupt = function(e) list(FALSE, e, "interrupt", "interrupted")
    )
  }
}
