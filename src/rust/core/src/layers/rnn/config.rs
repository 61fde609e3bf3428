//! The recurrent layers' arguments (R specs) and their Keras configs, both generations.

use super::engine::{Args, Recurrent};
use super::Cell;
use crate::activations::Activation;
use crate::init::Initializer;
use crate::keras_h5::keras2;
use crate::keras_h5::KerasLayerConfig;
use crate::keras_json::{activation_name, initializer_json, Json};
use crate::layers::{ConfigEntries, Layer, LayerDef, LayerSpec, MaskFlow, WeightCount};
use crate::rng::Rng;
use crate::Real;
use serde::{Deserialize, Serialize};

fn tanh() -> Activation {
    Activation::Tanh
}
fn sigmoid() -> Activation {
    Activation::Sigmoid
}
fn glorot() -> Initializer {
    Initializer::GlorotUniform
}
fn orthogonal() -> Initializer {
    Initializer::Orthogonal { gain: 1.0 }
}
fn zeros() -> Initializer {
    Initializer::Zeros
}
fn yes() -> bool {
    true
}

/// `layer_simple_rnn()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimpleRNNConfig {
    pub units: usize,
    #[serde(default = "tanh")]
    pub activation: Activation,
    #[serde(default = "yes")]
    pub use_bias: bool,
    #[serde(default = "glorot")]
    pub kernel_initializer: Initializer,
    #[serde(default = "orthogonal")]
    pub recurrent_initializer: Initializer,
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    #[serde(default)]
    pub dropout: f64,
    #[serde(default)]
    pub recurrent_dropout: f64,
    #[serde(default)]
    pub return_sequences: bool,
    #[serde(default)]
    pub go_backwards: bool,
    #[serde(default)]
    pub unroll: bool,
}

/// `layer_lstm()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LSTMConfig {
    pub units: usize,
    #[serde(default = "tanh")]
    pub activation: Activation,
    #[serde(default = "sigmoid")]
    pub recurrent_activation: Activation,
    #[serde(default = "yes")]
    pub use_bias: bool,
    #[serde(default = "glorot")]
    pub kernel_initializer: Initializer,
    #[serde(default = "orthogonal")]
    pub recurrent_initializer: Initializer,
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    #[serde(default = "yes")]
    pub unit_forget_bias: bool,
    #[serde(default)]
    pub dropout: f64,
    #[serde(default)]
    pub recurrent_dropout: f64,
    #[serde(default)]
    pub return_sequences: bool,
    #[serde(default)]
    pub go_backwards: bool,
    #[serde(default)]
    pub unroll: bool,
}

/// `layer_gru()`'s arguments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GRUConfig {
    pub units: usize,
    #[serde(default = "tanh")]
    pub activation: Activation,
    #[serde(default = "sigmoid")]
    pub recurrent_activation: Activation,
    #[serde(default = "yes")]
    pub use_bias: bool,
    #[serde(default = "glorot")]
    pub kernel_initializer: Initializer,
    #[serde(default = "orthogonal")]
    pub recurrent_initializer: Initializer,
    #[serde(default = "zeros")]
    pub bias_initializer: Initializer,
    #[serde(default)]
    pub dropout: f64,
    #[serde(default)]
    pub recurrent_dropout: f64,
    #[serde(default)]
    pub return_sequences: bool,
    #[serde(default)]
    pub go_backwards: bool,
    #[serde(default)]
    pub unroll: bool,
    #[serde(default = "yes")]
    pub reset_after: bool,
}

impl SimpleRNNConfig {
    fn args(&self) -> Args<'_> {
        Args {
            cell: Cell::Simple,
            units: self.units,
            activation: self.activation,
            recurrent_activation: Activation::Sigmoid,
            use_bias: self.use_bias,
            kernel_initializer: &self.kernel_initializer,
            recurrent_initializer: &self.recurrent_initializer,
            bias_initializer: &self.bias_initializer,
            unit_forget_bias: false,
            dropout: self.dropout,
            recurrent_dropout: self.recurrent_dropout,
            return_sequences: self.return_sequences,
            go_backwards: self.go_backwards,
        }
    }
}

impl LSTMConfig {
    fn args(&self) -> Args<'_> {
        Args {
            cell: Cell::Lstm,
            units: self.units,
            activation: self.activation,
            recurrent_activation: self.recurrent_activation,
            use_bias: self.use_bias,
            kernel_initializer: &self.kernel_initializer,
            recurrent_initializer: &self.recurrent_initializer,
            bias_initializer: &self.bias_initializer,
            unit_forget_bias: self.unit_forget_bias,
            dropout: self.dropout,
            recurrent_dropout: self.recurrent_dropout,
            return_sequences: self.return_sequences,
            go_backwards: self.go_backwards,
        }
    }
}

impl GRUConfig {
    fn args(&self) -> Args<'_> {
        Args {
            cell: Cell::Gru { reset_after: self.reset_after },
            units: self.units,
            activation: self.activation,
            recurrent_activation: self.recurrent_activation,
            use_bias: self.use_bias,
            kernel_initializer: &self.kernel_initializer,
            recurrent_initializer: &self.recurrent_initializer,
            bias_initializer: &self.bias_initializer,
            unit_forget_bias: false,
            dropout: self.dropout,
            recurrent_dropout: self.recurrent_dropout,
            return_sequences: self.return_sequences,
            go_backwards: self.go_backwards,
        }
    }
}

