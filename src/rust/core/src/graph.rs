//! The model graph: inputs, layer nodes (a layer applied to tensors), outputs.
//!
//! A spec names tensors by [`TRef`]: a model input or the output of an earlier node, so the
//! nodes are in topological order by construction. A layer applied twice has two nodes and
//! one set of weights. A sequential model (and a v1 functional chain) is the chain graph:
//! node `i` applies layer `i` to node `i - 1`. The [`Plan`] is what the executor needs, worked
//! out once: which buffers a node reads at inference, who consumes each tensor, which
//! gradients are needed.

use crate::layers::{LayerSpec, MaskFlow};
use crate::model::ModelSpec;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// A tensor of the graph: model input `i` or the output of node `j`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TRef {
    Input(usize),
    Node(usize),
}

/// A model input: its name and per-sample shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    pub name: String,
    pub shape: Vec<usize>,
}

/// A layer (index into the model's layers) applied to tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub layer: usize,
    pub inputs: Vec<TRef>,
}

/// The graph of a model, whatever layout its spec was written in.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Graph {
    pub inputs: Vec<InputSpec>,
    pub nodes: Vec<NodeSpec>,
    pub outputs: Vec<TRef>,
}

impl Graph {
    /// The chain graph of `layers` layers on one input.
    pub fn chain(input: InputSpec, layers: usize) -> Graph {
        let nodes = (0..layers)
            .map(|i| NodeSpec { layer: i, inputs: vec![if i == 0 { TRef::Input(0) } else { TRef::Node(i - 1) }] })
            .collect();
        let outputs = vec![if layers == 0 { TRef::Input(0) } else { TRef::Node(layers - 1) }];
        Graph { inputs: vec![input], nodes, outputs }
    }

    /// Checks every reference, that every layer is used, that names are unique and that every
    /// node leads to an output.
    pub fn check(&self, model: &str, layers: &[LayerSpec]) -> Result<(), String> {
        if self.inputs.is_empty() {
            return Err(format!("model \"{model}\" has no inputs"));
        }
        if self.outputs.is_empty() {
            return Err(format!("model \"{model}\" has no outputs"));
        }
        let mut seen = std::collections::HashSet::new();
        for name in self.inputs.iter().map(|i| &i.name).chain(layers.iter().map(|l| &l.name)) {
            if !seen.insert(name.as_str()) {
                return Err(format!(
                    "All layer names should be unique: the name \"{name}\" is used more than once in model \"{model}\""
                ));
            }
        }
        let check_ref = |r: &TRef, before: usize, what: &str| {
            match *r {
            TRef::Input(i) if i >= self.inputs.len() => {
                Err(format!("model \"{model}\": {what} refers to input {} of {}", i + 1, self.inputs.len()))
            }
            TRef::Node(j) if j >= before => Err(format!(
                "model \"{model}\": {what} refers to node {} which does not come before it (the graph must be in topological order)",
                j + 1
            )),
            _ => Ok(()),
        }
        };
        let mut used = vec![false; layers.len()];
        for (j, n) in self.nodes.iter().enumerate() {
            let Some(l) = layers.get(n.layer) else {
                return Err(format!(
                    "model \"{model}\": node {} uses layer {} of {}",
                    j + 1,
                    n.layer + 1,
                    layers.len()
                ));
            };
            used[n.layer] = true;
            if n.inputs.is_empty() {
                return Err(format!("model \"{model}\": layer \"{}\" is applied to no tensor", l.name));
            }
            for r in &n.inputs {
                check_ref(r, j, &format!("layer \"{}\"", l.name))?;
            }
        }
        for r in &self.outputs {
            check_ref(r, self.nodes.len(), "an output")?;
        }
        if let Some(l) = used.iter().position(|u| !u) {
            return Err(format!("model \"{model}\": layer \"{}\" is not applied to any tensor", layers[l].name));
        }
        let leads = self.leads_to_output();
        if let Some(j) = leads.iter().position(|l| !l) {
            return Err(format!(
                "model \"{model}\": the output of layer \"{}\" does not lead to any model output",
                layers[self.nodes[j].layer].name
            ));
        }
        Ok(())
    }

