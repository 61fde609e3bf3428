# Image augmentation as keras for R defines it (keras 2.x R/preprocessing.R over Keras'
# ImageDataGenerator): image_data_generator() describes the transforms, fit_image_data_generator()
# computes the featurewise statistics, flow_images_from_data() gives a batch generator that
# fit(), fit_generator(), evaluate() and predict() accept. The per-image transforms and the
# standardization run in the Rust core (src/rust/core/src/image_augment.rs), one call per batch,
# with their random draws seeded from R's RNG (or from `seed`), so set.seed() repeats them.

#' Generate batches of image data with real-time data augmentation
#'
#' Describes random transforms and normalizations of images, as Keras' `ImageDataGenerator`:
#' pass it to [flow_images_from_data()] (after [fit_image_data_generator()] when it uses
#' featurewise statistics or ZCA whitening). The generator is an environment:
#' `fit_image_data_generator()` stores the statistics in it, as keras does.
#'
#' Per image, in this order: the random affine transform (rotation, shifts, shear, zoom, one
#' matrix, sampled bilinearly with `fill_mode` outside the image), the channel shift, the flips,
#' the brightness change; then `preprocessing_function`, `rescale`, samplewise centring and
#' normalization, featurewise centring and normalization, ZCA whitening (Keras' `standardize()`).
#' Like Keras, a shift is a fraction of the image size when the range is below 1 and pixels
#' otherwise, and an integer vector of shifts (`c(-2L, 2L)`) picks one of its values.
#'
#' @param featurewise_center Set the input mean to 0 over the dataset, per channel.
#' @param samplewise_center Set each sample mean to 0.
#' @param featurewise_std_normalization Divide inputs by the dataset's standard deviation, per
#'   channel (implies `featurewise_center`).
#' @param samplewise_std_normalization Divide each input by its standard deviation (implies
#'   `samplewise_center`).
#' @param zca_whitening Apply ZCA whitening (implies `featurewise_center`, overrides
#'   `featurewise_std_normalization`).
#' @param zca_epsilon Epsilon for ZCA whitening. Default is 1e-6.
#' @param rotation_range Degrees (0 to 180) of random rotations.
#' @param width_shift_range Fraction of the total width (below 1) or pixels (1 or more) of random
#'   horizontal shifts, or an integer vector of allowed pixel shifts.
#' @param height_shift_range As `width_shift_range`, vertically.
#' @param brightness_range `NULL` or two numbers: the range of the brightness factor.
#' @param shear_range Shear angle in degrees (counter-clockwise).
#' @param zoom_range Amount of zoom: a number `z` (zoom drawn from `[1 - z, 1 + z]`) or
#'   `c(lower, upper)`.
#' @param channel_shift_range Range of random shifts added to all channels.
#' @param fill_mode One of "constant", "nearest", "reflect" or "wrap". Points
#'   outside the boundaries of the input are filled according to the given mode:
#'    - "constant": `kkkkkkkk|abcd|kkkkkkkk` (`cval=k`)
#'    - "nearest":  `aaaaaaaa|abcd|dddddddd`
#'    - "reflect":  `abcddcba|abcd|dcbaabcd`
#'    - "wrap":     `abcdabcd|abcd|abcdabcd`
#' @param cval Value for points outside the boundaries when `fill_mode` is "constant".
#' @param horizontal_flip Randomly flip images horizontally.
#' @param vertical_flip Randomly flip images vertically.
#' @param rescale Rescaling factor: `NULL` or 0 for none, otherwise the data is multiplied by it
#'   (after the random transforms, before the other normalizations).
#' @param preprocessing_function `NULL` or an R function of one image (a 3-d array) returning an
#'   array of the same shape, run on each image after its random transform.
#' @param data_format `"channels_last"` (the default, also for `NULL`) or `"channels_first"`.
#' @param validation_split Fraction of images reserved for validation (from 0 up to 1), used
#'   with `subset` in [flow_images_from_data()].
#' @returns An `rkeras_image_data_generator`.
#' @family image preprocessing
#' @export
#' @examples
#' datagen <- image_data_generator(rotation_range = 20, width_shift_range = 0.2,
#'                                 horizontal_flip = TRUE)
#' x <- array(runif(8 * 6 * 6 * 1), c(8, 6, 6, 1))
#' flow <- flow_images_from_data(x, 1:8, datagen, batch_size = 4)
#' str(flow())
image_data_generator <- function(featurewise_center = FALSE, samplewise_center = FALSE,
                                 featurewise_std_normalization = FALSE, samplewise_std_normalization = FALSE,
                                 zca_whitening = FALSE, zca_epsilon = 1e-6, rotation_range = 0.0,
                                 width_shift_range = 0.0, height_shift_range = 0.0, brightness_range = NULL,
                                 shear_range = 0.0, zoom_range = 0.0, channel_shift_range = 0.0,
                                 fill_mode = "nearest", cval = 0.0, horizontal_flip = FALSE, vertical_flip = FALSE,
                                 rescale = NULL, preprocessing_function = NULL, data_format = NULL,
                                 validation_split = 0.0) {
  flags <- list(featurewise_center = featurewise_center, samplewise_center = samplewise_center,
                featurewise_std_normalization = featurewise_std_normalization,
                samplewise_std_normalization = samplewise_std_normalization, zca_whitening = zca_whitening,
                horizontal_flip = horizontal_flip, vertical_flip = vertical_flip)
  for (nm in names(flags)) check_flag(flags[[nm]], nm)
  nonneg <- function(x, name) {
    x <- check_number(x, name)
    if (x < 0) stop_arg("image_data_generator(): `", name, "` must be >= 0, got ", x)
    x
  }
  rotation_range <- nonneg(rotation_range, "rotation_range")
  shear_range <- nonneg(shear_range, "shear_range")
  channel_shift_range <- nonneg(channel_shift_range, "channel_shift_range")
  zca_epsilon <- nonneg(zca_epsilon, "zca_epsilon")
  cval <- check_number(cval, "cval")
  fill_mode <- check_choice(fill_mode, "fill_mode", c("constant", "nearest", "reflect", "wrap"))
  data_format <- check_choice(data_format %||% "channels_last", "data_format", c("channels_last", "channels_first"))
  height <- shift_range_arg(height_shift_range, "height_shift_range")
  width <- shift_range_arg(width_shift_range, "width_shift_range")
  if (!is.numeric(zoom_range) || !length(zoom_range) %in% 1:2 || any(!is.finite(zoom_range)))
    stop_arg("image_data_generator(): `zoom_range` must be a number or two numbers, got ", describe_value(zoom_range))
  zoom <- if (length(zoom_range) == 1) c(1 - zoom_range, 1 + zoom_range) else as.numeric(zoom_range)
  if (zoom[[1]] <= 0 || zoom[[2]] < zoom[[1]])
    stop_arg("image_data_generator(): `zoom_range` must give 0 < lower <= upper, got [",
             zoom[[1]], ", ", zoom[[2]], "]", if (length(zoom_range) == 1) " (a number z gives [1 - z, 1 + z])")
  if (!is.null(brightness_range)) {
    if (!is.numeric(brightness_range) || length(brightness_range) != 2 || any(!is.finite(brightness_range)) ||
        brightness_range[[1]] < 0 || brightness_range[[2]] < brightness_range[[1]])
      stop_arg("image_data_generator(): `brightness_range` must be NULL or two numbers 0 <= lower <= upper, got ",
               describe_value(brightness_range))
    brightness_range <- as.list(as.numeric(brightness_range))
  }
  rescale <- check_number(rescale, "rescale", null_ok = TRUE)
  if (!is.null(preprocessing_function) && !is.function(preprocessing_function))
    stop_arg("image_data_generator(): `preprocessing_function` must be NULL or a function, got ",
             describe_value(preprocessing_function))
  validation_split <- check_number(validation_split, "validation_split")
  if (validation_split < 0 || validation_split >= 1)
    stop_arg("image_data_generator(): `validation_split` must be in [0, 1), got ", validation_split)
  # keras' implications between the normalization flags (it warns; so do we)
  if (zca_whitening) {
    if (!featurewise_center) warning("`zca_whitening` overrides `featurewise_center` (set to TRUE)", call. = FALSE)
    featurewise_center <- TRUE
    if (featurewise_std_normalization)
      warning("`zca_whitening` overrides `featurewise_std_normalization` (set to FALSE)", call. = FALSE)
    featurewise_std_normalization <- FALSE
  }
  if (featurewise_std_normalization && !featurewise_center) {
    warning("`featurewise_std_normalization` overrides `featurewise_center` (set to TRUE)", call. = FALSE)
    featurewise_center <- TRUE
  }
  if (samplewise_std_normalization && !samplewise_center) {
    warning("`samplewise_std_normalization` overrides `samplewise_center` (set to TRUE)", call. = FALSE)
    samplewise_center <- TRUE
  }
  gen <- new.env(parent = emptyenv())
  gen$augment <- list(rotation_range = rotation_range,
                      height_shift_range = as.list(height$values), height_shift_choice = height$choice,
                      width_shift_range = as.list(width$values), width_shift_choice = width$choice,
                      shear_range = shear_range, zoom_range = as.list(zoom),
                      channel_shift_range = channel_shift_range, brightness_range = brightness_range,
                      horizontal_flip = horizontal_flip, vertical_flip = vertical_flip,
                      fill_mode = fill_mode, cval = cval)
  gen$featurewise_center <- featurewise_center
  gen$featurewise_std_normalization <- featurewise_std_normalization
  gen$samplewise_center <- samplewise_center
  gen$samplewise_std_normalization <- samplewise_std_normalization
  gen$zca_whitening <- zca_whitening
  gen$zca_epsilon <- zca_epsilon
  gen$rescale <- rescale
  gen$preprocessing_function <- preprocessing_function
  gen$data_format <- data_format
  gen$validation_split <- validation_split
  gen$mean <- NULL
  gen$std <- NULL
  gen$zca_whitening_matrix <- NULL
  class(gen) <- "rkeras_image_data_generator"
  gen
}

