//! Text preprocessing with the semantics of Keras' `keras.preprocessing.text` (tf.keras 2 /
//! keras-preprocessing): `text_to_word_sequence`, the hashing trick, and the `Tokenizer`
//! (fit on texts or sequences, texts to sequences, sequences to matrices and back to texts).
//! Also the helpers behind `skipgrams()` and the IMDB / Reuters datasets: [`md5`],
//! [`pickle`] (the numpy object arrays in Keras' `.npz` files), [`mt19937`] (numpy's
//! `RandomState` shuffle) and [`datasets`].

pub mod datasets;
pub mod json;
pub mod md5;
pub mod mt19937;
pub mod pickle;

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::rng::Rng;

/// How a text becomes tokens: Keras' `text_to_word_sequence` (lower-case, replace every
/// character of `filters` by `split`, split on `split`, drop empty pieces), or with
/// `char_level` every character (after lower-casing; `filters` are not applied, as in Keras).
#[derive(Clone, Debug, PartialEq)]
pub struct Analyzer {
    pub filters: String,
    pub lower: bool,
    pub split: String,
    pub char_level: bool,
}

impl Analyzer {
    /// An analyzer; `split` must not be empty (Python's `str.split("")` is an error).
    pub fn new(filters: &str, lower: bool, split: &str, char_level: bool) -> Result<Self, String> {
        if split.is_empty() && !char_level {
            return Err("`split` must not be empty (it is the separator between words)".into());
        }
        Ok(Analyzer { filters: filters.to_string(), lower, split: split.to_string(), char_level })
    }

    /// The tokens of `text`.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let lowered;
        let text = if self.lower {
            lowered = text.to_lowercase();
            lowered.as_str()
        } else {
            text
        };
        if self.char_level {
            return text.chars().map(String::from).collect();
        }
        word_sequence(text, &self.filters, &self.split)
    }
}

/// Keras' `text_to_word_sequence` after lower-casing: every character of `filters` becomes
/// `split`, the text is split on `split` (a non-empty string), empty pieces are dropped.
fn word_sequence(text: &str, filters: &str, split: &str) -> Vec<String> {
    let translated: String;
    let text = if text.chars().any(|c| filters.contains(c)) {
        let mut t = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if filters.contains(c) {
                t.push_str(split);
            } else {
                t.push(c);
            }
        }
        translated = t;
        translated.as_str()
    } else {
        text
    };
    text.split(split).filter(|w| !w.is_empty()).map(String::from).collect()
}

/// Keras' `text_to_word_sequence(text, filters, lower, split)`.
pub fn text_to_word_sequence(text: &str, filters: &str, lower: bool, split: &str) -> Result<Vec<String>, String> {
    Ok(Analyzer::new(filters, lower, split, false)?.tokens(text))
}

/// Keras' `hashing_trick` with `hash_function = "md5"`: each word `w` of the text becomes
/// `int(md5(w.encode()).hexdigest(), 16) % (n - 1) + 1` (`n >= 2`).
pub fn hashing_trick_md5(text: &str, n: u64, analyzer: &Analyzer) -> Result<Vec<u64>, String> {
    if n < 2 {
        return Err(format!("`n` must be at least 2 (indexes are 1..n-1), got {n}"));
    }
    Ok(analyzer.tokens(text).iter().map(|w| md5_index(w, n)).collect())
}

/// `int(md5(w).hexdigest(), 16) % (n - 1) + 1`.
pub fn md5_index(w: &str, n: u64) -> u64 {
    let h = u128::from_be_bytes(md5::digest(w.as_bytes()));
    (h % (n as u128 - 1)) as u64 + 1
}

/// A map that keeps its keys in insertion order and, like a Python dict, keeps a key's
/// place when its value is replaced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderedMap<K: std::hash::Hash + Eq + Clone, V> {
    entries: Vec<(K, V)>,
    pos: HashMap<K, usize>,
}

