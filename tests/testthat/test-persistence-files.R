# The files behind saving and loading: connections, non-regular files, stale temporaries.
# in_rscript(): helper-rscript.R

connection_count <- function() nrow(showConnections(all = TRUE))

test_that("failing loads leave no connection open, even under a warning handler (300 calls each)", {
  model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
  dir <- tempfile()
  dir.create(dir)
  missing <- file.path(dir, "missing.rkeras")
  junk <- file.path(dir, "junk.h5")
  writeBin(c(as.raw(c(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)), as.raw(1:50)), junk)
  before <- connection_count()
  calls <- list(
    function() load_model(missing), function() load_model_hdf5(missing), function() load_model(junk),
    function() load_model_weights(model, missing), function() load_model_weights_hdf5(model, missing),
    function() load_model_tf(dir), function() rkeras:::read_npy(missing), function() rkeras:::read_idx(missing),
    function() rkeras:::read_cifar_batch(missing))
  for (call in calls) {
    for (i in 1:300) {
      r1 <- tryCatch(call(), error = function(e) conditionMessage(e))
      r2 <- tryCatch(call(), warning = function(w) conditionMessage(w), error = function(e) conditionMessage(e))
    }
    expect_false(grepl("connections", r1), info = r1)
    expect_identical(r2, r1)
  }
  expect_equal(connection_count(), before)
  expect_match(tryCatch(load_model(missing), error = conditionMessage), "load_model\\(\\): no such file")
  expect_match(tryCatch(rkeras:::read_npy(missing), error = conditionMessage), "no such file")
  # the session can still open files
  con <- file(file.path(dir, "x"), "w")
  close(con)
})

test_that("loaders refuse a FIFO or a device instead of waiting on it", {
  skip_on_os("windows")
  dir <- tempfile()
  dir.create(dir)
  fifo <- file.path(dir, "model.rkeras")
  system2("mkfifo", shQuote(fifo))
  skip_if_not(file.exists(fifo), "mkfifo is not available")
  # in another process with a time limit: a loader that waits for a writer fails the test
  # instead of hanging it
  got <- in_rscript({
    model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
    msg <- function(expr) tryCatch({ expr; "no error" }, error = conditionMessage)
    c(load_model = msg(load_model(args$fifo)), load_model_hdf5 = msg(load_model_hdf5(args$fifo)),
      load_model_weights = msg(load_model_weights(model, args$fifo)),
      load_model_weights_hdf5 = msg(load_model_weights_hdf5(model, args$fifo)),
      load_model_tf = msg(load_model_tf(args$dir)), read_npy = msg(rkeras:::read_npy(args$fifo)),
      read_npz = msg(rkeras:::read_npz(args$fifo, "x")), device = msg(load_model("/dev/zero")))
  }, list(fifo = fifo, dir = dir), timeout = 60)
  for (f in setdiff(names(got), c("load_model_tf", "device")))
    expect_match(got[[f]], paste0("'", fifo, "' is a FIFO \\(named pipe\\), not a regular file"), info = f)
  expect_match(got[["load_model"]], "^load_model\\(\\): ")
  expect_match(got[["load_model_tf"]], "holds no rkeras model")
  expect_match(got[["device"]], "'/dev/zero' is a character device, not a regular file")
  # load_model_tf() reads saved_model.rkeras: a FIFO there too
  file.rename(fifo, file.path(dir, "saved_model.rkeras"))
  got <- in_rscript(tryCatch(load_model_tf(args$dir), error = conditionMessage), list(dir = dir), timeout = 60)
  expect_match(got, "saved_model.rkeras' is a FIFO")
})

# TRUE once process `pid` has exited (a zombie too: a container without an init keeps them).
process_gone <- function(pid) {
  stat <- sprintf("/proc/%d/stat", pid)
  line <- tryCatch(suppressWarnings(readLines(stat, warn = FALSE)), error = function(e) character())
  length(line) == 0 || grepl("\\) [ZX] ", line[1])
}

