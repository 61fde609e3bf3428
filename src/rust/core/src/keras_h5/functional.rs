//! Functional model configs (Keras 3 and tf.keras 2) to rkeras graph specs.
//!
//! A Keras functional config lists every layer once, each with its calls (`inbound_nodes`):
//! tf.keras 2 writes a call as `[["dense_a", 0, 0, {}], ...]`, Keras 3 as
//! `{"args": [<__keras_tensor__ or a list of them>], "kwargs": {...}}` whose tensors carry
//! `keras_history: [layer, node_index, tensor_index]`. A reference names the `node_index`-th
//! call of a layer, so a layer called twice (shared weights) has two nodes. Two Keras
//! conventions shift that index for nested models (a model used as a layer):
//! - tf.keras 2 counts a nested model's own construction as its call 0, so its first call in
//!   the outer model is 1, in `inbound_nodes` and in `output_layers` alike;
//! - Keras 3 counts calls from 0 in `keras_history`, but in `input_layers`/`output_layers` a
//!   nested `Functional` model (not a `Sequential` one) starts at 1.
//!
//! The nodes come out in topological order, each layer's calls in their order, layers in the
//! config's order (Keras' `model.layers`), so a chain gives node `i` = layer `i`.

use super::config::{bare_class, declared_input_shape, layer_spec, Generation};
use crate::graph::{InputSpec, NodeSpec, TRef};
use crate::layers::LayerSpec;
use crate::model::ModelSpec;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

type R<T> = Result<T, String>;

/// A tensor reference as a Keras config writes it.
#[derive(Clone, Debug, PartialEq)]
struct KRef {
    layer: String,
    node: usize,
    tensor: usize,
}

fn as_index(v: Option<&Value>) -> Option<usize> {
    v.and_then(Value::as_u64).map(|u| u as usize)
}

/// `["name", node, tensor]` or `["name", node, tensor, {kwargs}]`.
fn parse_ref(v: &Value) -> Option<KRef> {
    let a = v.as_array()?;
    Some(KRef { layer: a.first()?.as_str()?.to_string(), node: as_index(a.get(1))?, tensor: as_index(a.get(2))? })
}

/// `input_layers` / `output_layers`: `["name", 0, 0]` (Keras 3, one tensor) or a list of them.
fn io_refs(v: Option<&Value>, what: &str, model: &str) -> R<Vec<KRef>> {
    let bad = || format!("model '{model}': its {what} are not a list of [layer, node, tensor] references");
    let a = v.and_then(Value::as_array).ok_or_else(bad)?;
    if a.first().is_some_and(Value::is_string) {
        return Ok(vec![parse_ref(v.unwrap()).ok_or_else(bad)?]);
    }
    a.iter().map(|r| parse_ref(r).ok_or_else(bad)).collect()
}

/// The `keras_history` of every Keras 3 tensor in `v`, in order.
fn keras_tensors(v: &Value, out: &mut Vec<KRef>) {
    match v {
        Value::Object(o) if o.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") => {
            if let Some(r) = o.get("config").and_then(|c| c.get("keras_history")).and_then(parse_ref) {
                out.push(r);
            }
        }
        Value::Object(o) => o.values().for_each(|x| keras_tensors(x, out)),
        Value::Array(a) => a.iter().for_each(|x| keras_tensors(x, out)),
        _ => {}
    }
}

/// One call of a layer: the tensors it takes, and whether it is in Keras 3's form.
fn call_refs(node: &Value, layer: &str) -> R<(Vec<KRef>, bool)> {
    match node {
        Value::Array(inputs) => {
            let refs = inputs
                .iter()
                .map(|i| parse_ref(i).ok_or_else(|| format!("layer '{layer}': inbound node {i} is not understood")))
                .collect::<R<Vec<_>>>()?;
            Ok((refs, false))
        }
        Value::Object(o) => {
            let mut refs = Vec::new();
            keras_tensors(o.get("args").unwrap_or(&Value::Null), &mut refs);
            let mut in_kwargs = Vec::new();
            // a `mask` argument is the Keras mask of the input, which rkeras works out itself
            for (k, v) in o.get("kwargs").and_then(Value::as_object).into_iter().flatten() {
                if k != "mask" {
                    keras_tensors(v, &mut in_kwargs);
                }
            }
            if let Some(r) = in_kwargs.first() {
                return Err(format!(
                    "layer '{layer}' is called with the output of '{}' as a keyword argument, which rkeras does not \
                     support",
                    r.layer
                ));
            }
            Ok((refs, true))
        }
        other => Err(format!("layer '{layer}': inbound node {other} is not understood")),
    }
}

fn entry_name(e: &Value) -> Option<&str> {
    e.get("name").or_else(|| e.get("config").and_then(|c| c.get("name"))).and_then(Value::as_str)
}

