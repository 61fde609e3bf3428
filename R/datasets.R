# Built-in datasets (dataset_mnist() & co.), read without Python.
#
# Where the data comes from, in order:
#   1. `path =`: a folder of IDX files or an .npz file (a bare file name such as
#      "mnist.npz" is looked up in the cache folder, as in Keras);
#   2. the Keras cache folder  <rkeras.cache_dir | $KERAS_HOME | ~/.keras>/datasets;
#   3. system copies (Debian's dataset-fashion-mnist package);
#   4. a download from the Keras URLs into the cache folder;
#   5. otherwise an error saying which files to put where.
# Readers: IDX (big-endian header, uint8 data), .npy (numeric dtypes) and .npz
# (a zip of .npy files).

keras_origin <- "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
idx_names <- c(x_train = "train-images-idx3-ubyte", y_train = "train-labels-idx1-ubyte",
               x_test = "t10k-images-idx3-ubyte", y_test = "t10k-labels-idx1-ubyte")

#' MNIST database of handwritten digits
#'
#' 60,000 28x28 grayscale training images of the digits 0-9 and 10,000 test
#' images, as in `keras.datasets.mnist`.
#'
#' The data is read, in this order, from: `path` if it is a folder holding the
#' four IDX files `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
#' `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (each optionally
#' gzipped, `.gz`) or an `.npz` file like Keras' `mnist.npz`; a bare file name
#' (the default) is looked up in the cache folder
#' `file.path(getOption("rkeras.cache_dir", Sys.getenv("KERAS_HOME", "~/.keras")), "datasets")`;
#' then a `mnist/` folder of IDX files in the cache folder; finally `mnist.npz`
#' is downloaded from Keras' storage into the cache folder. Set
#' `options(rkeras.allow_download = FALSE)` to never download, and
#' `options(rkeras.download_timeout = )` (seconds, default 30) to bound the
#' wait. Without data and network the error says which files to put where.
#'
#' @param path A folder of IDX files, or an `.npz` file (a bare name is
#'   relative to the cache folder).
#' @returns `list(train = list(x, y), test = list(x, y))`: `x` is an integer
#'   array `n x 28 x 28` with values 0-255, `x[i, r, c]` being the pixel at
#'   row `r` (top to bottom) and column `c` of image `i`; `y` is an integer
#'   vector of labels 0-9.
#' @family datasets
#' @export
#' @examples
#' # Write two tiny 2x2 "images" as IDX files and read them back:
#' dir <- tempfile(); dir.create(dir)
#' idx <- function(file, dims, bytes) writeBin(c(as.raw(c(0, 0, 8, length(dims))),
#'   writeBin(as.integer(dims), raw(), endian = "big"), as.raw(bytes)), file.path(dir, file))
#' idx("train-images-idx3-ubyte", c(2, 2, 2), 1:8); idx("train-labels-idx1-ubyte", 2, 0:1)
#' idx("t10k-images-idx3-ubyte", c(1, 2, 2), 1:4); idx("t10k-labels-idx1-ubyte", 1, 1)
#' d <- dataset_mnist(path = dir)
#' d$train$x[1, , ]  # rows of the first image: 1 2 / 3 4
#' d$train$y
dataset_mnist <- function(path = "mnist.npz") {
  load_image_dataset(path, "mnist.npz", list(
    fun = "dataset_mnist", title = "MNIST",
    cache_subdir = "mnist", system_dirs = character(),
    urls = paste0(keras_origin, "mnist.npz")))
}

#' Fashion-MNIST database of clothing images
#'
#' 60,000 28x28 grayscale training images of 10 fashion categories and 10,000
#' test images, as in `keras.datasets.fashion_mnist`. Classes 0-9 are
#' T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
#' Ankle boot.
#'
#' The data is read, in this order, from: `path` (a folder of the four IDX
#' files, as for [dataset_mnist()], or an `.npz` file); the Keras cache folder
#' `<cache>/fashion-mnist/` (where Keras stores it); the Debian/Ubuntu package
#' `dataset-fashion-mnist` (`/usr/share/datasets/fashion-mnist`, install it
#' with `apt install dataset-fashion-mnist`); finally a download of the four
#' `.gz` files from Keras' storage into `<cache>/fashion-mnist/`.
#'
#' @param path `NULL` (search the places above), a folder of IDX files or an
#'   `.npz` file. This argument is an rkeras addition.
#' @returns `list(train = list(x, y), test = list(x, y))` shaped as for
#'   [dataset_mnist()].
#' @family datasets
#' @export
#' @examples
#' \donttest{
#' if (dir.exists("/usr/share/datasets/fashion-mnist")) {
#'   fm <- dataset_fashion_mnist()
#'   dim(fm$train$x)
#' }
#' }
dataset_fashion_mnist <- function(path = NULL) {
  load_image_dataset(path, NULL, list(
    fun = "dataset_fashion_mnist", title = "Fashion-MNIST",
    cache_subdir = "fashion-mnist", system_dirs = "/usr/share/datasets/fashion-mnist",
    urls = paste0(keras_origin, idx_names, ".gz"),
    hint = "or install the Debian/Ubuntu package: apt install dataset-fashion-mnist"))
}

