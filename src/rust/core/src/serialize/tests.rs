use super::*;
use crate::callbacks::StringHost;
use crate::layers::LayerSpec;
use crate::losses::Loss;
use crate::optimizers::OptimizerConfig;
use crate::tensor::Tensor;
use crate::train::{self, ArraySource, FitConfig};
use std::path::PathBuf;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata").join("serialize").join(name)
}

fn dense(name: &str, units: usize, activation: &str) -> LayerSpec {
    serde_json::from_value(serde_json::json!({
        "class_name": "Dense", "name": name, "units": units, "activation": activation
    }))
    .unwrap()
}

fn spec(dropout: f64) -> ModelSpec {
    let mut layers = vec![dense("dense", 8, "relu")];
    if dropout > 0.0 {
        layers.push(
            serde_json::from_value(serde_json::json!({"class_name": "Dropout", "name": "dropout", "rate": dropout}))
                .unwrap(),
        );
    }
    layers.push(dense("dense_1", 3, "softmax"));
    ModelSpec::chain("sequential", "Sequential", vec![4], None, layers)
}

fn compile_spec(optimizer: &str) -> CompileSpec {
    CompileSpec::single(
        OptimizerConfig::defaults(optimizer).unwrap(),
        Loss::CategoricalCrossentropy,
        vec!["accuracy".into()],
    )
}

fn data(n: usize) -> (Tensor<f32>, Tensor<f32>) {
    let mut r = crate::testutil::Rng::new(7);
    let x: Vec<f32> = (0..n * 4).map(|_| r.uniform(0.0, 1.0) as f32).collect();
    let mut y = vec![0f32; n * 3];
    for i in 0..n {
        let s = x[i * 4] + x[i * 4 + 1];
        y[i * 3
            + if s < 0.7 {
                0
            } else if s < 1.3 {
                1
            } else {
                2
            }] = 1.0;
    }
    (Tensor::from_vec(&[n, 4], x), Tensor::from_vec(&[n, 3], y))
}

fn model(seed: u64, dropout: f64, optimizer: &str) -> Model<f32> {
    let mut m = Model::<f32>::build(spec(dropout), &mut Rng::seed_from(seed)).unwrap();
    m.compile(compile_spec(optimizer)).unwrap();
    m
}

fn fit(m: &mut Model<f32>, x: &Tensor<f32>, y: &Tensor<f32>, initial_epoch: usize, epochs: usize) {
    let cfg =
        FitConfig { epochs, initial_epoch, verbose: 0, batch_size: Some(16), shuffle: true, ..Default::default() };
    let mut src = ArraySource::new(vec![x], vec![y], None, 0..x.rows(), 16, true);
    let out = train::fit(m, &mut src, None, Vec::new(), &mut StringHost::default(), &cfg);
    assert!(out.halt.is_none());
}

fn trained(optimizer: &str) -> Model<f32> {
    let (x, y) = data(64);
    let mut m = model(1, 0.25, optimizer);
    fit(&mut m, &x, &y, 0, 2);
    m
}

fn bits(t: &Tensor<f32>) -> Vec<u32> {
    t.data.iter().map(|v| v.to_bits()).collect()
}

fn weight_bits(m: &Model<f32>) -> Vec<Vec<u32>> {
    m.get_weights().into_iter().map(|(_, _, _, v)| v.iter().map(|x| x.to_bits()).collect()).collect()
}

/// A file with another header (lengths and checksum fixed up), to reach the checks behind
/// the checksum.
fn reseal(bytes: &[u8], json: &[u8]) -> Vec<u8> {
    let h = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let blobs = &bytes[PREFIX_LEN + h..bytes.len() - 4];
    let mut out = bytes[..12].to_vec();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&(blobs.len() as u64).to_le_bytes());
    out.extend_from_slice(json);
    out.extend_from_slice(blobs);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn header_json(bytes: &[u8]) -> Vec<u8> {
    let h = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    bytes[PREFIX_LEN..PREFIX_LEN + h].to_vec()
}