test_that("a save removes the temporary a killed writer left (kill -9) and keeps live or fresh ones", {
  skip_on_os("windows")
  dir <- tempfile()
  dir.create(dir)
  path <- file.path(dir, "model.rkeras")
  model <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)
  save_model(model, path)
  # a writer killed with SIGKILL between writing its temporary and the rename
  ready <- file.path(dir, "ready")
  script <- file.path(tempdir(), "killed-writer.R")
  writeLines(c("library(rkeras)", "args <- commandArgs(TRUE)",
               "m <- keras_model_sequential(input_shape = 4) %>% layer_dense(2)",
               "options(rkeras.save_fault = function(tmp) {",
               "  writeLines(c(Sys.getpid(), tmp), paste0(args[2], '.part')); file.rename(paste0(args[2], '.part'), args[2])",
               "  Sys.sleep(120)", "})", "save_model(m, args[1])"), script)
  system2(file.path(R.home("bin"), "Rscript"), shQuote(c(script, path, ready)), wait = FALSE,
          env = paste0("R_LIBS=", shQuote(paste(.libPaths(), collapse = ":"))))
  deadline <- Sys.time() + 60
  while (!file.exists(ready) && Sys.time() < deadline) Sys.sleep(0.1)
  expect_true(file.exists(ready))
  info <- readLines(ready)
  pid <- as.integer(info[1])
  left <- info[2]
  tools::pskill(pid, tools::SIGKILL)
  while (!process_gone(pid) && Sys.time() < deadline) Sys.sleep(0.1)
  unlink(ready)
  expect_true(file.exists(left))
  expect_match(basename(left), sprintf("^\\.model\\.rkeras\\.tmp-.+-%d-[0-9a-f]+$", pid))
  # the same writer's name, for other cases: a fresh one (it may still be writing), and one
  # of a live process (this one)
  fresh <- sub("[0-9a-f]+$", "0000abcd", left)
  live <- sub(sprintf("-%d-[0-9a-f]+$", pid), sprintf("-%d-0000abce", Sys.getpid()), left)
  file.copy(left, c(fresh, live))
  old <- Sys.time() - 120
  Sys.setFileTime(c(left, live), old)
  save_model(model, path)
  expect_false(file.exists(left))
  expect_true(file.exists(fresh))
  expect_true(file.exists(live))
  expect_setequal(list.files(dir, all.files = TRUE, no.. = TRUE), basename(c(path, fresh, live)))
  # once the fresh one is old too, the next save (of any kind) removes it
  Sys.setFileTime(fresh, old)
  save_model_hdf5(model, path)
  expect_false(file.exists(fresh))
  expect_true(file.exists(live))
  expect_s3_class(load_model(path, compile = FALSE), "rkeras_model")
})

two_layers <- function() keras_model_sequential(input_shape = 4) %>% layer_dense(3, name = "dense") %>%
  layer_dense(2, activation = "softmax", name = "out")

# `file` with the float32 `value` (present once) replaced by NaN: a damaged HDF5 file.
poison_f32 <- function(file, value) {
  bytes <- readBin(file, "raw", file.size(file))
  pat <- writeBin(value, raw(), size = 4, endian = "little")
  at <- which(vapply(seq_len(length(bytes) - 3), function(i) identical(bytes[i:(i + 3)], pat), logical(1)))
  stopifnot(length(at) == 1)
  bytes[at:(at + 3)] <- writeBin(NaN, raw(), size = 4, endian = "little")
  writeBin(bytes, file)
}

test_that("loaders refuse NaN or infinite weights as set_weights() does, and leave the model unchanged", {
  model <- two_layers()
  w <- get_weights(model)
  w[[1]][2, 3] <- 1234.5678
  set_weights(model, w)
  target <- two_layers()
  before <- get_weights(target)
  # damaged HDF5 files (they carry no checksum)
  h5w <- tempfile(fileext = ".h5")
  save_model_weights_hdf5(model, h5w)
  poison_f32(h5w, 1234.5678)
  for (by_name in c(FALSE, TRUE))
    expect_error(load_model_weights_hdf5(target, h5w, by_name = by_name),
                 "'.*': weight dense/kernel holds NaN or infinite values \\(first at element 6 of 12, value NaN\\)")
  expect_identical(get_weights(target), before)
  h5m <- tempfile(fileext = ".h5")
  save_model_hdf5(model, h5m)
  poison_f32(h5m, 1234.5678)
  expect_error(load_model_hdf5(h5m), "weight dense/kernel holds NaN or infinite values")
  expect_error(load_model(h5m), "weight dense/kernel holds NaN or infinite values")
  expect_error(load_model_weights_hdf5(target, h5m), "weight dense/kernel holds NaN")
  expect_identical(get_weights(target), before)
  # rkeras files (checksummed): a model whose training diverged
  d <- toy_data(64)
  diverged <- two_layers() %>% compile(optimizer = optimizer_sgd(learning_rate = 1e30), loss = "categorical_crossentropy")
  suppressWarnings(diverged %>% fit(d$x, d$y, epochs = 2, verbose = 0))
  expect_false(all(is.finite(unlist(get_weights(diverged)))))
  path <- tempfile(fileext = ".rkeras")
  save_model(diverged, path)
  expect_error(load_model(path), "cannot load a model from '.*': weight \\S+ holds NaN or infinite values")
  expect_error(unserialize_model(serialize_model(diverged)), "holds NaN or infinite values")
  save_model_weights(diverged, path)
  expect_error(load_model_weights(target, path), "weight \\S+ holds NaN or infinite values")
  expect_identical(get_weights(target), before)
  # set_weights() says the same kind of thing
  expect_error(set_weights(target, get_weights(diverged)), "NaN")
  # the model's own state is restored as it was (saveRDS()/readRDS())
  back <- unserialize(serialize(diverged, NULL))
  expect_identical(get_weights(back), get_weights(diverged))
})