impl<K: std::hash::Hash + Eq + Clone, V> OrderedMap<K, V> {
    pub fn new() -> Self {
        OrderedMap { entries: Vec::new(), pos: HashMap::new() }
    }
    pub fn insert(&mut self, k: K, v: V) {
        match self.pos.get(&k) {
            Some(&i) => self.entries[i].1 = v,
            None => {
                self.pos.insert(k.clone(), self.entries.len());
                self.entries.push((k, v));
            }
        }
    }
    pub fn get(&self, k: &K) -> Option<&V> {
        self.pos.get(k).map(|&i| &self.entries[i].1)
    }
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        match self.pos.get(k) {
            Some(&i) => Some(&mut self.entries[i].1),
            None => None,
        }
    }
    pub fn entries(&self) -> &[(K, V)] {
        &self.entries
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// How `sequences_to_matrix` fills a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatrixMode {
    Binary,
    Count,
    Tfidf,
    Freq,
}

impl MatrixMode {
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "binary" => MatrixMode::Binary,
            "count" => MatrixMode::Count,
            "tfidf" => MatrixMode::Tfidf,
            "freq" => MatrixMode::Freq,
            _ => return Err(format!("`mode` must be one of \"binary\", \"count\", \"tfidf\", \"freq\", got \"{s}\"")),
        })
    }
}

/// Keras' `Tokenizer`: the vocabulary state and its operations. Field names follow Keras.
#[derive(Clone, Debug, PartialEq)]
pub struct Tokenizer {
    pub analyzer: Analyzer,
    /// `None` (or 0): no limit; else only indexes below `num_words` are kept.
    pub num_words: Option<i64>,
    pub oov_token: Option<String>,
    pub document_count: i64,
    /// Occurrences of each word, in order of first occurrence (Keras' `OrderedDict`).
    pub word_counts: OrderedMap<String, i64>,
    /// Number of documents each word occurs in (Keras' `word_docs`; here in order of first
    /// occurrence, where Python's order follows its salted string hash).
    pub word_docs: OrderedMap<String, i64>,
    /// Word -> index (1-based), most frequent first; ties in order of first occurrence.
    pub word_index: OrderedMap<String, i64>,
    /// Index -> word.
    pub index_word: OrderedMap<i64, String>,
    /// Index -> number of documents (from `fit_on_texts` and `fit_on_sequences`).
    pub index_docs: BTreeMap<i64, i64>,
}

impl Tokenizer {
    pub fn new(analyzer: Analyzer, num_words: Option<i64>, oov_token: Option<String>) -> Self {
        Tokenizer {
            analyzer,
            num_words,
            oov_token,
            document_count: 0,
            word_counts: OrderedMap::new(),
            word_docs: OrderedMap::new(),
            word_index: OrderedMap::new(),
            index_word: OrderedMap::new(),
            index_docs: BTreeMap::new(),
        }
    }

    /// `fit_on_texts`: counts the words of each text and rebuilds the index.
    pub fn fit_on_texts<S: AsRef<str>>(&mut self, texts: &[S]) {
        for text in texts {
            self.document_count += 1;
            let seq = self.analyzer.tokens(text.as_ref());
            let mut seen: HashSet<&str> = HashSet::with_capacity(seq.len());
            for w in &seq {
                match self.word_counts.get_mut(w) {
                    Some(c) => *c += 1,
                    None => self.word_counts.insert(w.clone(), 1),
                }
                if seen.insert(w.as_str()) {
                    match self.word_docs.get_mut(w) {
                        Some(c) => *c += 1,
                        None => self.word_docs.insert(w.clone(), 1),
                    }
                }
            }
        }
        self.rebuild_index();
    }

    /// Rebuilds `word_index`, `index_word` and `index_docs` from the counts as Keras does at
    /// the end of `fit_on_texts`: a stable sort by count (descending), the OOV token first.
    pub fn rebuild_index(&mut self) {
        let counts = self.word_counts.entries();
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by(|&a, &b| counts[b].1.cmp(&counts[a].1)); // stable
        let mut word_index = OrderedMap::new();
        let mut next = 1i64;
        if let Some(oov) = &self.oov_token {
            word_index.insert(oov.clone(), next);
            next += 1;
        }
        for i in order {
            word_index.insert(counts[i].0.clone(), next);
            next += 1;
        }
        let mut index_word = OrderedMap::new();
        for (w, i) in word_index.entries() {
            index_word.insert(*i, w.clone());
        }
        for (w, c) in self.word_docs.entries() {
            if let Some(&i) = word_index.get(w) {
                self.index_docs.insert(i, *c);
            }
        }
        self.word_index = word_index;
        self.index_word = index_word;
    }

