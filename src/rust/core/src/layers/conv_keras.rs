//! Reading the shape arguments of the transposed, depthwise and separable convolutions from a
//! Keras layer config (Keras 3 and tf.keras 2 write them alike), and the serde defaults their
//! specs share.

use super::padding::DataFormat;
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

/// `kernel_size`, `strides`, `padding`, `dilation_rate`, `data_format` of a 2d layer config.
pub(super) struct ShapeArgs {
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    pub dilation_rate: Vec<usize>,
    pub data_format: DataFormat,
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
/// does not implement (regularizers and constraints under `unsupported`, groups) are absent.
pub(super) fn shape_args(c: &KerasLayerConfig<'_>, unsupported: &[&str]) -> Result<ShapeArgs, String> {
    c.require_null(unsupported)?;
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
        data_format: DataFormat::from_keras(c)?,
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

#[cfg(test)]
mod tests {
    use crate::keras_h5::{Generation, KerasLayerConfig};
    use crate::layers::{LayerKind, LayerSpec};
    use serde_json::{json, Value};

    fn read(class: &str, config: &Value, generation: Generation) -> Result<LayerKind, String> {
        let mut warnings = Vec::new();
        let mut c = KerasLayerConfig { config, name: "l", class, generation, warnings: &mut warnings };
        let kind = LayerKind::from_keras(class, &mut c).expect("a supported class");
        assert!(warnings.is_empty(), "{warnings:?}");
        kind
    }

    fn keys(entries: &[(&'static str, crate::keras_json::Json)]) -> Vec<String> {
        entries.iter().map(|(k, _)| k.to_string()).collect()
    }

    /// Each Keras 3 config of tests/fixtures/keras/conv_x/layers.json reads into a kind that
    /// writes the same keys in Keras' order, and reads back from what it writes.
    #[test]
    fn keras3_configs_read_and_write_in_keras_order() {
        let text = std::fs::read_to_string(crate::testutil::fixture("keras/conv_x/layers.json")).unwrap();
        let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(cases.len(), 8);
        for case in cases {
            let class = match case["fn"].as_str().unwrap() {
                "layer_conv_2d_transpose" => "Conv2DTranspose",
                "layer_depthwise_conv_2d" => "DepthwiseConv2D",
                _ => "SeparableConv2D",
            };
            let config = &case["config"];
            let kind = read(class, config, Generation::Keras3).unwrap();
            let want: Vec<String> = case["config_keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_string())
                .filter(|k| !["name", "trainable", "dtype"].contains(&k.as_str()))
                .collect();
            let entries = kind.keras_config();
            assert_eq!(keys(&entries), want, "{}", case["name"]);
            // what rkeras writes reads back to the same kind
            let spec = LayerSpec { name: "l".into(), trainable: true, kind: kind.clone() };
            let written: Value = serde_json::from_str(&crate::keras_json::layer_config(&spec).to_string()).unwrap();
            assert_eq!(read(class, &written, Generation::Keras3).unwrap(), kind, "{}", case["name"]);
            let written2 = crate::keras_json::Json::Obj(
                kind.keras2_config("l").unwrap().into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            );
            let written2: Value = serde_json::from_str(&written2.to_string()).unwrap();
            assert_eq!(read(class, &written2, Generation::Keras2).unwrap(), kind, "{}", case["name"]);
        }
    }

    /// The keys tf.keras 2.21 writes (its `to_json()`), in its order.
    #[test]
    fn keras2_configs_have_tf_keras_keys() {
        let cases = [
            (
                json!({"class_name": "Conv2DTranspose", "name": "t", "filters": 3, "kernel_size": [2, 2]}),
                "filters kernel_size strides padding data_format dilation_rate groups activation use_bias \
                 kernel_initializer bias_initializer kernel_regularizer bias_regularizer activity_regularizer \
                 kernel_constraint bias_constraint output_padding",
            ),
            (
                json!({"class_name": "DepthwiseConv2D", "name": "d", "kernel_size": [3, 3]}),
                "kernel_size strides padding data_format dilation_rate groups activation use_bias bias_initializer \
                 bias_regularizer activity_regularizer bias_constraint depth_multiplier depthwise_initializer \
                 depthwise_regularizer depthwise_constraint",
            ),
            (
                json!({"class_name": "SeparableConv2D", "name": "s", "filters": 4, "kernel_size": [2, 2]}),
                "filters kernel_size strides padding data_format dilation_rate groups activation use_bias \
                 kernel_initializer bias_initializer kernel_regularizer bias_regularizer activity_regularizer \
                 kernel_constraint bias_constraint depth_multiplier depthwise_initializer pointwise_initializer \
                 depthwise_regularizer pointwise_regularizer depthwise_constraint pointwise_constraint",
            ),
        ];
        for (spec, want) in cases {
            let spec: LayerSpec = serde_json::from_value(spec).unwrap();
            let got = keys(&spec.kind.keras2_config(&spec.name).unwrap());
            assert_eq!(got.join(" "), want.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }

    #[test]
    fn unsupported_settings_are_errors() {
        let base = json!({"filters": 2, "kernel_size": [3, 3]});
        let with = |k: &str, v: Value| {
            let mut c = base.clone();
            c[k] = v;
            c
        };
        let e =
            read("Conv2DTranspose", &with("data_format", json!("channels_middle")), Generation::Keras3).unwrap_err();
        assert_eq!(
            e,
            "layer 'l' (Conv2DTranspose): data_format = \"channels_middle\" is not \"channels_last\" or \"channels_first\""
        );
        let e =
            read("SeparableConv2D", &with("pointwise_regularizer", json!({"class_name": "L2"})), Generation::Keras3)
                .unwrap_err();
        assert!(e.starts_with("layer 'l' (SeparableConv2D): pointwise_regularizer = "), "{e}");
        let e = read("DepthwiseConv2D", &with("groups", json!(2)), Generation::Keras2).unwrap_err();
        assert_eq!(e, "layer 'l' (DepthwiseConv2D): groups other than 1 are not supported");
        let e = read("Conv2DTranspose", &with("output_padding", json!([1, -1])), Generation::Keras3).unwrap_err();
        assert_eq!(e, "layer 'l' (Conv2DTranspose): output_padding must be 2 non-negative integer(s)");
        let e = read("Conv2DTranspose", &json!({"kernel_size": 3}), Generation::Keras3).unwrap_err();
        assert_eq!(e, "layer 'l' (Conv2DTranspose): `filters` is missing or not a positive integer");
    }
}
