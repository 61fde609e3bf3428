//! Text utilities and the IMDB / Reuters readers: conversions around `rkeras_core::text`.
//!
//! The tokenizer's state lives in R (an environment of plain named lists, as keras for R
//! shows Keras' dicts); each call rebuilds the core `Tokenizer` from it and hands back the
//! new fields after a fit.

use extendr_api::prelude::*;
use rkeras_core::rng::Rng;
use rkeras_core::text::datasets::{self, Part, SeqOptions};
use rkeras_core::text::{self as text, json, pickle, Analyzer, MatrixMode, OrderedMap, Tokenizer};

type R<T> = std::result::Result<T, String>;

fn field(state: &List, name: &str) -> R<Robj> {
    state.dollar(name).map_err(|_| format!("the tokenizer has no field `{name}`"))
}

fn opt_string(x: &Robj, name: &str) -> R<Option<String>> {
    if x.is_null() {
        return Ok(None);
    }
    match x.as_str() {
        Some(s) => Ok(Some(s.to_string())),
        None => Err(format!("the tokenizer's `{name}` must be NULL or a string")),
    }
}

fn scalar_i64(x: &Robj, what: &str) -> R<i64> {
    if let Some(v) = x.as_integer() {
        if !x.is_na() {
            return Ok(v as i64);
        }
    }
    match x.as_real() {
        Some(v) if v.is_finite() && v == v.trunc() => Ok(v as i64),
        _ => Err(format!("{what} must be a whole number")),
    }
}

fn opt_i64(x: &Robj, what: &str) -> R<Option<i64>> {
    if x.is_null() {
        Ok(None)
    } else {
        scalar_i64(x, what).map(Some)
    }
}

/// A dictionary field as R sends it: `list(names, values)` (R has `unlist()`ed the named list).
struct Compact {
    keys: Vec<String>,
    values: Robj,
}

fn compact(x: &Robj, what: &str) -> R<Compact> {
    let bad = || format!("the tokenizer's `{what}` must be a named list");
    let l = x.as_list().ok_or_else(bad)?;
    if l.len() != 2 {
        return Err(bad());
    }
    let keys_robj = l.elt(0).map_err(|_| bad())?;
    let values = l.elt(1).map_err(|_| bad())?;
    let keys: Vec<String> = if keys_robj.is_null() {
        Vec::new()
    } else {
        keys_robj.as_str_iter().ok_or_else(bad)?.map(String::from).collect()
    };
    if keys.len() != values.len() {
        return Err(bad());
    }
    Ok(Compact { keys, values })
}

fn compact_ints(c: &Compact, what: &str) -> R<Vec<i64>> {
    if c.keys.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(v) = c.values.as_integer_slice() {
        return v
            .iter()
            .zip(&c.keys)
            .map(|(&x, k)| if x == i32::MIN { Err(format!("`{what}[[\"{k}\"]]` is NA")) } else { Ok(x as i64) })
            .collect();
    }
    if let Some(v) = c.values.as_real_slice() {
        return v
            .iter()
            .zip(&c.keys)
            .map(|(&x, k)| {
                if x.is_finite() && x == x.trunc() {
                    Ok(x as i64)
                } else {
                    Err(format!("`{what}[[\"{k}\"]]` must be a whole number, got {x}"))
                }
            })
            .collect();
    }
    Err(format!("the values of the tokenizer's `{what}` must be whole numbers"))
}

fn string_map(x: &Robj, what: &str) -> R<OrderedMap<String, i64>> {
    let c = compact(x, what)?;
    let values = compact_ints(&c, what)?;
    let mut m = OrderedMap::new();
    for (k, v) in c.keys.into_iter().zip(values) {
        m.insert(k, v);
    }
    Ok(m)
}

fn key_of(k: &str, what: &str) -> R<i64> {
    k.parse().map_err(|_| format!("the names of the tokenizer's `{what}` must be integers, got \"{k}\""))
}