/// The config entries the base `RNN` layer writes first, in Keras 3 (`keras2`: tf.keras 2, which
/// has `time_major` and no `zero_output_for_mask`).
fn rnn_entries(a: &Args<'_>, unroll: bool, keras2: bool, c: &mut ConfigEntries) {
    c.push(("return_sequences", Json::Bool(a.return_sequences)));
    c.push(("return_state", Json::Bool(false)));
    c.push(("go_backwards", Json::Bool(a.go_backwards)));
    c.push(("stateful", Json::Bool(false)));
    c.push(("unroll", Json::Bool(unroll)));
    if keras2 {
        c.push(("time_major", Json::Bool(false)));
    } else {
        c.push(("zero_output_for_mask", Json::Bool(false)));
    }
}

/// The cell's entries (units .. recurrent_dropout), in the order both generations write them.
fn cell_entries(a: &Args<'_>, layer: &str, keras2_: bool, c: &mut ConfigEntries) -> Result<(), String> {
    let act = |x: Activation| -> Result<Json, String> {
        if keras2_ {
            keras2::activation(x, layer)
        } else {
            Ok(Json::s(activation_name(x)))
        }
    };
    let init = |i: &Initializer| if keras2_ { keras2::initializer(i) } else { initializer_json(i) };
    c.push(("units", Json::Int(a.units as i64)));
    c.push(("activation", act(a.activation)?));
    if a.cell != Cell::Simple {
        c.push(("recurrent_activation", act(a.recurrent_activation)?));
    }
    c.push(("use_bias", Json::Bool(a.use_bias)));
    c.push(("kernel_initializer", init(a.kernel_initializer)));
    c.push(("recurrent_initializer", init(a.recurrent_initializer)));
    c.push(("bias_initializer", init(a.bias_initializer)));
    if a.cell == Cell::Lstm {
        c.push(("unit_forget_bias", Json::Bool(a.unit_forget_bias)));
    }
    for k in [
        "kernel_regularizer",
        "recurrent_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "recurrent_constraint",
        "bias_constraint",
    ] {
        c.push((k, Json::Null));
    }
    c.push(("dropout", Json::Float(a.dropout)));
    c.push(("recurrent_dropout", Json::Float(a.recurrent_dropout)));
    Ok(())
}

/// The whole Keras config tail of a recurrent layer after `name, trainable, dtype`.
fn entries(a: &Args<'_>, unroll: bool, layer: &str, keras2_: bool, c: &mut ConfigEntries) -> Result<(), String> {
    rnn_entries(a, unroll, keras2_, c);
    cell_entries(a, layer, keras2_, c)?;
    let gru = match a.cell {
        Cell::Gru { reset_after } => Some(reset_after),
        _ => None,
    };
    if keras2_ {
        if a.cell != Cell::Simple {
            c.push(("implementation", Json::Int(if a.recurrent_dropout > 0.0 { 1 } else { 2 })));
        }
        if let Some(r) = gru {
            c.push(("reset_after", Json::Bool(r)));
        }
    } else {
        if let Some(r) = gru {
            c.push(("reset_after", Json::Bool(r)));
        }
        if a.cell != Cell::Simple {
            c.push(("seed", Json::Null));
        }
    }
    Ok(())
}

/// The common reading of a Keras recurrent layer config: checks what rkeras cannot do.
struct Read {
    units: usize,
    activation: Activation,
    recurrent_activation: Activation,
    use_bias: bool,
    kernel_initializer: Initializer,
    recurrent_initializer: Initializer,
    bias_initializer: Initializer,
    dropout: f64,
    recurrent_dropout: f64,
    return_sequences: bool,
    go_backwards: bool,
    unroll: bool,
}

fn read(c: &mut KerasLayerConfig<'_>) -> Result<Read, String> {
    c.require_null(&[
        "kernel_regularizer",
        "recurrent_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "recurrent_constraint",
        "bias_constraint",
    ])?;
    let err = |what: &str| format!("layer '{}' ({}): {what}", c.name, c.class);
    for k in ["return_state", "stateful", "time_major"] {
        if c.bool_or(k, false) {
            return Err(err(&format!("{k} = true is not supported by rkeras")));
        }
    }
    if c.get("cell").is_some_and(|v| !v.is_null()) {
        return Err(err("a custom `cell` is not supported by rkeras"));
    }
    let units =
        c.usize_arg("units").filter(|u| *u > 0).ok_or_else(|| err("`units` is missing or not a positive integer"))?;
    let rate = |k: &str| -> Result<f64, String> {
        let v = c.get(k).and_then(|v| v.as_f64()).unwrap_or(0.0);
        if (0.0..1.0).contains(&v) {
            Ok(v)
        } else {
            Err(err(&format!("{k} = {v} is not in [0, 1)")))
        }
    };
    let (dropout, recurrent_dropout) = (rate("dropout")?, rate("recurrent_dropout")?);
    let activation = if c.get("activation").is_some() { c.activation("activation")? } else { Activation::Tanh };
    let recurrent_activation = if c.get("recurrent_activation").is_some() {
        c.activation("recurrent_activation")?
    } else {
        Activation::Sigmoid
    };
    Ok(Read {
        units,
        activation,
        recurrent_activation,
        use_bias: c.bool_or("use_bias", true),
        kernel_initializer: c.initializer("kernel_initializer", Initializer::GlorotUniform),
        recurrent_initializer: c.initializer("recurrent_initializer", Initializer::Orthogonal { gain: 1.0 }),
        bias_initializer: c.initializer("bias_initializer", Initializer::Zeros),
        dropout,
        recurrent_dropout,
        return_sequences: c.bool_or("return_sequences", false),
        go_backwards: c.bool_or("go_backwards", false),
        unroll: c.bool_or("unroll", false),
    })
}