# A shift range: one number (uniform in [-r, r]) or, as in Keras (np.random.choice), an integer
# k (one of 0..k-1) or a vector of allowed values, times a random sign.
shift_range_arg <- function(x, name) {
  if (!is.numeric(x) || length(x) == 0 || any(!is.finite(x)))
    stop_arg("image_data_generator(): `", name, "` must be a number or a vector of numbers, got ", describe_value(x))
  if (any(x < 0)) stop_arg("image_data_generator(): `", name, "` must be >= 0, got ", paste(x, collapse = ", "))
  if (length(x) == 1 && !is.integer(x)) return(list(values = as.numeric(x), choice = FALSE))
  if (length(x) == 1) return(list(values = as.numeric(seq_len(x) - 1L), choice = TRUE))
  list(values = as.numeric(x), choice = TRUE)
}

#' @export
print.rkeras_image_data_generator <- function(x, ...) {
  a <- x$augment
  cat("<image_data_generator>\n")
  on <- c(if (a$rotation_range) paste0("rotation_range = ", a$rotation_range),
          if (any(unlist(a$width_shift_range) != 0)) paste0("width_shift_range = ", toString(unlist(a$width_shift_range))),
          if (any(unlist(a$height_shift_range) != 0)) paste0("height_shift_range = ", toString(unlist(a$height_shift_range))),
          if (a$shear_range) paste0("shear_range = ", a$shear_range),
          if (!identical(unlist(a$zoom_range), c(1, 1))) paste0("zoom_range = [", toString(unlist(a$zoom_range)), "]"),
          if (a$channel_shift_range) paste0("channel_shift_range = ", a$channel_shift_range),
          if (!is.null(a$brightness_range)) paste0("brightness_range = [", toString(unlist(a$brightness_range)), "]"),
          if (a$horizontal_flip) "horizontal_flip", if (a$vertical_flip) "vertical_flip",
          if (x$featurewise_center) "featurewise_center",
          if (x$featurewise_std_normalization) "featurewise_std_normalization",
          if (x$samplewise_center) "samplewise_center",
          if (x$samplewise_std_normalization) "samplewise_std_normalization",
          if (x$zca_whitening) "zca_whitening",
          if (!is.null(x$rescale)) paste0("rescale = ", format(x$rescale)),
          if (!is.null(x$preprocessing_function)) "preprocessing_function")
  cat("  ", if (length(on)) paste(on, collapse = ", ") else "no transforms", "\n", sep = "")
  cat("  fill_mode = \"", a$fill_mode, "\"", if (a$fill_mode == "constant") paste0(", cval = ", a$cval), "\n", sep = "")
  if (x$featurewise_center || x$zca_whitening)
    cat("  ", if (is.null(x$mean)) "not fitted yet (call fit_image_data_generator())"
        else paste0("fitted: mean ", toString(signif(x$mean, 4)),
                    if (!is.null(x$std)) paste0(", std ", toString(signif(x$std, 4)))), "\n", sep = "")
  invisible(x)
}