    /// `fit_on_sequences`: counts, per index, the sequences it occurs in.
    pub fn fit_on_sequences(&mut self, sequences: &[&[i64]]) {
        self.document_count += sequences.len() as i64;
        for seq in sequences {
            let set: HashSet<i64> = seq.iter().copied().collect();
            for i in set {
                *self.index_docs.entry(i).or_insert(0) += 1;
            }
        }
    }

    fn limit(&self) -> Option<i64> {
        self.num_words.filter(|&n| n != 0)
    }

    /// `texts_to_sequences` for one text: word indexes; words outside the vocabulary or
    /// with index `>= num_words` become the OOV index, or are dropped without an OOV token.
    pub fn text_to_sequence(&self, text: &str) -> Vec<i64> {
        let limit = self.limit();
        let oov = self.oov_token.as_ref().and_then(|t| self.word_index.get(t)).copied();
        let mut out = Vec::new();
        for w in self.analyzer.tokens(text) {
            match self.word_index.get(&w) {
                Some(&i) => {
                    if limit.is_some_and(|n| i >= n) {
                        out.extend(oov);
                    } else {
                        out.push(i);
                    }
                }
                None => {
                    if self.oov_token.is_some() {
                        // Keras appends None here when the OOV token is not in word_index
                        out.extend(oov);
                    }
                }
            }
        }
        out
    }

    /// `sequences_to_texts` for one sequence: the words joined by single spaces.
    pub fn sequence_to_text(&self, seq: &[i64]) -> String {
        let limit = self.limit();
        let oov = self.oov_token.as_ref().and_then(|t| self.word_index.get(t)).copied();
        let oov_word = oov.and_then(|i| self.index_word.get(&i));
        let mut words: Vec<&str> = Vec::new();
        for num in seq {
            match self.index_word.get(num) {
                Some(w) => {
                    if limit.is_some_and(|n| *num >= n) {
                        words.extend(oov_word.map(|s| s.as_str()));
                    } else {
                        words.push(w);
                    }
                }
                None => {
                    if self.oov_token.is_some() {
                        words.extend(oov_word.map(|s| s.as_str()));
                    }
                }
            }
        }
        words.join(" ")
    }

    /// The number of columns `sequences_to_matrix` makes: `num_words`, else the vocabulary
    /// size + 1.
    pub fn matrix_columns(&self) -> Result<usize, String> {
        match self.limit() {
            Some(n) if n > 0 => Ok(n as usize),
            Some(n) => Err(format!("`num_words` must be positive to make a matrix, got {n}")),
            None if !self.word_index.is_empty() => Ok(self.word_index.len() + 1),
            None => Err("specify a dimension (`num_words` in text_tokenizer()), or fit the tokenizer on some text \
                         data first"
                .into()),
        }
    }

    /// `sequences_to_matrix`: an `n x num_words` matrix in column-major order (R's layout).
    /// Indexes `>= num_words` are ignored; negative indexes are an error naming the sequence.
    pub fn sequences_to_matrix(&self, sequences: &[&[i64]], mode: MatrixMode) -> Result<(usize, Vec<f64>), String> {
        let cols = self.matrix_columns()?;
        if mode == MatrixMode::Tfidf && self.document_count == 0 {
            return Err("fit the tokenizer on some data before using mode \"tfidf\"".into());
        }
        let n = sequences.len();
        let mut out = vec![0.0; n * cols];
        let mut counts: HashMap<usize, i64> = HashMap::new();
        for (i, seq) in sequences.iter().enumerate() {
            counts.clear();
            for &j in seq.iter() {
                if j < 0 {
                    return Err(format!("sequence {} holds the negative index {j}", i + 1));
                }
                if (j as u64) < cols as u64 {
                    *counts.entry(j as usize).or_insert(0) += 1;
                }
            }
            for (&j, &c) in &counts {
                out[i + n * j] = match mode {
                    MatrixMode::Count => c as f64,
                    MatrixMode::Freq => c as f64 / seq.len() as f64,
                    MatrixMode::Binary => 1.0,
                    MatrixMode::Tfidf => {
                        let tf = 1.0 + (c as f64).ln();
                        let docs = self.index_docs.get(&(j as i64)).copied().unwrap_or(0);
                        let idf = (1.0 + self.document_count as f64 / (1.0 + docs as f64)).ln();
                        tf * idf
                    }
                };
            }
        }
        Ok((cols, out))
    }
}

