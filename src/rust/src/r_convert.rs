//! R values <-> core values: spec lists to JSON for serde, numeric arrays to row-major
//! tensors (R is column-major), tensors and logs back to R.

use crate::r_reshape::view_parts;
use extendr_api::prelude::*;
use rkeras_core::callbacks::Logs;
use rkeras_core::convert::BadValue;
use rkeras_core::tensor::{from_col_major, to_col_major, ColMajor, Tensor};
use serde_json::{Map, Number, Value};

/// An R spec (named list -> object, unnamed list -> array, length-1 atomic -> scalar,
/// longer atomic -> array, NULL/NA -> null) as JSON, for serde.
pub fn to_json(x: &Robj) -> Value {
    let scalar = |v: Value, len: usize, items: Vec<Value>| if len == 1 { v } else { Value::Array(items) };
    match x.rtype() {
        Rtype::Null => Value::Null,
        Rtype::List => {
            let list = x.as_list().unwrap();
            let has_names = x.names().is_some();
            if has_names {
                let mut m = Map::new();
                for (k, v) in list.iter() {
                    m.insert(k.to_string(), to_json(&v));
                }
                Value::Object(m)
            } else {
                Value::Array(list.values().map(|v| to_json(&v)).collect())
            }
        }
        Rtype::Strings => {
            let items: Vec<Value> = x
                .as_str_iter()
                .map(|it| it.map(|s| if s.is_na() { Value::Null } else { Value::String(s.to_string()) }).collect())
                .unwrap_or_default();
            let first = items.first().cloned().unwrap_or(Value::Null);
            scalar(first, items.len(), items)
        }
        Rtype::Doubles => {
            let s = x.as_real_slice().unwrap_or(&[]);
            let items: Vec<Value> = s.iter().map(|v| Number::from_f64(*v).map_or(Value::Null, Value::Number)).collect();
            let first = items.first().cloned().unwrap_or(Value::Null);
            scalar(first, items.len(), items)
        }
        Rtype::Integers => {
            let s = x.as_integer_slice().unwrap_or(&[]);
            let items: Vec<Value> =
                s.iter().map(|v| if *v == i32::MIN { Value::Null } else { Value::from(*v) }).collect();
            let first = items.first().cloned().unwrap_or(Value::Null);
            scalar(first, items.len(), items)
        }
        Rtype::Logicals => {
            let s = x.as_logical_slice().unwrap_or(&[]);
            let items: Vec<Value> =
                s.iter().map(|v| if v.is_na() { Value::Null } else { Value::Bool(v.is_true()) }).collect();
            let first = items.first().cloned().unwrap_or(Value::Null);
            scalar(first, items.len(), items)
        }
        _ => Value::Null,
    }
}

/// Deserializes an R spec into a core type; errors keep serde's message (it lists valid names).
pub fn from_spec<T: serde::de::DeserializeOwned>(x: &Robj, what: &str) -> std::result::Result<T, String> {
    serde_json::from_value(to_json(x)).map_err(|e| format!("invalid {what}: {e}"))
}

pub fn dims_of(x: &Robj) -> Vec<usize> {
    match x.dim() {
        Some(d) => d.iter().map(|v| Option::<i32>::from(v).unwrap_or(0) as usize).collect(),
        None => vec![x.len()],
    }
}

/// The error for a value the conversion cannot take, at R's 1-based row and column.
pub fn bad_value(what: &str, dims: &[usize], bad: BadValue) -> String {
    let n = dims[0].max(1);
    let (row, col) = (bad.index % n + 1, bad.index / n + 1);
    let at = if dims.len() == 1 { format!("element {row}") } else { format!("row {row}, column {col}") };
    if bad.too_large() {
        format!(
            "{what} contains values too large for 32-bit floats (first at {at}: {:e}; the largest is about 3.4e38); rescale them first",
            bad.value
        )
    } else {
        format!("{what} contains NA, NaN or Inf values (first at {at}); remove or impute them first")
    }
}

/// A numeric R array, read a range of rows at a time into row-major f32.
pub enum Columns<'a> {
    Real(ColMajor<'a, f64>),
    Int(ColMajor<'a, i32>),
}

impl Columns<'_> {
    pub fn rows(&self) -> usize {
        match self {
            Columns::Real(c) => c.rows(),
            Columns::Int(c) => c.rows(),
        }
    }

    /// See [`ColMajor::read`].
    pub fn read(&self, rows: std::ops::Range<usize>, out: &mut [f32]) -> std::result::Result<(), BadValue> {
        match self {
            Columns::Real(c) => c.read(rows, out),
            Columns::Int(c) => c.read(rows, out),
        }
    }

    /// See [`ColMajor::to_tensor`].
    pub fn to_tensor(&self) -> std::result::Result<Tensor<f32>, BadValue> {
        match self {
            Columns::Real(c) => c.to_tensor(),
            Columns::Int(c) => c.to_tensor(),
        }
    }
}

