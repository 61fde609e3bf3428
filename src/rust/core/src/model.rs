//! A model: a graph of built layers (see [`crate::graph`]) with its activation and gradient
//! buffers, plus the compile configuration (optimizer, a loss and metrics per output).
//! Sequential models are the chain graph; functional models may have several inputs and
//! outputs, merge layers and shared layers.

use crate::activations::Activation;
use crate::denormal;
use crate::graph::{Flat, Graph, InputSpec, MaskFill, MaskPlan, NodeSpec, Plan, TRef};
use crate::layers::{self, fmt_shape, Layer, LayerSpec, Mask};
use crate::losses::logits::LogitsLoss;
use crate::losses::{self, Loss};
use crate::metrics::{resolve_metric, Metric};
use crate::optimizers::{Optimizer, OptimizerConfig};
use crate::reuse::SliceVecs;
use crate::rng::Rng;
use crate::tensor::Tensor;
use crate::Real;
use serde::{Deserialize, Serialize};

/// The architecture as R describes it: a chain (`input_shape` + `layers`, the layout of
/// sequential models and of files written before graphs) or a graph (`inputs`, `layers`,
/// `nodes`, `outputs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    /// "Sequential" or "Functional".
    #[serde(default = "sequential")]
    pub class_name: String,
    /// Per-sample input shape of a chain (no batch axis).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_shape: Vec<usize>,
    /// Name of the input layer of a functional chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_name: Option<String>,
    /// Every distinct layer once, in Keras' `model$layers` order (the weights' order).
    pub layers: Vec<LayerSpec>,
    /// Graph layout: the model inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputSpec>,
    /// Graph layout: layer applications, in topological order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSpec>,
    /// Graph layout: the model outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<TRef>,
}

impl ModelSpec {
    /// A chain of `layers` on one input (sequential models, v1 functional chains).
    pub fn chain(
        name: &str,
        class_name: &str,
        input_shape: Vec<usize>,
        input_name: Option<String>,
        layers: Vec<LayerSpec>,
    ) -> Self {
        ModelSpec {
            name: name.into(),
            class_name: class_name.into(),
            input_shape,
            input_name,
            layers,
            inputs: vec![],
            nodes: vec![],
            outputs: vec![],
        }
    }

    /// Whether the spec is in the graph layout.
    pub fn is_graph(&self) -> bool {
        !self.inputs.is_empty()
    }

    /// The graph, whatever the layout.
    pub fn graph(&self) -> Graph {
        if self.is_graph() {
            return Graph { inputs: self.inputs.clone(), nodes: self.nodes.clone(), outputs: self.outputs.clone() };
        }
        let name = self.input_name.clone().unwrap_or_else(|| "input_layer".into());
        Graph::chain(InputSpec { name, shape: self.input_shape.clone() }, self.layers.len())
    }
}

fn sequential() -> String {
    "Sequential".into()
}

/// A compile setting given once for every output, or once per output (in output order).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PerOutput<V> {
    All(V),
    Each(Vec<V>),
}

impl<'de, V: serde::de::DeserializeOwned> Deserialize<'de> for PerOutput<V> {
    /// One value, else a list of values (the error of the one value when neither fits, so
    /// that an unknown loss name is named).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = serde_json::Value::deserialize(d)?;
        match V::deserialize(&v) {
            Ok(one) => Ok(PerOutput::All(one)),
            Err(e) => match &v {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(V::deserialize)
                    .collect::<Result<Vec<V>, _>>()
                    .map(PerOutput::Each)
                    .map_err(D::Error::custom),
                _ => Err(D::Error::custom(e)),
            },
        }
    }
}

impl<V: Default> Default for PerOutput<V> {
    fn default() -> Self {
        PerOutput::All(V::default())
    }
}

impl<V> PerOutput<V> {
    /// The setting of output `o`.
    pub fn get(&self, o: usize) -> &V {
        match self {
            PerOutput::All(v) => v,
            PerOutput::Each(vs) => &vs[o.min(vs.len().saturating_sub(1))],
        }
    }

    /// The one setting of a single-output compile (the first of a list).
    pub fn first(&self) -> &V {
        self.get(0)
    }

    /// Number of entries when given per output.
    fn len(&self) -> Option<usize> {
        match self {
            PerOutput::All(_) => None,
            PerOutput::Each(v) => Some(v.len()),
        }
    }
}

impl PerOutput<Vec<String>> {
    fn is_empty(&self) -> bool {
        match self {
            PerOutput::All(v) => v.is_empty(),
            PerOutput::Each(v) => v.iter().all(|m| m.is_empty()),
        }
    }
}

impl PerOutput<bool> {
    fn is_false(&self) -> bool {
        match self {
            PerOutput::All(b) => !b,
            PerOutput::Each(v) => v.iter().all(|b| !b),
        }
    }
}

/// A loss by any Keras name or alias (`"mse"`, `"kld"`, ...); written by its canonical name.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LossName(pub Loss);

impl TryFrom<String> for LossName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        Loss::from_name(&name).map(LossName)
    }
}

impl From<LossName> for String {
    fn from(l: LossName) -> String {
        l.0.name().to_string()
    }
}

/// What `compile()` sets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompileSpec {
    pub optimizer: OptimizerConfig,
    pub loss: PerOutput<LossName>,
    /// Metric names as the user gave them; they are the log keys. As in Keras, these
    /// ignore sample and class weights.
    #[serde(default)]
    pub metrics: PerOutput<Vec<String>>,
    /// Metrics computed with the sample (and class) weights (Keras' `weighted_metrics`).
    #[serde(default, skip_serializing_if = "PerOutput::is_empty")]
    pub weighted_metrics: PerOutput<Vec<String>>,
    /// The loss takes logits (Keras' `from_logits = TRUE`; cross-entropies only).
    #[serde(default, skip_serializing_if = "PerOutput::is_false")]
    pub from_logits: PerOutput<bool>,
    /// Per output: the factor of its loss in the total loss (1 when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_weights: Option<Vec<f64>>,
}

impl CompileSpec {
    /// A single-output compile.
    pub fn single(optimizer: OptimizerConfig, loss: Loss, metrics: Vec<String>) -> Self {
        CompileSpec {
            optimizer,
            loss: PerOutput::All(LossName(loss)),
            metrics: PerOutput::All(metrics),
            weighted_metrics: PerOutput::default(),
            from_logits: PerOutput::All(false),
            loss_weights: None,
        }
    }

    /// The loss of output `o`.
    pub fn loss_of(&self, o: usize) -> Loss {
        self.loss.get(o).0
    }

    /// The loss weight of output `o`.
    pub fn loss_weight(&self, o: usize) -> f64 {
        self.loss_weights.as_ref().and_then(|w| w.get(o).copied()).unwrap_or(1.0)
    }