/// Keras' `make_sampling_table(size, sampling_factor)`: the word2vec sampling probability of
/// the word of rank `i` under Zipf's law, `min(1, f / sqrt(f))` with
/// `f = sampling_factor * (r (ln r + 0.577) + 1/2 - 1/(12 r))`, `r = max(i, 1)`.
pub fn make_sampling_table(size: usize, sampling_factor: f64) -> Vec<f64> {
    (0..size)
        .map(|i| {
            let r = i.max(1) as f64;
            let inv_fq = r * (r.ln() + 0.577) + 0.5 - 1.0 / (12.0 * r);
            let f = sampling_factor * inv_fq;
            (f / f.sqrt()).min(1.0)
        })
        .collect()
}

/// The pairs and labels of Keras' `skipgrams`.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipgrams {
    pub couples: Vec<[i64; 2]>,
    /// 1 for a pair from the same window, 0 for a negative sample.
    pub labels: Vec<u8>,
}

/// Keras' `skipgrams`: for each non-zero word `w_i` (kept with probability
/// `sampling_table[w_i]` when a table is given), the pairs `(w_i, w_j)` with `w_j` non-zero in
/// the window `i - window_size ..= i + window_size`, label 1; then
/// `floor(n_positive * negative_samples)` pairs (first words of the positive pairs in random
/// order, cycled; a random word from `1..vocabulary_size-1`), label 0; then, with `shuffle`,
/// one permutation applied to both (drawn from `shuffle_rng`).
pub fn skipgrams(
    sequence: &[i64],
    vocabulary_size: i64,
    window_size: usize,
    negative_samples: f64,
    sampling_table: Option<&[f64]>,
    rng: &mut Rng,
    shuffle_rng: Option<&mut Rng>,
) -> Result<Skipgrams, String> {
    let mut couples = Vec::new();
    for (i, &wi) in sequence.iter().enumerate() {
        if wi == 0 {
            continue;
        }
        if let Some(table) = sampling_table {
            let p = usize::try_from(wi).ok().and_then(|k| table.get(k)).ok_or_else(|| {
                format!(
                    "`sequence` holds the word index {wi} (position {}), outside `sampling_table` (length {})",
                    i + 1,
                    table.len()
                )
            })?;
            if *p < rng.uniform() {
                continue;
            }
        }
        let start = i.saturating_sub(window_size);
        let end = (i + window_size + 1).min(sequence.len());
        for (j, &wj) in sequence.iter().enumerate().take(end).skip(start) {
            if j != i && wj != 0 {
                couples.push([wi, wj]);
            }
        }
    }
    let mut labels = vec![1u8; couples.len()];
    if negative_samples > 0.0 {
        let n_neg = (couples.len() as f64 * negative_samples) as usize;
        if n_neg > 0 {
            if vocabulary_size < 2 {
                return Err(format!(
                    "`vocabulary_size` must be at least 2 to draw negative samples, got {vocabulary_size}"
                ));
            }
            let mut words: Vec<i64> = couples.iter().map(|c| c[0]).collect();
            rng.shuffle(&mut words);
            let range = (vocabulary_size - 1) as usize;
            for k in 0..n_neg {
                let w = words[k % words.len()];
                couples.push([w, 1 + rng.below(range) as i64]);
            }
            labels.resize(couples.len(), 0);
        }
    }
    if let Some(srng) = shuffle_rng {
        let mut perm: Vec<usize> = (0..couples.len()).collect();
        srng.shuffle(&mut perm);
        couples = perm.iter().map(|&k| couples[k]).collect();
        labels = perm.iter().map(|&k| labels[k]).collect();
    }
    Ok(Skipgrams { couples, labels })
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