check_image_generator <- function(generator, fn) {
  if (!inherits(generator, "rkeras_image_data_generator"))
    stop_arg(fn, "(): `generator` must be made by image_data_generator(), got ", describe_value(generator))
  generator
}

# Images as a channels-last double array (n, h, w, c): rank 4 is required.
image_array_arg <- function(x, name, fn, data_format) {
  x <- as_input_array(x, name)
  d <- dim(x)
  if (length(d) != 4)
    stop_arg(fn, "(): `", name, "` must be a 4-d array of images (samples, height, width, channels), got ",
             if (is.null(d)) paste0("a vector of length ", length(x)) else paste0("shape (", toString(d), ")"),
             "; for grayscale images add a channel axis, e.g. array_reshape(x, c(dim(x), 1))")
  if (data_format == "channels_first") x <- aperm(x, c(1, 3, 4, 2))
  if (!dim(x)[[4]] %in% c(1, 3, 4))
    warning(fn, "(): images are expected to have 1, 3 or 4 channels (", data_format, "), `", name, "` has ",
            dim(x)[[4]], call. = FALSE)
  storage.mode(x) <- "double"
  x
}

# A seed for the core's stream: from `seed` and a position when given, else from R's RNG.
image_seed <- function(seed, ...) {
  if (is.null(seed)) as.numeric(sample.int(.Machine$integer.max, 1L)) else c(seed, ...)
}

