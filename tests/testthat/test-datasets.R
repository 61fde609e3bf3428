# Tests for dataset_*() and the IDX/.npy/.npz readers. They never use the
# network: every test points the cache at an empty temporary folder and turns
# downloads off, or passes `path =`.

# Points the cache at an empty folder and turns downloads off until the
# calling test ends; returns the folder (the Keras home).
local_offline <- function(env = parent.frame()) {
  home <- tempfile("keras-home")
  dir.create(home)
  withr::local_options(list(rkeras.cache_dir = home, rkeras.allow_download = FALSE),
                       .local_envir = env)
  home
}

# Writes `x` as a version-1 .npy file in C order.
write_npy <- function(file, x, descr = "<f8") {
  shape <- if (is.null(dim(x))) length(x) else dim(x)
  data <- if (length(shape) > 1L) as.vector(aperm(x, rev(seq_along(shape)))) else as.vector(x)
  shape_txt <- paste0(paste(shape, collapse = ", "), if (length(shape) == 1L) ",")
  header <- sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape_txt)
  pad <- 64L - (10L + nchar(header) + 1L) %% 64L
  header <- paste0(header, strrep(" ", pad %% 64L), "\n")
  body <- switch(descr,
    "|u1" = as.raw(data),
    "<i8" = {  # low and high 32-bit words
      lo <- data %% 2^32
      writeBin(as.integer(rbind(ifelse(lo >= 2^31, lo - 2^32, lo), floor(data / 2^32))), raw(),
               endian = "little")
    },
    "<i4" = writeBin(as.integer(data), raw(), endian = "little"),
    "<f4" = writeBin(as.double(data), raw(), size = 4L, endian = "little"),
    "<f8" = writeBin(as.double(data), raw(), endian = "little"),
    "|O" = as.raw(c(0x80, 0x02, 0x63)))  # start of a pickle; never parsed
  len <- writeBin(nchar(header), raw(), size = 2L, endian = "little")
  writeBin(c(as.raw(0x93), charToRaw("NUMPY"), as.raw(c(1, 0)), len, charToRaw(header), body),
           file)
  invisible(file)
}

# Writes the named arrays (and dtypes) to an .npz file.
write_npz <- function(file, arrays, descr) {
  skip_if(!nzchar(Sys.which(Sys.getenv("R_ZIPCMD", "zip"))),
          "no `zip` program to build the .npz test file")
  dir <- tempfile("npz-src")
  dir.create(dir)
  files <- file.path(dir, paste0(names(arrays), ".npy"))
  for (i in seq_along(arrays)) write_npy(files[i], arrays[[i]], descr[[i]])
  unlink(file)
  status <- utils::zip(file, files, flags = "-jq")
  if (status != 0) skip("`zip` failed to build the .npz test file")
  file
}

test_that("dataset_mnist() reads the IDX subset with keras' structure", {
  dir <- mnist_subset_dir()
  d <- dataset_mnist(path = dir)
  expect_named(d, c("train", "test"))
  expect_named(d$train, c("x", "y"))
  expect_named(d$test, c("x", "y"))
  expect_identical(dim(d$train$x), c(8000L, 28L, 28L))
  expect_identical(dim(d$test$x), c(2000L, 28L, 28L))
  expect_type(d$train$x, "integer")
  expect_type(d$train$y, "integer")
  expect_null(dim(d$train$y))
  expect_identical(range(d$train$x), c(0L, 255L))
  expect_identical(as.vector(table(factor(d$train$y, 0:9))),
                   c(801L, 902L, 793L, 826L, 784L, 690L, 811L, 856L, 755L, 782L))
  expect_identical(as.vector(table(factor(d$test$y, 0:9))),
                   c(200L, 225L, 198L, 206L, 196L, 173L, 203L, 214L, 189L, 196L))
})

test_that("x[i, r, c] is row r, column c: ink is centred, 1s are upright, 7s top-heavy", {
  dir <- mnist_subset_dir()
  d <- dataset_mnist(path = dir)
  x <- d$train$x
  y <- d$train$y
  mean_img <- apply(x, 2:3, mean)
  expect_gt(mean(mean_img[11:18, 11:18]), 5 * mean(mean_img[c(1:4, 25:28), ]))
  expect_lt(sum(mean_img[1, ]) + sum(mean_img[28, ]), 0.001 * sum(mean_img))  # empty borders
  ones <- apply(x[y == 1, , ], 2:3, mean)
  expect_gt(sum(ones[, 11:18]) / sum(ones), 0.8)  # vertical stroke: centre columns
  expect_lt(sum(ones[11:18, ]) / sum(ones), 0.5)  # but spread over all rows
  sevens <- apply(x[y == 7, , ], 2:3, mean)
  expect_gt(sum(sevens[1:14, ]), sum(sevens[15:28, ]))  # the bar is on top
})