/// The core tokenizer from the fields of an R tokenizer (`as.list(tokenizer)`).
fn tokenizer_from_state(state: &List) -> R<Tokenizer> {
    let s = |n: &str| -> R<String> {
        field(state, n)?.as_str().map(String::from).ok_or_else(|| format!("the tokenizer's `{n}` must be a string"))
    };
    let b = |n: &str| -> R<bool> {
        field(state, n)?.as_bool().ok_or_else(|| format!("the tokenizer's `{n}` must be TRUE or FALSE"))
    };
    let analyzer = Analyzer::new(&s("filters")?, b("lower")?, &s("split")?, b("char_level")?)?;
    let num_words = opt_i64(&field(state, "num_words")?, "the tokenizer's `num_words`")?;
    let oov = opt_string(&field(state, "oov_token")?, "oov_token")?;
    let mut t = Tokenizer::new(analyzer, num_words, oov);
    t.document_count = scalar_i64(&field(state, "document_count")?, "the tokenizer's `document_count`")?;
    t.word_counts = string_map(&field(state, "word_counts")?, "word_counts")?;
    t.word_docs = string_map(&field(state, "word_docs")?, "word_docs")?;
    t.word_index = string_map(&field(state, "word_index")?, "word_index")?;
    let iw = compact(&field(state, "index_word")?, "index_word")?;
    if !iw.keys.is_empty() {
        let words = iw.values.as_str_iter().ok_or("the values of the tokenizer's `index_word` must be strings")?;
        for (k, w) in iw.keys.iter().zip(words) {
            t.index_word.insert(key_of(k, "index_word")?, w.to_string());
        }
    }
    let id = compact(&field(state, "index_docs")?, "index_docs")?;
    for (k, c) in id.keys.iter().zip(compact_ints(&id, "index_docs")?) {
        t.index_docs.insert(key_of(k, "index_docs")?, c);
    }
    Ok(t)
}

fn int_robj(v: i64) -> Robj {
    if v.abs() <= i32::MAX as i64 {
        Robj::from(v as i32)
    } else {
        Robj::from(v as f64)
    }
}

/// A dictionary as `list(keys, values)` (R turns it into a named list with `as.list()`).
fn compact_ints_r<K: ToString>(entries: impl Iterator<Item = (K, i64)>) -> Robj {
    let (keys, values): (Vec<String>, Vec<i64>) = entries.map(|(k, v)| (k.to_string(), v)).unzip();
    let values: Robj = if values.iter().all(|v| v.abs() <= i32::MAX as i64) {
        Integers::from_values(values.iter().map(|&v| v as i32)).into()
    } else {
        Doubles::from_values(values.iter().map(|&v| v as f64)).into()
    };
    List::from_values([Robj::from(Strings::from_values(keys)), values]).into()
}

fn compact_strings_r<K: ToString>(entries: impl Iterator<Item = (K, String)>) -> Robj {
    let (keys, values): (Vec<String>, Vec<String>) = entries.map(|(k, v)| (k.to_string(), v)).unzip();
    List::from_values([Strings::from_values(keys), Strings::from_values(values)]).into()
}

/// The fields of a core tokenizer as R values (dictionaries as `list(keys, values)`).
fn state_to_r(t: &Tokenizer) -> R<Robj> {
    let counts = |m: &OrderedMap<String, i64>| compact_ints_r(m.entries().iter().map(|(k, v)| (k, *v)));
    let values: Vec<Robj> = vec![
        t.num_words.map_or(().into(), int_robj),
        t.analyzer.filters.clone().into(),
        t.analyzer.lower.into(),
        t.analyzer.split.clone().into(),
        t.analyzer.char_level.into(),
        t.oov_token.clone().map_or(().into(), Robj::from),
        int_robj(t.document_count),
        counts(&t.word_counts),
        counts(&t.word_docs),
        counts(&t.word_index),
        compact_strings_r(t.index_word.entries().iter().map(|(k, v)| (k, v.clone()))),
        compact_ints_r(t.index_docs.iter().map(|(k, v)| (k, *v))),
    ];
    let names = [
        "num_words",
        "filters",
        "lower",
        "split",
        "char_level",
        "oov_token",
        "document_count",
        "word_counts",
        "word_docs",
        "word_index",
        "index_word",
        "index_docs",
    ];
    List::from_names_and_values(names, values).map(Robj::from).map_err(|e| e.to_string())
}

