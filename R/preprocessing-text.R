# Text preprocessing: keras for R's text_tokenizer() family and text helpers, with the
# semantics of Keras' keras.preprocessing.text (tf.keras 2). The work (tokenizing, counting,
# matrices) is in the Rust core (src/rust/core/src/text.rs); R checks arguments.

default_filters <- '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'

#' Text tokenization utility
#'
#' Vectorizes a text corpus: each text becomes a sequence of word indexes
#' ([texts_to_sequences()]) or a row of a matrix ([texts_to_matrix()]), as
#' Keras' `Tokenizer`. Fit it with [fit_text_tokenizer()] first. Index 0 is
#' never given to a word; the most frequent word gets index 1 (ties in order of
#' first occurrence).
#'
#' The tokenizer is an environment (changed in place by
#' [fit_text_tokenizer()]) with the fields of Keras' tokenizer, as keras for R
#' shows them: `word_index` (named list word -> index), `index_word` (named
#' list index -> word), `word_counts` (named list word -> occurrences, in
#' order of first occurrence), `word_docs` (named list word -> number of texts
#' it occurs in; Python orders it by its salted string hash, rkeras by first
#' occurrence), `index_docs`, `document_count`, `num_words`, and the
#' arguments below. It survives `saveRDS()`; [save_text_tokenizer()] writes
#' Keras' JSON format.
#'
#' @param num_words `NULL` or the maximum number of words to keep: only words
#'   with an index below `num_words` (the `num_words - 1` most frequent) are
#'   used by [texts_to_sequences()] and the matrices.
#' @param filters Characters removed from the texts (each is replaced by
#'   `split`). The default is all punctuation except `'`, plus tabs and line
#'   breaks.
#' @param lower Whether to convert the texts to lower case.
#' @param split Separator between words.
#' @param char_level If `TRUE`, every character is a token (`filters` are not
#'   applied, as in Keras).
#' @param oov_token `NULL` or a string that is added to `word_index` (index 1)
#'   and replaces out-of-vocabulary words in [texts_to_sequences()].
#' @returns A tokenizer (class `rkeras_text_tokenizer`).
#' @family text preprocessing
#' @export
#' @examples
#' tok <- text_tokenizer(num_words = 10)
#' tok %>% fit_text_tokenizer(c("The cat sat.", "The dog sat down!"))
#' unlist(tok$word_index)
#' texts_to_sequences(tok, "the dog sat on the cat")
#' texts_to_matrix(tok, c("the cat", "a dog"), mode = "count")
text_tokenizer <- function(num_words = NULL, filters = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n',
                           lower = TRUE, split = " ", char_level = FALSE, oov_token = NULL) {
  tok <- new.env(parent = emptyenv())
  tok$num_words <- check_count(num_words, "num_words", min = 0, null_ok = TRUE)
  tok$filters <- check_string(filters, "filters")
  tok$lower <- check_flag(lower, "lower")
  tok$split <- check_string(split, "split")
  tok$char_level <- check_flag(char_level, "char_level")
  if (!tok$char_level && !nzchar(tok$split))
    stop_arg("`split` must not be empty (it separates the words), got \"\"")
  tok$oov_token <- check_string(oov_token, "oov_token", null_ok = TRUE)
  tok$document_count <- 0L
  empty <- structure(list(), names = character())
  for (f in c("word_counts", "word_docs", "word_index", "index_word", "index_docs")) assign(f, empty, envir = tok)
  class(tok) <- "rkeras_text_tokenizer"
  tok
}

check_tokenizer <- function(x, name = "tokenizer") {
  if (!inherits(x, "rkeras_text_tokenizer"))
    stop_arg("`", name, "` must be a tokenizer made by text_tokenizer(), got ", describe_value(x))
  x
}

state_fields <- c("num_words", "filters", "lower", "split", "char_level", "oov_token", "document_count",
                  "word_counts", "word_docs", "word_index", "index_word", "index_docs")
dict_fields <- c("word_counts", "word_docs", "word_index", "index_word", "index_docs")