/// Loads `bytes` and reports a panic as an error (the fuzz loops must see every input).
fn load_err(bytes: &[u8]) -> String {
    Model::<f32>::from_bytes(bytes, true).err().expect("the file should not load")
}

fn load_no_panic(bytes: &[u8]) -> Result<Result<Model<f32>, String>, String> {
    std::panic::catch_unwind(|| Model::<f32>::from_bytes(bytes, true)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

#[test]
fn crc32_matches_zlib() {
    assert_eq!(crc32(b""), 0);
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    let long: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
    // bytewise reference
    let mut c = !0u32;
    for &b in &long {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    assert_eq!(crc32(&long), !c);
}

#[test]
fn round_trip_is_bitwise_and_reserializes_identically() {
    for opt in ["adam", "sgd", "rmsprop", "nadam", "adagrad", "adadelta", "adamax"] {
        let mut m = trained(opt);
        let bytes = m.to_bytes(true);
        let mut back = Model::<f32>::from_bytes(&bytes, true).unwrap();
        assert_eq!(back.spec, m.spec);
        assert_eq!(weight_bits(&back), weight_bits(&m));
        assert_eq!(back.rng, m.rng);
        let (c0, c1) = (m.compiled.as_ref().unwrap(), back.compiled.as_ref().unwrap());
        assert_eq!(c0.spec, c1.spec);
        assert_eq!(c0.optimizer.state(), c1.optimizer.state(), "{opt}");
        assert!(c1.optimizer.iterations() > 0);
        let (x, _) = data(20);
        assert_eq!(bits(&back.predict(&x, 7)), bits(&m.predict(&x, 7)));
        assert_eq!(back.to_bytes(true), bytes, "{opt}: a loaded model saves to the same bytes");
    }
}

#[test]
fn uncompiled_and_without_optimizer() {
    let m = Model::<f32>::build(spec(0.0), &mut Rng::seed_from(3)).unwrap();
    let back = Model::<f32>::from_bytes(&m.to_bytes(true), true).unwrap();
    assert!(back.compiled.is_none());
    assert_eq!(weight_bits(&back), weight_bits(&m));

    let m = trained("adam");
    let bytes = m.to_bytes(false);
    let h = read_header(&bytes).unwrap();
    assert!(h.optimizer.is_none() && h.optimizer_weights.is_empty() && h.compile.is_some());
    let back = Model::<f32>::from_bytes(&bytes, true).unwrap();
    assert_eq!(back.compiled.as_ref().unwrap().optimizer.iterations(), 0, "fresh optimizer");
    let back = Model::<f32>::from_bytes(&m.to_bytes(true), false).unwrap();
    assert!(back.compiled.is_none(), "compile = false");
    assert_eq!(weight_bits(&back), weight_bits(&m));
}

#[test]
fn resume_after_reload_matches_an_uninterrupted_fit() {
    let (x, y) = data(50);
    for opt in ["adam", "rmsprop", "sgd"] {
        let mut a = model(11, 0.3, opt);
        fit(&mut a, &x, &y, 0, 4);
        let mut b = model(11, 0.3, opt);
        fit(&mut b, &x, &y, 0, 2);
        let bytes = b.to_bytes(true);
        drop(b);
        let mut c = Model::<f32>::from_bytes(&bytes, true).unwrap();
        fit(&mut c, &x, &y, 2, 4);
        assert_eq!(weight_bits(&c), weight_bits(&a), "{opt}");
        assert_eq!(c.compiled.unwrap().optimizer.state(), a.compiled.unwrap().optimizer.state());
    }
}

#[test]
fn truncated_at_every_length_is_an_error() {
    let bytes = trained("adam").to_bytes(true);
    for n in 0..bytes.len() {
        let e = match load_no_panic(&bytes[..n]) {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => panic!("a file cut at {n} bytes loaded"),
            Err(p) => panic!("a file cut at {n} bytes panicked: {p}"),
        };
        let want = if n == 0 { "empty" } else { "truncated" };
        assert!(e.contains(want), "cut at {n}: {e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(load_err(&longer).contains("unexpected bytes after its end"));
}

#[test]
fn every_flipped_byte_and_bit_is_an_error() {
    let bytes = trained("adam").to_bytes(true);
    let mut bad = bytes.clone();
    for i in 0..bytes.len() {
        let flips: &[u8] =
            if i < PREFIX_LEN + 16 { &[0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF] } else { &[0xFF, 0x01] };
        for &f in flips {
            bad[i] = bytes[i] ^ f;
            match load_no_panic(&bad) {
                Ok(Err(_)) => {}
                Ok(Ok(_)) => panic!("byte {i} ^ {f:#x}: a damaged file loaded"),
                Err(p) => panic!("byte {i} ^ {f:#x}: panicked: {p}"),
            }
            bad[i] = bytes[i];
        }
    }
}

#[test]
fn foreign_and_future_files_say_what_they_are() {
    let msg = load_err;
    assert!(msg(b"\x89HDF\r\n\x1a\n\0\0\0\0\0\0\0\0").contains("HDF5"));
    assert!(msg(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]).contains("readRDS"));
    assert!(msg(b"PK\x03\x04rest of a zip").contains("zip"));
    assert!(msg(b"{\"class_name\": \"Sequential\"}").contains("text file"));
    assert!(msg(b"RKER").contains("truncated"));
    assert!(msg(b"RKERAS").contains("truncated"));
    assert!(msg(&[0u8; 100]).contains("not an rkeras model file"));

    let bytes = trained("sgd").to_bytes(true);
    let mut future = bytes.clone();
    future[8..12].copy_from_slice(&2u32.to_le_bytes());
    let n = future.len() - 4;
    let crc = crc32(&future[..n]);
    future[n..].copy_from_slice(&crc.to_le_bytes());
    let e = msg(&future);
    assert!(e.contains("newer version of rkeras") && e.contains("version 2"), "{e}");
    future[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert!(msg(&future).contains("format version is 0"));
    // damaged payload: checksum
    let mut damaged = bytes.clone();
    let k = damaged.len() - 10;
    damaged[k] ^= 0x40;
    assert!(msg(&damaged).contains("checksum mismatch"));
}

#[test]
fn headers_that_lie_are_errors() {
    let m = trained("adam");
    let bytes = m.to_bytes(true);
    let json: serde_json::Value = serde_json::from_slice(&header_json(&bytes)).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut j = json.clone();
        f(&mut j);
        let e = load_err(&reseal(&bytes, &serde_json::to_vec(&j).unwrap()));
        eprintln!("{e}");
        e
    };
    assert!(edit(&|j| j["model"]["layers"][0]["units"] = 1_000_000_000_000u64.into()).contains("needs more weights"));
    assert!(edit(&|j| j["model"]["input_shape"] = serde_json::json!([4000000000u64, 4000000000u64, 4000000000u64]))
        .contains("needs more weights"));
    assert!(edit(&|j| j["weights"][0]["shape"] = serde_json::json!([8, 4])).contains("architecture expects"));
    assert!(edit(&|j| j["weights"][0]["shape"] = serde_json::json!([4, 9])).contains("damaged"));
    assert!(edit(&|j| j["weights"][0]["shape"] = serde_json::json!([u64::MAX, 2])).contains("does not fit"));
    assert!(edit(&|j| j["model"]["layers"][0]["class_name"] = "Conv9D".into()).contains("Conv9D"));
    assert!(edit(&|j| j["dtype"] = "float64".into()).contains("float64"));
    assert!(edit(&|j| j["kind"] = "weights".into()).contains("load_model_weights"));
    assert!(edit(&|j| j["optimizer_weights"][0]["shape"] = serde_json::json!([4, 4])).contains("damaged"));
    assert!(
        edit(&|j| j["optimizer_weights"][0]["shape"] = serde_json::json!([8, 4])).contains("should be dense/kernel/m")
    );
    assert!(edit(&|j| j["optimizer_weights"][0]["slot"] = "v".into()).contains("should be dense/kernel/m"));
    assert!(edit(&|j| j["compile"]["optimizer"]["name"] = "sgd".into()).contains("cannot read the file's header"));
    assert!(edit(&|j| j["compile"]["loss"] = "no_such_loss".into()).contains("no_such_loss"));
    assert!(edit(&|j| j["model"]["input_shape"] = serde_json::json!([0])).contains("cannot be built"));
}

/// Structure-aware fuzzing: random edits of the JSON header with a valid checksum, so the
/// inputs get past the container checks. Every input must load or give an error, never
/// panic. Inputs that panicked are written to `target/serialize-fuzz-crashes/` (copy them
/// to `testdata/serialize/regressions/` after fixing the bug).
#[test]
fn fuzz_header_edits_never_panic() {
    let base = trained("adam").to_bytes(true);
    let json = header_json(&base);
    let mut r = crate::testutil::Rng::new(2024);
    let tokens: [&[u8]; 16] = [
        b"0",
        b"1",
        b"-1",
        b"99999999999999999999",
        b"1e308",
        b"null",
        b"true",
        b"\"\"",
        b"[]",
        b"{}",
        b"\"Dense\"",
        b"\"Dropout\"",
        b"\"Flatten\"",
        b"\"m\"",
        b"[[[[[[",
        b"4294967296",
    ];
    let mut crashes = Vec::new();
    for i in 0..fuzz_iterations(4000) {
        let mut j = json.clone();
        for _ in 0..1 + r.below(3) {
            let at = r.below(j.len());
            match r.below(4) {
                0 => j[at] = b"0123456789,:[]{}\"-.e"[r.below(20)],
                1 => {
                    j.remove(at);
                }
                2 => {
                    let t = tokens[r.below(tokens.len())];
                    // replace the number or word at `at` by a token
                    let end = (at..j.len()).find(|&k| !j[k].is_ascii_alphanumeric() && j[k] != b'.').unwrap_or(j.len());
                    let start =
                        (0..at).rev().find(|&k| !j[k].is_ascii_alphanumeric() && j[k] != b'.').map_or(0, |k| k + 1);
                    j.splice(start..end.max(start), t.iter().copied());
                }
                _ => {
                    let at2 = r.below(j.len());
                    j.swap(at, at2);
                }
            }
        }
        let file = reseal(&base, &j);
        if let Err(p) = load_no_panic(&file) {
            crashes.push((i, p, file));
        }
    }
    report_crashes("header-bytes", crashes);
}

/// `RKERAS_FUZZ_ITERS` sets the number of fuzz inputs (for long runs); `default` otherwise.
fn fuzz_iterations(default: usize) -> usize {
    std::env::var("RKERAS_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn report_crashes(what: &str, crashes: Vec<(usize, String, Vec<u8>)>) {
    if crashes.is_empty() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("serialize-fuzz-crashes");
    let _ = std::fs::create_dir_all(&dir);
    for (i, _, f) in &crashes {
        let _ = std::fs::write(dir.join(format!("{what}-{i}.rkeras")), f);
    }
    panic!("{}: {} inputs panicked, e.g. #{}: {}", what, crashes.len(), crashes[0].0, crashes[0].1);
}

/// Random values at random places of the parsed header (valid JSON, valid checksum): reaches
/// the checks behind the parser (shapes, architecture, optimizer state).
#[test]
fn fuzz_header_values_never_panic() {
    use serde_json::{json, Value};
    let base = trained("adam").to_bytes(true);
    let json: Value = serde_json::from_slice(&header_json(&base)).unwrap();
    let mut r = crate::testutil::Rng::new(77);
    fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => m.iter().for_each(|(k, c)| {
                at.push(k.clone());
                paths(c, at, out);
                at.pop();
            }),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| {
                at.push(i.to_string());
                paths(c, at, out);
                at.pop();
            }),
            _ => {}
        }
    }
    let mut all = Vec::new();
    paths(&json, &mut Vec::new(), &mut all);
    let values = [
        json!(0),
        json!(1),
        json!(2),
        json!(3),
        json!(8),
        json!(-1),
        json!(0.5),
        json!(1e300),
        json!(u64::MAX),
        json!(4294967296u64),
        json!(null),
        json!(true),
        json!(""),
        json!("Dense"),
        json!("Flatten"),
        json!("Dropout"),
        json!("relu"),
        json!([]),
        json!([0]),
        json!([1, 1]),
        json!([8, 4]),
        json!({}),
        json!("model"),
        json!("weights"),
        json!({"class_name": "Flatten", "name": "f"}),
        json!({"class_name": "Dense", "name": "d", "units": 3}),
    ];
    let mut crashes = Vec::new();
    for i in 0..fuzz_iterations(3000) {
        let mut j = json.clone();
        for _ in 0..1 + r.below(2) {
            let p = &all[r.below(all.len())];
            let ptr = format!("/{}", p.join("/"));
            if let Some(slot) = j.pointer_mut(if p.is_empty() { "" } else { &ptr }) {
                match r.below(3) {
                    0 => *slot = values[r.below(values.len())].clone(),
                    1 if slot.is_array() => {
                        let a = slot.as_array_mut().unwrap();
                        if !a.is_empty() {
                            let k = r.below(a.len());
                            if r.below(2) == 0 {
                                a.remove(k);
                            } else {
                                let v = a[k].clone();
                                a.push(v);
                            }
                        }
                    }
                    _ => {
                        if let Some(m) = slot.as_object_mut() {
                            let keys: Vec<String> = m.keys().cloned().collect();
                            if !keys.is_empty() {
                                m.remove(&keys[r.below(keys.len())]);
                            }
                        }
                    }
                }
            }
        }
        let file = reseal(&base, &serde_json::to_vec(&j).unwrap());
        if let Err(p) = load_no_panic(&file) {
            crashes.push((i, p, file.clone()));
        }
        // the weights path too
        let mut target = model(1, 0.0, "adam");
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = target.load_weights_bytes(&file, r.below(2) == 0, true);
        })) {
            let msg = p.downcast_ref::<String>().cloned().unwrap_or_default();
            crashes.push((i, format!("load_weights_bytes: {msg}"), file));
        }
    }
    report_crashes("header-values", crashes);
}