fn strings_of(texts: &Strings, what: &str) -> R<Vec<String>> {
    texts
        .iter()
        .enumerate()
        .map(|(i, s)| if s.is_na() { Err(format!("`{what}` element {} is NA", i + 1)) } else { Ok(s.to_string()) })
        .collect()
}

/// A list of integer vectors (R has checked and coerced them) as core sequences.
fn sequences_of(seqs: &List, what: &str) -> R<Vec<Vec<i64>>> {
    seqs.values()
        .enumerate()
        .map(|(i, v)| match v.as_integer_slice() {
            Some(s) => Ok(s.iter().map(|&x| x as i64).collect()),
            None if v.len() == 0 => Ok(Vec::new()),
            None => Err(format!("`{what}` element {} must be an integer vector", i + 1)),
        })
        .collect()
}

fn int_vec(v: &[i64], what: &str) -> R<Robj> {
    let ints: Vec<i32> = v
        .iter()
        .map(|&x| i32::try_from(x).map_err(|_| format!("{what}: the value {x} does not fit in an R integer")))
        .collect::<R<_>>()?;
    Ok(Integers::from_values(ints).into())
}

fn seq_list(seqs: &[Vec<i64>], what: &str) -> R<Robj> {
    let items: Vec<Robj> = seqs.iter().map(|s| int_vec(s, what)).collect::<R<_>>()?;
    Ok(List::from_values(items).into())
}

fn handle(h: Robj) -> R<ExternalPtr<Tokenizer>> {
    h.try_into().map_err(|_| "not a tokenizer handle".to_string())
}

/// A core tokenizer built from the fields of an R tokenizer (kept by R with a snapshot of
/// those fields, and rebuilt when they change or after `readRDS()`).
#[extendr]
fn rk_text_handle(state: List) -> R<Robj> {
    Ok(ExternalPtr::new(tokenizer_from_state(&state)?).into())
}

#[extendr]
fn rk_text_handle_ok(h: Robj) -> bool {
    handle(h).map(|p| p.try_addr().is_ok()).unwrap_or(false)
}

fn with_tokenizer<T>(h: Robj, f: impl FnOnce(&mut Tokenizer) -> R<T>) -> R<T> {
    let mut p = handle(h)?;
    let t = p.try_addr_mut().map_err(|_| "the tokenizer handle is empty".to_string())?;
    f(t)
}

/// `fit_text_tokenizer()` on texts: updates the tokenizer behind `h`, returns the new fields.
#[extendr]
fn rk_text_fit(h: Robj, texts: Strings) -> R<Robj> {
    let texts = strings_of(&texts, "x")?;
    with_tokenizer(h, |t| {
        t.fit_on_texts(&texts);
        state_to_r(t)
    })
}

/// `fit_text_tokenizer()` on sequences: updates the tokenizer, returns the new fields.
#[extendr]
fn rk_text_fit_sequences(h: Robj, seqs: List) -> R<Robj> {
    let s = sequences_of(&seqs, "x")?;
    with_tokenizer(h, |t| {
        t.fit_on_sequences(&s.iter().map(|v| v.as_slice()).collect::<Vec<_>>());
        state_to_r(t)
    })
}

#[extendr]
fn rk_texts_to_sequences(h: Robj, texts: Strings) -> R<Robj> {
    let p = handle(h)?;
    let t = p.try_addr().map_err(|_| "the tokenizer handle is empty".to_string())?;
    let seqs: Vec<Vec<i64>> = strings_of(&texts, "texts")?.iter().map(|x| t.text_to_sequence(x)).collect();
    seq_list(&seqs, "texts_to_sequences()")
}

