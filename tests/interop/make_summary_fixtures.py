"""Keras 3 model summaries for tests/testthat/test-model-functional.R.

Run: KERAS_BACKEND=jax python tests/interop/make_summary_fixtures.py
Writes tests/fixtures/keras/summaries.json: for each model, the text keras3 for R shows
(model.summary(line_length=80) captured, stripped of surrounding white space and empty lines,
as keras3's format() does), the layer order (model.layers), and per layer (without the input
layers) the output shape of its first node and its parameter count.
"""
import contextlib
import io
import json
import os
import re

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
from keras import layers as L  # noqa: E402


def siamese():
    a = keras.Input((8,), name="input_a")
    b = keras.Input((8,), name="input_b")
    shared = L.Dense(4, name="shared")
    c = L.Concatenate(name="concat")([shared(a), shared(b)])
    o1 = L.Dense(1, name="out1")(c)
    o2 = L.Dense(3, activation="softmax", name="out2")(c)
    return keras.Model([a, b], [o1, o2], name="siamese")


def chain():
    x = keras.Input((4,), name="x")
    h = L.Dense(3, name="hidden")(x)
    return keras.Model(x, L.Dense(2, name="output_layer")(h), name="chain")


def late_input():
    # input b joins late: keras puts its InputLayer after the first dense layers
    a = keras.Input((6,), name="a")
    b = keras.Input((2,), name="b")
    h = L.Dense(5, name="d1")(a)
    h = L.Dense(2, name="d2")(h)
    s = L.Add(name="add_residual_connection_layer")([h, b])
    return keras.Model([a, b], L.Dense(1, name="head")(s), name="late_input")


def frozen():
    x = keras.Input((3,), name="inp")
    h = L.Dense(4, name="frozen_dense", trainable=False)(x)
    y = L.Dense(2, name="free_dense")(h)
    z = L.Concatenate(name="cat")([h, y])
    return keras.Model(x, z, name="frozen")


def unbuilt():
    return keras.Sequential([L.Dense(4, name="dense"), L.Dense(1, name="dense_1")], name="sequential")


out = {}
for make in (siamese, chain, late_input, frozen, unbuilt):
    model = make()
    show_trainable = bool(model.built and len(model.non_trainable_weights))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.summary(line_length=80, show_trainable=show_trainable)
    text = re.sub(r"(\n\s*\n)", "\n", buf.getvalue().strip())
    layers = []
    if model.built:
        for layer in model.layers:
            if isinstance(layer, L.InputLayer):
                continue
            layers.append({"name": layer.name,
                           "output_shape": list(layer._inbound_nodes[0].output_tensors[0].shape[1:]),
                           "params": layer.count_params()})
    out[make.__name__] = {"text": text, "layer_order": [l.name for l in model.layers], "layers": layers}

path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras", "summaries.json")
with open(path, "w") as f:
    json.dump({"keras_version": keras.__version__, "models": out}, f, indent=1, ensure_ascii=False)
print("wrote", os.path.normpath(path))