    /// Checks that every per-output list has one entry per output.
    fn check_outputs(&self, names: &[String]) -> Result<(), String> {
        let n = names.len();
        let lens = [
            ("loss", self.loss.len()),
            ("metrics", self.metrics.len()),
            ("weighted_metrics", self.weighted_metrics.len()),
            ("from_logits", self.from_logits.len()),
            ("loss_weights", self.loss_weights.as_ref().map(Vec::len)),
        ];
        for (what, len) in lens {
            if let Some(len) = len.filter(|&l| l != n) {
                return Err(format!(
                    "`{what}` has {len} entries but the model has {} (\"{}\"); give one per output",
                    crate::data::count(n, "output"),
                    names.join("\", \"")
                ));
            }
        }
        Ok(())
    }

    /// The log keys for a model with outputs `names` (see [`Running`]).
    pub fn log_keys_for(&self, names: &[String]) -> Vec<String> {
        let mut keys = vec!["loss".to_string()];
        // a name taken is resolved among the output's own metrics, then prefixed with the
        // output's name (Keras 3: `out1_weighted_accuracy`)
        let mut taken: Vec<String> = vec!["loss".to_string()];
        let mut last = usize::MAX;
        for (o, name, weighted) in self.all_metrics(names.len()) {
            if o != last {
                taken.truncate(1);
                last = o;
            }
            let key = metric_key(&taken, name, weighted);
            taken.push(key.clone());
            keys.push(if names.len() > 1 { format!("{}_{key}", names[o]) } else { key });
        }
        if names.len() > 1 {
            keys.extend(names.iter().map(|n| format!("{n}_loss")));
        }
        keys
    }

    /// The log keys of a single-output model: `loss`, then each metric's (see [`metric_key`]),
    /// weighted ones last.
    pub fn log_keys(&self) -> Vec<String> {
        self.log_keys_for(&["output".to_string()])
    }

    /// Every metric with its output and whether it is weighted, in log order.
    fn all_metrics(&self, outputs: usize) -> impl Iterator<Item = (usize, &String, bool)> {
        (0..outputs).flat_map(move |o| {
            self.metrics
                .get(o)
                .iter()
                .map(move |n| (o, n, false))
                .chain(self.weighted_metrics.get(o).iter().map(move |n| (o, n, true)))
        })
    }
}

/// The log key of a metric, as Keras 3 names it: the name given; for a weighted metric whose
/// name is taken, `weighted_<name>`; a name taken again gets `_1`, `_2`, ...
fn metric_key(taken: &[String], name: &str, weighted: bool) -> String {
    let free = |k: &str| !taken.iter().any(|t| t == k);
    let base = if weighted && !free(name) { format!("weighted_{name}") } else { name.to_string() };
    if free(&base) {
        return base;
    }
    (1..).map(|i| format!("{base}_{i}")).find(|k| free(k)).unwrap()
}

/// How the loss gradient reaches an output node.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fusion {
    None,
    SoftmaxCrossentropy {
        sparse: bool,
    },
    SigmoidBinaryCrossentropy,
    /// A cross-entropy from logits: its gradient is that of the last layer's output.
    Logits(LogitsLoss),
}

/// Per output: its loss, how its gradient is fused, its weight.
#[derive(Clone, Copy, Debug)]
struct OutputLoss {
    loss: Loss,
    fusion: Fusion,
    weight: f64,
    /// The gradient is with respect to the output node's pre-activation.
    preactivation: bool,
}

/// The compiled state: optimizer with its moments, loss, and the resolved metrics.
pub struct Compiled<T: Real> {
    pub spec: CompileSpec,
    pub optimizer: Optimizer<T>,
    outputs: Vec<OutputLoss>,
}

/// Per-step scratch reused across steps.
#[derive(Default)]
struct Scratch<T> {
    /// Chunks of prediction input, kept between calls (no fresh pages per call).
    input: Vec<Tensor<T>>,
    /// Per node: its output and dL/d(output).
    acts: Vec<Tensor<T>>,
    grads: Vec<Tensor<T>>,
    /// Per node: whether its gradient buffer holds a value this step.
    ready: Vec<bool>,
    /// Per node, per input: a buffer for a gradient that is added to one already there.
    extra_dx: Vec<Vec<Tensor<T>>>,
    /// A second loss gradient for an output given twice.
    loss_grad: Tensor<T>,
    per_sample: Vec<T>,
    metric_tmp: Vec<T>,
    /// Sample weights repeated over the rows of an N-d output.
    row_weights: Vec<T>,
    /// Per node: its Keras mask, when it makes one (see [`MaskPlan`]).
    masks: Vec<Mask>,
    /// An output's mask as metric weights, without and with the sample weights.
    mask_weights: Vec<T>,
    mask_sample_weights: Vec<T>,
    /// Kept vectors for the weights and gradients handed to the optimizer, and for the weights
    /// of shared layers.
    params: SliceVecs,
    param_grads: SliceVecs,
    own: SliceVecs,
    copy: SliceVecs,
}

/// Which built instance runs a node: the layer's own (its first node) or a copy for a later
/// node of a shared layer.
#[derive(Clone, Copy, Debug)]
enum Inst {
    Own(usize),
    Copy(usize),
}

pub struct Model<T: Real> {
    pub spec: ModelSpec,
    graph: Graph,
    plan: Plan,
    /// Which nodes make, pass on and combine Keras masks.
    masks: MaskPlan,
    /// Per spec layer, built for its first node; these hold the weights.
    layers: Vec<Box<dyn Layer<T>>>,
    /// Instances for the later nodes of shared layers, with the layer they copy.
    copies: Vec<(usize, Box<dyn Layer<T>>)>,
    node_inst: Vec<Inst>,
    /// The names of the outputs (the layers that make them, or the input names).
    output_names: Vec<String>,
    /// Per layer of the spec: its built layers (several for a nested model), and the tensor
    /// its first application makes.
    groups: Vec<std::ops::Range<usize>>,
    first_output: Vec<TRef>,
    pub compiled: Option<Compiled<T>>,
    /// Stream for dropout masks (and anything random during training).
    pub rng: Rng,
    scratch: Scratch<T>,
}

/// Running, sample-weighted means of the loss and metrics over an epoch (Keras 3 semantics).
#[derive(Clone, Debug, Default)]
pub struct Running {
    pub names: Vec<String>,
    /// Per entry after `loss`: what it tracks.
    entries: Vec<Entry>,
    sums: Vec<f64>,
    weights: Vec<f64>,
}

#[derive(Clone, Debug)]
enum Entry {
    Metric { output: usize, metric: Metric, weighted: bool },
    OutputLoss(usize),
}

