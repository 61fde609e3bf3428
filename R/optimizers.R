# Optimizers: specs for the Rust core, with classic keras-for-R (<= 2.10) signatures and
# defaults; `lr =` and `decay =` (applied as classic keras did: lr / (1 + decay * iterations))
# still work.

# `lr =` is the old name of `learning_rate =`: either may be given, not both.
pick_lr <- function(learning_rate, lr, default_used) {
  if (is.null(lr)) return(learning_rate)
  if (!default_used) stop_arg("You can't supply both `lr` and `learning_rate`")
  lr
}

# keras optimizer arguments rkeras does not implement: an error unless left at NULL/default.
optimizer_unsupported <- c("weight_decay", "global_clipnorm", "use_ema", "ema_momentum", "ema_overwrite_frequency",
                           "loss_scale_factor", "gradient_accumulation_steps")

# The `...` of an optimizer_*() call: `name` is accepted; keras arguments rkeras does not
# implement are errors unless NULL; anything else is an unknown argument.
check_optimizer_dots <- function(dots, fn) {
  for (a in intersect(names(dots), optimizer_unsupported)) check_unsupported(dots[[a]], NULL, a, fn)
  check_dots(dots, c("name", optimizer_unsupported), fn = fn)
}

optimizer_spec <- function(name, learning_rate, decay, clipnorm, clipvalue, ...) {
  spec <- list(name = name, learning_rate = check_number(learning_rate, "learning_rate"),
               decay = check_number(decay, "decay"),
               clipnorm = check_number(clipnorm, "clipnorm", null_ok = TRUE),
               clipvalue = check_number(clipvalue, "clipvalue", null_ok = TRUE), ...)
  if (spec$learning_rate < 0) stop_arg("`learning_rate` must be >= 0, got ", spec$learning_rate)
  if (spec$decay < 0) stop_arg("`decay` must be >= 0, got ", spec$decay)
  structure(Filter(Negate(is.null), spec), class = "rkeras_optimizer")
}

epsilon_arg <- function(epsilon) if (is.null(epsilon)) 1e-7 else check_number(epsilon, "epsilon")

#' Optimizers
#'
#' Keras' update rules (Keras 3 equations), with the classic keras-for-R signatures.
#'
#' @param learning_rate Learning rate.
#' @param lr Old name of `learning_rate` (still accepted).
#' @param momentum Momentum (SGD, RMSprop).
#' @param nesterov Whether to use Nesterov momentum.
#' @param rho Discounting factor (RMSprop, Adadelta).
#' @param centered Centred RMSprop.
#' @param beta_1,beta_2 Exponential decay rates of the moment estimates.
#' @param amsgrad Whether to use the AMSGrad variant of Adam.
#' @param initial_accumulator_value Starting value of Adagrad's accumulators.
#' @param epsilon Fuzz factor (default 1e-7).
#' @param decay Classic learning-rate decay: `lr / (1 + decay * iterations)`.
#' @param clipnorm Clip each gradient to this L2 norm.
#' @param clipvalue Clip each gradient element to `[-clipvalue, clipvalue]`.
#' @param schedule_decay Accepted for compatibility (Nadam).
#' @param ... `name` is accepted for compatibility; keras' `weight_decay`, `global_clipnorm`,
#'   `use_ema` and the like are not supported (an error unless `NULL`); other names are errors.
#' @returns An optimizer spec for [compile()].
#' @family optimizers
#' @name optimizers
#' @examples
#' opt <- optimizer_rmsprop(learning_rate = 0.001)
NULL

#' @rdname optimizers
#' @export
optimizer_sgd <- function(learning_rate = 0.01, momentum = 0, decay = 0, nesterov = FALSE, clipnorm = NULL,
                          clipvalue = NULL, ..., lr = NULL) {
  check_optimizer_dots(list(...), "optimizer_sgd")
  optimizer_spec("sgd", pick_lr(learning_rate, lr, missing(learning_rate)), decay, clipnorm, clipvalue,
                 momentum = check_number(momentum, "momentum"), nesterov = check_flag(nesterov, "nesterov"))
}