/// The weight values of a recurrent layer on per-sample input `(T, F)`, output shape into `shape`.
fn count(a: &Args<'_>, shape: &mut Vec<usize>) -> WeightCount {
    if shape.len() != 2 {
        return WeightCount::Unknown;
    }
    let (t, f, u, g) = (shape[0], shape[1], a.units, a.cell.gates());
    let n = (|| {
        let w = f.checked_add(u)?.checked_mul(u)?.checked_mul(g)?;
        w.checked_add(if a.use_bias { a.bias_len() } else { 0 })
    })();
    *shape = if a.return_sequences { vec![t, u] } else { vec![u] };
    n.map_or(WeightCount::TooBig, WeightCount::Values)
}

macro_rules! recurrent_def {
    ($cfg:ty, |$r:ident, $c:ident| $make:expr) => {
        impl LayerDef for $cfg {
            const MASK_KWARG: bool = true;
            const TAKES_TRAINING: bool = true;

            fn build<T: Real>(
                &self,
                spec: &LayerSpec,
                inputs: &[&[usize]],
                rng: &mut Rng,
            ) -> Result<Box<dyn Layer<T>>, String> {
                Ok(Box::new(Recurrent::new(spec.clone(), &self.args(), inputs[0], rng)?))
            }

            fn keras_config(&self, c: &mut ConfigEntries) {
                entries(&self.args(), self.unroll, "", false, c).expect("Keras 3 writes every activation");
            }

            fn keras2_config(&self, layer: &str, c: &mut ConfigEntries) -> Result<(), String> {
                entries(&self.args(), self.unroll, layer, true, c)
            }

            fn from_keras($c: &mut KerasLayerConfig<'_>) -> Result<Self, String> {
                let $r = read($c)?;
                Ok($make)
            }

            fn weight_count(&self, shape: &mut Vec<usize>) -> WeightCount {
                count(&self.args(), shape)
            }

            fn min_weight_count(&self) -> usize {
                let a = self.args();
                a.units * a.units * a.cell.gates()
            }

            /// Keras 3: the mask goes on with the sequence (`return_sequences`) and ends with it
            /// otherwise; the layer itself skips the masked steps (`set_input_mask`).
            fn mask_flow(&self) -> MaskFlow {
                if self.return_sequences {
                    MaskFlow::Pass
                } else {
                    MaskFlow::Stop
                }
            }
        }
    };
}

recurrent_def!(SimpleRNNConfig, |r, _c| SimpleRNNConfig {
    units: r.units,
    activation: r.activation,
    use_bias: r.use_bias,
    kernel_initializer: r.kernel_initializer,
    recurrent_initializer: r.recurrent_initializer,
    bias_initializer: r.bias_initializer,
    dropout: r.dropout,
    recurrent_dropout: r.recurrent_dropout,
    return_sequences: r.return_sequences,
    go_backwards: r.go_backwards,
    unroll: r.unroll,
});

recurrent_def!(LSTMConfig, |r, c| LSTMConfig {
    units: r.units,
    activation: r.activation,
    recurrent_activation: r.recurrent_activation,
    use_bias: r.use_bias,
    kernel_initializer: r.kernel_initializer,
    recurrent_initializer: r.recurrent_initializer,
    bias_initializer: r.bias_initializer,
    unit_forget_bias: c.bool_or("unit_forget_bias", true),
    dropout: r.dropout,
    recurrent_dropout: r.recurrent_dropout,
    return_sequences: r.return_sequences,
    go_backwards: r.go_backwards,
    unroll: r.unroll,
});

recurrent_def!(GRUConfig, |r, c| GRUConfig {
    units: r.units,
    activation: r.activation,
    recurrent_activation: r.recurrent_activation,
    use_bias: r.use_bias,
    kernel_initializer: r.kernel_initializer,
    recurrent_initializer: r.recurrent_initializer,
    bias_initializer: r.bias_initializer,
    dropout: r.dropout,
    recurrent_dropout: r.recurrent_dropout,
    return_sequences: r.return_sequences,
    go_backwards: r.go_backwards,
    unroll: r.unroll,
    reset_after: c.bool_or("reset_after", true),
});