impl Running {
    pub fn reset(&mut self) {
        self.sums.iter_mut().for_each(|v| *v = 0.0);
        self.weights.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Current values, keyed by name (`loss` first in `names`).
    pub fn values(&self) -> impl Iterator<Item = (&str, f64)> {
        self.names.iter().enumerate().map(move |(i, n)| {
            let mean = if self.weights[i] > 0.0 { self.sums[i] / self.weights[i] } else { f64::NAN };
            let v = match i.checked_sub(1).map(|e| &self.entries[e]) {
                Some(Entry::Metric { metric, .. }) => metric.finalize(mean),
                _ => mean,
            };
            (n.as_str(), v)
        })
    }
}

/// At most this many inputs of a node are passed without allocating.
const INLINE_INPUTS: usize = 8;

/// Runs `f` with the tensors `refs` name, as `get` finds them (no allocation for up to
/// [`INLINE_INPUTS`] inputs).
fn with_inputs<'a, T: Real, R>(
    refs: &[TRef],
    get: impl Fn(TRef) -> &'a Tensor<T>,
    f: impl FnOnce(&[&'a Tensor<T>]) -> R,
) -> R {
    if refs.len() <= INLINE_INPUTS {
        let mut buf: [&Tensor<T>; INLINE_INPUTS] = [get(refs[0]); INLINE_INPUTS];
        for (b, r) in buf.iter_mut().zip(refs).skip(1) {
            *b = get(*r);
        }
        f(&buf[..refs.len()])
    } else {
        let v: Vec<&Tensor<T>> = refs.iter().map(|r| get(*r)).collect();
        f(&v)
    }
}

impl<T: Real> Model<T> {
    /// Builds every layer, node by node, checking the graph, shapes and name uniqueness.
    /// Nested models are inlined (see [`Flat`]).
    pub fn build(spec: ModelSpec, rng: &mut Rng) -> Result<Self, String> {
        let flat = Flat::of(&spec)?;
        let graph = flat.graph;
        let mut layers: Vec<Option<Box<dyn Layer<T>>>> = (0..flat.layers.len()).map(|_| None).collect();
        let mut copies = Vec::new();
        let mut node_inst = Vec::with_capacity(graph.nodes.len());
        let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(graph.nodes.len());
        let shape_of = |r: TRef, shapes: &[Vec<usize>]| match r {
            TRef::Input(i) => graph.inputs[i].shape.clone(),
            TRef::Node(j) => shapes[j].clone(),
        };
        for node in &graph.nodes {
            let ins: Vec<&[usize]> = node
                .inputs
                .iter()
                .map(|r| match *r {
                    TRef::Input(i) => &graph.inputs[i].shape[..],
                    TRef::Node(j) => &shapes[j][..],
                })
                .collect();
            let ls = &flat.layers[node.layer];
            let layer = layers::build::<T>(ls, &ins, rng)?;
            let out = layer.output_shape().to_vec();
            if layers[node.layer].is_none() {
                layers[node.layer] = Some(layer);
                node_inst.push(Inst::Own(node.layer));
            } else {
                let own = layers[node.layer].as_ref().unwrap();
                if own.param_count() != layer.param_count() {
                    return Err(format!(
                        "{}: a shared layer must be applied to inputs of one shape; it was built for ({}) and is now applied to {}",
                        ls.name,
                        fmt_shape(&shapes_of_first(&graph, &shapes, node.layer)),
                        layers::fmt_shapes(&ins)
                    ));
                }
                node_inst.push(Inst::Copy(copies.len()));
                copies.push((node.layer, layer));
            }
            shapes.push(out);
        }
        for (r, want, name) in &flat.expected {
            let got = shape_of(*r, &shapes);
            if &got != want {
                return Err(format!(
                    "{name}: the model expects input shape (None, {}), got (None, {})",
                    fmt_shape(want),
                    fmt_shape(&got)
                ));
            }
        }
        let masks = MaskPlan::new(&graph, &flat.layers)?;
        let layers: Vec<Box<dyn Layer<T>>> = layers.into_iter().map(Option::unwrap).collect();
        let train_rng = rng.fork();
        let mut m = Model {
            spec,
            graph,
            plan: Plan::default(),
            masks,
            layers,
            copies,
            node_inst,
            output_names: flat.output_names,
            groups: flat.groups,
            first_output: flat.first_output,
            compiled: None,
            rng: train_rng,
            scratch: Scratch::default(),
        };
        m.replan();
        Ok(m)
    }

    /// Per layer of the spec (a nested model counts as one): its name, the per-sample shape
    /// of its first output, its number of weights, of trainable weights, and of state weights
    /// (never trained, whether the layer is frozen or not: batch normalization's moving
    /// statistics).
    pub fn layer_rows(&self) -> Vec<(String, Vec<usize>, usize, usize, usize)> {
        self.spec
            .layers
            .iter()
            .zip(&self.groups)
            .zip(&self.first_output)
            .map(|((ls, g), out)| {
                let shape = match *out {
                    TRef::Input(i) => self.graph.inputs[i].shape.clone(),
                    TRef::Node(j) => self.node_layer(j).output_shape().to_vec(),
                };
                let ls_ = &self.layers[g.clone()];
                let params = ls_.iter().map(|l| l.param_count()).sum();
                let trainable = ls_.iter().filter(|l| l.spec().trainable).map(|l| l.trainable_param_count()).sum();
                let state = ls_.iter().map(|l| l.param_count() - l.trainable_param_count()).sum();
                (ls.name.clone(), shape, params, trainable, state)
            })
            .collect()
    }

    /// Works out the plan from the layers' current trainable flags.
    fn replan(&mut self) {
        let identity: Vec<bool> =
            (0..self.graph.nodes.len()).map(|j| self.node_layer(j).is_identity_at_inference()).collect();
        let trains: Vec<bool> = self
            .graph
            .nodes
            .iter()
            .map(|n| {
                let l = &self.layers[n.layer];
                l.spec().trainable && l.trainable_param_count() > 0
            })
            .collect();
        self.plan = Plan::new(&self.graph, &identity, &trains);
        for j in 0..self.graph.nodes.len() {
            let needed = self.plan.needs_dx[j].iter().any(|&d| d);
            match self.node_inst[j] {
                Inst::Own(l) => self.layers[l].set_input_gradient_needed(needed),
                Inst::Copy(k) => self.copies[k].1.set_input_gradient_needed(needed),
            }
        }
    }

    fn node_layer(&self, j: usize) -> &dyn Layer<T> {
        match self.node_inst[j] {
            Inst::Own(l) => &*self.layers[l],
            Inst::Copy(k) => &*self.copies[k].1,
        }
    }

    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// Mutable access to the built layers (weights and gradients).
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer<T>>] {
        &mut self.layers
    }

    /// The graph the model runs.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Number of model inputs and outputs.
    pub fn n_inputs(&self) -> usize {
        self.graph.inputs.len()
    }

    pub fn n_outputs(&self) -> usize {
        self.graph.outputs.len()
    }

    /// Checks data against the model's inputs and (when given) outputs and losses.
    pub fn check_data(&self, xs: &[Tensor<T>], ys: Option<&[Tensor<T>]>) -> Result<(), String> {
        let inputs: Vec<(&str, &[usize])> = self.graph.inputs.iter().map(|i| (i.name.as_str(), &i.shape[..])).collect();
        let outputs: Vec<(&str, Vec<usize>, Option<Loss>)> = (0..self.n_outputs())
            .map(|o| {
                let loss = self.compiled.as_ref().map(|c| c.spec.loss_of(o));
                (self.output_names[o].as_str(), self.output_shape_of(o), loss)
            })
            .collect();
        crate::data::check_data(xs, ys, &inputs, &outputs)?;
        crate::data::check_input_ids(xs, &self.id_checks(), 0)
    }

    /// The embeddings that read a model input directly, whose ids the data checks check (see
    /// [`crate::data::IdCheck`]).
    pub fn id_checks(&self) -> Vec<crate::data::IdCheck> {
        let mut v = Vec::new();
        for (j, node) in self.graph.nodes.iter().enumerate() {
            if let (Some(&TRef::Input(input)), layers::LayerKind::Embedding(c)) =
                (node.inputs.first(), &self.node_layer(j).spec().kind)
            {
                v.push(crate::data::IdCheck {
                    input,
                    layer: self.node_layer(j).spec().name.clone(),
                    input_dim: c.input_dim,
                });
            }
        }
        v
    }

    /// Names of the model inputs.
    pub fn input_names(&self) -> Vec<String> {
        self.graph.inputs.iter().map(|i| i.name.clone()).collect()
    }

    /// Names of the outputs (the log-key prefixes of a multi-output model).
    pub fn output_names(&self) -> &[String] {
        &self.output_names
    }

    /// Per-sample shape of output `o`.
    pub fn output_shape_of(&self, o: usize) -> Vec<usize> {
        self.output_shape_ref(o).to_vec()
    }

    fn output_shape_ref(&self, o: usize) -> &[usize] {
        match self.graph.outputs[o] {
            TRef::Input(i) => &self.graph.inputs[i].shape,
            TRef::Node(j) => self.node_layer(j).output_shape(),
        }
    }

    /// Per-sample shape of the (first) output.
    pub fn output_shape(&self) -> Vec<usize> {
        self.output_shape_of(0)
    }

    /// Per-sample shape of the (first) input.
    pub fn input_shape(&self) -> &[usize] {
        &self.graph.inputs[0].shape
    }

    /// Per-sample shape of input `i`.
    pub fn input_shape_of(&self, i: usize) -> &[usize] {
        &self.graph.inputs[i].shape
    }

    /// Total number of weights, and how many of them are trainable.
    pub fn count_params(&self) -> (usize, usize) {
        let mut total = 0;
        let mut trainable = 0;
        for l in &self.layers {
            total += l.param_count();
            if l.spec().trainable {
                trainable += l.trainable_param_count();
            }
        }
        (total, trainable)
    }

    /// Sets up the optimizer (fresh state, like Keras' recompile), losses and metrics.
    pub fn compile(&mut self, spec: CompileSpec) -> Result<(), String> {
        spec.check_outputs(&self.output_names)?;
        let mut outputs = Vec::with_capacity(self.n_outputs());
        for o in 0..self.n_outputs() {
            let loss = spec.loss_of(o);
            let from_logits = *spec.from_logits.get(o);
            // fusing the activation needs the loss to be the only reader of the output node
            let sole = match self.graph.outputs[o] {
                TRef::Node(j) => (self.plan.consumers[j] == 1).then_some(j),
                TRef::Input(_) => None,
            };
            let out_act = sole.and_then(|j| self.node_layer(j).output_activation());
            let fusion = match (out_act, loss) {
                _ if from_logits => Fusion::Logits(LogitsLoss::of(loss).ok_or_else(|| {
                    format!("from_logits = TRUE is only for the cross-entropy losses, not {}", loss.name())
                })?),
                (Some(Activation::Softmax), Loss::CategoricalCrossentropy) => {
                    Fusion::SoftmaxCrossentropy { sparse: false }
                }
                (Some(Activation::Softmax), Loss::SparseCategoricalCrossentropy) => {
                    Fusion::SoftmaxCrossentropy { sparse: true }
                }
                (Some(Activation::Sigmoid), Loss::BinaryCrossentropy) => Fusion::SigmoidBinaryCrossentropy,
                _ => Fusion::None,
            };
            let preactivation =
                matches!(fusion, Fusion::SoftmaxCrossentropy { .. } | Fusion::SigmoidBinaryCrossentropy);
            outputs.push(OutputLoss { loss, fusion, weight: spec.loss_weight(o), preactivation });
        }
        let sizes = self.trainable_sizes();
        let optimizer = Optimizer::new(spec.optimizer.clone(), &sizes);
        self.replan();
        self.compiled = Some(Compiled { spec, optimizer, outputs });
        Ok(())
    }

    fn trainable_sizes(&self) -> Vec<usize> {
        self.layers
            .iter()
            .filter(|l| l.spec().trainable)
            .flat_map(|l| l.weights().into_iter().filter(|w| w.trainable).map(|w| w.values.len()))
            .collect()
    }

    /// Rows of loss per sample for output `o`: the product of its axes before the last.
    fn rows_per_sample(&self, o: usize) -> usize {
        let s = self.output_shape_ref(o);
        s[..s.len().saturating_sub(1)].iter().product()
    }

    /// Resolves the compiled metrics into a fresh tracker; `y_lens[o]` is the number of target
    /// values per sample of output `o`.
    pub fn new_running(&self, y_lens: &[usize]) -> Result<Running, String> {
        let c = self.compiled.as_ref().ok_or_else(not_compiled)?;
        let names = &self.output_names;
        let mut r = Running { names: vec!["loss".into()], ..Default::default() };
        let keys = c.spec.log_keys_for(names);
        let mut keys = keys.into_iter().skip(1);
        for (o, name, weighted) in c.spec.all_metrics(names.len()) {
            let k = self.output_shape_of(o).last().copied().unwrap_or(1);
            let y_cols = y_lens.get(o).copied().unwrap_or(k) / self.rows_per_sample(o).max(1);
            let m = resolve_metric(name, k, y_cols)?;
            let want = m.y_columns(k);
            if want != y_cols {
                let of = if names.len() > 1 { format!(" (output \"{}\")", names[o]) } else { String::new() };
                return Err(format!(
                    "metric \"{name}\"{of} needs targets with {} for an output of {}, got targets with {}{}",
                    crate::data::count(want, "column"),
                    crate::data::count(k, "unit"),
                    crate::data::count(y_cols, "column"),
                    if want == 1 { " (it takes integer class labels, not one-hot rows)" } else { "" }
                ));
            }
            r.entries.push(Entry::Metric { output: o, metric: m, weighted });
            r.names.push(keys.next().unwrap());
        }
        for (o, key) in keys.enumerate() {
            r.entries.push(Entry::OutputLoss(o));
            r.names.push(key);
        }
        r.sums = vec![0.0; r.names.len()];
        r.weights = vec![0.0; r.names.len()];
        Ok(r)
    }

    /// Copies the weights of shared layers into the instances of their later nodes.
    fn sync_copies(&mut self) {
        let Model { layers, copies, scratch, .. } = self;
        for (l, copy) in copies.iter_mut() {
            let (mut own, mut cp) = (scratch.own.take::<T>(), scratch.copy.take::<T>());
            layers[*l].push_weights_mut(&mut own);
            copy.push_weights_mut(&mut cp);
            for (c, o) in cp.iter_mut().zip(own.iter()) {
                c.copy_from_slice(o);
            }
            scratch.own.keep(own);
            scratch.copy.keep(cp);
        }
    }

    /// Adds the parameter gradients of the later nodes of shared layers to the layer's own.
    fn gather_copy_grads(&mut self) {
        let Model { layers, copies, scratch, .. } = self;
        for (l, copy) in copies.iter_mut() {
            let (mut p, mut g) = (scratch.params.take::<T>(), scratch.param_grads.take::<T>());
            let (mut cp, mut cg) = (scratch.own.take::<T>(), scratch.copy.take::<T>());
            layers[*l].push_params(&mut p, &mut g);
            copy.push_params(&mut cp, &mut cg);
            for (g, cg) in g.iter_mut().zip(cg.iter()) {
                g.iter_mut().zip(cg.iter()).for_each(|(a, b)| *a += *b);
            }
            scratch.params.keep(p);
            scratch.param_grads.keep(g);
            scratch.own.keep(cp);
            scratch.copy.keep(cg);
        }
    }

    /// Forward pass over every node. At inference, a node that passes its input through is
    /// skipped and its readers read that input (see [`Plan::alias`]).
    fn forward(&mut self, xs: &[Tensor<T>], training: bool) {
        if !self.copies.is_empty() {
            self.sync_copies();
        }
        let n = self.graph.nodes.len();
        let acts = &mut self.scratch.acts;
        if acts.len() != n {
            acts.resize_with(n, Tensor::default);
        }
        let mbufs = &mut self.scratch.masks;
        if self.masks.any && mbufs.len() != n {
            mbufs.resize_with(n, Vec::new);
        }
        let Model { graph, plan, masks, layers, copies, node_inst, rng, .. } = self;
        for (j, node) in graph.nodes.iter().enumerate() {
            if !training && plan.alias[j] != TRef::Node(j) {
                continue;
            }
            let (done, rest) = acts.split_at_mut(j);
            let layer = match node_inst[j] {
                Inst::Own(l) => &mut layers[l],
                Inst::Copy(k) => &mut copies[k].1,
            };
            let get = |r: TRef| match r {
                TRef::Node(p) if !training => match plan.alias[p] {
                    TRef::Input(i) => &xs[i],
                    TRef::Node(q) => &done[q],
                },
                TRef::Input(i) => &xs[i],
                TRef::Node(p) => &done[p],
            };
            if masks.any {
                if let Some(k) = masks.of_ref(node.inputs[0]) {
                    layer.set_input_mask(Some(&mbufs[k]));
                }
            }
            with_inputs(&node.inputs, get, |ins| layer.forward(ins, &mut rest[0], training, rng));
            if masks.any {
                let (before, this) = mbufs.split_at_mut(j);
                match masks.fill[j] {
                    MaskFill::None => {}
                    MaskFill::Make => layer.spec().kind.make_mask(get(node.inputs[0]), &mut this[0]),
                    MaskFill::Or => {
                        let m = &mut this[0];
                        m.clear();
                        for r in &node.inputs {
                            let src = &before[masks.of_ref(*r).expect("every input of an `or` node has a mask")];
                            if m.is_empty() {
                                m.extend_from_slice(src);
                            } else {
                                m.iter_mut().zip(src).for_each(|(a, b)| *a |= *b);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The tensor holding model output `o` after a forward pass.
    fn output_tensor<'a>(&'a self, o: usize, xs: &'a [Tensor<T>], training: bool) -> &'a Tensor<T> {
        output_of(&self.graph, &self.plan, &self.scratch.acts, xs, o, training)
    }

    /// Predictions for a batch (inference mode), copied into `outs` (one per output).
    pub fn predict_batch(&mut self, xs: &[Tensor<T>], outs: &mut [Tensor<T>]) {
        let _flush = denormal::flush();
        self.forward(xs, false);
        for (o, out) in outs.iter_mut().enumerate() {
            let t = self.output_tensor(o, xs, false);
            out.resize(&t.shape);
            out.data.copy_from_slice(&t.data);
        }
    }

    /// Loss of the last forward pass against `ys`; writes each output's loss gradient into its
    /// node's gradient buffer when `with_grad`. Updates the running means. Returns the batch loss.
    fn loss_and_metrics(
        &mut self,
        xs: &[Tensor<T>],
        ys: &[Tensor<T>],
        w: Option<&[T]>,
        with_grad: bool,
        run: &mut Running,
    ) -> f64 {
        let training = with_grad;
        let n_out = self.n_outputs();
        let nodes = self.graph.nodes.len();
        let rows_per: [usize; INLINE_INPUTS] =
            std::array::from_fn(|o| if o < n_out { self.rows_per_sample(o) } else { 1 });
        let many_rows: Vec<usize> =
            if n_out > INLINE_INPUTS { (0..n_out).map(|o| self.rows_per_sample(o)).collect() } else { Vec::new() };
        let Model { graph, plan, masks, compiled, scratch, .. } = self;
        if scratch.grads.len() != nodes {
            scratch.grads.resize_with(nodes, Tensor::default);
            scratch.ready.resize(nodes, false);
        }
        scratch.ready.iter_mut().for_each(|r| *r = false);
        let n = ys[0].rows();
        let mut total = 0.0;
        let c = compiled.as_ref().expect("compiled");
        let Scratch {
            acts,
            grads,
            ready,
            loss_grad,
            per_sample,
            metric_tmp,
            row_weights,
            masks: mbufs,
            mask_weights,
            mask_sample_weights,
            ..
        } = scratch;
        for o in 0..n_out {
            let ol = c.outputs[o];
            let pred = output_of(graph, plan, acts, xs, o, training);
            let y = &ys[o];
            let m = if o < INLINE_INPUTS { rows_per[o] } else { many_rows[o] }.max(1);
            let rows = n * m;
            let k = pred.data.len() / rows.max(1);
            let mask = match graph.outputs[o] {
                TRef::Node(j) if masks.any => masks.of[j].map(|k| &mbufs[k][..]).filter(|mk| mk.len() == rows),
                _ => None,
            };
            let wr: Option<&[T]> = match (w, mask) {
                (_, Some(mk)) => {
                    // Keras 3 (losses.loss.apply_mask): the mask joins the sample weights, scaled by
                    // rows / unmasked rows so that the mean is over the unmasked rows (0 if none);
                    // metrics take it as 0/1 weights.
                    let valid = mk.iter().filter(|&&b| b).count();
                    let scale = if valid > 0 { T::c(rows as f64) / T::c(valid as f64) } else { T::zero() };
                    let sw = |i: usize| w.map_or(T::one(), |w| w[i / m]);
                    row_weights.clear();
                    row_weights.extend((0..rows).map(|i| if mk[i] { sw(i) * scale } else { T::zero() }));
                    mask_weights.clear();
                    mask_weights.extend(mk.iter().map(|&b| if b { T::one() } else { T::zero() }));
                    mask_sample_weights.clear();
                    mask_sample_weights.extend((0..rows).map(|i| if mk[i] { sw(i) } else { T::zero() }));
                    Some(&row_weights[..])
                }
                (Some(w), None) if m > 1 => {
                    row_weights.clear();
                    row_weights.extend(w.iter().flat_map(|&v| std::iter::repeat_n(v, m)));
                    Some(&row_weights[..])
                }
                (w, None) => w,
            };
            per_sample.resize(rows, T::zero());
            let g: Option<&mut [T]> = match (with_grad, graph.outputs[o]) {
                (true, TRef::Node(j)) => {
                    let buf = if ready[j] { &mut *loss_grad } else { &mut grads[j] };
                    buf.resize(&pred.shape);
                    Some(&mut buf.data[..])
                }
                _ => None,
            };
            let loss = match (ol.fusion, g) {
                (Fusion::SoftmaxCrossentropy { sparse }, Some(g)) => {
                    losses::softmax_crossentropy_fused(sparse, &y.data, &pred.data, rows, k, wr, per_sample, g)
                }
                (Fusion::SigmoidBinaryCrossentropy, Some(g)) => {
                    losses::sigmoid_binary_crossentropy_fused(&y.data, &pred.data, rows, k, wr, per_sample, g)
                }
                (Fusion::Logits(kind), g) => kind.compute(&y.data, &pred.data, rows, k, wr, per_sample, g),
                (_, g) => ol.loss.compute(&y.data, &pred.data, rows, k, wr, per_sample, g),
            };
            if with_grad {
                if let TRef::Node(j) = graph.outputs[o] {
                    let weight = T::c(ol.weight);
                    if ready[j] {
                        let add = grads[j].data.iter_mut().zip(&loss_grad.data);
                        add.for_each(|(a, b)| *a += *b * weight);
                    } else if ol.weight != 1.0 {
                        grads[j].data.iter_mut().for_each(|v| *v *= weight);
                    }
                    ready[j] = true;
                }
            }
            // NaN predictions make a NaN loss, as in Keras (clipping must not hide them).
            let loss = if pred.data.iter().any(|v| v.is_nan()) { f64::NAN } else { loss };
            total += loss * ol.weight;
            metric_tmp.resize(rows, T::zero());
            for (e, entry) in run.entries.iter().enumerate() {
                match entry {
                    Entry::OutputLoss(eo) if *eo == o => {
                        run.sums[e + 1] += loss * n as f64;
                        run.weights[e + 1] += n as f64;
                    }
                    Entry::Metric { output, metric, weighted } if *output == o => {
                        metric.per_sample(&y.data, &pred.data, rows, k, metric_tmp);
                        let w = match (mask.is_some(), *weighted) {
                            (false, true) => wr,
                            (false, false) => None,
                            (true, true) => Some(&mask_sample_weights[..]),
                            (true, false) => Some(&mask_weights[..]),
                        };
                        let (mut sum, mut wsum) = (0.0, 0.0);
                        for i in 0..rows {
                            let wi = w.map_or(1.0, |w| w[i].to_f64().unwrap());
                            sum += wi * metric_tmp[i].to_f64().unwrap();
                            wsum += wi;
                        }
                        run.sums[e + 1] += sum;
                        run.weights[e + 1] += wsum;
                    }
                    _ => {}
                }
            }
        }
        // Keras 3: the loss tracker is a mean weighted by batch size.
        run.sums[0] += total * n as f64;
        run.weights[0] += n as f64;
        total
    }

    /// Forward (training mode), loss, and backward: fills every layer's parameter gradients.
    /// Returns the batch loss.
    pub fn backprop(&mut self, xs: &[Tensor<T>], ys: &[Tensor<T>], w: Option<&[T]>, run: &mut Running) -> f64 {
        let _flush = denormal::flush();
        self.forward(xs, true);
        let loss = self.loss_and_metrics(xs, ys, w, true, run);
        let c = self.compiled.as_ref().unwrap();
        let Model { graph, plan, masks, layers, copies, node_inst, scratch, .. } = self;
        let Scratch { acts, grads, ready, extra_dx, masks: mbufs, .. } = scratch;
        if extra_dx.len() != graph.nodes.len() {
            extra_dx.resize_with(graph.nodes.len(), Vec::new);
        }
        for j in (0..graph.nodes.len()).rev() {
            if !plan.backward[j] || !ready[j] {
                continue;
            }
            let node = &graph.nodes[j];
            let nin = node.inputs.len();
            let layer = match node_inst[j] {
                Inst::Own(l) => &mut layers[l],
                Inst::Copy(k) => &mut copies[k].1,
            };
            let preact = graph.outputs.iter().zip(&c.outputs).any(|(r, ol)| *r == TRef::Node(j) && ol.preactivation);
            let (lower, upper) = grads.split_at_mut(j);
            let g = &mut upper[0];
            let extra = &mut extra_dx[j];
            if extra.len() < nin {
                extra.resize_with(nin, Tensor::default);
            }
            // An input's gradient goes straight into its producer's buffer when nothing is
            // there yet; otherwise (a tensor read by several layers, or twice by this one)
            // into a spare that is added afterwards.
            let mut direct = [usize::MAX; INLINE_INPUTS];
            for (k, r) in node.inputs.iter().enumerate().take(INLINE_INPUTS) {
                if let (true, TRef::Node(p)) = (plan.needs_dx[j][k], *r) {
                    if !ready[p] && !direct[..k].contains(&p) {
                        direct[k] = p;
                    }
                }
            }
            {
                let mut inline: [Option<&mut Tensor<T>>; INLINE_INPUTS] = Default::default();
                let mut spill: Vec<Option<&mut Tensor<T>>> = Vec::new();
                let dxs: &mut [Option<&mut Tensor<T>>] = if nin <= INLINE_INPUTS {
                    &mut inline[..nin]
                } else {
                    spill.resize_with(nin, || None);
                    &mut spill
                };
                for (k, e) in extra.iter_mut().enumerate().take(nin) {
                    if plan.needs_dx[j][k] && direct.get(k).is_none_or(|&p| p == usize::MAX) {
                        dxs[k] = Some(e);
                    }
                }
                let first = direct.iter().copied().min().unwrap_or(usize::MAX).min(j);
                for (p, t) in lower.iter_mut().enumerate().skip(first) {
                    if let Some(k) = direct.iter().position(|&q| q == p) {
                        dxs[k] = Some(t);
                    }
                }
                let out = &acts[j];
                let get = |r: TRef| match r {
                    TRef::Input(i) => &xs[i],
                    TRef::Node(p) => &acts[p],
                };
                if masks.any {
                    if let Some(k) = masks.of_ref(node.inputs[0]) {
                        layer.set_input_mask(Some(&mbufs[k]));
                    }
                }
                with_inputs(&node.inputs, get, |ins| layer.backward(ins, out, g, dxs, preact));
            }
            for (k, r) in node.inputs.iter().enumerate() {
                if let (true, TRef::Node(p)) = (plan.needs_dx[j][k], *r) {
                    if direct.get(k) == Some(&p) {
                        ready[p] = true;
                    }
                }
            }
            for (k, r) in node.inputs.iter().enumerate() {
                let (true, TRef::Node(p)) = (plan.needs_dx[j][k], *r) else { continue };
                if direct.get(k) == Some(&p) {
                    continue;
                }
                let (dst, src) = (&mut lower[p], &extra[k]);
                if ready[p] {
                    dst.data.iter_mut().zip(&src.data).for_each(|(a, b)| *a += *b);
                } else {
                    dst.resize(&src.shape);
                    dst.data.copy_from_slice(&src.data);
                    ready[p] = true;
                }
            }
        }
        if !self.copies.is_empty() {
            self.gather_copy_grads();
        }
        loss
    }
}

impl<T: Real> Model<T> {
    /// One optimizer step on a batch. Returns the batch loss (before the update).
    pub fn train_step(&mut self, xs: &[Tensor<T>], ys: &[Tensor<T>], w: Option<&[T]>, run: &mut Running) -> f64 {
        let _flush = denormal::flush();
        let loss = self.backprop(xs, ys, w, run);
        let Model { layers, compiled, scratch, .. } = self;
        let c = compiled.as_mut().unwrap();
        let (mut params, mut grads) = (scratch.params.take::<T>(), scratch.param_grads.take::<T>());
        for l in layers.iter_mut().filter(|l| l.spec().trainable) {
            l.push_params(&mut params, &mut grads);
        }
        c.optimizer.apply(&mut params, &mut grads);
        scratch.params.keep(params);
        scratch.param_grads.keep(grads);
        loss
    }

    /// Loss and metrics on a batch in inference mode (no update).
    pub fn test_step(&mut self, xs: &[Tensor<T>], ys: &[Tensor<T>], w: Option<&[T]>, run: &mut Running) -> f64 {
        let _flush = denormal::flush();
        self.forward(xs, false);
        self.loss_and_metrics(xs, ys, w, false, run)
    }

    /// All weights as `(layer name, weight name, shape, values)` in Keras order.
    pub fn get_weights(&self) -> Vec<(String, &'static str, Vec<usize>, Vec<T>)> {
        self.layers
            .iter()
            .flat_map(|l| {
                let name = l.spec().name.clone();
                l.weights().into_iter().map(move |w| (name.clone(), w.name, w.shape, w.values.to_vec()))
            })
            .collect()
    }

    /// Replaces all weights, checking count and every shape first (nothing changes on error).
    pub fn set_weights(&mut self, values: &[(Vec<usize>, Vec<T>)]) -> Result<(), String> {
        let expected: Vec<(String, Vec<usize>)> = self
            .layers
            .iter()
            .flat_map(|l| {
                let ln = l.spec().name.clone();
                l.weights().into_iter().map(move |w| (format!("{}/{}", ln, w.name), w.shape))
            })
            .collect();
        if expected.len() != values.len() {
            return Err(format!("the model has {} weight arrays, {} were given", expected.len(), values.len()));
        }
        for (i, ((name, shape), (vs, data))) in expected.iter().zip(values).enumerate() {
            let want: usize = shape.iter().product();
            if data.len() != want || (vs != shape && vs.iter().product::<usize>() != want) {
                return Err(format!(
                    "weight {} ({}) must have shape ({}), got shape ({})",
                    i + 1,
                    name,
                    fmt_shape(shape),
                    fmt_shape(vs)
                ));
            }
        }
        let mut it = values.iter();
        for l in self.layers.iter_mut() {
            let mut ws = Vec::new();
            l.push_weights_mut(&mut ws);
            for w in ws {
                w.copy_from_slice(&it.next().unwrap().1);
            }
        }
        Ok(())
    }

    /// The model's (first) output for the whole of `x`, a one-input model.
    pub fn predict(&mut self, x: &Tensor<T>, batch_size: usize) -> Tensor<T> {
        self.predict_all(std::slice::from_ref(x), batch_size).swap_remove(0)
    }

    /// The model's outputs for the whole of the inputs `xs` (see [`Model::predict_with`]).
    pub fn predict_all(&mut self, xs: &[Tensor<T>], batch_size: usize) -> Vec<Tensor<T>> {
        let copy = |i: usize, rows: std::ops::Range<usize>, dst: &mut [T]| {
            let rl = xs[i].row_len();
            dst.copy_from_slice(&xs[i].data[rows.start * rl..rows.end * rl]);
            Ok::<(), std::convert::Infallible>(())
        };
        match self.predict_with(xs[0].rows(), batch_size, copy) {
            Ok(t) => t,
            Err(never) => match never {},
        }
    }

    /// The model's outputs for `n` rows whose inputs `fill(input, rows, dst)` writes into `dst`
    /// (row-major, batch first), a chunk at a time; the first error of `fill` stops it.
    ///
    /// Rows are independent at inference, so the work is done in chunks of
    /// [`PREDICT_CHUNK`] rows whatever `batch_size` says (keras' `batch_size` only bounds
    /// memory); larger batches are honoured. Reading the input a chunk at a time keeps it
    /// in cache for the first layer and needs no copy of the whole input.
    pub fn predict_with<E>(
        &mut self,
        n: usize,
        batch_size: usize,
        fill: impl Fn(usize, std::ops::Range<usize>, &mut [T]) -> Result<(), E>,
    ) -> Result<Vec<Tensor<T>>, E> {
        let batch_size = batch_size.max(PREDICT_CHUNK);
        let mut outs: Vec<Tensor<T>> = (0..self.n_outputs())
            .map(|o| {
                let mut shape = vec![n];
                shape.extend(self.output_shape_of(o));
                Tensor::zeros(&shape)
            })
            .collect();
        let mut xb = std::mem::take(&mut self.scratch.input);
        xb.resize_with(self.n_inputs(), Tensor::default);
        let mut run = || {
            let mut start = 0;
            while start < n {
                let end = (start + batch_size).min(n);
                for (i, x) in xb.iter_mut().enumerate() {
                    x.resize_batch(end - start, &self.graph.inputs[i].shape);
                    fill(i, start..end, &mut x.data)?;
                }
                let _flush = denormal::flush();
                self.forward(&xb, false);
                for (o, out) in outs.iter_mut().enumerate() {
                    let ol = out.row_len();
                    let t = self.output_tensor(o, &xb, false);
                    out.data[start * ol..end * ol].copy_from_slice(&t.data);
                }
                start = end;
            }
            Ok(())
        };
        let r = run();
        self.scratch.input = xb;
        r.map(|()| outs)
    }
}

/// Rows per forward pass in [`Model::predict`] at least.
pub const PREDICT_CHUNK: usize = 2048;

pub fn not_compiled() -> String {
    "You must compile your model before training/testing. Use `compile(model, optimizer, loss)`.".into()
}

/// The tensor holding model output `o` after a forward pass.
fn output_of<'a, T>(
    graph: &Graph,
    plan: &Plan,
    acts: &'a [Tensor<T>],
    xs: &'a [Tensor<T>],
    o: usize,
    training: bool,
) -> &'a Tensor<T> {
    let r = match graph.outputs[o] {
        TRef::Node(j) if !training => plan.alias[j],
        r => r,
    };
    match r {
        TRef::Input(i) => &xs[i],
        TRef::Node(j) => &acts[j],
    }
}

fn shapes_of_first(graph: &Graph, shapes: &[Vec<usize>], layer: usize) -> Vec<usize> {
    let j = graph.nodes.iter().position(|n| n.layer == layer).unwrap();
    match graph.nodes[j].inputs[0] {
        TRef::Input(i) => graph.inputs[i].shape.clone(),
        TRef::Node(p) => shapes[p].clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(last_activation: &str, loss: &str, optimizer: serde_json::Value) -> Model<f32> {
        let dense = |name: &str, units: usize, act: &str| json!({"class_name": "Dense", "name": name, "units": units, "activation": act});
        let spec: ModelSpec = serde_json::from_value(json!({
            "name": "m", "input_shape": [300],
            "layers": [
                dense("d1", 256, "relu"),
                {"class_name": "Dropout", "name": "drop1", "rate": 0.4},
                dense("d2", 96, "swish"),
                {"class_name": "Dropout", "name": "drop2", "rate": 0.3},
                dense("d3", 10, last_activation),
            ]
        }))
        .unwrap();
        let mut m = Model::<f32>::build(spec, &mut Rng::seed_from(3)).unwrap();
        let compile = json!({"optimizer": optimizer, "loss": loss, "metrics": ["accuracy"]});
        m.compile(serde_json::from_value(compile).unwrap()).unwrap();
        m
    }

    fn train(m: &mut Model<f32>) -> Vec<Vec<f32>> {
        let mut r = Rng::seed_from(4);
        let x = Tensor::from_vec(&[128, 300], (0..128 * 300).map(|_| r.uniform() as f32).collect());
        let y = Tensor::from_vec(&[128, 10], (0..1280).map(|i| ((i / 10) % 10 == i % 10) as u8 as f32).collect());
        let mut run = m.new_running(&[10]).unwrap();
        for _ in 0..4 {
            m.train_step(std::slice::from_ref(&x), std::slice::from_ref(&y), None, &mut run);
        }
        let mut out = Tensor::default();
        m.predict_batch(std::slice::from_ref(&x), std::slice::from_mut(&mut out));
        m.get_weights().into_iter().map(|w| w.3).chain([out.data]).collect()
    }

    #[test]
    fn two_threads_train_bitwise_like_one() {
        let cases = [
            ("softmax", "categorical_crossentropy", json!({"name": "rmsprop", "learning_rate": 0.001})),
            ("softmax", "mse", json!({"name": "adam", "learning_rate": 0.001, "amsgrad": true})),
            ("sigmoid", "binary_crossentropy", json!({"name": "sgd", "learning_rate": 0.01, "momentum": 0.9})),
            ("linear", "mse", json!({"name": "rmsprop", "learning_rate": 0.001, "momentum": 0.5, "centered": true})),
        ];
        for (act, loss, opt) in cases {
            let one = crate::linalg::sequential(|| train(&mut model(act, loss, opt.clone())));
            crate::linalg::set_threads(2);
            let two = train(&mut model(act, loss, opt.clone()));
            assert_eq!(one, two, "{act} {loss} {opt}");
            assert!(one.iter().flatten().all(|v| v.is_finite()));
        }
    }

    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn denormal_products_are_zero_as_in_keras_and_the_callers_mode_is_kept() {
        // Keras (TensorFlow and JAX backends) gives 0 for 1e-20 * 1e-20, a denormal in f32
        let spec: ModelSpec = serde_json::from_value(json!({
            "name": "m", "input_shape": [1],
            "layers": [{"class_name": "Dense", "name": "d", "units": 1, "activation": "linear"}]
        }))
        .unwrap();
        let mut m = Model::<f32>::build(spec, &mut Rng::seed_from(3)).unwrap();
        m.set_weights(&[(vec![1, 1], vec![1e-20]), (vec![1], vec![0.0])]).unwrap();
        let x = Tensor::from_vec(&[2, 1], vec![1e-20, 1e20]);
        let out = m.predict(&x, 32);
        assert_eq!(out.data, vec![0.0, 1.0]);
        let tiny = std::hint::black_box(1e-20f32);
        assert!(tiny * tiny > 0.0, "the caller's arithmetic keeps IEEE denormals");
        // an RMSprop slot decaying under zero gradients reaches 0, not a denormal
        m.compile(
            serde_json::from_value(json!({"optimizer": {"name": "rmsprop", "learning_rate": 0.001}, "loss": "mse"}))
                .unwrap(),
        )
        .unwrap();
        let (zx, zy) = (Tensor::from_vec(&[1, 1], vec![0.0]), Tensor::from_vec(&[1, 1], vec![0.0]));
        let (gx, gy) = (Tensor::from_vec(&[1, 1], vec![1.0]), Tensor::from_vec(&[1, 1], vec![1e-17]));
        let mut run = m.new_running(&[1]).unwrap();
        m.train_step(std::slice::from_ref(&gx), std::slice::from_ref(&gy), None, &mut run);
        for _ in 0..600 {
            m.train_step(std::slice::from_ref(&zx), std::slice::from_ref(&zy), None, &mut run);
        }
        let slot = m.compiled.as_ref().unwrap().optimizer.state().slots[0][0][0];
        assert_eq!(slot, 0.0, "without the flush it stops at the smallest denormal, 1.4e-45");
    }
}