    /// Per node: whether some output depends on it.
    fn leads_to_output(&self) -> Vec<bool> {
        let mut leads = vec![false; self.nodes.len()];
        for r in &self.outputs {
            if let TRef::Node(j) = *r {
                leads[j] = true;
            }
        }
        for j in (0..self.nodes.len()).rev() {
            if leads[j] {
                for r in &self.nodes[j].inputs {
                    if let TRef::Node(p) = *r {
                        leads[p] = true;
                    }
                }
            }
        }
        leads
    }
}

/// A model's layers and graph with every nested model's layers and nodes inlined: a nested
/// model's layers take its place in the layer list (so the weights keep Keras' order) and each
/// application of it becomes a copy of its nodes (so a nested model applied twice shares its
/// weights like any shared layer).
#[derive(Clone, Debug, Default)]
pub struct Flat {
    pub layers: Vec<LayerSpec>,
    pub graph: Graph,
    /// Per layer of the spec: its layers in the flat list.
    pub groups: Vec<Range<usize>>,
    /// Per layer of the spec: the flat tensor its first application makes.
    pub first_output: Vec<TRef>,
    /// Names of the outputs: the spec's layers (or inputs) that make them.
    pub output_names: Vec<String>,
    /// Shapes the inputs of nested models must have: (flat tensor, shape, nested model's name).
    pub expected: Vec<(TRef, Vec<usize>, String)>,
}

impl Flat {
    /// Checks `spec`'s graph (and every nested model's) and inlines the nested models.
    pub fn of(spec: &ModelSpec) -> Result<Flat, String> {
        let graph = spec.graph();
        graph.check(&spec.name, &spec.layers)?;
        let mut f = Flat { graph: Graph { inputs: graph.inputs.clone(), ..Default::default() }, ..Default::default() };
        let mut inner: Vec<Option<Flat>> = Vec::with_capacity(spec.layers.len());
        for l in &spec.layers {
            let start = f.layers.len();
            match l.kind.nested() {
                Some(m) => {
                    let sub = Flat::of(m)?;
                    if sub.graph.outputs.len() != 1 {
                        return Err(format!(
                            "{}: a model used as a layer must have one output, it has {}",
                            l.name,
                            sub.graph.outputs.len()
                        ));
                    }
                    f.layers.extend(
                        sub.layers.iter().map(|s| LayerSpec { trainable: s.trainable && l.trainable, ..s.clone() }),
                    );
                    inner.push(Some(sub));
                }
                None => {
                    f.layers.push(l.clone());
                    inner.push(None);
                }
            }
            f.groups.push(start..f.layers.len());
        }
        let mut seen = std::collections::HashSet::new();
        for l in &f.layers {
            if !seen.insert(l.name.as_str()) {
                return Err(format!(
                    "the layer name \"{}\" is used both in model \"{}\" and in a model nested in it; rkeras needs layer names unique across nested models",
                    l.name, spec.name
                ));
            }
        }
        let mut made: Vec<TRef> = Vec::with_capacity(graph.nodes.len());
        for n in &graph.nodes {
            let ins: Vec<TRef> = n.inputs.iter().map(|r| map_ref(*r, &made)).collect();
            let out = match &inner[n.layer] {
                None => {
                    f.graph.nodes.push(NodeSpec { layer: f.groups[n.layer].start, inputs: ins });
                    TRef::Node(f.graph.nodes.len() - 1)
                }
                Some(sub) => {
                    let name = &spec.layers[n.layer].name;
                    if ins.len() != sub.graph.inputs.len() {
                        return Err(format!(
                            "{name}: the model takes {} input tensor(s), got {}",
                            sub.graph.inputs.len(),
                            ins.len()
                        ));
                    }
                    let base = f.graph.nodes.len();
                    for (r, i) in ins.iter().zip(&sub.graph.inputs) {
                        f.expected.push((*r, i.shape.clone(), name.clone()));
                    }
                    f.expected.extend(
                        sub.expected.iter().map(|(r, s, n)| (inline_ref(*r, &ins, base), s.clone(), n.clone())),
                    );
                    let offset = f.groups[n.layer].start;
                    for m in &sub.graph.nodes {
                        let inputs = m.inputs.iter().map(|r| inline_ref(*r, &ins, base)).collect();
                        f.graph.nodes.push(NodeSpec { layer: offset + m.layer, inputs });
                    }
                    inline_ref(sub.graph.outputs[0], &ins, base)
                }
            };
            made.push(out);
        }
        f.graph.outputs = graph.outputs.iter().map(|r| map_ref(*r, &made)).collect();
        f.first_output = (0..spec.layers.len())
            .map(|l| graph.nodes.iter().position(|n| n.layer == l).map_or(TRef::Input(0), |j| made[j]))
            .collect();
        f.output_names = graph
            .outputs
            .iter()
            .map(|r| match *r {
                TRef::Input(i) => graph.inputs[i].name.clone(),
                TRef::Node(j) => spec.layers[graph.nodes[j].layer].name.clone(),
            })
            .collect();
        Ok(f)
    }
}