/// Runs `f` on the columns of `x` (dims `dims`, batch first) when it is a double or integer
/// array; an `array_reshape()` view is read from its source, not copied out.
pub fn with_columns<T>(x: &Robj, dims: &[usize], f: impl FnOnce(Columns<'_>) -> T) -> Option<T> {
    if let Some((src, rows, cols)) = view_parts(x) {
        if dims.len() >= 2 && dims[0] == rows && dims[1..].iter().product::<usize>() == cols.len() {
            let starts: Vec<usize> = cols.iter().map(|&c| (c - 1) as usize * rows).collect();
            match src.rtype() {
                Rtype::Doubles => {
                    return Some(f(Columns::Real(ColMajor::with_starts(dims, src.as_real_slice()?, starts))))
                }
                Rtype::Integers => {
                    return Some(f(Columns::Int(ColMajor::with_starts(dims, src.as_integer_slice()?, starts))))
                }
                _ => {}
            }
        }
    }
    match x.rtype() {
        Rtype::Doubles => Some(f(Columns::Real(ColMajor::new(dims, x.as_real_slice()?)))),
        Rtype::Integers => Some(f(Columns::Int(ColMajor::new(dims, x.as_integer_slice()?)))),
        _ => None,
    }
}

/// Dims of `x` with a plain vector as one column.
pub fn matrix_dims(x: &Robj) -> Vec<usize> {
    let mut dims = dims_of(x);
    if dims.len() == 1 {
        dims.push(1);
    }
    dims
}

/// An R numeric/integer/logical vector, matrix or array as a row-major f32 tensor, batch
/// first (a plain vector is one column). NA/NaN/Inf and non-numeric input are errors that
/// name `what`.
pub fn to_tensor(x: &Robj, what: &str) -> std::result::Result<Tensor<f32>, String> {
    let dims = matrix_dims(x);
    let r = match with_columns(x, &dims, |c| c.to_tensor()) {
        Some(r) => r,
        None => match x.rtype() {
            Rtype::Logicals => {
                let s: Vec<i32> = x
                    .as_logical_slice()
                    .unwrap()
                    .iter()
                    .map(|v| if v.is_na() { i32::MIN } else { v.is_true() as i32 })
                    .collect();
                from_col_major(&dims, &s)
            }
            Rtype::Null => return Err(format!("{what} is NULL; a numeric matrix or array is needed")),
            _ => {
                return Err(format!(
                    "{what} must be a numeric matrix or array, got {} (type {}); for a data frame use as.matrix()",
                    x.class().map(|c| c.collect::<Vec<_>>().join("/")).unwrap_or_default(),
                    r_typeof(x)
                ))
            }
        },
    };
    // a plain vector's values are elements, not rows of a column
    r.map_err(|bad| bad_value(what, &dims_of(x), bad))
}

/// A tensor as an R double array with `dim` (a matrix for 2-D).
pub fn from_tensor(t: &Tensor<f32>) -> Robj {
    let data = to_col_major(t);
    let mut r: Robj = data.into();
    let dims: Vec<i32> = t.shape.iter().map(|d| *d as i32).collect();
    if dims.len() > 1 && dims.iter().product::<i32>() as usize == r.len() {
        let _ = r.set_attrib("dim", dims);
    }
    r
}

/// Logs as a named R list of doubles, in their order.
pub fn logs_to_r(logs: &Logs) -> Robj {
    let names: Vec<&str> = logs.keys().collect();
    let values: Vec<Robj> = logs.iter().map(|(_, v)| Robj::from(v)).collect();
    List::from_names_and_values(names, values).map(Robj::from).unwrap_or_else(|_| List::new(0).into())
}

/// Merges a named list of numbers an R hook returned into the logs; anything else is ignored.
pub fn merge_into_logs(x: &Robj, logs: &mut Logs) {
    if let (Some(list), Some(_)) = (x.as_list(), x.names()) {
        for (k, v) in list.iter() {
            if k.is_empty() {
                continue;
            }
            let val = match v.rtype() {
                Rtype::Doubles if v.len() == 1 => v.as_real_slice().map(|s| s[0]),
                Rtype::Integers if v.len() == 1 => v.as_integer_slice().map(|s| s[0] as f64),
                _ => None,
            };
            if let Some(val) = val {
                logs.insert(k, val);
            }
        }
    }
}

/// A per-sample weight vector (`sample_weight`), checked for length and finiteness.
pub fn to_weights(x: &Robj, n: usize, what: &str) -> std::result::Result<Option<Vec<f32>>, String> {
    if x.is_null() {
        return Ok(None);
    }
    let t = to_tensor(x, what)?;
    if t.data.len() != n {
        return Err(format!("{what} has length {}, but there are {n} samples", t.data.len()));
    }
    Ok(Some(t.data))
}

/// R's name for the type of `x`, as `typeof()` gives it ("double", "character", "list", ...).
pub fn r_typeof(x: &Robj) -> &'static str {
    match x.rtype() {
        Rtype::Null => "NULL",
        Rtype::Symbol => "symbol",
        Rtype::Pairlist => "pairlist",
        Rtype::Function => "closure",
        Rtype::Environment => "environment",
        Rtype::Promise => "promise",
        Rtype::Language => "language",
        Rtype::Special => "special",
        Rtype::Builtin => "builtin",
        Rtype::Rstr => "char",
        Rtype::Logicals => "logical",
        Rtype::Integers => "integer",
        Rtype::Doubles => "double",
        Rtype::Complexes => "complex",
        Rtype::Strings => "character",
        Rtype::Dot => "...",
        Rtype::Any => "any",
        Rtype::List => "list",
        Rtype::Expressions => "expression",
        Rtype::Bytecode => "bytecode",
        Rtype::ExternalPtr => "externalptr",
        Rtype::WeakRef => "weakref",
        Rtype::Raw => "raw",
        Rtype::S4 => "S4",
        _ => "unknown",
    }
}
