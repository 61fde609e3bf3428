//! The model graph: inputs, layer nodes (a layer applied to tensors), outputs.
//!
//! A spec names tensors by [`TRef`]: a model input or the output of an earlier node, so the
//! nodes are in topological order by construction. A layer applied twice has two nodes and
//! one set of weights. A sequential model (and a v1 functional chain) is the chain graph:
//! node `i` applies layer `i` to node `i - 1`. The [`Plan`] is what the executor needs, worked
//! out once: which buffers a node reads at inference, who consumes each tensor, which
//! gradients are needed.

use crate::layers::LayerSpec;
use serde::{Deserialize, Serialize};

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