test_that("uncompressed IDX files give the same data", {
  dir <- mnist_subset_dir()
  plain <- tempfile("idx-plain")
  dir.create(plain)
  for (f in list.files(dir, pattern = "\\.gz$", full.names = TRUE)) {
    con <- gzfile(f, "rb")
    writeBin(readBin(con, "raw", 10 * file.size(f)), file.path(plain, sub("\\.gz$", "", basename(f))))
    close(con)
  }
  expect_identical(dataset_mnist(path = plain), dataset_mnist(path = dir))
})

test_that("a folder with missing IDX files gives an error naming them", {
  dir <- tempfile("idx-partial")
  dir.create(dir)
  file.create(file.path(dir, "train-images-idx3-ubyte"))
  expect_error(dataset_mnist(path = dir), "t10k-labels-idx1-ubyte")
  expect_error(dataset_mnist(path = file.path(dir, "nope", "x.npz")), "does not exist")
})

test_that("read_idx() rejects files that are not unsigned-byte IDX", {
  f <- tempfile()
  writeBin(as.raw(c(1, 2, 3, 4, 5)), f)
  expect_error(read_idx(f), "not an IDX file")
  writeBin(as.raw(c(0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0)), f)
  expect_error(read_idx(f), "unsigned-byte")
  writeBin(as.raw(c(0, 0, 8, 1, 0, 0, 0, 9, 1, 2)), f)
  expect_error(read_idx(f), "truncated")
})

test_that("mnist.npz round trip, from `path` and from the cache folder", {
  dir <- mnist_subset_dir()
  d <- dataset_mnist(path = dir)
  arrays <- list(x_train = d$train$x[1:5, , ], y_train = d$train$y[1:5],
                 x_test = d$test$x[1:3, , ], y_test = d$test$y[1:3])
  home <- local_offline()
  npz <- write_npz(tempfile(fileext = ".npz"), arrays, c("|u1", "|u1", "|u1", "|u1"))
  e <- dataset_mnist(path = npz)
  expect_identical(e$train$x, arrays$x_train)
  expect_identical(e$train$y, arrays$y_train)
  expect_identical(e$test$x, arrays$x_test)
  expect_identical(e$test$y, arrays$y_test)
  # default path = "mnist.npz" is looked up in <cache>/datasets
  dir.create(file.path(home, "datasets"))
  file.copy(npz, file.path(home, "datasets", "mnist.npz"))
  expect_identical(dataset_mnist(), e)
})

test_that("IDX files in <cache>/datasets/mnist/ are found", {
  dir <- mnist_subset_dir()
  home <- local_offline()
  cached <- file.path(home, "datasets", "mnist")
  dir.create(cached, recursive = TRUE)
  file.copy(list.files(dir, pattern = "idx", full.names = TRUE), cached)
  expect_identical(dim(dataset_mnist()$train$x), c(8000L, 28L, 28L))
})

test_that("read_npy() handles the numeric dtypes, C order and Fortran order", {
  x <- array(c(-3, 0, 7, 2^31 + 5, 1, -2^40), c(2, 3))
  f <- tempfile(fileext = ".npy")
  expect_identical(read_npy(write_npy(f, x, "<f8")), x)
  expect_identical(read_npy(write_npy(f, x[, 1] / 4, "<f4")), x[, 1] / 4)
  expect_identical(read_npy(write_npy(f, x, "<i8")), x)  # too big for integer: double
  small <- array(c(-3L, 0L, 7L, 5L, 1L, 2L, 9L, 8L), c(2, 2, 2))
  expect_identical(read_npy(write_npy(f, small, "<i8")), small)
  expect_identical(read_npy(write_npy(f, small, "<i4")), small)
  expect_identical(read_npy(write_npy(f, abs(small), "|u1")), abs(small))
  expect_identical(read_npy(write_npy(f, 1:4, "<i4")), 1:4)
  expect_error(read_npy(write_npy(f, 1, "|O")), "pickle stream, byte 3: unterminated GLOBAL name")
  writeBin(charToRaw("not npy at all"), f)
  expect_error(read_npy(f), "not a .npy file")
})

