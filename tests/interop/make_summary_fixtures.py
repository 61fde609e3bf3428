"""Keras 3 model summaries for tests/testthat/test-model-functional.R.

Run: KERAS_BACKEND=jax python tests/interop/make_summary_fixtures.py
Writes tests/fixtures/keras/summaries.json (also read by test-layers-cnn-keras.R for the
mnist_cnn and text_cnn models): for each model, the text keras3 for R shows
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


def mnist_cnn():
    # keras' mnist_cnn example as keras_model_sequential(input_shape = c(28, 28, 1)) builds it
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(32, (3, 3), activation="relu", name="conv2d"),
        L.Conv2D(64, (3, 3), activation="relu", name="conv2d_1"),
        L.MaxPooling2D((2, 2), name="max_pooling2d"),
        L.Dropout(0.25, name="dropout"),
        L.Flatten(name="flatten"),
        L.Dense(128, activation="relu", name="dense"),
        L.Dropout(0.5, name="dropout_1"),
        L.Dense(10, activation="softmax", name="dense_1"),
    ], name="sequential")


def text_cnn():
    # a Conv1D text-style model with every 1d padding and the 1d poolings
    return keras.Sequential([
        keras.Input((100, 16)),
        L.Conv1D(32, 5, padding="same", activation="relu", name="conv1d"),
        L.MaxPooling1D(2, name="max_pooling1d"),
        L.Conv1D(16, 3, padding="causal", dilation_rate=2, name="conv1d_1"),
        L.AveragePooling1D(3, strides=2, padding="same", name="average_pooling1d"),
        L.Conv1D(8, 4, strides=2, use_bias=False, name="conv1d_2"),
        L.GlobalMaxPooling1D(name="global_max_pooling1d"),
        L.Dense(1, activation="sigmoid", name="dense"),
    ], name="sequential")


out = {}
for make in (siamese, chain, late_input, frozen, unbuilt, mnist_cnn, text_cnn):
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