#' CIFAR-10 small image classification
#'
#' 50,000 32x32 colour training images in 10 classes and 10,000 test images,
#' as in `keras.datasets.cifar10`. Classes 0-9 are airplane, automobile, bird,
#' cat, deer, dog, frog, horse, ship, truck.
#'
#' Keras reads the *Python* version of CIFAR-10 (pickled batches in
#' `cifar-10-batches-py`), which R cannot read without Python. rkeras reads the
#' **binary version** instead (`cifar-10-binary.tar.gz`, extracting to
#' `cifar-10-batches-bin/` with `data_batch_1.bin` ... `data_batch_5.bin` and
#' `test_batch.bin`). It is looked for in `path` (that folder, a folder
#' containing it, or the `.tar.gz`), then in the cache folder, and otherwise
#' downloaded from <https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz>
#' (162 MB) into the cache folder.
#'
#' @param path `NULL` (cache folder, then download), a folder of the binary
#'   batch files or `cifar-10-binary.tar.gz`. This argument is an rkeras
#'   addition.
#' @returns `list(train = list(x, y), test = list(x, y))`: `x` is an integer
#'   array `n x 32 x 32 x 3` (channels last, values 0-255; `x[i, r, c, ]` is
#'   the RGB pixel at row `r`, column `c`); `y` an integer matrix `n x 1` of
#'   labels 0-9.
#' @family datasets
#' @export
#' @examples
#' # One fake binary batch (label byte + 3072 pixel bytes per image):
#' dir <- tempfile(); dir.create(dir)
#' rec <- as.raw(c(3, rep(0:2, each = 1024)))
#' for (f in c(paste0("data_batch_", 1:5, ".bin"), "test_batch.bin"))
#'   writeBin(rec, file.path(dir, f))
#' d <- dataset_cifar10(path = dir)
#' dim(d$train$x); d$train$x[1, 1, 1, ]; d$test$y
dataset_cifar10 <- function(path = NULL) {
  cache <- keras_cache_dir()
  batches <- c(paste0("data_batch_", 1:5, ".bin"), "test_batch.bin")
  find_dir <- function(dir) {
    for (d in c(dir, file.path(dir, "cifar-10-batches-bin"))) {
      if (all(file.exists(file.path(d, batches)))) return(d)
    }
    NULL
  }
  dir <- NULL
  if (!is.null(path)) {
    if (dir.exists(path)) {
      dir <- find_dir(path)
      if (is.null(dir)) {
        stop("dataset_cifar10(): folder '", path, "' does not hold the CIFAR-10 ",
             "binary files ", paste(batches, collapse = ", "), ".", call. = FALSE)
      }
    } else if (file.exists(path)) {
      dir <- find_dir(untar_to(path, tempfile("cifar10")))
      if (is.null(dir)) stop("dataset_cifar10(): '", path, "' does not contain ",
                             "cifar-10-batches-bin/.", call. = FALSE)
    } else {
      stop("dataset_cifar10(): `path` '", path, "' does not exist.", call. = FALSE)
    }
  }
  tarball <- file.path(cache, "cifar-10-binary.tar.gz")
  if (is.null(dir)) dir <- find_dir(cache)
  if (is.null(dir) && file.exists(tarball)) dir <- find_dir(untar_to(tarball, cache))
  if (is.null(dir)) {
    url <- "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    status <- download_files(url, cache)
    if (isTRUE(status)) dir <- find_dir(untar_to(tarball, cache))
    if (is.null(dir)) {
      stop(offline_message("dataset_cifar10", "CIFAR-10", status, c(
        paste0("download ", url, " (the binary version; the Python version ",
               "cifar-10-python.tar.gz is not supported) and save it as ", tarball),
        paste0("or extract it so that ", file.path(cache, "cifar-10-batches-bin"),
               "/ holds ", paste(batches, collapse = ", ")),
        "or pass that folder or the .tar.gz as `dataset_cifar10(path = ...)`")),
        call. = FALSE)
    }
  }
  train <- lapply(file.path(dir, batches[1:5]), read_cifar_batch)
  test <- read_cifar_batch(file.path(dir, batches[6]))
  x <- do.call(rbind, lapply(train, `[[`, "x"))  # n x 3072 in R's layout
  y <- unlist(lapply(train, `[[`, "y"), use.names = FALSE)
  list(train = list(x = cifar_array(x), y = matrix(y, ncol = 1L)),
       test = list(x = cifar_array(test$x), y = matrix(test$y, ncol = 1L)))
}

