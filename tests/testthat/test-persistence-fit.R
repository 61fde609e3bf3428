# Saving a model while its own fit() runs: saveRDS(), save_model() and save_model_hdf5()
# in a callback or a generator give the model as of the last finished step.

# in_rscript(): helper-rscript.R

fit_data <- function() toy_data(96, seed = 5)  # 6 batches of 16

fresh_model <- function() {
  set.seed(42)
  toy_model(units = 8)
}

iterations <- function(model) rkeras:::rk_model_compile_info(rkeras:::model_ptr(model))$iterations

test_that("saveRDS() in a callback writes the model of the last finished epoch, which a new session reads", {
  d <- fit_data()
  rds <- tempfile(fileext = ".rds")
  model <- fresh_model()
  # an earlier good file; taking the state before fit() must not make later saves stale
  saveRDS(model, rds)
  cb <- callback_lambda(on_epoch_end = function(epoch, logs) if (epoch == 2) saveRDS(model, rds))
  set.seed(7)
  model %>% fit(d$x, d$y, epochs = 3, batch_size = 16, verbose = 0, callbacks = list(cb))
  ref <- fresh_model()
  set.seed(7)
  ref %>% fit(d$x, d$y, epochs = 2, batch_size = 16, verbose = 0)
  got <- in_rscript({
    m <- readRDS(args$rds)
    list(weights = get_weights(m), iterations = rkeras:::rk_model_compile_info(rkeras:::model_ptr(m))$iterations,
         predict = predict(m, args$x))
  }, list(rds = rds, x = d$x))
  expect_identical(got$weights, get_weights(ref))
  expect_identical(got$predict, predict(ref, d$x))
  expect_equal(got$iterations, 12)
  expect_false(identical(got$weights, get_weights(model)))  # not the model after epoch 3
  # the state after fit() is the final model's again
  expect_identical(get_weights(unserialize(serialize(model, NULL))), get_weights(model))

  # a model restored from its state (plain bytes, not a lazy state) does the same
  back <- readRDS(rds)
  cb <- callback_lambda(on_train_batch_end = function(batch, logs) if (batch == 2) saveRDS(back, rds))
  set.seed(8)
  back %>% fit(d$x, d$y, epochs = 3, initial_epoch = 2, batch_size = 16, verbose = 0, callbacks = list(cb))
  got <- readRDS(rds)
  expect_equal(iterations(got), 14)
  expect_false(identical(get_weights(got), get_weights(ref)))
  expect_false(identical(get_weights(got), get_weights(back)))
})

test_that("save_model(), save_model_hdf5() and serialize_model() in a callback save the last finished step", {
  d <- fit_data()
  dir <- tempfile()
  dir.create(dir)
  paths <- file.path(dir, c("m.rkeras", "m.h5", "w.h5"))
  model <- fresh_model()
  save_model(model, paths[1])  # earlier files, replaced
  bytes <- NULL
  cb <- callback_lambda(on_epoch_end = function(epoch, logs) if (epoch == 1) {
    save_model(model, paths[1])
    save_model_hdf5(model, paths[2])
    save_model_weights_hdf5(model, paths[3])
    bytes <<- serialize_model(model)
  })
  set.seed(7)
  model %>% fit(d$x, d$y, epochs = 2, batch_size = 16, verbose = 0, callbacks = list(cb))
  ref <- fresh_model()
  set.seed(7)
  ref %>% fit(d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
  expect_identical(get_weights(load_model(paths[1])), get_weights(ref))
  expect_identical(get_weights(load_model_hdf5(paths[2])), get_weights(ref))
  w <- fresh_model()
  load_model_weights_hdf5(w, paths[3])
  expect_identical(get_weights(w), get_weights(ref))
  expect_identical(get_weights(unserialize_model(bytes)), get_weights(ref))
  expect_equal(iterations(load_model(paths[1])), 6)
  expect_equal(sort(list.files(dir, all.files = TRUE, no.. = TRUE)), sort(basename(paths)))
  # changing the model from inside its fit() stays an error
  cb <- callback_lambda(on_epoch_end = function(epoch, logs) set_weights(model, get_weights(ref)))
  expect_error(model %>% fit(d$x, d$y, epochs = 1, verbose = 0, callbacks = list(cb)), "busy")
})

test_that("a generator that saves the model while a step runs saves it after that step", {
  d <- fit_data()
  batches <- lapply(0:5, function(i) list(d$x[i * 16 + 1:16, ], d$y[i * 16 + 1:16, ]))
  rds <- tempfile(fileext = ".rds")
  model <- fresh_model()
  saveRDS(model, rds)
  calls <- 0
  gen <- function() {
    calls <<- calls + 1
    # the 3rd batch is asked for while the 2nd step runs: the save waits for that step
    if (calls == 3) saveRDS(model, rds)
    batches[[(calls - 1) %% 6 + 1]]
  }
  model %>% fit(gen, steps_per_epoch = 6, epochs = 1, verbose = 0)
  calls <- 0
  ref <- fresh_model()
  ref %>% fit(function() { calls <<- calls + 1; batches[[calls]] }, steps_per_epoch = 2, epochs = 1, verbose = 0)
  got <- in_rscript({
    m <- readRDS(args$rds)
    list(weights = get_weights(m), iterations = rkeras:::rk_model_compile_info(rkeras:::model_ptr(m))$iterations)
  }, list(rds = rds))
  expect_equal(got$iterations, 2)
  expect_equal(got$weights, get_weights(ref), tolerance = 1e-6)
  expect_false(isTRUE(all.equal(got$weights, get_weights(model), tolerance = 1e-6)))
})

test_that("a learning rate schedule may save the model", {
  d <- fit_data()
  path <- tempfile(fileext = ".rkeras")
  model <- fresh_model()
  sched <- function(epoch, lr) {
    if (epoch == 1) save_model(model, path)
    lr
  }
  model %>% fit(d$x, d$y, epochs = 2, batch_size = 16, verbose = 0,
                callbacks = list(callback_learning_rate_scheduler(sched)))
  expect_equal(iterations(load_model(path)), 6)
})