/// Inputs that once crashed a reader (found by the fuzz tests) stay as regression tests.
#[test]
fn regression_inputs_are_errors() {
    let dir = testdata("regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().map_or(true, |e| e != "rkeras") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        match load_no_panic(&bytes) {
            Ok(_) => {}
            Err(p) => panic!("{} panicked: {p}", path.display()),
        }
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn weights_files_load_in_keras_order_and_by_name() {
    let src = trained("adam");
    let wbytes = src.weights_to_bytes();
    let h = read_header(&wbytes).unwrap();
    assert_eq!(h.kind, FileKind::Weights);
    let names: Vec<String> = h.weights.iter().map(|w| w.path()).collect();
    assert_eq!(names, ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]);
    assert_eq!(h.weights[0].shape, vec![4, 8]);
    assert_eq!(h.weights[1].shape, vec![8]);
    assert!(load_err(&wbytes).contains("load_model_weights"));

    // same architecture without the dropout layer: topological order ignores weightless layers
    let mut dst = model(99, 0.0, "adam");
    assert!(dst.load_weights_bytes(&wbytes, false, false).unwrap().is_empty());
    assert_eq!(weight_bits(&dst), weight_bits(&src));
    // a whole-model file works too
    let mut dst = model(98, 0.0, "adam");
    dst.load_weights_bytes(&src.to_bytes(true), false, false).unwrap();
    assert_eq!(weight_bits(&dst), weight_bits(&src));

    // by name: a renamed layer keeps its weights
    let mut s = spec(0.0);
    s.layers[1].name = "other".into();
    let mut dst = Model::<f32>::build(s, &mut Rng::seed_from(5)).unwrap();
    let before = weight_bits(&dst);
    dst.load_weights_bytes(&wbytes, true, false).unwrap();
    let after = weight_bits(&dst);
    assert_eq!(after[..2], weight_bits(&src)[..2]);
    assert_eq!(after[2..], before[2..]);

    // shape mismatch: an error (nothing changes), or skipped with a warning
    let mut s = spec(0.0);
    s.layers[1] = dense("dense_1", 5, "softmax");
    let mut dst = Model::<f32>::build(s, &mut Rng::seed_from(5)).unwrap();
    let before = weight_bits(&dst);
    let e = dst.load_weights_bytes(&wbytes, false, false).unwrap_err();
    assert!(e.contains("dense_1") && e.contains("(8, 5)") && e.contains("(8, 3)"), "{e}");
    assert_eq!(weight_bits(&dst), before);
    let w = dst.load_weights_bytes(&wbytes, true, true).unwrap();
    assert_eq!(w.len(), 1);
    assert!(w[0].starts_with("Skipping loading of weights for layer 2 (\"dense_1\")"), "{}", w[0]);
    assert_eq!(weight_bits(&dst)[..2], weight_bits(&src)[..2]);

    // layer count mismatch
    let mut s = spec(0.0);
    s.layers.pop();
    let mut dst = Model::<f32>::build(s, &mut Rng::seed_from(5)).unwrap();
    let e = dst.load_weights_bytes(&wbytes, false, false).unwrap_err();
    assert!(e.contains("containing 2 layers into a model with 1 layers"), "{e}");
}

