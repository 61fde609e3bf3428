#' rkeras: the keras API for R on a Rust core
#'
#' Code written for the keras package (`keras_model_sequential()`, `layer_dense()`,
#' `compile()`, `fit()`, `fit_generator()`, callbacks, `evaluate()`, `predict()`) runs
#' unchanged, trained by a Rust engine: no Python, no TensorFlow.
#'
#' @keywords internal
#' @useDynLib rkeras, .registration = TRUE
#' @importFrom generics fit compile
#' @importFrom stats predict
"_PACKAGE"

#' @importFrom magrittr %>%
#' @export
magrittr::`%>%`

#' @importFrom zeallot %<-%
#' @export
zeallot::`%<-%`

#' @importFrom generics fit
#' @export
generics::fit

#' @importFrom generics compile
#' @export
generics::compile
