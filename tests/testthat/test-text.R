# Text preprocessing: text_tokenizer() and its verbs, text helpers, skipgrams(),
# make_sampling_table(). Values computed by hand, and values of tf_keras 2.21 (fixture
# tests/fixtures/keras/text/tokenizer.json, made by tests/interop/make_text_fixtures.py).

text_fixture <- function() {
  jsonlite::fromJSON(file.path(fixture_dir("keras", "text"), "tokenizer.json"), simplifyVector = FALSE)
}

# A JSON list of [key, value] pairs as a named list.
pairs_list <- function(p) stats::setNames(lapply(p, `[[`, 2), vapply(p, `[[`, "", 1))

# A JSON matrix (list of rows) as an R matrix.
json_matrix <- function(rows) do.call(rbind, lapply(rows, function(r) as.numeric(unlist(r))))

test_that("fit_text_tokenizer() counts words and orders the index by count, ties by first occurrence", {
  tok <- text_tokenizer()
  expect_invisible(fit_text_tokenizer(tok, c("b a c", "c b", "d b")))
  expect_identical(tok$document_count, 3L)
  expect_identical(tok$word_counts, list(b = 3L, a = 1L, c = 2L, d = 1L))
  expect_identical(tok$word_index, list(b = 1L, c = 2L, a = 3L, d = 4L))
  expect_identical(tok$index_word, list(`1` = "b", `2` = "c", `3` = "a", `4` = "d"))
  expect_identical(tok$word_docs, list(b = 3L, a = 1L, c = 2L, d = 1L))
  expect_identical(tok$index_docs, list(`1` = 3L, `2` = 2L, `3` = 1L, `4` = 1L))
  expect_identical(texts_to_sequences(tok, c("B e c a", "zz")), list(c(1L, 2L, 3L), integer()))
  # a second fit adds to the counts: "a" now ties with "c" (2) but occurred first
  tok %>% fit_text_tokenizer("a")
  expect_identical(tok$document_count, 4L)
  expect_identical(tok$word_index, list(b = 1L, a = 2L, c = 3L, d = 4L))
  expect_s3_class(tok, "rkeras_text_tokenizer")
  expect_output(print(tok), "4 words from 4 documents")
})

test_that("num_words and oov_token limit the sequences as in Keras", {
  tok <- text_tokenizer(num_words = 3)
  fit_text_tokenizer(tok, c("x y y", "z y x"))  # y 3, x 2, z 1
  expect_identical(tok$word_index, list(y = 1L, x = 2L, z = 3L))  # the index keeps every word
  expect_identical(texts_to_sequences(tok, "z x y q"), list(c(2L, 1L)))
  expect_identical(sequences_to_texts(tok, list(c(3, 2, 1, 9))), "x y")
  oov <- text_tokenizer(num_words = 3, oov_token = "<unk>")
  fit_text_tokenizer(oov, c("x y y", "z y x"))
  expect_identical(oov$word_index, list(`<unk>` = 1L, y = 2L, x = 3L, z = 4L))
  expect_identical(texts_to_sequences(oov, "z x y q"), list(c(1L, 1L, 2L, 1L)))
  expect_identical(sequences_to_texts(oov, list(c(4, 2, 9))), "<unk> y <unk>")
})

test_that("fields the user assigns take effect (the core tokenizer is rebuilt from them)", {
  tok <- fit_text_tokenizer(text_tokenizer(), c("x y y", "z y x"))
  expect_identical(texts_to_sequences(tok, "z x y"), list(c(3L, 2L, 1L)))
  tok$num_words <- 3L
  expect_identical(texts_to_sequences(tok, "z x y"), list(c(2L, 1L)))
  expect_identical(dim(texts_to_matrix(tok, "x")), c(1L, 3L))
  tok$oov_token <- "y"  # an existing word as the OOV token: its index is used for unknown words
  expect_identical(texts_to_sequences(tok, "q z"), list(c(1L, 1L)))
  tok$num_words <- "many"
  expect_error(texts_to_sequences(tok, "x"), "tokenizer\\$num_words")
})