# The handle of the core tokenizer for `tok`. It is rebuilt from the R fields when they
# changed since it was made (a user assigned `tok$num_words`, say; unchanged fields are the
# same R objects, so the check is cheap) or when it did not survive saveRDS()/readRDS().
tokenizer_handle <- function(tok) {
  state <- mget(state_fields, envir = tok, ifnotfound = list(NULL))
  h <- tok$.handle
  if (!is.null(h) && rk_text_handle_ok(h) && identical(state, tok$.snapshot)) return(h)
  state$num_words <- check_count(state$num_words, "tokenizer$num_words", min = 0, null_ok = TRUE)
  sent <- state
  for (f in dict_fields) {
    d <- state[[f]]
    if (!is.list(d) && !is.atomic(d)) stop_arg("the tokenizer's `", f, "` must be a named list")
    sent[[f]] <- list(if (length(d)) names(d) else character(), unlist(d, use.names = FALSE))
  }
  h <- rk_text_handle(sent)
  assign(".handle", h, envir = tok)
  assign(".snapshot", mget(state_fields, envir = tok, ifnotfound = list(NULL)), envir = tok)
  h
}

# Stores the fields the core returned (dictionaries as list(keys, values)) and the snapshot
# that says the handle matches them.
set_tokenizer_state <- function(tok, state, handle = NULL) {
  for (f in names(state)) {
    v <- state[[f]]
    if (f %in% dict_fields) v <- expand_dict(v)
    assign(f, v, envir = tok)
  }
  if (!is.null(handle)) {
    assign(".handle", handle, envir = tok)
    assign(".snapshot", mget(state_fields, envir = tok, ifnotfound = list(NULL)), envir = tok)
  }
  invisible(tok)
}

expand_dict <- function(d) {
  v <- as.list(d[[2]])
  names(v) <- d[[1]]
  v
}

# Texts as a character vector with no NA (factors are taken as their labels).
check_texts <- function(texts, name = "texts") {
  if (is.factor(texts)) texts <- as.character(texts)
  if (!is.character(texts))
    stop_arg("`", name, "` must be a character vector of texts, got ", describe_value(texts))
  if (anyNA(texts)) stop_arg("`", name, "` must not contain NA (element ", which(is.na(texts))[[1]], " is NA)")
  enc2utf8(as.vector(texts))
}

# Sequences as a list of integer vectors: whole, finite numbers (a matrix is taken row by row).
check_sequences <- function(sequences, name = "sequences") {
  if (is.matrix(sequences)) sequences <- lapply(seq_len(nrow(sequences)), function(i) sequences[i, ])
  if (is.numeric(sequences) && !is.list(sequences)) sequences <- list(sequences)
  if (!is.list(sequences))
    stop_arg("`", name, "` must be a list of integer vectors, got ", describe_value(sequences))
  lapply(seq_along(sequences), function(i) {
    s <- sequences[[i]]
    if (is.list(s) && all(lengths(s) == 1L)) s <- unlist(s)
    if (is.null(s)) return(integer())
    if (!is.numeric(s) || anyNA(s) || any(s != round(s)) || any(abs(s) > .Machine$integer.max)) {
      bad <- if (is.numeric(s)) s[is.na(s) | s != round(s) | abs(s) > .Machine$integer.max][1] else NULL
      stop_arg("`", name, "[[", i, "]]` must hold whole numbers (word indexes), got ",
               if (is.null(bad)) describe_value(s) else format(bad))
    }
    as.integer(s)
  })
}