#[test]
fn rebuilt_keeps_weights_and_stream() {
    let m = trained("adam");
    let mut s = m.spec.clone();
    s.layers[0].trainable = false;
    let r = m.rebuilt(s, &mut Rng::seed_from(1)).unwrap();
    assert_eq!(weight_bits(&r), weight_bits(&m));
    assert_eq!(r.rng, m.rng);
    assert_eq!(r.count_params(), (67, 27));
    assert!(r.compiled.is_none());
    let mut s = m.spec.clone();
    s.layers.pop();
    let r = m.rebuilt(s, &mut Rng::seed_from(1)).unwrap();
    assert_eq!(weight_bits(&r)[..], weight_bits(&m)[..2]);
}

/// `testdata/serialize/model-v1.rkeras` was written by format version 1 (Adam, trained two
/// epochs, with dropout). Every later version must keep reading it and predict the same.
#[test]
fn reads_the_version_1_fixture() {
    let bytes = std::fs::read(testdata("model-v1.rkeras")).unwrap();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(testdata("model-v1.expected.json")).unwrap()).unwrap();
    let mut m = Model::<f32>::from_bytes(&bytes, true).unwrap();
    let x: Vec<f32> = serde_json::from_value(expected["x"].clone()).unwrap();
    let want: Vec<f32> = serde_json::from_value(expected["prediction"].clone()).unwrap();
    let got = m.predict(&Tensor::from_vec(&[x.len() / 4, 4], x), 32);
    assert_eq!(
        got.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    let c = m.compiled.as_ref().unwrap();
    assert_eq!(c.optimizer.iterations(), expected["iterations"].as_u64().unwrap());
    assert_eq!(*c.spec.metrics.first(), vec!["accuracy".to_string()]);
}