fn entry_class(e: &Value) -> &str {
    bare_class(e.get("class_name").and_then(Value::as_str).unwrap_or("?"))
}

/// Whether a layer entry is a model used as a layer.
pub(super) fn is_model_class(class: &str) -> bool {
    matches!(class, "Functional" | "Model" | "Sequential")
}

/// A call's tensor arguments and its `mask` argument's tensors (see [`call_tensors`]).
type CallTensors = (Vec<KRef>, Vec<KRef>);

/// The Keras 3 tensor references of one call: its tensor arguments (`args`, and `kwargs` but
/// `mask`) and those of its `mask` argument.
fn call_tensors(node: &Value) -> CallTensors {
    let (mut args, mut mask) = (Vec::new(), Vec::new());
    match node {
        Value::Object(o) => {
            keras_tensors(o.get("args").unwrap_or(&Value::Null), &mut args);
            for (k, v) in o.get("kwargs").and_then(Value::as_object).into_iter().flatten() {
                keras_tensors(v, if k == "mask" { &mut mask } else { &mut args });
            }
        }
        other => args.extend(other.as_array().into_iter().flatten().filter_map(parse_ref)),
    }
    (args, mask)
}

/// The entries that only compute masks. Keras 3 writes the ops that compute the masks a layer
/// takes (`NotEqual`, `Any`, `LogicalOr`, ...) as entries of their own, read only through the
/// `mask` arguments of the layers that use masks (and by each other); rkeras makes masks
/// itself, so it skips them.
fn mask_only(entries: &[Value], outputs: &[KRef]) -> HashSet<String> {
    let calls: Vec<(&str, Vec<CallTensors>)> = entries
        .iter()
        .filter_map(|e| {
            let nodes = e.get("inbound_nodes").and_then(Value::as_array).into_iter().flatten();
            Some((entry_name(e)?, nodes.map(call_tensors).collect()))
        })
        .collect();
    let mut only: HashSet<String> = HashSet::new();
    loop {
        // read as a tensor by a layer, or read as a mask (also: by a mask-only entry)
        let mut as_tensor: HashSet<&str> = outputs.iter().map(|r| r.layer.as_str()).collect();
        let mut as_mask: HashSet<&str> = HashSet::new();
        for (name, cs) in &calls {
            let skipped = only.contains(*name);
            for (args, mask) in cs {
                as_mask.extend(mask.iter().map(|r| r.layer.as_str()));
                let to = if skipped { &mut as_mask } else { &mut as_tensor };
                to.extend(args.iter().map(|r| r.layer.as_str()));
            }
        }
        let next: HashSet<String> = as_mask.difference(&as_tensor).map(|n| n.to_string()).collect();
        if next.len() == only.len() {
            return next;
        }
        only = next;
    }
}