#' Update a tokenizer's vocabulary
#'
#' Keras' `fit_on_texts()` (or `fit_on_sequences()` when `x` is a list of
#' integer vectors): counts the words of the texts and rebuilds `word_index`.
#' Fitting again adds to the counts. The tokenizer is changed in place and
#' returned invisibly, so `tokenizer %>% fit_text_tokenizer(texts)` works.
#'
#' @param object A tokenizer from [text_tokenizer()].
#' @param x A character vector of texts, a list of integer sequences, or a
#'   function that returns some texts at each call and `NULL` when done.
#' @returns `object`, invisibly.
#' @family text preprocessing
#' @export
#' @examples
#' tok <- text_tokenizer()
#' fit_text_tokenizer(tok, c("a b b", "b c"))
#' unlist(tok$word_counts)
#' tok$document_count
fit_text_tokenizer <- function(object, x) {
  tok <- check_tokenizer(object, "object")
  if (is.function(x)) {
    chunks <- list()
    repeat {
      got <- x()
      if (is.null(got)) break
      chunks[[length(chunks) + 1L]] <- check_texts(got, "x")
    }
    x <- unlist(chunks, use.names = FALSE)
    if (is.null(x)) x <- character()
  }
  h <- tokenizer_handle(tok)
  state <- if (is.list(x)) rk_text_fit_sequences(h, check_sequences(x, "x")) else rk_text_fit(h, check_texts(x, "x"))
  set_tokenizer_state(tok, state, h)
}

#' Transform texts to sequences of word indexes
#'
#' Keras' `texts_to_sequences()`: each text becomes the indexes of its words.
#' Words not in the vocabulary, or with an index of `num_words` or more, are
#' dropped, or replaced by the index of `oov_token` when the tokenizer has one.
#' `texts_to_sequences_generator()` returns a function that gives the sequence
#' of the next text at each call, and `NULL` after the last one.
#'
#' @param tokenizer A fitted tokenizer ([text_tokenizer()]).
#' @param texts A character vector.
#' @returns A list of integer vectors, one per text (keras for R gives an
#'   empty `list()` for a text without known words; rkeras `integer(0)`).
#' @family text preprocessing
#' @export
#' @examples
#' tok <- fit_text_tokenizer(text_tokenizer(), c("a b b", "b c"))
#' texts_to_sequences(tok, c("b a", "c d b"))
#' nxt <- texts_to_sequences_generator(tok, c("a", "b"))
#' nxt(); nxt(); nxt()
texts_to_sequences <- function(tokenizer, texts) {
  rk_texts_to_sequences(tokenizer_handle(check_tokenizer(tokenizer)), check_texts(texts))
}

#' @rdname texts_to_sequences
#' @export
texts_to_sequences_generator <- function(tokenizer, texts) {
  tok <- check_tokenizer(tokenizer)
  texts <- check_texts(texts)
  pos <- 0L
  buffer <- list()
  function() {
    if (!length(buffer)) {
      if (pos >= length(texts)) return(NULL)
      take <- seq.int(pos + 1L, min(pos + 1000L, length(texts)))
      buffer <<- rk_texts_to_sequences(tokenizer_handle(tok), texts[take])
      pos <<- max(take)
    }
    s <- buffer[[1]]
    buffer[[1]] <<- NULL
    s
  }
}

#' Transform sequences of word indexes back to texts
#'
#' Keras' `sequences_to_texts()`: each sequence becomes its words joined by
#' spaces; unknown indexes (and indexes of `num_words` or more) are dropped, or
#' become `oov_token` when the tokenizer has one.
#'
#' @inheritParams texts_to_sequences
#' @param sequences A list of integer vectors.
#' @returns A character vector.
#' @family text preprocessing
#' @export
#' @examples
#' tok <- fit_text_tokenizer(text_tokenizer(), c("a b b", "b c"))
#' sequences_to_texts(tok, list(c(1, 2), c(3, 9)))
sequences_to_texts <- function(tokenizer, sequences) {
  rk_sequences_to_texts(tokenizer_handle(check_tokenizer(tokenizer)), check_sequences(sequences))
}

