# Tests for array_reshape(), to_categorical() and normalize().

# Reference C-order reshape: flatten row-major, refill row-major.
reshape_c_reference <- function(x, dim) {
  d <- if (is.null(base::dim(x))) length(x) else base::dim(x)
  flat <- as.vector(aperm(array(x, d), rev(seq_along(d))))
  aperm(array(flat, rev(dim)), rev(seq_along(dim)))
}

test_that("array_reshape() fills rows first by default", {
  expect_identical(array_reshape(1:4, c(2, 2)), rbind(1:2, 3:4))
  expect_identical(array_reshape(1:6, c(2, 3)), rbind(1:3, 4:6))
  m <- rbind(1:3, 4:6)
  expect_identical(array_reshape(m, 6), array(1:6))
  expect_identical(array_reshape(m, c(3, 2)), rbind(1:2, 3:4, 5:6))
})

test_that("order = 'F' equals dim<-", {
  x <- array(1:24, c(2, 3, 4))
  y <- x
  dim(y) <- c(6, 4)
  expect_identical(array_reshape(x, c(6, 4), order = "F"), y)
  expect_identical(array_reshape(1:4, c(2, 2), order = "F"), cbind(1:2, 3:4))
})

test_that("array_reshape() matches the reference on many shapes", {
  x <- array(seq_len(2 * 3 * 4 * 5), c(2, 3, 4, 5))
  targets <- list(c(120), c(2, 60), c(6, 20), c(2, 3, 20), c(2, 12, 5), c(1, 2, 60, 1),
                  c(5, 4, 3, 2), c(2, 3, 4, 5), c(2, 3, 4, 5, 1), c(3, 2, 20), c(4, 30))
  for (dim in targets) {
    expect_identical(array_reshape(x, dim), reshape_c_reference(x, dim), label = toString(dim))
    expect_identical(array_reshape(x + 0.5, dim), reshape_c_reference(x + 0.5, dim))
  }
  # and back again
  y <- array_reshape(x, c(2, 60))
  expect_identical(array_reshape(y, c(2, 3, 4, 5)), x)
  z <- array(1:12, c(1, 3, 4, 1))
  expect_identical(array_reshape(z, c(4, 3)), reshape_c_reference(z, c(4, 3)))
})

test_that("array_reshape() matches the reference on random shapes with size-1 dims", {
  set.seed(7)
  random_shape <- function() {  # a random factorisation of 48, with some 1s
    f <- sample(c(2, 2, 2, 2, 3, 1, 1))
    cuts <- sort(sample(0:7, sample(1:4, 1), replace = TRUE))
    unname(vapply(split(f, findInterval(seq_along(f), cuts + 0.5)), prod, 1))
  }
  for (k in 1:200) {
    from <- random_shape()
    to <- random_shape()
    x <- array(seq_len(48), from)
    expect_identical(array_reshape(x, to), reshape_c_reference(x, to),
                     label = paste(toString(from), "->", toString(to)))
  }
})

test_that("MNIST: array_reshape(x, c(n, 784)) puts x[i, r, c] in column (r - 1) * 28 + c", {
  set.seed(42)
  x <- array(sample(0:255, 5 * 28 * 28, replace = TRUE), c(5, 28, 28))
  flat <- array_reshape(x, c(5, 784))
  expect_identical(dim(flat), c(5L, 784L))
  expect_type(flat, "integer")
  for (k in 1:50) {
    i <- sample(5, 1); r <- sample(28, 1); c <- sample(28, 1)
    expect_identical(flat[i, (r - 1) * 28 + c], x[i, r, c])
  }
  expect_identical(flat[2, 1:28], x[2, 1, ])  # the first row of image 2
  expect_identical(array_reshape(flat, c(5, 28, 28)), x)
  expect_identical(array_reshape(x, c(5, 28, 28, 1))[, , , 1], x)
})