#' @rdname optimizers
#' @export
optimizer_rmsprop <- function(learning_rate = 0.001, rho = 0.9, epsilon = NULL, decay = 0, clipnorm = NULL,
                              clipvalue = NULL, momentum = 0, centered = FALSE, ..., lr = NULL) {
  check_optimizer_dots(list(...), "optimizer_rmsprop")
  optimizer_spec("rmsprop", pick_lr(learning_rate, lr, missing(learning_rate)), decay, clipnorm, clipvalue, rho = check_number(rho, "rho"),
                 momentum = check_number(momentum, "momentum"), epsilon = epsilon_arg(epsilon),
                 centered = check_flag(centered, "centered"))
}

#' @rdname optimizers
#' @export
optimizer_adam <- function(learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = NULL, decay = 0,
                           amsgrad = FALSE, clipnorm = NULL, clipvalue = NULL, ..., lr = NULL) {
  check_optimizer_dots(list(...), "optimizer_adam")
  optimizer_spec("adam", pick_lr(learning_rate, lr, missing(learning_rate)), decay, clipnorm, clipvalue, beta_1 = check_number(beta_1, "beta_1"),
                 beta_2 = check_number(beta_2, "beta_2"), epsilon = epsilon_arg(epsilon),
                 amsgrad = check_flag(amsgrad, "amsgrad"))
}

#' @rdname optimizers
#' @export
optimizer_adagrad <- function(learning_rate = 0.001, epsilon = NULL, decay = 0, clipnorm = NULL, clipvalue = NULL,
                              initial_accumulator_value = 0.1, ..., lr = NULL) {
  check_optimizer_dots(list(...), "optimizer_adagrad")
  optimizer_spec("adagrad", pick_lr(learning_rate, lr, missing(learning_rate)), decay, clipnorm, clipvalue, epsilon = epsilon_arg(epsilon),
                 initial_accumulator_value = check_number(initial_accumulator_value, "initial_accumulator_value"))
}

#' @rdname optimizers
#' @export
optimizer_adadelta <- function(learning_rate = 0.001, rho = 0.95, epsilon = NULL, decay = 0, clipnorm = NULL,
                               clipvalue = NULL, ..., lr = NULL) {
  check_optimizer_dots(list(...), "optimizer_adadelta")
  optimizer_spec("adadelta", pick_lr(learning_rate, lr, missing(learning_rate)), decay, clipnorm, clipvalue, rho = check_number(rho, "rho"),
                 epsilon = epsilon_arg(epsilon))
}

#' @rdname optimizers
#' @export
optimizer_adamax <- function(learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = NULL, decay = 0,
                             clipnorm = NULL, clipvalue = NULL, ..., lr = NULL) {
  check_optimizer_dots(list(...), "optimizer_adamax")
  optimizer_spec("adamax", pick_lr(learning_rate, lr, missing(learning_rate)), decay, clipnorm, clipvalue, beta_1 = check_number(beta_1, "beta_1"),
                 beta_2 = check_number(beta_2, "beta_2"), epsilon = epsilon_arg(epsilon))
}

#' @rdname optimizers
#' @export
optimizer_nadam <- function(learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = NULL,
                            schedule_decay = 0.004, clipnorm = NULL, clipvalue = NULL, ..., lr = NULL) {
  check_optimizer_dots(list(...), "optimizer_nadam")
  optimizer_spec("nadam", pick_lr(learning_rate, lr, missing(learning_rate)), 0, clipnorm, clipvalue, beta_1 = check_number(beta_1, "beta_1"),
                 beta_2 = check_number(beta_2, "beta_2"), epsilon = epsilon_arg(epsilon))
}

optimizer_names <- c("sgd", "rmsprop", "adam", "adagrad", "adadelta", "adamax", "nadam")

# An optimizer argument (string or optimizer_*()) as a spec.
resolve_optimizer <- function(optimizer) {
  if (inherits(optimizer, "rkeras_optimizer")) return(unclass(optimizer))
  name <- tolower(check_string(optimizer, "optimizer"))
  if (!name %in% optimizer_names)
    stop_arg("unknown optimizer \"", optimizer, "\"; valid names are: ", paste(optimizer_names, collapse = ", "))
  unclass(get(paste0("optimizer_", name))())
}

#' @export
print.rkeras_optimizer <- function(x, ...) {
  cat(sprintf("<optimizer %s: %s>\n", x$name,
              paste(names(x)[-1], vapply(x[-1], format, ""), sep = " = ", collapse = ", ")))
  invisible(x)
}