fn map_ref(r: TRef, made: &[TRef]) -> TRef {
    match r {
        TRef::Node(p) => made[p],
        r => r,
    }
}

/// A reference inside a nested model's graph, as a reference of the outer flat graph: its
/// inputs are the tensors `ins` it is applied to, its nodes start at `base`.
fn inline_ref(r: TRef, ins: &[TRef], base: usize) -> TRef {
    match r {
        TRef::Input(i) => ins[i],
        TRef::Node(p) => TRef::Node(base + p),
    }
}

/// What the executor needs to know about the graph, worked out at build and compile.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Per node: the tensor holding its output at inference (itself, or what an identity
    /// layer such as dropout passes on).
    pub alias: Vec<TRef>,
    /// Per node: how many node inputs and model outputs read it.
    pub consumers: Vec<usize>,
    /// Per node: whether backward runs through it (it has weights to train, or feeds a node
    /// that has, on the way to an output).
    pub backward: Vec<bool>,
    /// Per node, per input: whether dL/d(input) is needed.
    pub needs_dx: Vec<Vec<bool>>,
}

impl Plan {
    /// `identity[j]`: node j passes its input through at inference; `trains[j]`: node j has
    /// weights to train.
    pub fn new(graph: &Graph, identity: &[bool], trains: &[bool]) -> Plan {
        let n = graph.nodes.len();
        let mut alias = Vec::with_capacity(n);
        let mut consumers = vec![0; n];
        let mut backward = vec![false; n];
        for (j, node) in graph.nodes.iter().enumerate() {
            let resolved = |r: TRef| match r {
                TRef::Node(p) => alias[p],
                r => r,
            };
            alias.push(if identity[j] && node.inputs.len() == 1 { resolved(node.inputs[0]) } else { TRef::Node(j) });
            for r in &node.inputs {
                if let TRef::Node(p) = *r {
                    consumers[p] += 1;
                }
            }
            backward[j] = trains[j] || node.inputs.iter().any(|r| matches!(*r, TRef::Node(p) if backward[p]));
        }
        for r in &graph.outputs {
            if let TRef::Node(p) = *r {
                consumers[p] += 1;
            }
        }
        let needs_dx = graph
            .nodes
            .iter()
            .map(|node| node.inputs.iter().map(|r| matches!(*r, TRef::Node(p) if backward[p])).collect())
            .collect();
        Plan { alias, consumers, backward, needs_dx }
    }
}

/// How a node fills its own mask buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskFill {
    /// It has none (its output carries no mask, or another node's).
    None,
    /// Its layer makes the mask from its input ([`crate::layers::LayerDef::make_mask`]).
    Make,
    /// The `or` of its inputs' masks (a merge of inputs masked by different nodes).
    Or,
}

/// Where the Keras masks of a graph live, worked out once at build. A mask is made by a layer
/// (embedding with `mask_zero`, masking) into its node's buffer and passed on by reference:
/// a node whose layer passes masks carries its input's mask without copying it.
#[derive(Clone, Debug, Default)]
pub struct MaskPlan {
    /// Per node: the node whose buffer holds the mask of its output, if it has one.
    pub of: Vec<Option<usize>>,
    /// Per node: how it fills its own buffer.
    pub fill: Vec<MaskFill>,
    /// Whether any node makes a mask (when not, the executor does nothing about masks).
    pub any: bool,
}