test_that("one -1 is inferred; bad shapes are errors", {
  x <- array(1:24, c(2, 3, 4))
  expect_identical(dim(array_reshape(x, c(2, -1))), c(2L, 12L))
  expect_identical(dim(array_reshape(x, c(-1, 4, 2))), c(3L, 4L, 2L))
  expect_identical(array_reshape(x, -1), array_reshape(x, 24))
  expect_error(array_reshape(x, c(-1, -1)), "only specify one unknown dimension")
  expect_error(array_reshape(x, c(5, -1)), "cannot reshape array of size 24 into shape \\(5, -1\\)")
  expect_error(array_reshape(x, c(5, 5)), "cannot reshape array of size 24")
  expect_error(array_reshape(x, c(-2, -12)), "negative dimensions")
  expect_error(array_reshape(x, c(2, NA)), "without NA")
  expect_error(array_reshape(x, c(2, 12), order = "X"))
})

test_that("array_reshape() keeps the type and drops names", {
  expect_type(array_reshape(c(TRUE, FALSE, TRUE, TRUE), c(2, 2)), "logical")
  expect_type(array_reshape(as.double(1:4), c(2, 2)), "double")
  expect_identical(array_reshape(letters[1:4], c(2, 2)), rbind(c("a", "b"), c("c", "d")))
  named <- matrix(1:4, 2, dimnames = list(c("a", "b"), c("c", "d")))
  expect_null(dimnames(array_reshape(named, c(2, 2))))
  expect_identical(array_reshape(data.frame(a = 1:2, b = 3:4), c(1, 4)), rbind(c(1L, 3L, 2L, 4L)))
})

test_that("array_reshape() returns a view that behaves like a copy", {
  set.seed(3)
  x <- array(runif(6 * 4 * 5), c(6, 4, 5))
  ref <- reshape_c_reference(x, c(6, 20))
  v <- array_reshape(x, c(6, 20))
  expect_true(rk_is_reshape_view(v))
  expect_identical(v[4, 7], ref[4, 7])            # single elements: no copy
  expect_true(rk_is_reshape_view(v))
  x[4, 2, 2] <- -1                               # the source changes, the result does not
  expect_identical(v, ref)
  f <- tempfile(fileext = ".rds")
  saveRDS(array_reshape(x, c(6, 20)), f)         # serialized as a plain array
  expect_identical(readRDS(f), reshape_c_reference(x, c(6, 20)))
  w <- array_reshape(x, c(6, 20))
  w[1, 1] <- 99                                  # writing copies it out first
  expect_identical(w[1, 1], 99)
  expect_identical(w[-1], reshape_c_reference(x, c(6, 20))[-1])
  expect_identical(v * 2, ref * 2)
  vv <- array_reshape(array_reshape(x, c(6, 20)), c(6, 4, 5))   # a view of a view
  expect_identical(vv[3, 2, 4], x[3, 2, 4])
  expect_identical(vv, x)
  vi <- array_reshape(array(1:24, c(2, 3, 4)), c(2, 12))
  expect_true(rk_is_reshape_view(vi))
  expect_identical(vi, reshape_c_reference(array(1:24, c(2, 3, 4)), c(2, 12)))
})

test_that("models read array_reshape() views from their source, NA positions included", {
  set.seed(4)
  model <- keras_model_sequential() %>% layer_dense(3, activation = "softmax", input_shape = 20)
  model %>% compile(loss = "categorical_crossentropy", optimizer = "sgd")
  x <- array(runif(6 * 4 * 5), c(6, 4, 5))
  v <- array_reshape(x, c(6, 20))
  expect_identical(predict(model, v), predict(model, reshape_c_reference(x, c(6, 20))))
  expect_true(rk_is_reshape_view(v))
  x[5, 3, 2] <- NA                               # row 5, column (3 - 1) * 5 + 2 = 12
  v <- array_reshape(x, c(6, 20))
  expect_error(predict(model, v), "first at row 5, column 12")
  expect_error(fit(model, v, to_categorical(0:5 %% 3, 3), verbose = 0), "first at row 5, column 12")
  expect_true(rk_is_reshape_view(v))
})

