//! A small interpreter for Python `str.format` fields, for ModelCheckpoint file names such
//! as `weights.{epoch:02d}-{val_loss:.2f}.hdf5`: `{name}`, `{name:Nd}`, `{name:0Nd}`,
//! `{name:.Pf}`, `{name:.Pe}`, `{name:.Pg}`, `{{` and `}}`.

use crate::csv_log::python_float_repr;

/// A value to format: integers (epoch, batch) or floats (log values).
#[derive(Clone, Copy, Debug)]
pub enum Value {
    Int(i64),
    Float(f64),
}

fn python_exp(v: f64, precision: usize) -> String {
    let s = format!("{:.*e}", precision, v);
    // Rust: 1.2346e-4, Python: 1.2346e-04
    match s.split_once('e') {
        Some((mant, exp)) => {
            let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
            format!("{mant}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

fn format_one(v: Value, spec: &str) -> Result<String, String> {
    let (body, ty) = match spec.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => (&spec[..spec.len() - 1], Some(c)),
        _ => (spec, None),
    };
    let (width_part, precision) = match body.split_once('.') {
        Some((w, p)) => (w, Some(p.parse::<usize>().map_err(|_| format!("bad precision in '{spec}'"))?)),
        None => (body, None),
    };
    let zero = width_part.starts_with('0') && width_part.len() > 1;
    let width: usize =
        if width_part.is_empty() { 0 } else { width_part.parse().map_err(|_| format!("bad width in '{spec}'"))? };
    let text = match (ty, v) {
        (Some('d'), Value::Int(i)) => i.to_string(),
        (Some('d'), Value::Float(_)) => return Err(format!("format code 'd' needs an integer (in '{spec}')")),
        (Some('f'), _) | (Some('F'), _) => format!("{:.*}", precision.unwrap_or(6), as_f64(v)),
        (Some('e'), _) => python_exp(as_f64(v), precision.unwrap_or(6)),
        (Some('g'), _) | (None, Value::Float(_)) if precision.is_some() => {
            let p = precision.unwrap().max(1);
            let x = as_f64(v);
            let exp = if x == 0.0 { 0 } else { x.abs().log10().floor() as i32 };
            if exp < -4 || exp >= p as i32 {
                let s = python_exp(x, p - 1);
                strip_zeros_exp(&s)
            } else {
                let s = format!("{:.*}", (p as i32 - 1 - exp).max(0) as usize, x);
                if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    s
                }
            }
        }
        (None, Value::Int(i)) => i.to_string(),
        (None, Value::Float(x)) => python_float_repr(x),
        (Some(c), _) => return Err(format!("unsupported format code '{c}' in '{spec}'")),
    };
    Ok(if text.len() >= width {
        text
    } else if zero {
        let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |d| ("-", d));
        format!("{sign}{}{digits}", "0".repeat(width - text.len()))
    } else if matches!(v, Value::Int(_) | Value::Float(_)) {
        format!("{}{text}", " ".repeat(width - text.len()))
    } else {
        text
    })
}

fn strip_zeros_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.')),
        _ => s.to_string(),
    }
}

fn as_f64(v: Value) -> f64 {
    match v {
        Value::Int(i) => i as f64,
        Value::Float(x) => x,
    }
}

/// Formats `template`, looking fields up with `lookup`; a missing field is an error that
/// names it (Keras raises KeyError).
pub fn format(template: &str, lookup: impl Fn(&str) -> Option<Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if matches!(chars.peek(), Some((_, '{'))) => {
                chars.next();
                out.push('{');
            }
            '}' if matches!(chars.peek(), Some((_, '}'))) => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let rest = &template[i + 1..];
                let end = rest.find('}').ok_or_else(|| format!("unmatched '{{' in '{template}'"))?;
                let field = &rest[..end];
                let (name, spec) = field.split_once(':').unwrap_or((field, ""));
                let v = lookup(name).ok_or_else(|| format!("KeyError: '{name}' is not a log key or `epoch`"))?;
                out.push_str(&format_one(v, spec)?);
                for _ in 0..end + 1 {
                    chars.next();
                }
            }
            '}' => return Err(format!("single '}}' in '{template}'")),
            _ => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(t: &str) -> Result<String, String> {
        format(t, |k| match k {
            "epoch" => Some(Value::Int(3)),
            "val_loss" => Some(Value::Float(0.123456)),
            "loss" => Some(Value::Float(0.00012345)),
            "big" => Some(Value::Float(1234.5)),
            _ => None,
        })
    }

    #[test]
    fn keras_checkpoint_templates_format_like_python() {
        assert_eq!(fmt("weights.{epoch:02d}-{val_loss:.2f}.hdf5").unwrap(), "weights.03-0.12.hdf5");
        assert_eq!(fmt("m{epoch}.h5").unwrap(), "m3.h5");
        assert_eq!(fmt("{loss:.4e}").unwrap(), "1.2345e-04");
        assert_eq!(fmt("{val_loss}").unwrap(), "0.123456");
        assert_eq!(fmt("{epoch:3d}|{epoch:03d}").unwrap(), "  3|003");
        assert_eq!(fmt("{big:.3g} {loss:.2g}").unwrap(), "1.23e+03 0.00012");
        assert_eq!(fmt("{{epoch}}").unwrap(), "{epoch}");
        assert!(fmt("{nope}").unwrap_err().contains("'nope'"));
        assert!(fmt("{val_loss:d}").is_err());
        assert!(fmt("{epoch").is_err());
    }
}