#' Convert texts or sequences to a matrix
#'
#' Keras' `texts_to_matrix()` / `sequences_to_matrix()`: one row per text or
#' sequence and `num_words` columns (or the vocabulary size + 1 without
#' `num_words`); column `j + 1` is word index `j` (column 1, index 0, stays
#' 0). `mode` is `"binary"` (1 if the word occurs), `"count"` (occurrences),
#' `"freq"` (occurrences / length of the sequence) or `"tfidf"`
#' (`(1 + log(count)) * log(1 + document_count / (1 + documents with the word))`).
#'
#' @inheritParams texts_to_sequences
#' @param sequences A list of integer vectors (word indexes).
#' @param mode One of `"binary"`, `"count"`, `"tfidf"`, `"freq"`.
#' @returns A double matrix.
#' @family text preprocessing
#' @export
#' @examples
#' tok <- fit_text_tokenizer(text_tokenizer(), c("a b b", "b c"))
#' texts_to_matrix(tok, c("b b a", "c"), mode = "count")
#' sequences_to_matrix(tok, list(c(1, 1), 3), mode = "freq")
texts_to_matrix <- function(tokenizer, texts, mode = c("binary", "count", "tfidf", "freq")) {
  mode <- check_matrix_mode(mode)
  h <- tokenizer_handle(check_tokenizer(tokenizer))
  rk_sequences_to_matrix(h, rk_texts_to_sequences(h, check_texts(texts)), mode)
}

#' @rdname texts_to_matrix
#' @export
sequences_to_matrix <- function(tokenizer, sequences, mode = c("binary", "count", "tfidf", "freq")) {
  mode <- check_matrix_mode(mode)
  rk_sequences_to_matrix(tokenizer_handle(check_tokenizer(tokenizer)), check_sequences(sequences), mode)
}

check_matrix_mode <- function(mode) {
  modes <- c("binary", "count", "tfidf", "freq")
  if (identical(mode, modes)) return("binary")
  check_choice(mode, "mode", modes)
}

#' Save and load a text tokenizer
#'
#' Writes the tokenizer in Keras' JSON format (what Python's
#' `Tokenizer.to_json()` writes; Python reads it back with
#' `tokenizer_from_json()`), and reads such a file, whether written by rkeras
#' or by Python. (keras for R pickles the Python object instead.)
#'
#' @param object A tokenizer.
#' @param filename A file path.
#' @returns `save_text_tokenizer()`: `object`, invisibly. `load_text_tokenizer()`: a tokenizer.
#' @family text preprocessing
#' @export
#' @examples
#' tok <- fit_text_tokenizer(text_tokenizer(num_words = 5), c("a b b", "b c"))
#' f <- tempfile(fileext = ".json")
#' save_text_tokenizer(tok, f)
#' tok2 <- load_text_tokenizer(f)
#' identical(tok2$word_index, tok$word_index)
save_text_tokenizer <- function(object, filename) {
  tok <- check_tokenizer(object, "object")
  filename <- check_string(filename, "filename")
  json <- rk_tokenizer_to_json(tokenizer_handle(tok))
  con <- file(filename, "wb")
  on.exit(close(con))
  writeBin(charToRaw(enc2utf8(json)), con)
  invisible(object)
}

#' @rdname save_text_tokenizer
#' @export
load_text_tokenizer <- function(filename) {
  filename <- check_string(filename, "filename")
  if (!file.exists(filename)) stop_arg("`filename` '", filename, "' does not exist")
  text <- readChar(filename, file.size(filename), useBytes = TRUE)
  Encoding(text) <- "UTF-8"
  state <- tryCatch(rk_tokenizer_from_json(text), error = function(e)
    stop_arg("'", filename, "' is not a Keras tokenizer JSON file: ", conditionMessage(e)))
  tok <- text_tokenizer()
  set_tokenizer_state(tok, state)
  tokenizer_handle(tok)
  tok
}

#' @export
as.list.rkeras_text_tokenizer <- function(x, ...) as.list.environment(x, sorted = TRUE)

#' @export
print.rkeras_text_tokenizer <- function(x, ...) {
  cat("<text tokenizer> ", length(x$word_index), " words from ", x$document_count, " documents",
      if (!is.null(x$num_words)) paste0(", num_words = ", x$num_words),
      if (!is.null(x$oov_token)) paste0(", oov_token = \"", x$oov_token, "\""),
      if (x$char_level) ", char_level", "\n", sep = "")
  invisible(x)
}