test_that("to_categorical() gives one-hot rows", {
  y <- c(0, 2, 1, 2)
  m <- to_categorical(y)
  expect_identical(m, rbind(c(1, 0, 0), c(0, 0, 1), c(0, 1, 0), c(0, 0, 1)))
  expect_type(m, "double")
  expect_identical(dim(to_categorical(y, num_classes = 5)), c(4L, 5L))
  expect_identical(to_categorical(c(1.9, 0.2)), rbind(c(0, 1), c(1, 0)))  # truncation
  expect_type(to_categorical(y, dtype = "int32"), "integer")
  expect_identical(to_categorical(0:1, dtype = "bool"), rbind(c(TRUE, FALSE), c(FALSE, TRUE)))
  expect_identical(dim(to_categorical(integer(0), num_classes = 3)), c(0L, 3L))
})

test_that("to_categorical() on arrays: trailing 1 dropped, 2-D gives 3-D", {
  col <- matrix(c(0L, 2L, 1L), ncol = 1)
  expect_identical(to_categorical(col), to_categorical(c(0L, 2L, 1L)))
  y <- matrix(c(0, 1, 2, 3, 1, 0), 2, 3)
  a <- to_categorical(y)
  expect_identical(dim(a), c(2L, 3L, 4L))
  for (i in 1:2) for (j in 1:3) {
    expect_identical(a[i, j, ], as.numeric(0:3 == y[i, j]))
  }
  expect_identical(dim(to_categorical(array(0:1, c(2, 1, 1)))), c(2L, 1L, 2L))
})

test_that("to_categorical() errors on bad labels", {
  expect_error(to_categorical(c(0, -1, 2)), "negative")
  expect_error(to_categorical(c(0, 3), num_classes = 3), "label 3 but num_classes = 3")
  expect_error(to_categorical(c(0, NA)), "missing")
  expect_error(to_categorical(factor(c("a", "b"))), "factor")
  expect_error(to_categorical(c("0", "1")), "numeric")
  expect_error(to_categorical(1:2, num_classes = 0), "`num_classes` must be a whole number from 1")
  expect_error(to_categorical(1:2, dtype = "complex64"), "Unsupported")
})

test_that("normalize() gives unit-norm rows and leaves zero rows alone", {
  m <- rbind(c(3, 4), c(0, 0), c(-1, 1))
  n <- normalize(m)
  expect_equal(n, rbind(c(0.6, 0.8), c(0, 0), c(-1, 1) / sqrt(2)))
  expect_equal(sqrt(rowSums(n^2)), c(1, 0, 1))
  expect_equal(normalize(m, axis = 1), sweep(m, 2, sqrt(colSums(m^2)), "/"))
  expect_equal(normalize(m, axis = 2), n)
  expect_equal(normalize(m, order = 1), rbind(c(3, 4) / 7, c(0, 0), c(-0.5, 0.5)))
  expect_equal(normalize(c(3, 4)), c(0.6, 0.8))
  expect_equal(normalize(c(0, 0)), c(0, 0))
  expect_type(normalize(matrix(1:4, 2)), "double")
})

test_that("normalize() on 3-D arrays and axis errors", {
  a <- array(as.double(1:24), c(2, 3, 4))
  n <- normalize(a)  # last axis
  expect_equal(apply(n, 1:2, function(v) sum(v^2)), matrix(1, 2, 3))
  n2 <- normalize(a, axis = 2)
  expect_equal(apply(n2, c(1, 3), function(v) sum(v^2)), matrix(1, 2, 4))
  expect_equal(normalize(a, axis = -2), n2)
  expect_equal(normalize(a, order = Inf)[1, 1, ], a[1, 1, ] / max(a[1, 1, ]))
  expect_error(normalize(a, axis = 0), "`axis` argument is 1 based, received 0", fixed = TRUE)
  expect_error(normalize(a, axis = 4), "out of bounds")
  expect_error(normalize(letters), "numeric")
})