/// Writes the version-1 fixture. Run once (`cargo test -- --ignored write_v1_fixture`) when
/// the format version changes, as `model-v<N>`; never overwrite an existing fixture.
#[test]
#[ignore]
fn write_v1_fixture() {
    let path = testdata("model-v1.rkeras");
    assert!(!path.exists(), "the fixture exists: it must never be rewritten");
    let mut m = trained("adam");
    let (x, _) = data(6);
    let p = m.predict(&x, 32);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, m.to_bytes(true)).unwrap();
    let expected = serde_json::json!({
        "x": x.data, "prediction": p.data,
        "iterations": m.compiled.as_ref().unwrap().optimizer.iterations(),
    });
    std::fs::write(testdata("model-v1.expected.json"), serde_json::to_vec_pretty(&expected).unwrap()).unwrap();
}

/// Writes the regression inputs of `testdata/serialize/regressions/` that were made by hand:
/// files with a valid checksum whose architecture asks for more memory than exists (they
/// aborted the process on an allocation failure before `check_architecture_size`).
#[test]
#[ignore]
fn write_regression_inputs() {
    let bytes = trained("adam").to_bytes(true);
    let json: serde_json::Value = serde_json::from_slice(&header_json(&bytes)).unwrap();
    let dir = testdata("regressions");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let mut j = json.clone();
        f(&mut j);
        std::fs::write(dir.join(name), reseal(&bytes, &serde_json::to_vec(&j).unwrap())).unwrap();
    };
    write("huge-dense-units.rkeras", &|j| j["model"]["layers"][0]["units"] = 1_000_000_000_000u64.into());
    write("huge-input-shape.rkeras", &|j| {
        j["model"]["input_shape"] = serde_json::json!([100000, 100000, 4]);
        j["model"]["layers"][0]["units"] = 100000.into();
    });
    write("overflowing-shape.rkeras", &|j| j["weights"][0]["shape"] = serde_json::json!([u64::MAX, 2]));
}