#' Convert a text to a sequence of words
#'
#' Keras' `text_to_word_sequence()`: lower-cases the text, replaces every
#' character of `filters` by `split`, splits on `split` and drops empty words.
#'
#' @param text A single string.
#' @inheritParams text_tokenizer
#' @returns A character vector of words.
#' @family text preprocessing
#' @export
#' @examples
#' text_to_word_sequence("This is a sample sentence.")
text_to_word_sequence <- function(text, filters = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', lower = TRUE,
                                  split = " ") {
  text <- check_string(text, "text")
  rk_text_to_word_sequence(enc2utf8(text), check_string(filters, "filters"), check_flag(lower, "lower"),
                           check_string(split, "split"))
}

#' One-hot encode a text into word indexes (hashing trick)
#'
#' `text_hashing_trick()` (Keras' `hashing_trick()`) turns each word of a text
#' into an index in `1..(n-1)` by hashing: `hash(word) %% (n - 1) + 1`, so
#' different words may share an index. `text_one_hot()` is the same with the
#' default hash.
#'
#' With `hash_function = "md5"` the indexes equal Keras'
#' (`int(md5(word).hexdigest(), 16) % (n - 1) + 1`). Keras' default
#' (`hash_function = NULL`, and `one_hot()`) uses Python's `hash()`, which is
#' salted per Python session, so its values cannot be reproduced (not even by
#' Python); rkeras uses md5 for `NULL` too, so its indexes are stable across
#' sessions and equal Keras' md5 ones. An R function (taking a word, returning
#' a whole number) may also be given.
#'
#' @param text,input_text A single string (`text_one_hot()` also accepts it as `text`, as
#'   keras for R does).
#' @param n Size of the hashing space (indexes are `1..(n-1)`), at least 2.
#' @param hash_function `NULL`, `"md5"` or an R function of one word.
#' @inheritParams text_tokenizer
#' @returns An integer vector of word indexes.
#' @family text preprocessing
#' @export
#' @examples
#' text_hashing_trick("The cat and the hat", n = 20, hash_function = "md5")
#' text_one_hot("The cat and the hat", n = 20)
text_hashing_trick <- function(text, n, hash_function = NULL, filters = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n',
                               lower = TRUE, split = " ") {
  text <- enc2utf8(check_string(text, "text"))
  n <- check_whole(n, "n", 2, 2^53)
  filters <- check_string(filters, "filters")
  lower <- check_flag(lower, "lower")
  split <- check_string(split, "split")
  if (is.function(hash_function)) {
    words <- rk_text_to_word_sequence(text, filters, lower, split)
    h <- vapply(words, function(w) {
      v <- hash_function(w)
      if (!is.numeric(v) || length(v) != 1 || !is.finite(v) || v != round(v))
        stop_arg("`hash_function` must return a whole number, got ", describe_value(v), " for \"", w, "\"")
      as.double(v)
    }, 0, USE.NAMES = FALSE)
    out <- h %% (n - 1) + 1
  } else {
    if (!is.null(hash_function) && !identical(hash_function, "md5"))
      stop_arg("`hash_function` must be NULL, \"md5\" or a function, got ", describe_value(hash_function))
    out <- rk_text_hashing_md5(text, as.double(n), filters, lower, split)
  }
  if (n <= .Machine$integer.max) as.integer(out) else out
}

#' @rdname text_hashing_trick
#' @export
text_one_hot <- function(input_text, n, filters = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', lower = TRUE,
                         split = " ", text = NULL) {
  if (missing(input_text) && !is.null(text)) input_text <- text
  text_hashing_trick(input_text, n, hash_function = NULL, filters = filters, lower = lower, split = split)
}

