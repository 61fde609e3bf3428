# pad_sequences(): Keras' keras.utils.pad_sequences on fixed sequences (fixture), by hand, speed.

test_that("pad_sequences() gives what Keras gives for each setting", {
  f <- jsonlite::fromJSON(file.path(fixture_dir("keras", "embedding"), "embedding.json"), simplifyVector = FALSE)
  seqs <- lapply(f$pad$sequences, function(s) as.integer(unlist(s)))
  expect_length(f$pad$cases, 8)
  for (case in f$pad$cases) {
    args <- case$args
    got <- do.call(pad_sequences, c(list(seqs), args))
    shape <- unlist(case$shape)
    want <- matrix(unlist(case$data), shape[[1]], shape[[2]], byrow = TRUE)
    label <- paste(names(args), unlist(args), collapse = ", ")
    expect_identical(dim(got), as.integer(shape), label = label)
    expect_equal(typeof(got), if (case$dtype == "int32") "integer" else "double", label = label)
    expect_equal(unname(got), want, label = label, tolerance = 0)
  }
})

test_that("pad_sequences() by hand: padding, truncating, value, maxlen = NULL", {
  s <- list(1:3, 4L, integer(0), 5:10)
  expect_identical(pad_sequences(s, maxlen = 2),
                   matrix(c(2L, 3L, 0L, 4L, 0L, 0L, 9L, 10L), 4, byrow = TRUE))
  expect_identical(pad_sequences(s, maxlen = 2, padding = "post", truncating = "post"),
                   matrix(c(1L, 2L, 4L, 0L, 0L, 0L, 5L, 6L), 4, byrow = TRUE))
  m <- pad_sequences(s)
  expect_identical(dim(m), c(4L, 6L))
  expect_identical(m[2, ], c(0L, 0L, 0L, 0L, 0L, 4L))
  expect_identical(pad_sequences(s, maxlen = 3, value = 9, padding = "post")[2, ], c(4L, 9L, 9L))
  expect_identical(pad_sequences(list(c(1.7, -2.7)), dtype = "float32"), matrix(c(1.7, -2.7), 1))
  expect_identical(pad_sequences(list(c(1.7, -2.7))), matrix(c(1L, -2L), 1))  # truncated like numpy
  expect_identical(pad_sequences(list()), matrix(0L, 0, 0))
  expect_identical(pad_sequences(matrix(1:6, 2), maxlen = 4), matrix(c(0L, 1L, 3L, 5L, 0L, 2L, 4L, 6L), 2, byrow = TRUE))
})

test_that("pad_sequences() rejects bad arguments", {
  expect_error(pad_sequences(1:3), "`sequences` must be a list of numeric vectors")
  expect_error(pad_sequences(list(1, "a")), "element 2 is")
  expect_error(pad_sequences(list(1), padding = "both"), "unknown padding \"both\"")
  expect_error(pad_sequences(list(1), truncating = "middle"), "unknown truncating \"middle\"")
  expect_error(pad_sequences(list(1), maxlen = 0), "`maxlen` must be a whole number")
  expect_error(pad_sequences(list(1), dtype = "str"), "`dtype` must be an integer type")
})

test_that("pad_sequences() on 25,000 sequences of up to 600 ids takes well under a second", {
  set.seed(3)
  s <- lapply(sample.int(600, 25000, TRUE), function(n) sample.int(5000, n, TRUE))
  invisible(pad_sequences(s[1:100], maxlen = 400))
  t <- system.time(m <- pad_sequences(s, maxlen = 400))[["elapsed"]]
  expect_identical(dim(m), c(25000L, 400L))
  expect_identical(m[7, ], tail(c(integer(400), s[[7]]), 400))
  expect_lt(t, 1)
})