test_that("offline with nothing cached: the error says which files to put where", {
  home <- local_offline()
  err <- expect_error(dataset_mnist())
  msg <- conditionMessage(err)
  expect_match(msg, "not available locally", fixed = TRUE)
  expect_match(msg, "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
               fixed = TRUE)
  expect_match(msg, file.path(home, "datasets", "mnist.npz"), fixed = TRUE)
  expect_match(msg, "train-images-idx3-ubyte", fixed = TRUE)
  expect_match(msg, "t10k-labels-idx1-ubyte", fixed = TRUE)
  expect_match(msg, "path = ", fixed = TRUE)
  expect_match(msg, "rkeras.allow_download", fixed = TRUE)
  expect_error(dataset_boston_housing(), "boston_housing.npz")
  expect_error(dataset_imdb(), "imdb.npz")
  expect_error(dataset_cifar10(), "cifar-10-binary.tar.gz")
  # Fashion-MNIST without the Debian package: mention it and the keras files.
  spec <- list(fun = "dataset_fashion_mnist", title = "Fashion-MNIST", cache_subdir = "fashion-mnist",
               system_dirs = character(), urls = paste0(keras_origin, idx_names, ".gz"),
               hint = "or install the Debian/Ubuntu package: apt install dataset-fashion-mnist")
  msg <- tryCatch(load_image_dataset(NULL, NULL, spec), error = conditionMessage)
  expect_match(msg, "apt install dataset-fashion-mnist", fixed = TRUE)
  expect_match(msg, file.path(home, "datasets", "fashion-mnist"), fixed = TRUE)
  expect_match(msg, "train-labels-idx1-ubyte.gz", fixed = TRUE)
})

test_that("a failed download gives the offline error quickly", {
  home <- tempfile("keras-home")
  withr::local_options(list(rkeras.cache_dir = home, rkeras.allow_download = TRUE,
                            rkeras.download_timeout = 5))
  # an unroutable name so that this never really downloads
  expect_false(isTRUE(suppressMessages(download_files("https://invalid.invalid/mnist.npz", home))))
  expect_false(file.exists(file.path(home, "mnist.npz")))
})

test_that("dataset_fashion_mnist() reads Debian's dataset-fashion-mnist files", {
  skip_if_not(dir.exists("/usr/share/datasets/fashion-mnist"),
              "Debian package dataset-fashion-mnist not installed")
  local_offline()
  d <- dataset_fashion_mnist()
  expect_identical(dim(d$train$x), c(60000L, 28L, 28L))
  expect_identical(dim(d$test$x), c(10000L, 28L, 28L))
  expect_identical(as.vector(table(d$train$y)), rep(6000L, 10))
  expect_identical(as.vector(table(d$test$y)), rep(1000L, 10))
  expect_identical(range(d$train$x), c(0L, 255L))
})

test_that("dataset_boston_housing() splits like keras (404/102) and keeps rows intact", {
  n <- 506
  x <- matrix(rep(seq_len(n), 13) + rep(0:12 / 100, each = n), n, 13)
  npz <- write_npz(tempfile(fileext = ".npz"), list(x = x, y = seq_len(n) * 10), c("<f8", "<f8"))
  set.seed(1)
  before <- .Random.seed
  d <- dataset_boston_housing(npz)
  expect_identical(.Random.seed, before)  # user's random stream untouched
  expect_identical(dim(d$train$x), c(404L, 13L))
  expect_identical(dim(d$test$x), c(102L, 13L))
  expect_type(d$train$x, "double")
  expect_equal(d$train$y, floor(d$train$x[, 1]) * 10)
  expect_equal(d$test$x[, 13] - d$test$x[, 1], rep(0.12, 102))
  expect_setequal(c(d$train$y, d$test$y), seq_len(n) * 10)
  expect_identical(dataset_boston_housing(npz), d)
  expect_false(identical(dataset_boston_housing(npz, seed = 1L)$train$y, d$train$y))
  expect_identical(nrow(dataset_boston_housing(npz, test_split = 0.5)$test$x), 253L)
})