standardize_spec <- function(generator) {
  list(rescale = generator$rescale, samplewise_center = generator$samplewise_center,
       samplewise_std_normalization = generator$samplewise_std_normalization,
       mean = if (generator$featurewise_center && !is.null(generator$mean)) as.list(generator$mean),
       std = if (generator$featurewise_std_normalization && !is.null(generator$std)) as.list(generator$std))
}

#' Fit image data generator internal statistics to some sample data
#'
#' Computes the per-channel mean and standard deviation (and the ZCA whitening matrix) that
#' `featurewise_center`, `featurewise_std_normalization` and `zca_whitening` use, as Keras'
#' `ImageDataGenerator.fit()`: `rescale` is applied first; with `augment = TRUE` the statistics
#' are of `rounds` randomly transformed copies of `x`. The standard deviation is the population
#' one (divisor n), computed after centring. The generator is changed in place.
#'
#' @param object An [image_data_generator()].
#' @param x Array of images, rank 4 (samples, height, width, channels).
#' @param augment Whether to fit on randomly augmented samples.
#' @param rounds If `augment`, how many augmentation passes over the data.
#' @param seed Random seed (`NULL`: drawn from R's RNG).
#' @returns The generator, invisibly.
#' @family image preprocessing
#' @export
#' @examples
#' x <- array(runif(10 * 4 * 4 * 3), c(10, 4, 4, 3))
#' datagen <- image_data_generator(featurewise_center = TRUE, featurewise_std_normalization = TRUE)
#' datagen %>% fit_image_data_generator(x)
#' datagen$mean
fit_image_data_generator <- function(object, x, augment = FALSE, rounds = 1, seed = NULL) {
  gen <- check_image_generator(object, "fit_image_data_generator")
  check_flag(augment, "augment")
  rounds <- check_count(rounds, "rounds")
  seed <- check_count(seed, "seed", min = 0, null_ok = TRUE)
  x <- image_array_arg(x, "x", "fit_image_data_generator", gen$data_format)
  if (!is.null(gen$rescale) && gen$rescale != 0) x <- x * gen$rescale
  if (augment) {
    parts <- lapply(seq_len(rounds), function(r)
      rk_image_batch(x, NULL, gen$augment, NULL, image_seed(seed, 3, r)))
    x <- do.call(rbind_images, parts)
  }
  n_ch <- dim(x)[[4]]
  cols <- matrix(x, ncol = n_ch)  # one column per channel (channels are the last axis)
  if (gen$featurewise_center) {
    gen$mean <- colMeans(cols)
    cols <- sweep(cols, 2, gen$mean)
  }
  if (gen$featurewise_std_normalization) {
    gen$std <- sqrt(colMeans(cols^2))
    cols <- sweep(cols, 2, gen$std + 1e-6, "/")
  }
  if (gen$zca_whitening) {
    n <- dim(x)[[1]]
    flat <- matrix(cols, nrow = n)  # each row one image, its values in R's (column-major) order
    s <- svd(flat, nu = 0)
    gen$zca_whitening_matrix <- s$v %*% (sqrt(n) / (s$d + gen$zca_epsilon) * t(s$v))
  }
  invisible(gen)
}

