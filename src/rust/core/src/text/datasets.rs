//! The processing of Keras' `imdb.load_data()` and `reuters.load_data()` on the raw word
//! sequences and labels of their `.npz` files: shuffle with `np.random.RandomState(seed)`,
//! `start_char` / `index_from`, drop sequences of `maxlen` or more, words outside
//! `skip_top <= w < num_words` become `oov_char` (or are dropped).

use super::mt19937::Mt19937;

/// Options shared by both datasets (Keras' argument names).
#[derive(Clone, Debug, PartialEq)]
pub struct SeqOptions {
    pub num_words: Option<i64>,
    pub skip_top: i64,
    pub maxlen: Option<i64>,
    pub seed: u32,
    pub start_char: Option<i64>,
    pub oov_char: Option<i64>,
    pub index_from: i64,
}

/// Sequences and their labels.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Part {
    pub x: Vec<Vec<i64>>,
    pub y: Vec<i64>,
}

fn check_lengths(what: &str, x: usize, y: usize) -> Result<(), String> {
    if x != y {
        return Err(format!("{what}: {x} sequences but {y} labels"));
    }
    Ok(())
}

fn shuffled(x: Vec<Vec<i64>>, y: Vec<i64>, rng: &mut Mt19937) -> Part {
    let perm = rng.permutation(x.len());
    let mut xs: Vec<Option<Vec<i64>>> = x.into_iter().map(Some).collect();
    Part {
        x: perm.iter().map(|&i| xs[i].take().unwrap_or_default()).collect(),
        y: perm.iter().map(|&i| y[i]).collect(),
    }
}

fn shift(part: &mut Part, o: &SeqOptions) {
    for s in &mut part.x {
        for w in s.iter_mut() {
            *w += o.index_from;
        }
        if let Some(sc) = o.start_char {
            s.insert(0, sc);
        }
    }
}

fn remove_long(part: Part, maxlen: i64) -> Part {
    let mut out = Part::default();
    for (x, y) in part.x.into_iter().zip(part.y) {
        if (x.len() as i64) < maxlen {
            out.x.push(x);
            out.y.push(y);
        }
    }
    out
}

/// The words outside `skip_top <= w < num_words` become `oov_char`, or are dropped without
/// one. Without `num_words` (or 0) Keras takes the largest index present, which itself then
/// falls outside (`w < num_words`): kept as in Keras.
fn recode(parts: &mut [&mut Part], o: &SeqOptions) -> Result<(), String> {
    let num_words = match o.num_words.filter(|&n| n != 0) {
        Some(n) => n,
        None => parts
            .iter()
            .flat_map(|p| p.x.iter())
            .filter_map(|s| s.iter().copied().max())
            .max()
            .ok_or("no sequence left to take `num_words` from")?,
    };
    for p in parts.iter_mut() {
        for s in &mut p.x {
            match o.oov_char {
                Some(oov) => {
                    for w in s.iter_mut() {
                        if !(o.skip_top <= *w && *w < num_words) {
                            *w = oov;
                        }
                    }
                }
                None => s.retain(|w| o.skip_top <= *w && *w < num_words),
            }
        }
    }
    Ok(())
}

/// `keras.datasets.imdb.load_data()` after reading the file.
pub fn imdb(train: Part, test: Part, o: &SeqOptions) -> Result<(Part, Part), String> {
    check_lengths("x_train / y_train", train.x.len(), train.y.len())?;
    check_lengths("x_test / y_test", test.x.len(), test.y.len())?;
    let mut rng = Mt19937::new(o.seed);
    let mut train = shuffled(train.x, train.y, &mut rng);
    let mut test = shuffled(test.x, test.y, &mut rng);
    shift(&mut train, o);
    shift(&mut test, o);
    if let Some(maxlen) = o.maxlen.filter(|&m| m != 0) {
        train = remove_long(train, maxlen);
        test = remove_long(test, maxlen);
        if train.x.is_empty() || test.x.is_empty() {
            return Err(format!(
                "after filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. Increase maxlen."
            ));
        }
    }
    recode(&mut [&mut train, &mut test], o)?;
    Ok((train, test))
}

/// `keras.datasets.reuters.load_data()` after reading the file: the shuffled, processed
/// rows, the first `int(n * (1 - test_split))` for training.
pub fn reuters(all: Part, test_split: f64, o: &SeqOptions) -> Result<(Part, Part), String> {
    check_lengths("x / y", all.x.len(), all.y.len())?;
    let mut rng = Mt19937::new(o.seed);
    let mut all = shuffled(all.x, all.y, &mut rng);
    shift(&mut all, o);
    if let Some(maxlen) = o.maxlen.filter(|&m| m != 0) {
        all = remove_long(all, maxlen);
    }
    recode(&mut [&mut all], o)?;
    let idx = ((all.x.len() as f64 * (1.0 - test_split)) as usize).min(all.x.len());
    let test = Part { x: all.x.split_off(idx), y: all.y.split_off(idx) };
    Ok((all, test))
}