test_that("texts_to_matrix() and sequences_to_matrix() fill rows by mode (by hand)", {
  tok <- fit_text_tokenizer(text_tokenizer(), c("a a b", "b c"))  # a=1, b=2, c=3; 2 documents
  m <- texts_to_matrix(tok, c("a a b", "c q"), mode = "count")
  expect_identical(dim(m), c(2L, 4L))
  expect_equal(m, rbind(c(0, 2, 1, 0), c(0, 0, 0, 1)))
  expect_equal(texts_to_matrix(tok, c("a a b", "c q")), rbind(c(0, 1, 1, 0), c(0, 0, 0, 1)))  # binary default
  expect_equal(sequences_to_matrix(tok, list(c(1, 1, 2, 7)), mode = "freq"), rbind(c(0, 2, 1, 0) / 4))
  # tfidf: (1 + log(count)) * log(1 + documents / (1 + documents with the word))
  expect_equal(sequences_to_matrix(tok, list(c(1, 1, 2)), mode = "tfidf"),
               rbind(c(0, (1 + log(2)) * log(1 + 2 / 2), log(1 + 2 / 3), 0)), tolerance = 1e-15)
  # a matrix of sequences is taken row by row; a length-1 sequence stays a sequence
  expect_equal(sequences_to_matrix(tok, list(3), mode = "count"), rbind(c(0, 0, 0, 1)))
  expect_equal(sequences_to_matrix(tok, rbind(c(1, 2), c(3, 3)), mode = "count"),
               rbind(c(0, 1, 1, 0), c(0, 0, 0, 2)))
  # num_words gives the number of columns
  wide <- fit_text_tokenizer(text_tokenizer(num_words = 6), "a b")
  expect_identical(dim(texts_to_matrix(wide, "a")), c(1L, 6L))
})

test_that("fit_text_tokenizer() on a list of sequences is fit_on_sequences()", {
  tok <- text_tokenizer(num_words = 5)
  fit_text_tokenizer(tok, list(c(1, 1, 4), 4L, integer()))
  expect_identical(tok$document_count, 3L)
  expect_identical(tok$index_docs, list(`1` = 1L, `4` = 2L))
  expect_equal(sequences_to_matrix(tok, list(c(4, 4)), mode = "tfidf"),
               rbind(c(0, 0, 0, 0, (1 + log(2)) * log(1 + 3 / 3))))
})

test_that("the tokenizer matches tf_keras' Tokenizer on the fixture corpus", {
  fx <- text_fixture()
  for (case in fx$tokenizers) {
    info <- case$name
    tok <- do.call(text_tokenizer, case$args)
    corpus <- c("The quick brown fox jumps over the lazy dog.", "The dog barks; the fox runs!",
                "A lazy afternoon: the dog sleeps, the fox waits...",
                "Don't stop (me) now -- I'm having such a good time",
                "Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9 \u00c9T\u00c9 \u00df",
                "tabs\tand\nnewlines\tare filters too", "", "dog dog dog fox")
    fit_text_tokenizer(tok, corpus[1:4])
    fit_text_tokenizer(tok, corpus[5:8])
    expect_identical(tok$document_count, case$document_count, info = info)
    expect_identical(tok$word_index, pairs_list(case$word_index), info = info)
    expect_identical(tok$word_counts, pairs_list(case$word_counts), info = info)
    expect_identical(tok$index_word, pairs_list(case$index_word), info = info)
    # word_docs / index_docs: same contents (Python's order follows its string hash)
    expect_identical(tok$word_docs[order(names(tok$word_docs))], case$word_docs[order(names(case$word_docs))],
                     info = info)
    expect_identical(tok$index_docs[order(as.integer(names(tok$index_docs)))],
                     case$index_docs[order(as.integer(names(case$index_docs)))], info = info)
    probes <- unlist(case$probes)
    seqs <- texts_to_sequences(tok, probes)
    expect_identical(seqs, lapply(case$sequences, function(s) as.integer(unlist(s))), info = info)
    expect_identical(sequences_to_texts(tok, c(seqs, list(c(1, 2, 3, 99, 0)))), unlist(case$texts), info = info)
    for (mode in names(case$matrix)) {
      expect_equal(texts_to_matrix(tok, probes, mode = mode), json_matrix(case$matrix[[mode]]), tolerance = 1e-14,
                   info = paste(info, mode))
    }
    # Python's to_json() loads in rkeras ...
    f <- tempfile(fileext = ".json")
    writeLines(enc2utf8(case$to_json), f, useBytes = TRUE)
    from_py <- load_text_tokenizer(f)
    for (field in c("word_index", "word_counts", "index_word", "document_count", "num_words", "oov_token",
                    "filters", "split", "lower", "char_level")) {
      expect_identical(from_py[[field]], tok[[field]], info = paste(info, field))
    }
    expect_identical(texts_to_sequences(from_py, probes), seqs, info = info)
    # ... and rkeras writes Keras' format: the same config, word_counts and word_index strings
    save_text_tokenizer(tok, f)
    ours <- jsonlite::fromJSON(f, simplifyVector = FALSE)
    theirs <- jsonlite::fromJSON(case$to_json, simplifyVector = FALSE)
    expect_identical(ours$class_name, "Tokenizer")
    expect_identical(names(ours$config), names(theirs$config), info = info)
    for (field in c("num_words", "filters", "lower", "split", "char_level", "oov_token", "document_count",
                    "word_counts", "word_index", "index_word")) {
      expect_identical(ours$config[[field]], theirs$config[[field]], info = paste(info, field))
    }
  }
})