# Image arrays bound along the sample axis.
rbind_images <- function(...) {
  parts <- list(...)
  d <- dim(parts[[1]])
  n <- vapply(parts, function(p) dim(p)[[1]], 1)
  flat <- do.call(rbind, lapply(parts, function(p) matrix(p, nrow = dim(p)[[1]])))
  array(flat, c(sum(n), d[-1]))
}

#' Generate batches of augmented and normalized data from image data and labels
#'
#' Returns a batch generator over `x` (and `y`, `sample_weight`) that loops indefinitely, as
#' keras' `NumpyArrayIterator`: each call gives the next batch, `list(x, y)` (`list(x, y,
#' sample_weight)` with weights, `list(x)` without `y`), its images through the random
#' transforms and normalizations of `generator`. An epoch of the iterator is
#' `ceiling(n / batch_size)` batches (the last may be smaller), reshuffled at its start when
#' `shuffle = TRUE`. Pass it to [fit()] (where `steps_per_epoch` defaults to one pass over the
#' data), [fit_generator()], [evaluate()] or [predict()]; or call it, or [generator_next()].
#'
#' Randomness (shuffling and transforms) comes from R's RNG when `seed` is `NULL`, so
#' `set.seed()` before the calls repeats the batches; with `seed`, the batches repeat whatever
#' R's RNG state.
#'
#' @param x Array of images, rank 4 (samples, height, width, channels).
#' @param y Labels (a vector, matrix or array with one entry or row per image), or `NULL`.
#' @param generator An [image_data_generator()].
#' @param batch_size Images per batch (default 32).
#' @param shuffle Whether to shuffle the order of images each epoch.
#' @param sample_weight `NULL` or a weight per image.
#' @param seed `NULL` or a whole number.
#' @param save_to_dir,save_prefix,save_format Saving augmented images is not supported by
#'   rkeras: `save_to_dir` must be `NULL`.
#' @param subset `NULL`, `"training"` or `"validation"`: with `validation_split` in
#'   [image_data_generator()], the last `1 - validation_split` of the images or the first
#'   `validation_split` of them (Keras' split).
#' @returns A generator function of class `rkeras_image_flow`.
#' @family image preprocessing
#' @export
#' @examples
#' x <- array(runif(10 * 8 * 8 * 3), c(10, 8, 8, 3))
#' y <- to_categorical(rep(0:1, 5), 2)
#' datagen <- image_data_generator(rotation_range = 20, horizontal_flip = TRUE)
#' flow <- flow_images_from_data(x, y, datagen, batch_size = 4)
#' batch <- flow()
#' dim(batch[[1]])
#' model <- keras_model_sequential(input_shape = c(8, 8, 3)) %>%
#'   layer_conv_2d(4, c(3, 3), activation = "relu") %>% layer_flatten() %>%
#'   layer_dense(2, activation = "softmax")
#' model %>% compile(loss = "categorical_crossentropy", optimizer = "adam")
#' model %>% fit_generator(flow, steps_per_epoch = 3, epochs = 1, verbose = 0)
flow_images_from_data <- function(x, y = NULL, generator = image_data_generator(), batch_size = 32,
                                  shuffle = TRUE, sample_weight = NULL, seed = NULL, save_to_dir = NULL,
                                  save_prefix = "", save_format = "png", subset = NULL) {
  fn <- "flow_images_from_data"
  gen <- check_image_generator(generator, fn)
  check_unsupported(save_to_dir, NULL, "save_to_dir", fn)
  batch_size <- check_count(batch_size, "batch_size")
  check_flag(shuffle, "shuffle")
  seed <- check_count(seed, "seed", min = 0, null_ok = TRUE)
  x <- image_array_arg(x, "x", fn, gen$data_format)
  n <- dim(x)[[1]]
  if (!is.null(y)) {
    if (is.data.frame(y)) y <- as.matrix(y)
    if (NROW(y) != n)
      stop_arg(fn, "(): `x` (images) and `y` (labels) should have the same length; found x with ",
               plural(n, "image"), " and y with ", plural(NROW(y), if (is.null(dim(y))) "value" else "row"))
  }
  if (!is.null(sample_weight)) {
    if (!is.numeric(sample_weight) || length(sample_weight) != n || any(!is.finite(sample_weight)))
      stop_arg(fn, "(): `sample_weight` must be a finite number per image (", n, "), got ",
               describe_value(sample_weight))
    if (is.null(y)) stop_arg(fn, "(): `sample_weight` needs `y`")
  }
  if (!is.null(subset)) {
    subset <- check_choice(subset, "subset", c("training", "validation"))
    if (gen$validation_split == 0)
      stop_arg(fn, "(): `subset = \"", subset, "\"` needs `validation_split` in image_data_generator()")
    split <- as.integer(n * gen$validation_split)
    keep <- if (subset == "validation") seq_len(split) else setdiff(seq_len(n), seq_len(split))
    if (!length(keep)) stop_arg(fn, "(): the ", subset, " subset of ", plural(n, "image"), " is empty")
    x <- x[keep, , , , drop = FALSE]
    if (!is.null(y)) y <- if (is.null(dim(y))) y[keep] else subset_rows(y, keep)
    if (!is.null(sample_weight)) sample_weight <- sample_weight[keep]
    n <- length(keep)
  }
  if ((gen$featurewise_center && is.null(gen$mean)) || (gen$featurewise_std_normalization && is.null(gen$std)) ||
      (gen$zca_whitening && is.null(gen$zca_whitening_matrix)))
    warning(fn, "(): the image_data_generator uses featurewise statistics or ZCA whitening but has not been ",
            "fit on any data; call fit_image_data_generator() first (they are skipped until then)", call. = FALSE)
  state <- new.env(parent = emptyenv())
  state$n <- n
  state$batch_size <- batch_size
  state$batch_index <- 0L
  state$epoch <- 0L
  state$total_batches <- 0
  state$index <- seq_len(n)
  next_index <- function() {
    if (state$batch_index == 0L) {
      state$index <- if (shuffle) rk_image_permutation(n, image_seed(seed, 1, state$epoch)) else seq_len(n)
      state$epoch <- state$epoch + 1L
    }
    start <- state$batch_index * batch_size
    end <- min(start + batch_size, n)
    state$batch_index <- if (n > start + batch_size) state$batch_index + 1L else 0L
    state$total_batches <- state$total_batches + 1
    state$index[(start + 1):end]
  }
  flow <- function() {
    idx <- next_index()
    bseed <- image_seed(seed, 2, state$total_batches)
    std <- standardize_spec(gen)
    # the core gathers the rows idx of x itself (R's 4-d subsetting costs more than the transforms)
    if (is.null(gen$preprocessing_function)) {
      xb <- rk_image_batch(x, idx, gen$augment, std, bseed)
    } else {
      xb <- rk_image_batch(x, idx, gen$augment, NULL, bseed)
      for (i in seq_along(idx)) {
        img <- gen$preprocessing_function(array(xb[i, , , ], dim(xb)[-1]))
        if (!identical(as.integer(dim(img)), as.integer(dim(xb)[-1])))
          stop_arg("preprocessing_function must return an array of the image's shape (", toString(dim(xb)[-1]),
                   "), got ", if (is.null(dim(img))) describe_value(img) else paste0("shape (", toString(dim(img)), ")"))
        xb[i, , , ] <- img
      }
      xb <- rk_image_batch(xb, NULL, NULL, std, 0)
    }
    if (gen$zca_whitening && !is.null(gen$zca_whitening_matrix)) {
      d <- dim(xb)
      xb <- array(matrix(xb, nrow = d[[1]]) %*% gen$zca_whitening_matrix, d)
    }
    if (gen$data_format == "channels_first") xb <- aperm(xb, c(1, 4, 2, 3))
    if (is.null(y)) return(list(xb))
    yb <- if (is.null(dim(y))) y[idx] else subset_rows(y, idx)
    if (is.null(sample_weight)) list(xb, yb) else list(xb, yb, sample_weight[idx])
  }
  structure(flow, class = c("rkeras_image_flow", "function"), state = state)
}

