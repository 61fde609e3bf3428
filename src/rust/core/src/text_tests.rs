use super::json::{py_string, tokenizer_from_json, tokenizer_to_json, word_index};
use super::pickle::read_object_int_lists;
use super::*;

const FILTERS: &str = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

fn tok(num_words: Option<i64>, oov: Option<&str>) -> Tokenizer {
    Tokenizer::new(Analyzer::new(FILTERS, true, " ", false).unwrap(), num_words, oov.map(String::from))
}

#[test]
fn word_sequence_filters_lowers_and_splits() {
    assert_eq!(
        text_to_word_sequence("This is a sample sentence.", FILTERS, true, " ").unwrap(),
        ["this", "is", "a", "sample", "sentence"]
    );
    assert_eq!(text_to_word_sequence("Don't--STOP\tme", FILTERS, false, " ").unwrap(), ["Don't", "STOP", "me"]);
    // a multi-character separator, filters become it (as in tf_keras: "a,  b, , c" split on ", ")
    assert_eq!(text_to_word_sequence("a, b,,c", ",", true, ", ").unwrap(), ["a", " b", "c"]);
    assert!(text_to_word_sequence("x", FILTERS, true, "").is_err());
    let chars = Analyzer::new(FILTERS, true, " ", true).unwrap();
    assert_eq!(chars.tokens("Ab!"), ["a", "b", "!"]);
}

#[test]
fn fit_orders_index_by_count_then_first_occurrence() {
    let mut t = tok(None, None);
    t.fit_on_texts(&["b a c", "c b", "d b"]);
    assert_eq!(t.document_count, 3);
    let wc: Vec<(&str, i64)> = t.word_counts.entries().iter().map(|(w, c)| (w.as_str(), *c)).collect();
    assert_eq!(wc, [("b", 3), ("a", 1), ("c", 2), ("d", 1)]);
    let wi: Vec<(&str, i64)> = t.word_index.entries().iter().map(|(w, c)| (w.as_str(), *c)).collect();
    assert_eq!(wi, [("b", 1), ("c", 2), ("a", 3), ("d", 4)]);
    assert_eq!(t.index_word.get(&3).unwrap(), "a");
    assert_eq!(t.word_docs.get(&"b".to_string()), Some(&3));
    assert_eq!(t.index_docs.get(&2), Some(&2));
    assert_eq!(t.text_to_sequence("b e c a"), [1, 2, 3]);
    // num_words = 3 keeps indexes 1 and 2
    t.num_words = Some(3);
    assert_eq!(t.text_to_sequence("b e c a"), [1, 2]);
    assert_eq!(t.sequence_to_text(&[1, 3, 9, 2]), "b c");
}

#[test]
fn oov_token_takes_index_one() {
    let mut t = tok(Some(3), Some("<unk>"));
    t.fit_on_texts(&["x y y", "z"]);
    let wi: Vec<(&str, i64)> = t.word_index.entries().iter().map(|(w, c)| (w.as_str(), *c)).collect();
    assert_eq!(wi, [("<unk>", 1), ("y", 2), ("x", 3), ("z", 4)]);
    assert_eq!(t.text_to_sequence("y x q"), [2, 1, 1]);
    assert_eq!(t.sequence_to_text(&[2, 3, 7]), "y <unk> <unk>");
}