#' Boston housing price regression dataset
#'
#' 506 samples of 13 attributes of houses in Boston suburbs in the late 1970s;
#' the target is the median value of the homes in k$. As in
#' `keras.datasets.boston_housing`, the rows are shuffled and split into a
#' training and a test part (404 and 102 rows with `test_split = 0.2`).
#'
#' The data is read from `boston_housing.npz` (Keras' file; arrays `x` and
#' `y`): `path` itself if it exists, else that name in the cache folder, else
#' it is downloaded from Keras' storage. **The shuffle differs from Keras**:
#' Keras uses numpy's `RandomState(seed).permutation()`, which R cannot
#' reproduce; rkeras uses `set.seed(seed); sample(n)`, so the split is
#' reproducible within rkeras but contains different rows than in Python.
#' The global random number stream is left as it was.
#'
#' @param path An `.npz` file (a bare name is relative to the cache folder).
#' @param test_split Fraction of the rows to put in the test part.
#' @param seed Random seed for the shuffle before the split.
#' @returns `list(train = list(x, y), test = list(x, y))`: `x` is a double
#'   matrix with 13 columns, `y` a double vector.
#' @family datasets
#' @export
#' @examples
#' # A tiny stand-in for boston_housing.npz, written by hand:
#' npy <- function(file, v, shape) {
#'   h <- sprintf("{'descr': '<f8', 'fortran_order': True, 'shape': (%s), }",
#'                paste0(paste(shape, collapse = ", "), if (length(shape) == 1) ","))
#'   h <- formatC(h, width = 117, flag = "-")
#'   writeBin(c(as.raw(0x93), charToRaw("NUMPY"), as.raw(c(1, 0, 118, 0)),
#'              charToRaw(paste0(h, "\n")), writeBin(as.double(v), raw(), endian = "little")), file)
#' }
#' dir <- tempfile(); dir.create(dir)
#' npy(file.path(dir, "x.npy"), 1:26, c(2, 13))
#' npy(file.path(dir, "y.npy"), c(20, 30), 2)
#' if (nzchar(Sys.which("zip"))) {
#'   npz <- file.path(dir, "boston.npz")
#'   utils::zip(npz, file.path(dir, c("x.npy", "y.npy")), flags = "-jq")
#'   str(dataset_boston_housing(npz, test_split = 0.5))
#' }
dataset_boston_housing <- function(path = "boston_housing.npz", test_split = 0.2,
                                   seed = 113L) {
  if (!is.numeric(test_split) || length(test_split) != 1L || test_split < 0 || test_split >= 1) {
    stop("`test_split` must be a number in [0, 1).", call. = FALSE)
  }
  file <- find_npz("dataset_boston_housing", "Boston housing", path, "boston_housing.npz")
  d <- read_npz(file, c("x", "y"))
  x <- d$x
  y <- as.double(d$y)
  storage.mode(x) <- "double"
  n <- nrow(x)
  perm <- with_seed(seed, sample.int(n))
  n_train <- as.integer(n * (1 - test_split))
  train <- perm[seq_len(n_train)]
  test <- perm[seq_len(n - n_train) + n_train]
  list(train = list(x = x[train, , drop = FALSE], y = y[train]),
       test = list(x = x[test, , drop = FALSE], y = y[test]))
}