# Rows `i` of a matrix or array (first axis), keeping the other axes.
subset_rows <- function(y, i) {
  d <- dim(y)
  if (length(d) == 2) return(y[i, , drop = FALSE])
  out <- matrix(y, nrow = d[[1]])[i, , drop = FALSE]
  array(out, c(length(i), d[-1]))
}

# Steps for one pass over the data of a flow (keras' len(iterator)); NULL for other generators.
flow_steps <- function(generator) {
  state <- attr(generator, "state")
  if (!inherits(generator, "rkeras_image_flow") || is.null(state)) return(NULL)
  as.integer(ceiling(state$n / state$batch_size))
}

#' @export
print.rkeras_image_flow <- function(x, ...) {
  state <- attr(x, "state")
  cat("<flow_images_from_data>: ", plural(state$n, "image"), " in batches of ", state$batch_size, " (",
      flow_steps(x), " batches per pass)\n", sep = "")
  invisible(x)
}

#' Retrieve the next item from a generator
#'
#' The next batch of a generator such as [flow_images_from_data()] (a generator function is
#' called).
#'
#' @param generator A generator function.
#' @param completed Returned when the generator gives `NULL` (kept for compatibility; rkeras
#'   image flows never end).
#' @returns The next batch.
#' @family image preprocessing
#' @export
#' @examples
#' x <- array(runif(6 * 8 * 8), c(6, 8, 8, 1))
#' flow <- flow_images_from_data(x, 0:5, image_data_generator(), batch_size = 4, shuffle = FALSE)
#' b <- generator_next(flow)
#' dim(b[[1]]); b[[2]]
#' gen <- function() list(matrix(1:4, 2), c(0, 1))
#' generator_next(gen)
generator_next <- function(generator, completed = NULL) {
  if (!is.function(generator)) stop_arg("`generator` must be a generator function, got ", describe_value(generator))
  generator() %||% completed
}
