# A Rust model lives as long as R reaches its handle: the handle's finalizer drops it when
# R's garbage collector frees the handle. rk_live_models() counts the handles not yet
# dropped, so a leak of models (a handle kept by a session object, a cycle R cannot see, a
# lost finalizer) shows as a count that does not return to where it was.

live_models <- function() {
  invisible(gc())
  rkeras:::rk_live_models()
}

test_that("models that R no longer reaches are dropped by the garbage collector", {
  base <- live_models()
  for (i in 1:200) {
    m <- keras_model_sequential(input_shape = 4) %>% layer_dense(3)
    compile(m, loss = "mse", optimizer = "adam")
    count_params(m)
  }
  expect_gte(rkeras:::rk_live_models(), base + 1)
  rm(m)
  expect_equal(live_models(), base)
})

test_that("fit, predict, callbacks, saving, loading and serializing leave no model behind", {
  base <- live_models()
  d <- toy_data(40)
  dir <- withr::local_tempdir()
  for (i in 1:5) {
    m <- toy_model()
    seen <- NULL
    cb <- callback_lambda(on_epoch_end = function(epoch, logs) seen <<- c(seen, logs$loss))
    h <- fit(m, d$x, d$y, epochs = 2, batch_size = 8, verbose = 0, validation_split = 0.25, callbacks = list(cb))
    predict(m, d$x)
    evaluate(m, d$x, d$y, verbose = 0)
    train_on_batch(m, d$x[1:8, ], d$y[1:8, ])
    gen <- function() list(d$x[1:8, ], d$y[1:8, ])
    fit(m, gen, steps_per_epoch = 2, epochs = 1, verbose = 0)
    save_model(m, file.path(dir, "m.rkeras"), overwrite = TRUE)
    m2 <- load_model(file.path(dir, "m.rkeras"))
    save_model_hdf5(m, file.path(dir, "m.h5"), overwrite = TRUE)
    m3 <- load_model_hdf5(file.path(dir, "m.h5"))
    m4 <- unserialize(serialize(m, NULL)) # the state is taken, the copy rebuilt on use
    expect_identical(predict(m4, d$x), predict(m, d$x))
    set_weights(m, get_weights(m2))
  }
  expect_gte(rkeras:::rk_live_models(), base + 4)
  rm(m, m2, m3, m4, h, cb, gen)
  expect_equal(live_models(), base)
})