#' Generate skipgram word pairs
#'
#' Keras' `skipgrams()`: from a sequence of word indexes, the pairs
#' `(word, word in the same window)` labelled 1 and, with `negative_samples`,
#' `(word, random word)` pairs labelled 0. Index 0 is a non-word and is skipped.
#' The random draws (sampling table, negative words, shuffle) follow
#' `set.seed()`; `seed` fixes the shuffle alone, as in Keras. The draws are not
#' those of Python's `random` module.
#'
#' @param sequence An integer vector of word indexes.
#' @param vocabulary_size Maximum word index + 1 (negative words are drawn from
#'   `1..(vocabulary_size - 1)`).
#' @param window_size Half-width of the window around each word.
#' @param negative_samples Number of negative pairs per positive pair (>= 0).
#' @param shuffle Whether to shuffle the pairs.
#' @param categorical If `TRUE`, labels are `c(0, 1)` (positive) / `c(1, 0)`
#'   (negative) instead of 1 / 0.
#' @param sampling_table `NULL` or a vector of length `vocabulary_size`:
#'   `sampling_table[i + 1]` is the probability to keep word index `i` (see
#'   [make_sampling_table()]).
#' @param seed `NULL` or a seed for the shuffle.
#' @returns `list(couples, labels)`: `couples` a list of integer pairs
#'   `c(word, context)`, `labels` an integer vector (or, with `categorical`, a
#'   list of integer pairs).
#' @family text preprocessing
#' @export
#' @examples
#' set.seed(1)
#' sg <- skipgrams(c(1, 2, 3), vocabulary_size = 4, window_size = 1)
#' str(sg)
skipgrams <- function(sequence, vocabulary_size, window_size = 4, negative_samples = 1, shuffle = TRUE,
                      categorical = FALSE, sampling_table = NULL, seed = NULL) {
  sequence <- check_sequences(list(sequence), "sequence")[[1]]
  vocabulary_size <- check_count(vocabulary_size, "vocabulary_size", min = 1)
  window_size <- check_count(window_size, "window_size", min = 0)
  negative_samples <- check_number(negative_samples, "negative_samples")
  if (negative_samples < 0) stop_arg("`negative_samples` must be >= 0, got ", negative_samples)
  shuffle <- check_flag(shuffle, "shuffle")
  categorical <- check_flag(categorical, "categorical")
  if (!is.null(sampling_table)) {
    if (!is.numeric(sampling_table) || anyNA(sampling_table))
      stop_arg("`sampling_table` must be NULL or a numeric vector, got ", describe_value(sampling_table))
    sampling_table <- as.double(sampling_table)
  }
  if (any(sequence < 0L)) stop_arg("`sequence` must hold word indexes >= 0, got ", min(sequence))
  draw <- draw_seed()
  shuffle_seed <- if (!shuffle) NULL else if (is.null(seed)) draw_seed() else
    as.double(check_whole(seed, "seed", 0, 2^53))
  sg <- rk_skipgrams(sequence, as.double(vocabulary_size), window_size, negative_samples, sampling_table, draw,
                     shuffle_seed)
  if (categorical) sg$labels <- lapply(sg$labels, function(l) if (l == 1L) c(0L, 1L) else c(1L, 0L))
  sg
}

#' Generate a word rank-based probabilistic sampling table
#'
#' Keras' `make_sampling_table()`: entry `i + 1` is the probability of keeping
#' the word of rank `i` under word2vec's subsampling with Zipf-distributed word
#' frequencies, `min(1, sqrt(sampling_factor * (r (log r + 0.577) + 1/2 - 1/(12 r))))`
#' with rank `max(i, 1)` as r. Used as `sampling_table` in [skipgrams()].
#'
#' @param size Number of words (ranks 0 to `size - 1`).
#' @param sampling_factor The sampling factor of the word2vec formula.
#' @returns A numeric vector of length `size`.
#' @family text preprocessing
#' @export
#' @examples
#' make_sampling_table(5)
make_sampling_table <- function(size, sampling_factor = 1e-05) {
  size <- check_count(size, "size", min = 1)
  sampling_factor <- check_number(sampling_factor, "sampling_factor")
  if (sampling_factor <= 0) stop_arg("`sampling_factor` must be > 0, got ", sampling_factor)
  rk_make_sampling_table(size, sampling_factor)
}