test_that("fit on sequences and the matrices match tf_keras", {
  fx <- text_fixture()$fit_on_sequences
  seqs <- lapply(fx$sequences, function(s) as.integer(unlist(s)))
  tok <- text_tokenizer(num_words = 7)
  fit_text_tokenizer(tok, seqs)
  expect_identical(tok$document_count, fx$document_count)
  expect_identical(tok$index_docs[order(as.integer(names(tok$index_docs)))],
                   fx$index_docs[order(as.integer(names(fx$index_docs)))])
  for (mode in names(fx$matrix))
    expect_equal(sequences_to_matrix(tok, seqs, mode = mode), json_matrix(fx$matrix[[mode]]), tolerance = 1e-14)
})

test_that("text_to_word_sequence(), text_hashing_trick(md5) and make_sampling_table() match tf_keras", {
  fx <- text_fixture()
  for (w in fx$text_to_word_sequence) {
    expect_identical(do.call(text_to_word_sequence, c(list(w$text), w$args)), as.character(unlist(w$words)),
                     info = w$text)
  }
  for (h in fx$hashing_trick_md5) {
    expect_identical(text_hashing_trick(h$text, h$n, hash_function = "md5"), as.integer(unlist(h$indexes)),
                     info = h$text)
    # rkeras' default hash (NULL; Keras' is Python's salted hash()) is md5 too
    expect_identical(text_one_hot(h$text, h$n), as.integer(unlist(h$indexes)))
  }
  st <- fx$make_sampling_table
  expect_equal(make_sampling_table(st$size, st$factor), unlist(st$table), tolerance = 1e-15)
  expect_equal(make_sampling_table(10), unlist(st$default_10), tolerance = 1e-15)
  # by hand: md5("hello") = 5d41402abc4b2a76b9719d911017c592 is even (0 mod 2) and 4 mod 7
  # (n = 3 and n = 8)
  expect_identical(text_hashing_trick("hello", 3, hash_function = "md5"), 1L)
  expect_identical(text_hashing_trick("hello", 8, hash_function = "md5"), 5L)
  expect_identical(text_hashing_trick("a b", 10, hash_function = function(w) utf8ToInt(w)), c(97L, 98L) %% 9L + 1L)
  expect_identical(text_one_hot(text = "Hi hi", n = 50)[1], text_one_hot("hi", 50))
})

test_that("char_level tokenizers and the sequence generator", {
  tok <- fit_text_tokenizer(text_tokenizer(char_level = TRUE), c("abba", "c!"))
  expect_identical(tok$word_index, list(a = 1L, b = 2L, c = 3L, `!` = 4L))
  nxt <- texts_to_sequences_generator(tok, c("ab", "zc", "b"))
  expect_identical(nxt(), c(1L, 2L))
  expect_identical(nxt(), 3L)
  expect_identical(nxt(), 2L)
  expect_null(nxt())
  # a generator of texts can feed fit_text_tokenizer()
  chunks <- list(c("x y", "y"), "z")
  gen <- function() { if (!length(chunks)) return(NULL); ch <- chunks[[1]]; chunks[[1]] <<- NULL; ch }
  tok <- fit_text_tokenizer(text_tokenizer(), gen)
  expect_identical(tok$document_count, 3L)
  expect_identical(names(tok$word_index), c("y", "x", "z"))
})

test_that("a saved tokenizer loads in a new R session; saveRDS() keeps it too", {
  tok <- fit_text_tokenizer(text_tokenizer(num_words = 4, oov_token = "?"), c("caf\u00e9 au lait", "lait \"cru\""))
  f <- tempfile(fileext = ".json")
  expect_invisible(save_text_tokenizer(tok, f))
  got <- in_rscript({
    t2 <- load_text_tokenizer(args$file)
    list(word_index = t2$word_index, seq = texts_to_sequences(t2, c("lait caf\u00e9 x", "cru")))
  }, args = list(file = f))
  expect_identical(got$word_index, tok$word_index)
  expect_identical(got$seq, texts_to_sequences(tok, c("lait caf\u00e9 x", "cru")))
  r <- tempfile(fileext = ".rds")
  saveRDS(tok, r)
  expect_identical(texts_to_sequences(readRDS(r), "au lait"), texts_to_sequences(tok, "au lait"))
})