/// A Keras functional config as an rkeras graph spec.
pub(super) fn functional_spec(config: &Value, generation: Generation, warnings: &mut Vec<String>) -> R<ModelSpec> {
    let name = config.get("name").and_then(Value::as_str).unwrap_or("model").to_string();
    let entries = config.get("layers").and_then(Value::as_array).ok_or("the functional model config has no layers")?;
    let input_refs = io_refs(config.get("input_layers"), "input_layers", &name)?;
    let output_refs = io_refs(config.get("output_layers"), "output_layers", &name)?;
    if input_refs.is_empty() || output_refs.is_empty() {
        return Err(format!("model '{name}' has no inputs or no outputs"));
    }
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let n = entry_name(e).ok_or_else(|| format!("model '{name}': a {} layer has no name", entry_class(e)))?;
        if by_name.insert(n, i).is_some() {
            return Err(format!("model '{name}': the layer name '{n}' is used more than once"));
        }
    }
    let find = |n: &str| {
        by_name.get(n).copied().ok_or_else(|| format!("model '{name}': layer '{n}' is referenced but not defined"))
    };
    // inputs, in input_layers order
    let mut inputs = Vec::with_capacity(input_refs.len());
    let mut input_of: HashMap<&str, usize> = HashMap::new();
    for r in &input_refs {
        let e = &entries[find(&r.layer)?];
        if entry_class(e) != "InputLayer" {
            return Err(format!("model '{name}': input '{}' ({}) is not an InputLayer", r.layer, entry_class(e)));
        }
        let c = e.get("config").cloned().unwrap_or(Value::Null);
        let shape =
            declared_input_shape(&c, &r.layer)?.ok_or_else(|| format!("input layer '{}' has no shape", r.layer))?;
        if input_of.insert(entry_name(e).unwrap(), inputs.len()).is_some() {
            return Err(format!("model '{name}': input '{}' is listed twice", r.layer));
        }
        inputs.push(InputSpec { name: r.layer.clone(), shape });
    }
    // layers (every non-input entry, in order) and their calls
    let mut layers: Vec<LayerSpec> = Vec::new();
    let mut layer_of: HashMap<&str, usize> = HashMap::new();
    let mut calls: Vec<Vec<Vec<KRef>>> = Vec::new();
    let mut nested_layer: Vec<(bool, bool)> = Vec::new(); // (model, functional model)
    let mut keras3_form = false;
    let skip = mask_only(entries, &output_refs);
    for e in entries {
        let n = entry_name(e).unwrap();
        let class = entry_class(e);
        if skip.contains(n) {
            // an op computing a mask (see [`mask_only`])
            continue;
        }
        if class == "InputLayer" {
            if !input_of.contains_key(n) {
                return Err(format!("model '{name}': input layer '{n}' is not one of the model's inputs"));
            }
            continue;
        }
        let spec = layer_spec(e, generation, warnings)?;
        let mut cs = Vec::new();
        for node in e.get("inbound_nodes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
            let (refs, k3) = call_refs(node, n)?;
            keras3_form |= k3;
            if refs.is_empty() {
                return Err(format!("model '{name}': layer '{n}' is called on no tensor"));
            }
            cs.push(refs);
        }
        layer_of.insert(n, layers.len());
        layers.push(spec);
        calls.push(cs);
        nested_layer.push((is_model_class(class), matches!(class, "Functional" | "Model")));
    }
    // tf.keras 2 counts a nested model's construction as its call 0 (see the module doc)
    let call_offset = |li: usize| usize::from(!keras3_form && nested_layer[li].0);
    let io_offset = |li: usize| if keras3_form { usize::from(nested_layer[li].1) } else { call_offset(li) };
    let mut node_of: Vec<Vec<Option<usize>>> = calls.iter().map(|c| vec![None; c.len()]).collect();
    let resolve = |r: &KRef, offset: &dyn Fn(usize) -> usize, node_of: &Vec<Vec<Option<usize>>>| -> R<Option<TRef>> {
        if r.tensor != 0 {
            return Err(format!(
                "model '{name}': output {} of layer '{}' is used; rkeras layers have one output",
                r.tensor, r.layer
            ));
        }
        if let Some(&i) = input_of.get(r.layer.as_str()) {
            return if r.node == 0 {
                Ok(Some(TRef::Input(i)))
            } else {
                Err(format!("model '{name}': input '{}' has no node {}", r.layer, r.node))
            };
        }
        let li = *layer_of.get(r.layer.as_str()).ok_or_else(|| match by_name.get(r.layer.as_str()) {
            Some(_) => format!("model '{name}': input layer '{}' is not one of the model's inputs", r.layer),
            None => format!("model '{name}': layer '{}' is referenced but not defined", r.layer),
        })?;
        let k = r.node.checked_sub(offset(li)).filter(|&k| k < calls[li].len()).ok_or_else(|| {
            format!(
                "model '{name}': layer '{}' is referenced at node {}, but it is called {} time(s)",
                r.layer,
                r.node,
                calls[li].len()
            )
        })?;
        Ok(node_of[li][k].map(TRef::Node))
    };
    // place each call once all its inputs are placed: layers in order, each layer's calls in order
    let total: usize = calls.iter().map(Vec::len).sum();
    let mut nodes: Vec<NodeSpec> = Vec::with_capacity(total);
    let mut next = vec![0usize; layers.len()];
    while nodes.len() < total {
        let before = nodes.len();
        for li in 0..layers.len() {
            while next[li] < calls[li].len() {
                let mut refs = Vec::with_capacity(calls[li][next[li]].len());
                for r in &calls[li][next[li]] {
                    match resolve(r, &call_offset, &node_of)? {
                        Some(t) => refs.push(t),
                        None => break,
                    }
                }
                if refs.len() < calls[li][next[li]].len() {
                    break;
                }
                node_of[li][next[li]] = Some(nodes.len());
                nodes.push(NodeSpec { layer: li, inputs: refs });
                next[li] += 1;
            }
        }
        if nodes.len() == before {
            let li = (0..layers.len()).find(|&li| next[li] < calls[li].len()).unwrap();
            return Err(format!(
                "model '{name}': the inputs of layer '{}' cannot be computed from the model inputs (the layer graph \
                 has a cycle)",
                layers[li].name
            ));
        }
    }
    let outputs = output_refs
        .iter()
        .map(|r| {
            resolve(r, &io_offset, &node_of)?
                .ok_or_else(|| format!("model '{name}': output '{}' is not computed", r.layer))
        })
        .collect::<R<Vec<_>>>()?;
    let spec = ModelSpec {
        name,
        class_name: "Functional".into(),
        input_shape: vec![],
        input_name: None,
        layers,
        inputs,
        nodes,
        outputs,
    };
    spec.graph().check(&spec.name, &spec.layers)?;
    Ok(spec)
}