test_that("dataset_imdb(): a damaged pickle errors clearly; numeric npz is processed like keras", {
  obj <- write_npz(tempfile(fileext = ".npz"),
                   list(x_train = 1, y_train = 1, x_test = 1, y_test = 1),
                   c("|O", "<i8", "|O", "<i8"))
  expect_error(dataset_imdb(obj), "x_train.npy': pickle stream, byte 3: unterminated GLOBAL name")
  x_train <- rbind(c(5, 1, 9, 0), c(2, 0, 0, 0), c(7, 7, 7, 7))
  x_test <- rbind(c(4, 4, 0, 0))
  npz <- write_npz(tempfile(fileext = ".npz"),
                   list(x_train = x_train, y_train = c(1, 0, 1), x_test = x_test, y_test = 0),
                   c("<i4", "<i8", "<i4", "<i8"))
  d <- dataset_imdb(npz)
  expect_type(d$train$x, "list")
  expect_type(d$train$y, "integer")
  # as in keras, num_words defaults to the largest index, which then fails
  # `w < num_words` and becomes oov_char (12 -> 2)
  expect_setequal(d$train$x, list(c(1L, 8L, 4L, 2L), c(1L, 5L), c(1L, 10L, 10L, 10L, 10L)))
  # each label travels with its review through the shuffle
  second_word <- vapply(d$train$x, `[`, 0L, 2L)
  expect_identical(d$train$y, unname(c(`8` = 1L, `5` = 0L, `10` = 1L)[as.character(second_word)]))
  expect_identical(d$test$x, list(c(1L, 7L, 7L)))
  d <- dataset_imdb(npz, num_words = 9)  # indexes >= 9 become oov_char 2
  expect_setequal(d$train$x, list(c(1L, 8L, 4L, 2L), c(1L, 5L), c(1L, 2L, 2L, 2L, 2L)))
  d <- dataset_imdb(npz, maxlen = 5, oov_char = NULL, num_words = 9, skip_top = 2)
  expect_setequal(d$train$x, list(c(8L, 4L), 5L))
  expect_error(dataset_imdb(npz, maxlen = 2), "Increase maxlen")
})

test_that("dataset_cifar10() reads the binary batches as n x 32 x 32 x 3", {
  dir <- tempfile("cifar")
  dir.create(file.path(dir, "cifar-10-batches-bin"), recursive = TRUE)
  # pixel value encodes position: red = row, green = column, blue = label
  rows <- rep(0:31, each = 32)   # C order: column varies fastest
  cols <- rep(0:31, times = 32)
  record <- function(label) as.raw(c(label, rows, cols, rep(label, 1024)))
  files <- c(paste0("data_batch_", 1:5, ".bin"), "test_batch.bin")
  for (i in seq_along(files)) {
    writeBin(c(record(i), record(i + 10)), file.path(dir, "cifar-10-batches-bin", files[i]))
  }
  d <- dataset_cifar10(path = dir)
  expect_identical(dim(d$train$x), c(10L, 32L, 32L, 3L))
  expect_identical(dim(d$test$x), c(2L, 32L, 32L, 3L))
  expect_type(d$train$x, "integer")
  expect_identical(d$train$y, matrix(c(1L, 11L, 2L, 12L, 3L, 13L, 4L, 14L, 5L, 15L), ncol = 1))
  expect_identical(d$train$x[3, 5, 9, ], c(4L, 8L, 2L))  # row 5, col 9, image 3 (label 2)
  expect_identical(d$test$x[2, 32, 1, ], c(31L, 0L, 16L))
  home <- local_offline()
  expect_error(dataset_cifar10(path = file.path(home, "missing")), "does not exist")
})

test_that("datasets destructure with %<-% as in keras' examples", {
  dir <- mnist_subset_dir()
  c(c(x_train, y_train), c(x_test, y_test)) %<-% dataset_mnist(path = dir)
  expect_equal(dim(x_train), c(8000L, 28L, 28L))
  expect_length(y_test, 2000)
})

# ---- IMDB / Reuters in Keras' own format (fixtures: tests/interop/make_imdb_fixtures.py) ----

text_data <- function(...) file.path(fixture_dir("keras", "text"), ...)
as_seqs <- function(x) lapply(x, function(s) as.integer(unlist(s)))