#[test]
fn matrix_modes() {
    let mut t = tok(None, None);
    t.fit_on_texts(&["a a b", "b c"]); // a:1 b:2? counts a2 b2 c1 -> a=1, b=2, c=3
    let seqs: Vec<&[i64]> = vec![&[1, 1, 2], &[]];
    let (cols, m) = t.sequences_to_matrix(&seqs, MatrixMode::Count).unwrap();
    assert_eq!(cols, 4);
    // column-major 2 x 4
    assert_eq!(m, [0.0, 0.0, 2.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
    let (_, m) = t.sequences_to_matrix(&seqs, MatrixMode::Freq).unwrap();
    assert_eq!(m[2], 2.0 / 3.0);
    let (_, m) = t.sequences_to_matrix(&seqs, MatrixMode::Binary).unwrap();
    assert_eq!(m[2], 1.0);
    let (_, m) = t.sequences_to_matrix(&seqs, MatrixMode::Tfidf).unwrap();
    // index 1 ("a") occurs in 1 of 2 documents: (1 + ln 2) * ln(1 + 2 / 2)
    assert!((m[2] - (1.0 + 2f64.ln()) * 2f64.ln()).abs() < 1e-15);
    assert!(t.sequences_to_matrix(&[&[-1][..]], MatrixMode::Count).unwrap_err().contains("negative index -1"));
    let empty = tok(None, None);
    assert!(empty.sequences_to_matrix(&seqs, MatrixMode::Count).is_err());
    let mut fresh = tok(Some(5), None);
    assert!(fresh.sequences_to_matrix(&seqs, MatrixMode::Tfidf).unwrap_err().contains("tfidf"));
    fresh.fit_on_sequences(&[&[1, 1, 4], &[4]]);
    assert_eq!(fresh.document_count, 2);
    assert_eq!(fresh.index_docs.get(&1), Some(&1));
    assert_eq!(fresh.index_docs.get(&4), Some(&2));
}

#[test]
fn md5_hashing_trick() {
    // int(md5(b"hello").hexdigest(), 16) = 0x5d41402abc4b2a76b9719d911017c592
    let h: u128 = 0x5d41402abc4b2a76b9719d911017c592;
    assert_eq!(md5_index("hello", 10), (h % 9) as u64 + 1);
    let a = Analyzer::new(FILTERS, true, " ", false).unwrap();
    assert_eq!(hashing_trick_md5("Hello hello", 10, &a).unwrap(), vec![(h % 9) as u64 + 1; 2]);
    assert!(hashing_trick_md5("x", 1, &a).is_err());
}

#[test]
fn sampling_table_formula() {
    let t = make_sampling_table(3, 1e-5);
    let at = |r: f64| {
        let f = 1e-5 * (r * (r.ln() + 0.577) + 0.5 - 1.0 / (12.0 * r));
        f / f.sqrt()
    };
    assert_eq!(t, vec![at(1.0), at(1.0), at(2.0)]);
    assert_eq!(make_sampling_table(2, 10.0), vec![1.0, 1.0]);
}

#[test]
fn skipgrams_pairs_and_negatives() {
    let mut rng = Rng::seed_from(1);
    let s = skipgrams(&[1, 2, 0, 3], 5, 1, 0.0, None, &mut rng, None).unwrap();
    assert_eq!(s.couples, [[1, 2], [2, 1], [3, 0]].iter().filter(|c| c[1] != 0).copied().collect::<Vec<_>>());
    assert_eq!(s.labels, [1, 1]);
    let s = skipgrams(&[1, 2, 3], 5, 4, 1.0, None, &mut rng, None).unwrap();
    assert_eq!(s.couples.len(), 12);
    assert_eq!(&s.labels[..6], &[1; 6]);
    assert_eq!(&s.labels[6..], &[0; 6]);
    assert!(s.couples[6..].iter().all(|c| (1..=3).contains(&c[0]) && (1..=4).contains(&c[1])));
    // shuffled: the same pairs with their labels
    let mut srng = Rng::seed_from(2);
    let mut rng = Rng::seed_from(1);
    let mut rng2 = Rng::seed_from(1);
    let plain = skipgrams(&[1, 2, 3], 5, 4, 1.0, None, &mut rng, None).unwrap();
    let sh = skipgrams(&[1, 2, 3], 5, 4, 1.0, None, &mut rng2, Some(&mut srng)).unwrap();
    let mut a: Vec<_> = plain.couples.iter().zip(&plain.labels).collect();
    let mut b: Vec<_> = sh.couples.iter().zip(&sh.labels).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    // a sampling table of zeros keeps nothing; an index outside the table is an error
    let s = skipgrams(&[1, 2], 3, 1, 1.0, Some(&[0.0, 0.0, 0.0]), &mut rng, None).unwrap();
    assert!(s.couples.is_empty());
    assert!(skipgrams(&[1, 7], 8, 1, 1.0, Some(&[1.0; 3]), &mut rng, None).unwrap_err().contains("7"));
}

#[test]
fn tokenizer_json_round_trip_and_python_escapes() {
    let mut t = tok(Some(10), Some("OOV"));
    t.fit_on_texts(&["caf\u{e9} \"q\" x", "x \u{1F600}"]);
    let j = tokenizer_to_json(&t);
    assert!(j.starts_with("{\"class_name\": \"Tokenizer\", \"config\": {\"num_words\": 10, "));
    let back = tokenizer_from_json(&j).unwrap();
    assert_eq!(back, t);
    assert_eq!(py_string("caf\u{e9}\u{1F600}\n"), "\"caf\\u00e9\\ud83d\\ude00\\n\"");
    assert!(tokenizer_from_json("[1]").unwrap_err().contains("config"));
    assert_eq!(word_index("{\"b\": 2, \"a\": 1}").unwrap(), [("b".to_string(), 2), ("a".to_string(), 1)]);
    assert!(word_index("{\"b\": \"x\"}").unwrap_err().contains("\"b\""));
}

#[test]
fn pickle_reads_numpy_object_arrays() {
    // pickle.dumps(a, protocol=2) of a = np.empty(2, object); a[0] = [1, 2, 300]; a[1] = [70000, 5]
    // (numpy 2.4), written opcode by opcode
    let mut p: Vec<u8> = vec![0x80, 2];
    p.extend(b"cnumpy._core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02");
    p.extend(b"c_codecs\nencode\nq\x03X\x01\x00\x00\x00bq\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07");
    p.extend(b"\x87q\x08Rq\x09(K\x01K\x02\x85q\x0acnumpy\ndtype\nq\x0bX\x02\x00\x00\x00O8q\x0c\x89\x88\x87q\x0dRq\x0e");
    p.extend(b"(K\x03X\x01\x00\x00\x00|q\x0fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tq\x10b\x89]q\x11(]q\x12");
    p.extend(b"(K\x01K\x02M,\x01e]q\x13(Jp\x11\x01\x00K\x05eetq\x14b.");
    assert_eq!(read_object_int_lists(&p).unwrap(), vec![vec![1, 2, 300], vec![70000, 5]]);
    // an unknown global is refused by name, a truncated stream is an error
    let bad = b"\x80\x02cos\nsystem\nq\x00.";
    assert!(read_object_int_lists(bad).unwrap_err().contains("os.system"));
    assert!(read_object_int_lists(&p[..p.len() - 5]).is_err());
    assert!(read_object_int_lists(b"\x80\x02K\x01.").unwrap_err().contains("numpy object array"));
}

#[test]
fn imdb_processing_follows_keras() {
    use super::datasets::{imdb, reuters, Part, SeqOptions};
    let o = SeqOptions {
        num_words: Some(7),
        skip_top: 0,
        maxlen: None,
        seed: 113,
        start_char: Some(1),
        oov_char: Some(2),
        index_from: 3,
    };
    let train = Part { x: vec![vec![1, 2], vec![3], vec![4, 5, 6]], y: vec![0, 1, 0] };
    let test = Part { x: vec![vec![1]], y: vec![1] };
    let (tr, te) = imdb(train.clone(), test.clone(), &o).unwrap();
    // RandomState(113) shuffle of arange(3) then arange(1)
    let mut r = mt19937::Mt19937::new(113);
    let p = r.permutation(3);
    let expect = |i: usize| -> Vec<i64> {
        let mut v = vec![1];
        v.extend(train.x[i].iter().map(|w| if w + 3 < 7 { w + 3 } else { 2 }));
        v
    };
    assert_eq!(tr.x, p.iter().map(|&i| expect(i)).collect::<Vec<_>>());
    assert_eq!(tr.y, p.iter().map(|&i| train.y[i]).collect::<Vec<_>>());
    assert_eq!(te.x, vec![vec![1, 4]]);
    let o2 = SeqOptions { maxlen: Some(3), oov_char: None, num_words: None, ..o.clone() };
    let (tr, _) = imdb(train.clone(), test.clone(), &o2).unwrap();
    assert!(tr.x.iter().all(|s| s.len() < 3));
    assert!(imdb(train.clone(), test.clone(), &SeqOptions { maxlen: Some(2), ..o.clone() }).is_err());
    let (tr, te) = reuters(train.clone(), 0.34, &o).unwrap();
    assert_eq!((tr.x.len(), te.x.len()), (1, 2)); // int(3 * 0.66) = 1
}
