//! Reading the shape arguments of the transposed, depthwise and separable convolutions from a
//! Keras layer config (Keras 3 and tf.keras 2 write them alike), and the serde defaults their
//! specs share.

use super::Padding;
use crate::activations::Activation;
use crate::init::Initializer;
use crate::keras_h5::KerasLayerConfig;
use serde_json::Value;

pub(super) fn valid() -> Padding {
    Padding::Valid
}
pub(super) fn ones2() -> Vec<usize> {
    vec![1, 1]
}
pub(super) fn linear() -> Activation {
    Activation::Linear
}
pub(super) fn glorot() -> Initializer {
    Initializer::GlorotUniform
}
pub(super) fn zeros() -> Initializer {
    Initializer::Zeros
}

/// `kernel_size`, `strides`, `padding`, `dilation_rate` of a 2d layer config.
pub(super) struct ShapeArgs {
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    pub dilation_rate: Vec<usize>,
}

fn err(c: &KerasLayerConfig<'_>, what: &str) -> String {
    format!("layer '{}' ({}): {what}", c.name, c.class)
}

/// An integer tuple argument of `rank` values (one number is repeated), each at least `min`;
/// `default` when absent or null (`None`: the argument is required).
pub(super) fn tuple(
    c: &KerasLayerConfig<'_>,
    key: &str,
    rank: usize,
    default: Option<usize>,
    min: i64,
) -> Result<Option<Vec<usize>>, String> {
    let v: Vec<i64> = match c.get(key) {
        None | Some(Value::Null) => return Ok(default.map(|d| vec![d; rank])),
        Some(Value::Number(_)) => vec![c.int_arg(key)?.unwrap_or(-1); rank],
        _ => c.int_list(key)?,
    };
    if v.len() != rank || v.iter().any(|x| *x < min) {
        let what = if min > 0 { "positive" } else { "non-negative" };
        return Err(err(c, &format!("{key} must be {rank} {what} integer(s)")));
    }
    Ok(Some(v.into_iter().map(|x| x as usize).collect()))
}

/// The shape arguments shared by the 2d convolutions, after checking that the settings rkeras
/// does not implement (regularizers and constraints under `unsupported`, channels_first,
/// groups) are absent.
pub(super) fn shape_args(c: &KerasLayerConfig<'_>, unsupported: &[&str]) -> Result<ShapeArgs, String> {
    c.require_null(unsupported)?;
    if let Some(f) = c.get("data_format").and_then(Value::as_str) {
        if f != "channels_last" {
            return Err(err(c, &format!("data_format = '{f}' is not supported (only channels_last)")));
        }
    }
    if c.int_arg("groups")?.unwrap_or(1) != 1 {
        return Err(err(c, "groups other than 1 are not supported"));
    }
    let padding = match c.get("padding").and_then(Value::as_str).unwrap_or("valid") {
        "valid" => Padding::Valid,
        "same" => Padding::Same,
        p => return Err(err(c, &format!("padding = '{p}' is not supported"))),
    };
    Ok(ShapeArgs {
        kernel_size: tuple(c, "kernel_size", 2, None, 1)?.ok_or_else(|| err(c, "`kernel_size` is missing"))?,
        strides: tuple(c, "strides", 2, Some(1), 1)?.unwrap_or_default(),
        padding,
        dilation_rate: tuple(c, "dilation_rate", 2, Some(1), 1)?.unwrap_or_default(),
    })
}

/// A positive integer argument (`default` when absent).
pub(super) fn positive(c: &KerasLayerConfig<'_>, key: &str, default: Option<usize>) -> Result<usize, String> {
    match c.get(key) {
        None | Some(Value::Null) if default.is_some() => Ok(default.unwrap_or(1)),
        _ => c
            .usize_arg(key)
            .filter(|v| *v > 0)
            .ok_or_else(|| err(c, &format!("`{key}` is missing or not a positive integer"))),
    }
}