#[extendr]
fn rk_sequences_to_texts(h: Robj, seqs: List) -> R<Robj> {
    let p = handle(h)?;
    let t = p.try_addr().map_err(|_| "the tokenizer handle is empty".to_string())?;
    let out: Vec<String> = sequences_of(&seqs, "sequences")?.iter().map(|s| t.sequence_to_text(s)).collect();
    Ok(Strings::from_values(out).into())
}

#[extendr]
fn rk_sequences_to_matrix(h: Robj, seqs: List, mode: &str) -> R<Robj> {
    let p = handle(h)?;
    let t = p.try_addr().map_err(|_| "the tokenizer handle is empty".to_string())?;
    let s = sequences_of(&seqs, "sequences")?;
    let (cols, data) =
        t.sequences_to_matrix(&s.iter().map(|v| v.as_slice()).collect::<Vec<_>>(), MatrixMode::parse(mode)?)?;
    let mut r: Robj = Doubles::from_values(data).into();
    r.set_attrib("dim", vec![s.len() as i32, cols as i32]).map_err(|e| e.to_string())?;
    Ok(r)
}

#[extendr]
fn rk_tokenizer_to_json(h: Robj) -> R<String> {
    let p = handle(h)?;
    let t = p.try_addr().map_err(|_| "the tokenizer handle is empty".to_string())?;
    Ok(json::tokenizer_to_json(t))
}

#[extendr]
fn rk_tokenizer_from_json(text: &str) -> R<Robj> {
    state_to_r(&json::tokenizer_from_json(text)?)
}

#[extendr]
fn rk_text_to_word_sequence(text: &str, filters: &str, lower: bool, split: &str) -> R<Robj> {
    Ok(Strings::from_values(text::text_to_word_sequence(text, filters, lower, split)?).into())
}

/// `text_hashing_trick()` with md5 (also rkeras' choice for `hash_function = NULL`).
#[extendr]
fn rk_text_hashing_md5(text: &str, n: f64, filters: &str, lower: bool, split: &str) -> R<Robj> {
    let a = Analyzer::new(filters, lower, split, false)?;
    let v = text::hashing_trick_md5(text, n as u64, &a)?;
    Ok(Doubles::from_values(v.into_iter().map(|x| x as f64)).into())
}

#[extendr]
fn rk_make_sampling_table(size: i32, sampling_factor: f64) -> Robj {
    Doubles::from_values(text::make_sampling_table(size.max(0) as usize, sampling_factor)).into()
}

/// `skipgrams()`: list(couples = list of c(w, context), labels = integer vector).
#[extendr]
fn rk_skipgrams(
    sequence: &[i32],
    vocabulary_size: f64,
    window_size: i32,
    negative_samples: f64,
    sampling_table: Nullable<Vec<f64>>,
    seed: f64,
    shuffle_seed: Nullable<f64>,
) -> R<Robj> {
    let seq: Vec<i64> = sequence.iter().map(|&x| x as i64).collect();
    let table = match &sampling_table {
        Nullable::NotNull(t) => Some(t.as_slice()),
        Nullable::Null => None,
    };
    let mut rng = Rng::seed_from(seed as u64);
    let mut srng = match shuffle_seed {
        Nullable::NotNull(s) => Some(Rng::seed_from(s as u64)),
        Nullable::Null => None,
    };
    let sg = text::skipgrams(
        &seq,
        vocabulary_size as i64,
        window_size.max(0) as usize,
        negative_samples,
        table,
        &mut rng,
        srng.as_mut(),
    )?;
    let couples: Vec<Robj> =
        sg.couples.iter().map(|c| Integers::from_values([c[0] as i32, c[1] as i32]).into()).collect();
    let labels: Vec<i32> = sg.labels.iter().map(|&l| l as i32).collect();
    List::from_names_and_values(
        ["couples", "labels"],
        [Robj::from(List::from_values(couples)), Integers::from_values(labels).into()],
    )
    .map(Robj::from)
    .map_err(|e| e.to_string())
}

