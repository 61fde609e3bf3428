//! JSON for text data: objects read with their keys in file order (Keras' word-index files,
//! the tokenizer's dictionaries), and the tokenizer in Keras' own `Tokenizer.to_json()`
//! format, written as Python's `json.dumps` writes it (so Python's
//! `tokenizer_from_json()` reads what rkeras saves, and the other way round).

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::{Analyzer, OrderedMap, Tokenizer};

/// A JSON object as its `(key, value)` pairs in file order.
struct Ordered(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, val)) = map.next_entry::<String, Value>()? {
                    v.push((k, val));
                }
                Ok(Ordered(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// The `(key, value)` pairs of a JSON object, in file order.
pub fn object_pairs(text: &str) -> Result<Vec<(String, Value)>, String> {
    serde_json::from_str::<Ordered>(text).map(|o| o.0).map_err(|e| format!("not a JSON object: {e}"))
}

/// A JSON object of integers (`{"the": 1, ...}`), in file order.
pub fn word_index(text: &str) -> Result<Vec<(String, i64)>, String> {
    object_pairs(text)?
        .into_iter()
        .map(|(k, v)| match v.as_i64() {
            Some(i) => Ok((k, i)),
            None => Err(format!("the value of \"{k}\" is {v}, not an integer")),
        })
        .collect()
}

/// `s` as Python's `json.dumps` writes a string (`ensure_ascii=True`).
pub fn py_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn dump_pairs<'a>(pairs: impl Iterator<Item = (String, String)> + 'a) -> String {
    let body: Vec<String> = pairs.map(|(k, v)| format!("{}: {v}", py_string(&k))).collect();
    format!("{{{}}}", body.join(", "))
}

/// Keras' `Tokenizer.to_json()`.
pub fn tokenizer_to_json(t: &Tokenizer) -> String {
    let opt_str = |s: &Option<String>| s.as_ref().map_or("null".to_string(), |s| py_string(s));
    let counts = |m: &OrderedMap<String, i64>| dump_pairs(m.entries().iter().map(|(k, v)| (k.clone(), v.to_string())));
    let fields: Vec<(&str, String)> = vec![
        ("num_words", t.num_words.map_or("null".to_string(), |n| n.to_string())),
        ("filters", py_string(&t.analyzer.filters)),
        ("lower", if t.analyzer.lower { "true" } else { "false" }.to_string()),
        ("split", py_string(&t.analyzer.split)),
        ("char_level", if t.analyzer.char_level { "true" } else { "false" }.to_string()),
        ("oov_token", opt_str(&t.oov_token)),
        ("document_count", t.document_count.to_string()),
        ("word_counts", py_string(&counts(&t.word_counts))),
        ("word_docs", py_string(&counts(&t.word_docs))),
        ("index_docs", py_string(&dump_pairs(t.index_docs.iter().map(|(k, v)| (k.to_string(), v.to_string()))))),
        (
            "index_word",
            py_string(&dump_pairs(t.index_word.entries().iter().map(|(k, v)| (k.to_string(), py_string(v))))),
        ),
        ("word_index", py_string(&counts(&t.word_index))),
    ];
    let config = dump_pairs(fields.into_iter().map(|(k, v)| (k.to_string(), v)));
    format!("{{\"class_name\": \"Tokenizer\", \"config\": {config}}}")
}

/// Keras' `tokenizer_from_json()`: a tokenizer from what `to_json()` wrote.
pub fn tokenizer_from_json(text: &str) -> Result<Tokenizer, String> {
    let outer: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let config =
        outer.get("config").and_then(Value::as_object).ok_or("no \"config\" object (not a Keras tokenizer)")?;
    let get_str = |k: &str| -> Result<Option<String>, String> {
        match config.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(format!("config \"{k}\" is {v}, not a string")),
        }
    };
    let get_bool = |k: &str, default: bool| -> Result<bool, String> {
        match config.get(k) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(format!("config \"{k}\" is {v}, not true/false")),
        }
    };
    let get_int = |k: &str| -> Result<Option<i64>, String> {
        match config.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| format!("config \"{k}\" is {v}, not an integer")),
        }
    };
    let default_filters = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";
    let analyzer = Analyzer::new(
        &get_str("filters")?.unwrap_or_else(|| default_filters.to_string()),
        get_bool("lower", true)?,
        &get_str("split")?.unwrap_or_else(|| " ".to_string()),
        get_bool("char_level", false)?,
    )?;
    let mut t = Tokenizer::new(analyzer, get_int("num_words")?, get_str("oov_token")?);
    t.document_count = get_int("document_count")?.unwrap_or(0);
    let dict = |k: &str| -> Result<Vec<(String, Value)>, String> {
        match get_str(k)? {
            None => Ok(Vec::new()),
            Some(s) => object_pairs(&s).map_err(|e| format!("config \"{k}\": {e}")),
        }
    };
    let int = |k: &str, key: &str, v: &Value| -> Result<i64, String> {
        v.as_i64().ok_or_else(|| format!("config \"{k}\": the value of \"{key}\" is {v}, not an integer"))
    };
    let key_int = |k: &str, key: &str| -> Result<i64, String> {
        key.parse().map_err(|_| format!("config \"{k}\": the key \"{key}\" is not an integer"))
    };
    for (w, v) in dict("word_counts")? {
        let c = int("word_counts", &w, &v)?;
        t.word_counts.insert(w, c);
    }
    for (w, v) in dict("word_docs")? {
        let c = int("word_docs", &w, &v)?;
        t.word_docs.insert(w, c);
    }
    for (w, v) in dict("word_index")? {
        let c = int("word_index", &w, &v)?;
        t.word_index.insert(w, c);
    }
    for (k, v) in dict("index_word")? {
        let i = key_int("index_word", &k)?;
        let w = v.as_str().ok_or_else(|| format!("config \"index_word\": the value of \"{k}\" is not a string"))?;
        t.index_word.insert(i, w.to_string());
    }
    for (k, v) in dict("index_docs")? {
        let i = key_int("index_docs", &k)?;
        let c = int("index_docs", &k, &v)?;
        t.index_docs.insert(i, c);
    }
    Ok(t)
}
