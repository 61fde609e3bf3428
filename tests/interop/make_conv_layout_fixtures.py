"""Writes Keras 3 reference values for convolution and pooling layers with
data_format = "channels_first", and for grouped convolutions (`groups > 1`) (issue 14).

    KERAS_BACKEND=jax python tests/interop/make_conv_layout_fixtures.py tests/fixtures/keras/conv_layouts

(run with the venv of bench/anchors/setup_venv.sh: Keras 3 on JAX, CPU). Inputs and weights come
from numpy.random.default_rng(141), so a rerun writes the same values (up to float rounding of
the JAX CPU kernels).

- layers.json: {keras_version, cases}, each case one layer on a fixed input, in the format of
  tests/fixtures/keras/cnn/layers.json: {name, class, args (the R arguments), input, output
  (Keras' predict()), weights (get_weights() order)}, arrays as {shape, data} row-major.
- chain_keras3.h5: a Sequential model on (3, 8, 7) channels-first images: Conv2D -> MaxPooling2D
  -> SeparableConv2D -> AveragePooling2D -> Conv2DTranspose -> DepthwiseConv2D -> grouped Conv2D
  -> GlobalAveragePooling2D -> Dense(2), saved by Keras 3 with model.save(); chain_x.json and
  chain_pred.json: 3 inputs and Keras' predictions for them.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np  # noqa: E402
import keras  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/keras/conv_layouts"
os.makedirs(OUT, exist_ok=True)
L = keras.layers
rng = np.random.default_rng(141)
IN2D = (3, 7, 6)  # (channels, height, width)
IN1D = (3, 9)  # (channels, steps)


def arr(a):
    a = np.asarray(a, dtype="float32")
    return {"shape": list(a.shape), "data": [float(f"{v:.9g}") for v in a.ravel()]}


CF = {"data_format": "channels_first"}
CASES = [
    ("conv2d_valid", "Conv2D", {"filters": 4, "kernel_size": [3, 2], "activation": "relu"}, IN2D),
    ("conv2d_same_s2", "Conv2D", {"filters": 3, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same"}, IN2D),
    ("conv2d_dilated_no_bias", "Conv2D", {"filters": 2, "kernel_size": [2, 2], "dilation_rate": [2, 1],
                                          "use_bias": False, "activation": "tanh"}, IN2D),
    ("conv1d_causal", "Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, IN1D),
    ("conv1d_same_s2", "Conv1D", {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}, IN1D),
    ("transpose_same_s2", "Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
     IN2D),
    ("depthwise_valid", "DepthwiseConv2D", {"kernel_size": [2, 3], "depth_multiplier": 2, "activation": "relu"},
     IN2D),
    ("separable_same", "SeparableConv2D", {"filters": 3, "kernel_size": 3, "padding": "same"}, IN2D),
    ("maxpool2d", "MaxPooling2D", {"pool_size": [2, 2]}, IN2D),
    ("avgpool2d_same", "AveragePooling2D", {"pool_size": [3, 2], "strides": [2, 2], "padding": "same"}, IN2D),
    ("maxpool1d_same", "MaxPooling1D", {"pool_size": 2, "padding": "same"}, IN1D),
    ("avgpool1d", "AveragePooling1D", {"pool_size": 3, "strides": 2}, IN1D),
    ("global_max2d", "GlobalMaxPooling2D", {}, IN2D),
    ("global_avg2d_keepdims", "GlobalAveragePooling2D", {"keepdims": True}, IN2D),
    ("global_max1d", "GlobalMaxPooling1D", {}, IN1D),
    ("global_avg1d", "GlobalAveragePooling1D", {}, IN1D),
]
CASES = [(n, c, dict(a, **CF), s) for n, c, a, s in CASES] + [
    ("conv2d_groups2", "Conv2D", {"filters": 6, "kernel_size": [3, 2], "groups": 2, "activation": "relu"}, (7, 6, 4)),
    ("conv2d_groups3_same_s2", "Conv2D", {"filters": 3, "kernel_size": 3, "groups": 3, "strides": 2,
                                          "padding": "same"}, (7, 6, 3)),
    ("conv1d_groups2_causal", "Conv1D", {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "causal"}, (9, 6)),
    ("conv2d_groups2_channels_first", "Conv2D", {"filters": 4, "kernel_size": 2, "groups": 2, **CF}, (4, 6, 5)),
]

cases = []
for name, cls, args, shape in CASES:
    kargs = dict(args)
    layer = getattr(L, cls)(**kargs)
    model = keras.Sequential([keras.Input(shape), layer])
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    x = rng.normal(size=(2,) + shape).astype(np.float32)
    y = model.predict(x, verbose=0)
    cases.append({"name": name, "class": cls, "args": kargs, "input": arr(x), "output": arr(y),
                  "weights": [arr(w) for w in weights], "config": json.loads(json.dumps(layer.get_config()))})
with open(os.path.join(OUT, "layers.json"), "w") as f:
    json.dump({"keras_version": keras.__version__, "cases": cases}, f)

chain = keras.Sequential([
    keras.Input((3, 8, 7)),
    L.Conv2D(4, 3, padding="same", activation="relu", name="conv", **CF),
    L.MaxPooling2D(2, name="pool", **CF),
    L.SeparableConv2D(3, 2, activation="tanh", name="sep", **CF),
    L.AveragePooling2D(1, name="avg", **CF),
    L.Conv2DTranspose(2, 2, strides=2, name="up", **CF),
    L.DepthwiseConv2D(2, name="dw", **CF),
    L.Conv2D(4, 2, groups=2, padding="same", name="grouped", **CF),
    L.GlobalAveragePooling2D(name="gap", **CF),
    L.Dense(2, name="out"),
])
chain.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in chain.get_weights()])
chain.compile(optimizer="adam", loss="mean_squared_error")
x = rng.normal(size=(3, 3, 8, 7)).astype(np.float32)
chain.save(os.path.join(OUT, "chain_keras3.h5"))
with open(os.path.join(OUT, "chain_x.json"), "w") as f:
    json.dump(arr(x), f)
with open(os.path.join(OUT, "chain_pred.json"), "w") as f:
    json.dump(arr(chain.predict(x, verbose=0)), f)
print("wrote", OUT)