expect_keras_split <- function(d, case, info) {
  expect_identical(d$train$x, as_seqs(case$x_train), info = info)
  expect_identical(d$train$y, as.integer(unlist(case$y_train)), info = info)
  expect_identical(d$test$x, as_seqs(case$x_test), info = info)
  expect_identical(d$test$y, as.integer(unlist(case$y_test)), info = info)
}

test_that("dataset_imdb() equals Keras 3's imdb.load_data() on Keras-format files (pickled object arrays)", {
  local_offline()
  ex <- jsonlite::fromJSON(text_data("imdb_expected.json"), simplifyVector = FALSE)
  # both the numpy 2 / protocol 4 pickle and the Python 2 / protocol 2 form of the real file
  for (file in c("imdb_small.npz", "imdb_small_py2.npz")) {
    for (case in ex$imdb) {
      d <- do.call(dataset_imdb, c(list(path = text_data(file)), case$args))
      expect_keras_split(d, case, paste(file, deparse(case$args)))
    }
  }
  # shuffled with numpy's RandomState(113): the first training review is original row 1 + the
  # first index of np.random.RandomState(113).shuffle(np.arange(40))
  d <- dataset_imdb(text_data("imdb_small.npz"))
  expect_length(d$train$x, 40L)
  expect_length(d$test$x, 30L)
  expect_true(all(vapply(d$train$x, `[`, 0L, 1L) == 1L))  # start_char
})

test_that("dataset_reuters() equals Keras 3's reuters.load_data() (test_split, maxlen, seed)", {
  local_offline()
  ex <- jsonlite::fromJSON(text_data("imdb_expected.json"), simplifyVector = FALSE)
  for (case in ex$reuters) {
    d <- do.call(dataset_reuters, c(list(path = text_data("reuters_small.npz")), case$args))
    expect_keras_split(d, case, deparse(case$args))
  }
  expect_error(dataset_reuters(text_data("reuters_small.npz"), test_split = 2), "`test_split`")
  expect_error(dataset_reuters(), "reuters.npz")
})

test_that("the datasets and word indexes are found in the keras cache folder", {
  home <- local_offline()
  ex <- jsonlite::fromJSON(text_data("imdb_expected.json"), simplifyVector = FALSE)
  dir.create(file.path(home, "datasets"))
  file.copy(text_data("imdb_small.npz"), file.path(home, "datasets", "imdb.npz"))
  file.copy(text_data("reuters_small.npz"), file.path(home, "datasets", "reuters.npz"))
  file.copy(text_data("imdb_small_word_index.json"), file.path(home, "datasets", "imdb_word_index.json"))
  expect_keras_split(dataset_imdb(), ex$imdb[[1]], "cache")
  expect_keras_split(dataset_reuters(), ex$reuters[[1]], "cache")
  wi <- dataset_imdb_word_index()
  expect_identical(wi, stats::setNames(lapply(ex$word_index, `[[`, 2), vapply(ex$word_index, `[[`, "", 1)))
  expect_identical(wi[["caf\u00e9"]], 2L)
  expect_identical(dataset_reuters_word_index(text_data("imdb_small_word_index.json")), wi)
  expect_error(dataset_reuters_word_index(), "reuters_word_index.json")
})

test_that("dataset_imdb() refuses pickles that are not integer-list arrays, naming what it found", {
  local_offline()
  npy_raw <- function(pickle) {
    header <- "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header <- paste0(header, strrep(" ", 64L - (10L + nchar(header) + 1L) %% 64L), "\n")
    c(as.raw(0x93), charToRaw("NUMPY"), as.raw(c(1, 0)), writeBin(nchar(header), raw(), size = 2L, endian = "little"),
      charToRaw(header), pickle)
  }
  f <- tempfile(fileext = ".npy")
  writeBin(npy_raw(c(as.raw(0x80), as.raw(2), charToRaw("cos\nsystem\n"), as.raw(0x2e))), f)
  expect_error(read_npy(f), "refusing the global `os.system`")
  writeBin(npy_raw(c(as.raw(0x80), as.raw(2), as.raw(0x4b), as.raw(1), as.raw(0x2e))), f)  # the int 1
  expect_error(read_npy(f), "does not hold a numpy object array")
  expect_error(dataset_imdb(text_data("imdb_small.npz"), seed = -1), "`seed`")
  expect_error(dataset_imdb(text_data("imdb_small.npz"), maxlen = 2), "Increase maxlen")
})