test_that("skipgrams() pairs words in windows and draws reproducibly with set.seed()", {
  sg <- skipgrams(c(1, 2, 0, 3), vocabulary_size = 4, window_size = 1, negative_samples = 0, shuffle = FALSE)
  expect_identical(sg, list(couples = list(c(1L, 2L), c(2L, 1L)), labels = c(1L, 1L)))
  sg <- skipgrams(c(1, 2, 3), vocabulary_size = 5, window_size = 2, shuffle = FALSE)
  expect_length(sg$couples, 12L)
  expect_identical(sg$labels, rep(c(1L, 0L), each = 6))
  negatives <- do.call(rbind, sg$couples[7:12])
  expect_true(all(negatives[, 1] %in% 1:3) && all(negatives[, 2] %in% 1:4))
  expect_identical(sort(negatives[, 1]), c(1L, 1L, 2L, 2L, 3L, 3L))  # each positive's first word once per pass
  set.seed(42); a <- skipgrams(1:20, 30)
  set.seed(42); b <- skipgrams(1:20, 30)
  expect_identical(a, b)
  set.seed(1); c1 <- skipgrams(1:20, 30, seed = 7)
  set.seed(1); c2 <- skipgrams(1:20, 30, seed = 8)
  expect_false(identical(c1$couples, c2$couples))
  # shuffling keeps each pair with its label
  key <- function(s) sort(paste(vapply(s$couples, paste, "", collapse = "-"), s$labels))
  set.seed(3); plain <- skipgrams(1:6, 10, shuffle = FALSE)
  set.seed(3); mixed <- skipgrams(1:6, 10)
  expect_identical(key(plain), key(mixed))
  cat_sg <- skipgrams(c(1, 2), 3, window_size = 1, categorical = TRUE, shuffle = FALSE)
  expect_identical(cat_sg$labels, list(c(0L, 1L), c(0L, 1L), c(1L, 0L), c(1L, 0L)))
  expect_length(skipgrams(1:3, 4, sampling_table = c(0, 0, 0, 0))$couples, 0L)
  expect_error(skipgrams(c(1, 9), 10, sampling_table = rep(1, 4)), "9.*sampling_table")
})

test_that("bad input gets errors naming the argument and the value", {
  tok <- text_tokenizer()
  expect_error(fit_text_tokenizer(tok, c("a", NA)), "`x` must not contain NA \\(element 2")
  expect_error(fit_text_tokenizer(tok, 1:3), "`x` must be a character vector")
  expect_error(fit_text_tokenizer(list(), "a"), "`object` must be a tokenizer")
  expect_error(texts_to_matrix(tok, "a"), "fit the tokenizer")
  fit_text_tokenizer(tok, "a b")
  expect_error(texts_to_matrix(tok, "a", mode = "bad"), "bad")
  expect_error(sequences_to_matrix(tok, list(c(1, -2))), "negative index -2")
  expect_error(sequences_to_matrix(tok, list(c(1, 2.5))), "sequences\\[\\[1\\]\\].*2.5")
  expect_error(sequences_to_matrix(text_tokenizer(num_words = 3), list(1), mode = "tfidf"), "tfidf")
  expect_error(text_tokenizer(num_words = -1), "`num_words`")
  expect_error(text_tokenizer(split = ""), "`split` must not be empty")
  expect_error(text_to_word_sequence(c("a", "b")), "`text` must be a single string")
  expect_error(text_hashing_trick("a", 1), "`n` must be a whole number from 2")
  expect_error(text_hashing_trick("a", 5, hash_function = "sha1"), "hash_function.*sha1")
  expect_error(make_sampling_table(0), "`size`")
  expect_error(skipgrams(c(1, NA), 3), "sequence")
  expect_error(skipgrams(1:3, 3, negative_samples = -1), "negative_samples")
  f <- tempfile()
  writeLines("[1, 2]", f)
  expect_error(load_text_tokenizer(f), "not a Keras tokenizer JSON file")
  expect_error(load_text_tokenizer(tempfile()), "does not exist")
})