#[test]
fn loaders_refuse_nan_or_infinite_weights_but_a_state_restores_as_it_is() {
    let good = trained("adam");
    let mut bad = trained("adam");
    let mut ws: Vec<(Vec<usize>, Vec<f32>)> = bad.get_weights().into_iter().map(|(_, _, s, v)| (s, v)).collect();
    ws[2].1[5] = f32::NEG_INFINITY;
    bad.set_weights(&ws).unwrap();
    for bytes in [bad.to_bytes(true), bad.weights_to_bytes()] {
        let e = check_finite(&decode(&bytes).unwrap()).unwrap_err();
        assert!(
            e.starts_with("weight dense_1/kernel holds NaN or infinite values (first at element 6 of 24, value -inf)"),
            "{e}"
        );
        for by_name in [false, true] {
            let mut m = good.rebuilt(spec(0.25), &mut Rng::seed_from(3)).unwrap();
            let before = weight_bits(&m);
            assert_eq!(m.load_weights_bytes(&bytes, by_name, false).unwrap_err(), e);
            assert_eq!(weight_bits(&m), before);
        }
    }
    // NaN in the optimizer state
    let mut st = good.compiled.as_ref().unwrap().optimizer.state();
    st.slots[1][0][0] = f32::NAN;
    let mut m = trained("adam");
    m.compiled.as_mut().unwrap().optimizer.set_state(&st).unwrap();
    let e = check_finite(&decode(&m.to_bytes(true)).unwrap()).unwrap_err();
    assert!(e.starts_with("optimizer weight dense/bias/momentum holds NaN"), "{e}");
    assert!(check_finite(&decode(&m.to_bytes(false)).unwrap()).is_ok());
    // the model's own state (saveRDS()) restores as it was
    let back = Model::<f32>::from_bytes(&bad.to_bytes(true), true).unwrap();
    assert_eq!(weight_bits(&back), weight_bits(&bad));
}