#' IMDB movie review sentiment classification
#'
#' 25,000 training and 25,000 test movie reviews labelled by sentiment
#' (1 positive, 0 negative), each a sequence of word indexes, as in
#' `keras.datasets.imdb.load_data()`. Words are indexed by overall frequency,
#' so index `w + index_from` is the `w`-th most frequent word (see
#' [dataset_imdb_word_index()]); `start_char` marks the start of a review and
#' `oov_char` replaces words outside `skip_top <= w < num_words`.
#'
#' rkeras reads Keras' own `imdb.npz` (its reviews are numpy object arrays,
#' i.e. pickled Python lists: a small reader in the Rust core decodes exactly
#' that form, executing nothing) and processes it exactly as Keras does: the
#' rows are shuffled with numpy's `RandomState(seed)` (re-implemented, so the
#' order equals Keras'), then `start_char` and `index_from` are applied,
#' reviews of `maxlen` or more words dropped, and rare words replaced. As in
#' Keras, without `num_words` the largest index present becomes the limit and
#' is itself replaced by `oov_char`. An `.npz` with zero-padded numeric
#' matrices `x_train`/`x_test` (one review per row) is also accepted.
#'
#' The file is `path` if it exists, else that name in the Keras cache folder
#' (`~/.keras/datasets`, see [dataset_mnist()]), else it is downloaded there.
#'
#' @param path An `.npz` file (a bare name is relative to the cache folder).
#' @param num_words Keep only the `num_words` most frequent words (indexes
#'   below `num_words`); `NULL` keeps all.
#' @param skip_top Also treat the `skip_top` lowest indexes as out of
#'   vocabulary.
#' @param maxlen Drop reviews with `maxlen` or more words (after adding
#'   `start_char`); `NULL` keeps all.
#' @param seed Random seed for shuffling (numpy's `RandomState`, as Keras).
#' @param start_char Index that marks the start of each review (`NULL`: none).
#' @param oov_char Index that replaces dropped words (`NULL`: remove them).
#' @param index_from Offset added to the word indexes.
#' @returns `list(train = list(x, y), test = list(x, y))`: `x` is a list of
#'   integer vectors, `y` an integer vector of 0/1 labels.
#' @family datasets
#' @export
#' @examples
#' try(dataset_imdb(path = tempfile(fileext = ".npz")))  # missing file: clear error
dataset_imdb <- function(path = "imdb.npz", num_words = NULL, skip_top = 0L,
                         maxlen = NULL, seed = 113L, start_char = 1L,
                         oov_char = 2L, index_from = 3L) {
  opts <- seq_dataset_options(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
  file <- find_npz("dataset_imdb", "IMDB", path, "imdb.npz")
  d <- read_npz(file, c("x_train", "y_train", "x_test", "y_test"))
  rk_imdb_process(as_sequence_list(d$x_train), as.integer(d$y_train),
                  as_sequence_list(d$x_test), as.integer(d$y_test), opts)
}

#' Reuters newswire topics classification
#'
#' 11,228 newswires from Reuters labelled over 46 topics, each a sequence of
#' word indexes, as in `keras.datasets.reuters.load_data()`: the rows are
#' shuffled (numpy's `RandomState(seed)`, as Keras), processed like
#' [dataset_imdb()], and the first `floor(n * (1 - test_split))` rows form the
#' training part. Reads Keras' `reuters.npz` (arrays `x`, `y`) from `path`,
#' the cache folder, or downloads it there.
#'
#' @inheritParams dataset_imdb
#' @param test_split Fraction of the rows to put in the test part.
#' @returns `list(train = list(x, y), test = list(x, y))`: `x` is a list of
#'   integer vectors, `y` an integer vector of topic labels 0-45.
#' @family datasets
#' @export
#' @examples
#' try(dataset_reuters(path = tempfile(fileext = ".npz")))  # missing file: clear error
dataset_reuters <- function(path = "reuters.npz", num_words = NULL, skip_top = 0L,
                            maxlen = NULL, test_split = 0.2, seed = 113L, start_char = 1L,
                            oov_char = 2L, index_from = 3L) {
  opts <- seq_dataset_options(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
  if (!is.numeric(test_split) || length(test_split) != 1L || is.na(test_split) || test_split < 0 || test_split > 1)
    stop_arg("`test_split` must be a number in [0, 1], got ", describe_value(test_split))
  file <- find_npz("dataset_reuters", "Reuters", path, "reuters.npz")
  d <- read_npz(file, c("x", "y"))
  rk_reuters_process(as_sequence_list(d$x), as.integer(d$y), as.double(test_split), opts)
}

#' Word indexes of the IMDB and Reuters datasets
#'
#' The word -> index dictionaries of [dataset_imdb()] and [dataset_reuters()]
#' (`keras.datasets.imdb.get_word_index()`), read from Keras' JSON files
#' `imdb_word_index.json` / `reuters_word_index.json` (from `path`, the cache
#' folder, or downloaded there). The indexes do not include `index_from`: word
#' `w` appears in the data as `w + index_from`.
#'
#' @param path A JSON file (a bare name is relative to the cache folder).
#' @returns A named list of integers (names are the words), in the file's order.
#' @family datasets
#' @export
#' @examples
#' f <- tempfile(fileext = ".json")
#' writeLines('{"the": 1, "and": 2}', f)
#' str(dataset_imdb_word_index(f))
dataset_imdb_word_index <- function(path = "imdb_word_index.json") {
  expand_dict(rk_read_word_index(find_npz("dataset_imdb_word_index", "IMDB word index", path,
                                          "imdb_word_index.json")))
}

#' @rdname dataset_imdb_word_index
#' @export
dataset_reuters_word_index <- function(path = "reuters_word_index.json") {
  expand_dict(rk_read_word_index(find_npz("dataset_reuters_word_index", "Reuters word index", path,
                                          "reuters_word_index.json")))
}

seq_dataset_options <- function(num_words, skip_top, maxlen, seed, start_char, oov_char, index_from) {
  list(num_words = check_count(num_words, "num_words", min = 0, null_ok = TRUE),
       skip_top = check_count(skip_top, "skip_top", min = 0),
       maxlen = check_count(maxlen, "maxlen", min = 0, null_ok = TRUE),
       seed = as.double(check_whole(seed, "seed", 0, 2^32 - 1)),
       start_char = check_count(start_char, "start_char", min = 0, null_ok = TRUE),
       oov_char = check_count(oov_char, "oov_char", min = 0, null_ok = TRUE),
       index_from = check_count(if (is.null(index_from)) 0L else index_from, "index_from", min = 0))
}

check_whole <- function(x, name, min, max) {
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || x != round(x) || x < min || x > max)
    stop_arg("`", name, "` must be a whole number from ", format(min), " to ", format(max, scientific = FALSE),
             ", got ", describe_value(x))
  x
}

# The sequences of an .npz member: a list of integer vectors (object array) as it is, or
# the rows of a zero-padded numeric matrix without their zeros.
as_sequence_list <- function(m) {
  if (is.list(m)) return(m)
  if (is.null(dim(m))) m <- matrix(m, nrow = 1L)
  lapply(seq_len(nrow(m)), function(i) { v <- as.integer(m[i, ]); v[v != 0L] })
}

# ---- locating and downloading --------------------------------------------

keras_cache_dir <- function() {
  home <- getOption("rkeras.cache_dir")
  if (is.null(home)) home <- Sys.getenv("KERAS_HOME")
  if (!nzchar(home)) home <- "~/.keras"
  file.path(path.expand(home), "datasets")
}

is_bare_name <- function(path) identical(basename(path), path)

# An existing file given as `path`, else a bare name found in the cache folder.
local_file <- function(path) {
  if (file.exists(path) && !dir.exists(path)) return(path)
  if (is_bare_name(path)) {
    cached <- file.path(keras_cache_dir(), path)
    if (file.exists(cached)) return(cached)
  }
  NULL
}

# Downloads each url into `destdir`; TRUE, or a string saying why not.
download_files <- function(urls, destdir) {
  if (!isTRUE(getOption("rkeras.allow_download", TRUE))) {
    return("downloads are disabled by options(rkeras.allow_download = FALSE)")
  }
  old <- options(timeout = getOption("rkeras.download_timeout", 30))
  on.exit(options(old))
  for (url in urls) {
    dest <- file.path(destdir, basename(url))
    if (file.exists(dest)) next
    tmp <- tempfile(fileext = basename(url))
    message("Downloading data from ", url)
    status <- tryCatch({
      dir.create(destdir, recursive = TRUE, showWarnings = FALSE)
      utils::download.file(url, tmp, mode = "wb", quiet = TRUE)
    }, warning = function(w) conditionMessage(w), error = function(e) conditionMessage(e))
    ok <- is.numeric(status) && status == 0 && file.copy(tmp, dest, overwrite = TRUE)
    if (!ok) {
      unlink(tmp)
      return(if (is.character(status)) status else paste("download of", url, "failed"))
    }
    unlink(tmp)
  }
  TRUE
}

offline_message <- function(fun, title, status, ways) {
  paste0(fun, "(): the ", title, " data is not available locally and could not be ",
         "downloaded (", status, ").\nProvide it in one of these ways:\n",
         paste0("  * ", ways, collapse = "\n"),
         "\nThe cache folder is <rkeras.cache_dir option, else $KERAS_HOME, else ~/.keras>/datasets",
         " (here: ", keras_cache_dir(), ").")
}

# Resolves an .npz argument like Keras: `path` itself, or the bare name in the
# cache folder, else a download of `remote` from Keras' storage.
find_npz <- function(fun, title, path, remote) {
  if (!is.character(path) || length(path) != 1L) stop("`path` must be a file name.", call. = FALSE)
  file <- local_file(path)
  if (!is.null(file)) return(file)
  if (!is_bare_name(path)) stop(fun, "(): `path` '", path, "' does not exist.", call. = FALSE)
  cache <- keras_cache_dir()
  url <- paste0(keras_origin, remote)
  status <- download_files(url, cache)
  if (isTRUE(status) && file.exists(file.path(cache, remote))) {
    if (path != remote) file.rename(file.path(cache, remote), file.path(cache, path))
    return(file.path(cache, path))
  }
  stop(offline_message(fun, title, status, c(
    paste0("download ", url, " and save it as ", file.path(cache, path)),
    paste0("or pass the file as `", fun, "(path = ...)`"))), call. = FALSE)
}

# Shared by MNIST and Fashion-MNIST: `path` (folder of IDX files or .npz),
# cache folders, system folders, download.
load_image_dataset <- function(path, npz_name, spec) {
  fun <- spec$fun
  cache <- keras_cache_dir()
  if (!is.null(path)) {
    if (!is.character(path) || length(path) != 1L) {
      stop("`path` must be a folder or file name.", call. = FALSE)
    }
    if (dir.exists(path)) {
      files <- idx_files(path)
      if (is.character(files)) return(read_idx_dataset(files))
      stop(fun, "(): folder '", path, "' lacks ", paste(files$missing, collapse = ", "),
           " (each may be gzipped, .gz).", call. = FALSE)
    }
    file <- local_file(path)
    if (!is.null(file)) return(read_npz_dataset(file))
    if (!is_bare_name(path)) stop(fun, "(): `path` '", path, "' does not exist.", call. = FALSE)
    npz_name <- path
  }
  for (dir in c(file.path(cache, spec$cache_subdir), spec$system_dirs)) {
    files <- idx_files(dir)
    if (is.character(files)) return(read_idx_dataset(files))
  }
  if (!is.null(npz_name)) {
    status <- download_files(spec$urls, cache)
    if (isTRUE(status)) {
      got <- file.path(cache, basename(spec$urls))
      if (got != file.path(cache, npz_name)) file.rename(got, file.path(cache, npz_name))
      return(read_npz_dataset(file.path(cache, npz_name)))
    }
    ways <- paste0("download ", spec$urls, " and save it as ", file.path(cache, npz_name))
  } else {
    target <- file.path(cache, spec$cache_subdir)
    status <- download_files(spec$urls, target)
    files <- idx_files(target)
    if (isTRUE(status) && is.character(files)) return(read_idx_dataset(files))
    ways <- paste0("download ", paste(spec$urls, collapse = ", "), " into ", target, "/")
  }
  ways <- c(ways,
    paste0("or put the four IDX files ", paste(idx_names, collapse = ", "),
           " (each may be gzipped, .gz) in ", file.path(cache, spec$cache_subdir), "/"),
    spec$hint,
    paste0("or pass a folder holding these four files (or an .npz file) as `",
           fun, "(path = ...)`"))
  stop(offline_message(fun, spec$title, status, ways), call. = FALSE)
}

# Paths of the four IDX files in `dir` (plain or .gz), or list(missing = ...).
idx_files <- function(dir) {
  plain <- file.path(dir, idx_names)
  gz <- paste0(plain, ".gz")
  files <- ifelse(file.exists(plain), plain, ifelse(file.exists(gz), gz, NA))
  names(files) <- names(idx_names)
  if (anyNA(files)) return(list(missing = idx_names[is.na(files)]))
  files
}

read_idx_dataset <- function(files) {
  list(train = list(x = read_idx(files[["x_train"]]), y = read_idx(files[["y_train"]])),
       test = list(x = read_idx(files[["x_test"]]), y = read_idx(files[["y_test"]])))
}

read_npz_dataset <- function(file) {
  d <- read_npz(file, c("x_train", "y_train", "x_test", "y_test"))
  list(train = list(x = d$x_train, y = as.vector(d$y_train)),
       test = list(x = d$x_test, y = as.vector(d$y_test)))
}

with_seed <- function(seed, expr) {
  env <- globalenv()
  old <- if (exists(".Random.seed", env, inherits = FALSE)) get(".Random.seed", env) else NULL
  on.exit(if (is.null(old)) rm(".Random.seed", envir = env) else assign(".Random.seed", old, envir = env))
  set.seed(seed)
  expr
}

untar_to <- function(tarball, exdir) {
  dir.create(exdir, recursive = TRUE, showWarnings = FALSE)
  utils::untar(tarball, exdir = exdir)
  exdir
}

# ---- file readers ----------------------------------------------------------

# An IDX file (optionally gzipped) of unsigned bytes as an integer array in R's
# layout: C-order dims (n, d2, ...) become x[i, j, ...].
read_idx <- function(file) {
  con <- open_input(file, gz = TRUE)  # also reads uncompressed files
  on.exit(close(con))
  magic <- as.integer(readBin(con, "raw", 4L))
  if (length(magic) < 4L || magic[1] != 0L || magic[2] != 0L) {
    stop("'", file, "' is not an IDX file (bad magic number).", call. = FALSE)
  }
  if (magic[3] != 8L) {
    stop("'", file, "': only unsigned-byte IDX data (type 0x08) is supported.", call. = FALSE)
  }
  dims <- readBin(con, "integer", magic[4], size = 4L, endian = "big")
  n <- prod(as.numeric(dims))
  if (length(dims) != magic[4] || anyNA(dims) || any(dims < 0) || n > idx_max_bytes(file, 4 + 4 * magic[4])) {
    stop_arg("'", file, "' is truncated or damaged: its IDX header claims dimensions ", paste(dims, collapse = " x "), " (",
             format(n, big.mark = ",", scientific = FALSE), " bytes), more than the file can hold")
  }
  bytes <- readBin(con, "raw", n)
  if (length(bytes) != n) stop("'", file, "' is truncated.", call. = FALSE)
  bytes <- from_c_order(bytes, dims)
  out <- as.integer(bytes)
  if (length(dims) > 1L) dim(out) <- dims
  out
}

# The most data bytes an IDX file can hold: its size after the header, or for a gzipped
# file 1032 times its size (deflate's largest ratio).
idx_max_bytes <- function(file, header) {
  size <- file.size(file)
  con <- file(file, "rb")
  on.exit(close(con))
  gz <- identical(readBin(con, "raw", 2L), as.raw(c(0x1f, 0x8b)))
  if (gz) size * 1032 else size - header
}

# Data stored in C (row-major) order -> R array with dims `shape`. The first
# dimension (samples) is turned into the fastest-varying one with one t();
# the rest of each sample is reordered by a precomputed index first.
from_c_order <- function(v, shape) {
  k <- length(shape)
  if (k <= 1L) return(v)
  inner <- shape[-1L]
  dim(v) <- c(prod(inner), shape[1L])
  if (k > 2L) {
    idx <- aperm(array(seq_len(prod(inner)), rev(inner)), rev(seq_along(inner)))
    v <- v[as.vector(idx), , drop = FALSE]
  }
  v <- t(v)
  dim(v) <- shape
  v
}

# Members `names` (without .npy) of an .npz archive, read with read_npy().
read_npz <- function(file, names) {
  check_input(file)
  listing <- tryCatch(utils::unzip(file, list = TRUE)$Name, error = function(e) NULL,
                      warning = function(w) NULL)
  if (is.null(listing)) stop("'", file, "' is not a readable .npz (zip) file.", call. = FALSE)
  wanted <- paste0(names, ".npy")
  missing <- setdiff(wanted, listing)
  if (length(missing)) {
    stop("'", file, "' lacks the array(s) ", paste(missing, collapse = ", "),
         " (it holds ", paste(listing, collapse = ", "), ").", call. = FALSE)
  }
  exdir <- tempfile("npz")
  on.exit(unlink(exdir, recursive = TRUE))
  utils::unzip(file, files = wanted, exdir = exdir)
  out <- lapply(file.path(exdir, wanted), read_npy)
  names(out) <- names
  out
}

# A .npy file with a numeric dtype (bool, (u)int8/16, int32/64, float32/64).
read_npy <- function(file) {
  con <- open_input(file)
  on.exit(close(con))
  magic <- readBin(con, "raw", 8L)
  if (length(magic) < 8L || !identical(magic[1:6], c(as.raw(0x93), charToRaw("NUMPY")))) {
    stop("'", basename(file), "' is not a .npy file.", call. = FALSE)
  }
  hlen <- if (magic[7] == as.raw(1)) {
    readBin(con, "integer", 1L, size = 2L, signed = FALSE, endian = "little")
  } else {
    readBin(con, "integer", 1L, size = 4L, endian = "little")
  }
  header <- rawToChar(readBin(con, "raw", hlen))
  descr <- sub(".*'descr': *'([^']*)'.*", "\\1", header)
  fortran <- grepl("'fortran_order': *True", header)
  shape <- sub(".*'shape': *\\(([^)]*)\\).*", "\\1", header)
  shape <- trimws(strsplit(shape, ",", fixed = TRUE)[[1]])
  shape <- as.integer(shape[nzchar(shape)])
  n <- prod(shape)
  endian <- if (substr(descr, 1, 1) == ">") "big" else "little"
  type <- substring(descr, 2)
  if (type == "O") return(rk_npy_object_int_lists(file))  # a list of integer vectors
  v <- switch(type,
    b1 = readBin(con, "raw", n) != 0,
    u1 = as.integer(readBin(con, "raw", n)),
    i1 = readBin(con, "integer", n, size = 1L, endian = endian),
    u2 = readBin(con, "integer", n, size = 2L, signed = FALSE, endian = endian),
    i2 = readBin(con, "integer", n, size = 2L, endian = endian),
    i4 = readBin(con, "integer", n, size = 4L, endian = endian),
    i8 = read_int64(con, n, endian),
    f4 = readBin(con, "double", n, size = 4L, endian = endian),
    f8 = readBin(con, "double", n, size = 8L, endian = endian),
    stop("'", basename(file), "' has unsupported dtype '", descr, "'.", call. = FALSE))
  if (length(v) != n) stop("'", basename(file), "' is truncated.", call. = FALSE)
  if (length(shape) <= 1L) return(v)
  if (fortran) {
    dim(v) <- shape
    v
  } else {
    from_c_order(v, shape)
  }
}

# int64 as R integer when every value fits, else as double.
read_int64 <- function(con, n, endian) {
  w <- readBin(con, "integer", 2L * n, size = 4L, endian = endian)
  if (length(w) != 2L * n) return(w)
  odd <- rep_len(c(TRUE, FALSE), length(w))
  lo <- if (endian == "little") w[odd] else w[!odd]
  hi <- if (endian == "little") w[!odd] else w[odd]
  if (isTRUE(all(hi == ifelse(lo < 0L, -1L, 0L)))) return(lo)
  lo_u <- ifelse(is.na(lo), 2^31, ifelse(lo < 0L, lo + 2^32, lo))
  lo_u + hi * 2^32
}

# A CIFAR-10 binary batch: records of 1 label byte + 3072 pixel bytes.
read_cifar_batch <- function(file) {
  con <- open_input(file)
  on.exit(close(con))
  bytes <- readBin(con, "raw", file.size(file))
  if (length(bytes) %% 3073L != 0L) stop("'", file, "' is not a CIFAR-10 binary batch.", call. = FALSE)
  dim(bytes) <- c(3073L, length(bytes) %/% 3073L)
  list(y = as.integer(bytes[1L, ]), x = t(bytes[-1L, , drop = FALSE]))
}

# n x 3072 raw (channel, row, col in C order) -> integer n x 32 x 32 x 3.
cifar_array <- function(x) {
  idx <- aperm(array(seq_len(3072L), c(32L, 32L, 3L)), c(2L, 1L, 3L))  # [r, c, ch]
  x <- x[, as.vector(idx), drop = FALSE]
  out <- as.integer(x)
  dim(out) <- c(nrow(x), 32L, 32L, 3L)
  out
}