/// The elements of an object `.npy` file (a numpy object array of integer lists) as a list
/// of integer vectors.
#[extendr]
fn rk_npy_object_int_lists(path: &str) -> R<Robj> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read '{path}': {e}"))?;
    let lists = pickle::read_npy_object_int_lists(&bytes).map_err(|e| format!("'{path}': {e}"))?;
    seq_list(&lists, path)
}

fn seq_options(o: &List) -> R<SeqOptions> {
    let get = |n: &str| -> R<Option<i64>> { opt_i64(&field(o, n)?, &format!("`{n}`")) };
    let seed = get("seed")?.unwrap_or(113);
    let seed = u32::try_from(seed).map_err(|_| format!("`seed` must be between 0 and 2^32 - 1, got {seed}"))?;
    Ok(SeqOptions {
        num_words: get("num_words")?,
        skip_top: get("skip_top")?.unwrap_or(0),
        maxlen: get("maxlen")?,
        seed,
        start_char: get("start_char")?,
        oov_char: get("oov_char")?,
        index_from: get("index_from")?.unwrap_or(0),
    })
}

fn part_of(x: &List, y: &[i32], what: &str) -> R<Part> {
    Ok(Part { x: sequences_of(x, what)?, y: y.iter().map(|&v| v as i64).collect() })
}

fn part_to_r(p: &Part, what: &str) -> R<Robj> {
    List::from_names_and_values(["x", "y"], [seq_list(&p.x, what)?, int_vec(&p.y, what)?])
        .map(Robj::from)
        .map_err(|e| e.to_string())
}

fn parts_to_r(train: &Part, test: &Part) -> R<Robj> {
    List::from_names_and_values(["train", "test"], [part_to_r(train, "train")?, part_to_r(test, "test")?])
        .map(Robj::from)
        .map_err(|e| e.to_string())
}

#[extendr]
fn rk_imdb_process(x_train: List, y_train: &[i32], x_test: List, y_test: &[i32], options: List) -> R<Robj> {
    let o = seq_options(&options)?;
    let (tr, te) = datasets::imdb(part_of(&x_train, y_train, "x_train")?, part_of(&x_test, y_test, "x_test")?, &o)?;
    parts_to_r(&tr, &te)
}

#[extendr]
fn rk_reuters_process(x: List, y: &[i32], test_split: f64, options: List) -> R<Robj> {
    let o = seq_options(&options)?;
    let (tr, te) = datasets::reuters(part_of(&x, y, "x")?, test_split, &o)?;
    parts_to_r(&tr, &te)
}

/// A word-index JSON file (`{"word": index, ...}`) as `list(words, indexes)` in file order.
#[extendr]
fn rk_read_word_index(path: &str) -> R<Robj> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read '{path}': {e}"))?;
    let pairs = json::word_index(&text).map_err(|e| format!("'{path}': {e}"))?;
    Ok(compact_ints_r(pairs.into_iter()))
}

extendr_module! {
    mod r_text;
    fn rk_text_handle;
    fn rk_text_handle_ok;
    fn rk_text_fit;
    fn rk_text_fit_sequences;
    fn rk_texts_to_sequences;
    fn rk_sequences_to_texts;
    fn rk_sequences_to_matrix;
    fn rk_tokenizer_to_json;
    fn rk_tokenizer_from_json;
    fn rk_text_to_word_sequence;
    fn rk_text_hashing_md5;
    fn rk_make_sampling_table;
    fn rk_skipgrams;
    fn rk_npy_object_int_lists;
    fn rk_imdb_process;
    fn rk_reuters_process;
    fn rk_read_word_index;
}