impl MaskPlan {
    /// The masks of `graph` whose node `j` runs layer `layers[graph.nodes[j].layer]`.
    pub fn new(graph: &Graph, layers: &[LayerSpec]) -> Result<MaskPlan, String> {
        let n = graph.nodes.len();
        let mut p = MaskPlan { of: Vec::with_capacity(n), fill: vec![MaskFill::None; n], any: false };
        for (j, node) in graph.nodes.iter().enumerate() {
            let ins: Vec<Option<usize>> = node
                .inputs
                .iter()
                .map(|r| match *r {
                    TRef::Input(_) => None,
                    TRef::Node(q) => p.of[q],
                })
                .collect();
            let spec = &layers[node.layer];
            let of = match spec.kind.mask_flow() {
                MaskFlow::Stop => None,
                MaskFlow::Make => {
                    p.fill[j] = MaskFill::Make;
                    p.any = true;
                    Some(j)
                }
                MaskFlow::Pass if ins.len() == 1 => ins[0],
                MaskFlow::Pass => {
                    // Keras: no mask unless every input has one; then their `or`
                    let all: Option<Vec<usize>> = ins.iter().copied().collect();
                    match all {
                        Some(ms) if ms.iter().all(|&m| m == ms[0]) => Some(ms[0]),
                        Some(_) => {
                            p.fill[j] = MaskFill::Or;
                            Some(j)
                        }
                        None => None,
                    }
                }
                MaskFlow::Refuse => {
                    if ins.iter().any(Option::is_some) {
                        return Err(format!(
                            "{} ({}): rkeras does not yet support a masked input here (the mask comes from an \
                             embedding with mask_zero = TRUE or a masking layer)",
                            spec.name,
                            spec.kind.class_name()
                        ));
                    }
                    None
                }
            };
            p.of.push(of);
        }
        Ok(p)
    }

    /// The node whose buffer holds the mask of tensor `r`, if it has one.
    pub fn of_ref(&self, r: TRef) -> Option<usize> {
        match r {
            TRef::Input(_) => None,
            TRef::Node(j) => self.of[j],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_branches() -> Graph {
        // a -> n0 (dense), b -> n1 (dropout), concat(n0, n1) -> n2, n2 -> output and n3 -> output
        let input = |n: &str| InputSpec { name: n.into(), shape: vec![3] };
        Graph {
            inputs: vec![input("a"), input("b")],
            nodes: vec![
                NodeSpec { layer: 0, inputs: vec![TRef::Input(0)] },
                NodeSpec { layer: 1, inputs: vec![TRef::Input(1)] },
                NodeSpec { layer: 2, inputs: vec![TRef::Node(0), TRef::Node(1)] },
                NodeSpec { layer: 3, inputs: vec![TRef::Node(2)] },
            ],
            outputs: vec![TRef::Node(2), TRef::Node(3)],
        }
    }

    #[test]
    fn the_plan_knows_consumers_aliases_and_needed_gradients() {
        let g = two_branches();
        let p = Plan::new(&g, &[false, true, false, false], &[true, false, false, true]);
        assert_eq!(p.alias, vec![TRef::Node(0), TRef::Input(1), TRef::Node(2), TRef::Node(3)]);
        assert_eq!(p.consumers, vec![1, 1, 2, 1]);
        assert_eq!(p.backward, vec![true, false, true, true]);
        assert_eq!(p.needs_dx, vec![vec![false], vec![false], vec![true, false], vec![true]]);
    }

    #[test]
    fn a_chain_needs_no_gradient_below_its_first_trained_layer() {
        let g = Graph::chain(InputSpec { name: "x".into(), shape: vec![4] }, 4);
        let p = Plan::new(&g, &[false, false, true, false], &[false, true, false, true]);
        assert_eq!(p.backward, vec![false, true, true, true]);
        assert_eq!(p.needs_dx, vec![vec![false], vec![false], vec![true], vec![true]]);
        assert_eq!(p.alias[2], TRef::Node(1));
    }
}
