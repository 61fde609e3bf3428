# image_data_generator(), fit_image_data_generator(), flow_images_from_data(): transforms against
# Keras' ImageDataGenerator (tests/fixtures/keras/image_augment.json, made by
# tests/interop/make_image_augment_fixtures.py) and against values computed by hand.

image_fixture <- function() {
  path <- file.path(fixture_dir("keras"), "image_augment.json")
  jsonlite::fromJSON(path, simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
}

one_image <- function(img) array(img, c(1, dim(img)))  # (h, w, c) -> (1, h, w, c)

test_that("fixed transforms equal Keras' apply_transform() for every fill mode (square and non-square)", {
  fx <- image_fixture()
  images <- lapply(fx$images, fx_array)
  expect_gt(length(fx$transforms), 90)
  for (case in fx$transforms) {
    got <- rkeras:::rk_image_apply_transforms(one_image(images[[case$image]]), list(case$params),
                                              case$fill_mode, case$cval)
    want <- fx_array(case$output)
    label <- paste0(case$image, " ", case$fill_mode, " ", jsonlite::toJSON(case$params, auto_unbox = TRUE))
    expect_equal(dim(got), c(1L, dim(want)), label = label)
    expect_equal(as.numeric(got), as.numeric(want), tolerance = 1e-5, label = label)
  }
})

test_that("standardize and the featurewise statistics equal Keras' fit() + standardize()", {
  fx <- image_fixture()
  x <- fx_array(fx$standardize_x)
  for (case in fx$standardize) {
    gen <- suppressWarnings(do.call(image_data_generator, case$settings))
    fit_image_data_generator(gen, x)
    if (!is.null(case$mean)) expect_equal(gen$mean, as.numeric(fx_array(case$mean)), tolerance = 1e-5)
    if (!is.null(case$std)) expect_equal(gen$std, as.numeric(fx_array(case$std)), tolerance = 1e-5)
    batch <- flow_images_from_data(x, generator = gen, batch_size = dim(x)[[1]], shuffle = FALSE)()
    expect_equal(batch[[1]], fx_array(case$output), tolerance = 1e-4,
                 label = paste(names(case$settings), collapse = "+"))
  }
})

test_that("featurewise statistics are R's per-channel mean and population sd (after rescale)", {
  set.seed(3)
  x <- array(rnorm(7 * 4 * 5 * 3, mean = 10, sd = 3), c(7, 4, 5, 3))
  gen <- image_data_generator(featurewise_center = TRUE, featurewise_std_normalization = TRUE, rescale = 0.5)
  expect_identical(fit_image_data_generator(gen, x), gen)
  for (k in 1:3) {
    v <- 0.5 * x[, , , k]
    expect_equal(gen$mean[[k]], mean(v))
    expect_equal(gen$std[[k]], sd(v) * sqrt((length(v) - 1) / length(v)))
  }
  out <- flow_images_from_data(x, generator = gen, batch_size = 7, shuffle = FALSE)()[[1]]
  for (k in 1:3)
    expect_equal(out[, , , k], (0.5 * x[, , , k] - gen$mean[[k]]) / (gen$std[[k]] + 1e-6), tolerance = 1e-6)
})

test_that("random transforms with degenerate ranges give the transforms computed by hand", {
  img <- array(rep(0:4, each = 5), c(1, 5, 5, 1))  # row r, column c holds c - 1
  # zoom fixed at 2 (both axes): input column = 2 (col - 2) + 2, same for rows; outside -> cval
  gen <- image_data_generator(zoom_range = c(2, 2), fill_mode = "constant", cval = -1)
  out <- flow_images_from_data(img, generator = gen, batch_size = 1)()[[1]]
  for (r in 2:4) expect_equal(out[1, r, , 1], c(-1, 0, 2, 4, -1))
  for (r in c(1, 5)) expect_equal(out[1, r, , 1], rep(-1, 5))
  # zoom 0.5 interpolates: input column = (col - 2) / 2 + 2
  gen <- image_data_generator(zoom_range = c(0.5, 0.5))
  out <- flow_images_from_data(img, generator = gen, batch_size = 1)()[[1]]
  expect_equal(out[1, 3, , 1], c(1, 1.5, 2, 2.5, 3))
  # a shift of exactly one pixel either way (an integer vector picks a value, with a random sign);
  # width_shift_range moves along the rows and height_shift_range along the columns, as in Keras
  same <- function(a, b) max(abs(a - b)) < 1e-6  # the batches are float32 values
  set.seed(11)
  x <- array(runif(30 * 4 * 4), c(30, 4, 4, 1))
  gen <- image_data_generator(height_shift_range = c(1L, 1L))
  out <- flow_images_from_data(x, generator = gen, batch_size = 30, shuffle = FALSE)()[[1]]
  left <- function(m) m[, c(2:4, 4)]   # out[, c] = in[, c + 1], nearest fill
  right <- function(m) m[, c(1, 1:3)]  # out[, c] = in[, c - 1]
  signs <- vapply(1:30, function(i) {
    if (same(out[i, , , 1], left(x[i, , , 1]))) 1 else if (same(out[i, , , 1], right(x[i, , , 1]))) -1 else 0
  }, 1)
  expect_true(all(signs != 0))
  expect_true(any(signs == 1) && any(signs == -1))
  # horizontal flips: each image is itself or its mirror, and both happen
  gen <- image_data_generator(horizontal_flip = TRUE)
  out <- flow_images_from_data(x, generator = gen, batch_size = 30, shuffle = FALSE)()[[1]]
  flipped <- vapply(1:30, function(i) {
    if (same(out[i, , , 1], x[i, , 4:1, 1])) 1 else if (same(out[i, , , 1], x[i, , , 1])) 0 else NA
  }, 1)
  expect_false(anyNA(flipped))
  expect_true(any(flipped == 1) && any(flipped == 0))
  # vertical flips only
  gen <- image_data_generator(vertical_flip = TRUE)
  out <- flow_images_from_data(x, generator = gen, batch_size = 30, shuffle = FALSE)()[[1]]
  ok <- vapply(1:30, function(i) same(out[i, , , 1], x[i, 4:1, , 1]) ||
                 same(out[i, , , 1], x[i, , , 1]), TRUE)
  expect_true(all(ok))
  # brightness through 8 bits: values 0..255 times 1.5, truncated, clipped at 255
  gen <- image_data_generator(brightness_range = c(1.5, 1.5))
  b <- array(c(0, 10.5, 100, 200), c(1, 2, 2, 1))
  expect_equal(as.numeric(flow_images_from_data(b, generator = gen, batch_size = 1)()[[1]]), c(0, 15, 150, 255))
  # 90-degree rotations by hand: Keras turns the image counter-clockwise
  m <- array(0:8, c(1, 3, 3, 1))
  m[1, , , 1] <- matrix(0:8, 3, byrow = TRUE)
  got <- rkeras:::rk_image_apply_transforms(m, list(list(theta = 90)), "nearest", 0)
  expect_equal(got[1, , , 1], matrix(c(2, 5, 8, 1, 4, 7, 0, 3, 6), 3, byrow = TRUE), tolerance = 1e-6)
})

test_that("set.seed() repeats the batches; `seed` repeats them whatever R's RNG", {
  x <- array(runif(20 * 6 * 6 * 3), c(20, 6, 6, 3))
  gen <- image_data_generator(rotation_range = 30, width_shift_range = 0.1, zoom_range = 0.2, horizontal_flip = TRUE)
  batches <- function() {
    f <- flow_images_from_data(x, 1:20, gen, batch_size = 8)
    lapply(1:4, function(i) f())
  }
  set.seed(42); a <- batches()
  set.seed(42); b <- batches()
  set.seed(43); c <- batches()
  expect_identical(a, b)
  expect_false(identical(a[[1]][[1]], c[[1]][[1]]))
  seeded <- function() {
    f <- flow_images_from_data(x, 1:20, gen, batch_size = 8, seed = 5)
    lapply(1:4, function(i) f())
  }
  set.seed(1); s1 <- seeded()
  set.seed(2); s2 <- seeded()
  expect_identical(s1, s2)
  expect_false(identical(s1[[1]][[1]], s1[[2]][[1]][1:8, , , ]))
})

test_that("each epoch of the flow covers the data exactly once, shuffled, the last batch smaller", {
  x <- array(seq_len(10 * 2 * 3 * 3), c(10, 2, 3, 3))
  set.seed(7)
  f <- flow_images_from_data(x, 1:10, batch_size = 4)
  expect_equal(rkeras:::flow_steps(f), 3L)
  epochs <- lapply(1:3, function(e) lapply(1:3, function(i) f()))
  for (ep in epochs) {
    expect_equal(vapply(ep, function(b) length(b[[2]]), 1L), c(4L, 4L, 2L))
    ids <- unlist(lapply(ep, `[[`, 2))
    expect_setequal(ids, 1:10)
    expect_length(ids, 10)
    # images travel with their labels
    for (b in ep) expect_equal(b[[1]], x[b[[2]], , , , drop = FALSE])
  }
  orders <- lapply(epochs, function(ep) unlist(lapply(ep, `[[`, 2)))
  expect_false(identical(orders[[1]], orders[[2]]))
  expect_false(identical(orders[[1]], 1:10))
  g <- flow_images_from_data(x, 1:10, batch_size = 4, shuffle = FALSE)
  expect_equal(unlist(lapply(1:4, function(i) g()[[2]])), c(1:10, 1:4))
  expect_equal(generator_next(g)[[2]], 5:8)
})

test_that("y as a matrix, sample_weight, subset, preprocessing_function and channels_first", {
  x <- array(runif(10 * 3 * 3 * 1), c(10, 3, 3, 1))
  y <- to_categorical(rep(0:1, 5), 2)
  b <- flow_images_from_data(x, y, batch_size = 4, shuffle = FALSE, sample_weight = (1:10) / 10)()
  expect_length(b, 3)
  expect_equal(b[[2]], y[1:4, ])
  expect_equal(b[[3]], (1:4) / 10)
  expect_length(flow_images_from_data(x, batch_size = 4)(), 1)
  gen <- image_data_generator(validation_split = 0.2)
  v <- flow_images_from_data(x, 1:10, gen, batch_size = 10, shuffle = FALSE, subset = "validation")()
  t <- flow_images_from_data(x, 1:10, gen, batch_size = 10, shuffle = FALSE, subset = "training")()
  expect_equal(v[[2]], 1:2)
  expect_equal(t[[2]], 3:10)
  gen <- image_data_generator(preprocessing_function = function(img) img + 1, rescale = 2)
  out <- flow_images_from_data(x, generator = gen, batch_size = 10, shuffle = FALSE)()[[1]]
  expect_equal(out, (x + 1) * 2, tolerance = 1e-6)
  xl <- array(runif(4 * 3 * 5 * 3), c(4, 3, 5, 3))
  xf <- aperm(xl, c(1, 4, 2, 3))
  gl <- image_data_generator(featurewise_center = TRUE, zoom_range = c(0.8, 0.8))
  gf <- image_data_generator(featurewise_center = TRUE, zoom_range = c(0.8, 0.8), data_format = "channels_first")
  fit_image_data_generator(gl, xl)
  fit_image_data_generator(gf, xf)
  expect_equal(gf$mean, gl$mean)
  ol <- flow_images_from_data(xl, generator = gl, batch_size = 4, shuffle = FALSE)()[[1]]
  of <- flow_images_from_data(xf, generator = gf, batch_size = 4, shuffle = FALSE)()[[1]]
  expect_equal(of, aperm(ol, c(1, 4, 2, 3)))
})

test_that("the cifar10_cnn example's augmentation trains a small CNN through fit_generator() and fit()", {
  set.seed(1)
  n <- 48
  x_train <- array(runif(n * 8 * 8 * 3), c(n, 8, 8, 3))
  y_train <- to_categorical(sample(0:2, n, TRUE), 3)
  x_test <- array(runif(10 * 8 * 8 * 3), c(10, 8, 8, 3))
  y_test <- to_categorical(sample(0:2, 10, TRUE), 3)
  batch_size <- 16
  model <- keras_model_sequential() %>%
    layer_conv_2d(filter = 4, kernel_size = c(3, 3), padding = "same", input_shape = c(8, 8, 3)) %>%
    layer_activation("relu") %>% layer_max_pooling_2d(pool_size = c(2, 2)) %>% layer_flatten() %>%
    layer_dense(3) %>% layer_activation("softmax")
  model %>% compile(loss = "categorical_crossentropy", optimizer = optimizer_rmsprop(learning_rate = 0.001),
                    metrics = "accuracy")
  datagen <- image_data_generator(featurewise_center = TRUE, featurewise_std_normalization = TRUE,
                                  rotation_range = 20, width_shift_range = 0.2, height_shift_range = 0.2,
                                  horizontal_flip = TRUE)
  datagen %>% fit_image_data_generator(x_train)
  hist <- model %>% fit_generator(flow_images_from_data(x_train, y_train, datagen, batch_size = batch_size),
                                  steps_per_epoch = as.integer(n / batch_size), epochs = 2,
                                  validation_data = list(x_test, y_test), verbose = 0)
  expect_length(hist$metrics$loss, 2)
  expect_true(all(is.finite(hist$metrics$val_loss)))
  hist <- model %>% fit(flow_images_from_data(x_train, y_train, datagen, batch_size = 20), epochs = 1, verbose = 0)
  expect_equal(hist$params$steps, 3L)  # ceiling(48 / 20): one pass over the data
  expect_true(is.finite(hist$metrics$loss))
  p <- predict(model, flow_images_from_data(x_test, generator = datagen, batch_size = 5, shuffle = FALSE), steps = 2)
  expect_equal(dim(p), c(10L, 3L))
})

test_that("bad input gives clear errors", {
  gen <- image_data_generator()
  expect_error(flow_images_from_data(matrix(1, 4, 4), 1:4, gen), "4-d array of images.*array_reshape")
  expect_error(flow_images_from_data(array(1, c(4, 3, 3)), 1:4, gen), "shape \\(4, 3, 3\\)")
  expect_error(flow_images_from_data(array(1, c(4, 3, 3, 1)), 1:5, gen),
               "same length; found x with 4 images and y with 5 values")
  expect_error(flow_images_from_data(array(1, c(4, 3, 3, 1)), matrix(0, 3, 2), gen), "y with 3 rows")
  expect_error(image_data_generator(rotation_range = -5), "`rotation_range` must be >= 0")
  expect_error(image_data_generator(width_shift_range = -0.1), "`width_shift_range` must be >= 0")
  expect_error(image_data_generator(zoom_range = 1.5), "zoom_range.*0 < lower <= upper")
  expect_error(image_data_generator(zoom_range = c(1.2, 0.9)), "zoom_range")
  expect_error(image_data_generator(brightness_range = 0.5), "brightness_range")
  expect_error(image_data_generator(fill_mode = "mirror"), "valid values are: constant, nearest, reflect, wrap")
  expect_error(image_data_generator(validation_split = 1), "validation_split")
  expect_error(flow_images_from_data(array(1, c(4, 3, 3, 1)), 1:4, gen, subset = "validation"),
               "needs `validation_split`")
  expect_error(flow_images_from_data(array(1, c(4, 3, 3, 1)), 1:4, gen, batch_size = 0), "batch_size")
  expect_error(flow_images_from_data(array(1, c(4, 3, 3, 1)), 1:4, list()), "made by image_data_generator")
  expect_error(flow_images_from_data(array(1, c(4, 3, 3, 1)), 1:4, gen, save_to_dir = "d"), "save_to_dir")
  expect_error(fit_image_data_generator(gen, matrix(1, 3, 3)), "4-d array")
  expect_warning(flow_images_from_data(array(1, c(4, 3, 3, 1)), 1:4,
                                       image_data_generator(featurewise_center = TRUE)), "has not been fit")
  expect_warning(image_data_generator(featurewise_std_normalization = TRUE), "overrides `featurewise_center`")
  bad <- image_data_generator(preprocessing_function = function(img) img[1:2, , , drop = FALSE])
  expect_error(flow_images_from_data(array(1, c(4, 3, 3, 1)), 1:4, bad)(), "preprocessing_function must return")
  expect_warning(two <- flow_images_from_data(array(1, c(4, 3, 3, 2)), 1:4, image_data_generator(brightness_range = c(1, 2))),
                 "expected to have 1, 3 or 4 channels")
  expect_error(two(), "brightness_range needs images with 1, 3 or 4 channels, got 2")
})
