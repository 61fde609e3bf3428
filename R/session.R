# Session-wide state: layer and model auto-name counters (keras: dense, dense_1, ...).
.rkeras <- new.env(parent = emptyenv())
.rkeras$counters <- list()

auto_name <- function(prefix) {
  n <- .rkeras$counters[[prefix]]
  n <- if (is.null(n)) 0L else n + 1L
  .rkeras$counters[[prefix]] <- n
  if (n == 0L) prefix else paste0(prefix, "_", n)
}

#' Reset the session: layer and model auto-names start again at `dense`, `sequential`, ...
#'
#' It also frees the memory rkeras keeps between `fit()` calls for converting large
#' training data (one array's worth, e.g. 188 MB for 60,000 x 784 images).
#'
#' @returns `NULL`, invisibly.
#' @family session
#' @export
#' @examples
#' k_clear_session()
k_clear_session <- function() {
  .rkeras$counters <- list()
  rk_release_buffers()
  invisible(NULL)
}

#' Make runs reproducible
#'
#' Sets R's seed. rkeras draws every random stream (weight initialisation, dropout,
#' shuffling) from R's generator, so this makes model building and training repeat exactly.
#'
#' @param seed An integer seed.
#' @param disable_gpu,disable_parallel_cpu Accepted for compatibility; rkeras runs on the
#'   CPU and its results do not depend on the number of threads.
#' @param quiet If `FALSE`, `use_session_with_seed()` prints what it did, like keras.
#' @returns `NULL`, invisibly.
#' @family session
#' @export
#' @examples
#' set_random_seed(42)
set_random_seed <- function(seed, disable_gpu = TRUE) {
  set.seed(check_count(seed, "seed", min = 0))
  invisible(NULL)
}

#' @rdname set_random_seed
#' @export
use_session_with_seed <- function(seed, disable_gpu = TRUE, disable_parallel_cpu = TRUE, quiet = FALSE) {
  k_clear_session()
  set_random_seed(seed)
  if (!quiet) cat("Set session seed to", seed, "\n")
  invisible(NULL)
}

# A 53-bit seed for a Rust random stream, drawn from R's RNG (so set.seed() governs it).
draw_seed <- function() {
  floor(stats::runif(1) * 2^31) * 2^22 + floor(stats::runif(1) * 2^22)
}

# The number of threads the core may use: option `rkeras.threads`, else the environment
# variable RKERAS_THREADS, else all cores (the core splits work in two at most: R's thread
# and one helper). Applied before each training or prediction call.
apply_threads <- function() {
  opt <- getOption("rkeras.threads")
  if (!is.null(opt)) {
    if (!is.numeric(opt) || length(opt) != 1 || is.na(opt) || opt < 0 || opt != round(opt) || opt > 1024)
      stop_arg("option `rkeras.threads` must be one whole number (0 = all cores, 1 = R's thread only), got ",
               describe_value(opt), "; set it with options(rkeras.threads = 1)")
    return(rk_set_threads(as.integer(opt)))
  }
  n <- suppressWarnings(as.integer(Sys.getenv("RKERAS_THREADS", "0")))
  rk_set_threads(if (is.na(n) || n < 0) 0L else n)
}
