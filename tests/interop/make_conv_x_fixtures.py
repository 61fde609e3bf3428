"""Writes Keras 3 reference values for the transposed, depthwise and separable convolutions (issue 14).

    KERAS_BACKEND=jax python tests/interop/make_conv_x_fixtures.py tests/fixtures/keras/conv_x

(run with the venv of bench/anchors/setup_venv.sh: Keras 3 on JAX, CPU). Inputs and weights come
from numpy.random.default_rng(14), so a rerun writes the same values (up to float rounding of the
JAX CPU kernels).

- layers.json: a list of cases, each one layer on a fixed input: {name, fn (the R function),
  args (its R arguments), input_shape, weights (get_weights() order, each {shape, data}), x, y
  (Keras' predict()), config (the layer's Keras 3 get_config()), config_keys (its keys in Keras'
  order), params (count_params())}.
  Arrays are {"shape", "data"} with data row-major; float32 values are written as the exact
  doubles they convert to.
- chain_keras3.h5: a Sequential model (6, 5, 3) -> Conv2DTranspose -> DepthwiseConv2D ->
  SeparableConv2D -> Flatten -> Dense(2) saved by Keras 3 with model.save(), and
  chain_x.json / chain_pred.json: 3 inputs and Keras' predictions for them.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np  # noqa: E402
import keras  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/keras/conv_x"
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(14)


def arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


# (name, Keras layer, R function, R arguments, per-sample input shape)
CASES = [
    ("transpose_valid_op", keras.layers.Conv2DTranspose(4, (3, 2), strides=2, output_padding=(1, 0)),
     "layer_conv_2d_transpose", {"filters": 4, "kernel_size": [3, 2], "strides": 2, "output_padding": [1, 0]},
     (5, 4, 3)),
    ("transpose_same_s2", keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same", activation="tanh"),
     "layer_conv_2d_transpose",
     {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "tanh"}, (5, 4, 3)),
    ("transpose_same_dilated", keras.layers.Conv2DTranspose(3, 2, dilation_rate=2, padding="same"),
     "layer_conv_2d_transpose", {"filters": 3, "kernel_size": 2, "dilation_rate": 2, "padding": "same"},
     (4, 5, 2)),
    ("transpose_same_op", keras.layers.Conv2DTranspose(2, (4, 3), strides=3, padding="same",
                                                       output_padding=(2, 1), use_bias=False),
     "layer_conv_2d_transpose", {"filters": 2, "kernel_size": [4, 3], "strides": 3, "padding": "same",
                                 "output_padding": [2, 1], "use_bias": False}, (3, 4, 2)),
    ("depthwise_same_s2", keras.layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
     "layer_depthwise_conv_2d", {"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2},
     (6, 5, 3)),
    ("depthwise_valid_dilated", keras.layers.DepthwiseConv2D((2, 3), dilation_rate=2, activation="relu"),
     "layer_depthwise_conv_2d", {"kernel_size": [2, 3], "dilation_rate": 2, "activation": "relu"}, (6, 7, 4)),
    ("separable_valid", keras.layers.SeparableConv2D(4, (2, 3), strides=(1, 2), depth_multiplier=2,
                                                     activation="relu"),
     "layer_separable_conv_2d", {"filters": 4, "kernel_size": [2, 3], "strides": [1, 2], "depth_multiplier": 2,
                                 "activation": "relu"}, (6, 7, 3)),
    ("separable_same_dilated", keras.layers.SeparableConv2D(3, 3, padding="same", dilation_rate=2),
     "layer_separable_conv_2d", {"filters": 3, "kernel_size": 3, "padding": "same", "dilation_rate": 2},
     (5, 6, 2)),
]

cases = []
for name, layer, fn, args, shape in CASES:
    model = keras.Sequential([keras.Input(shape), layer])
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    x = rng.normal(size=(2,) + shape).astype(np.float32)
    y = model.predict(x, verbose=0)
    cases.append({"name": name, "fn": fn, "args": args, "input_shape": list(shape),
                  "weights": [arr(w) for w in weights], "x": arr(x), "y": arr(y),
                  "config": json.loads(json.dumps(layer.get_config(), default=str)),
                  "config_keys": list(layer.get_config().keys()),
                  "params": int(model.count_params())})
with open(os.path.join(out, "layers.json"), "w") as f:
    json.dump(cases, f)

chain = keras.Sequential([
    keras.Input((6, 5, 3)),
    keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu", name="up"),
    keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw"),
    keras.layers.SeparableConv2D(3, 2, strides=2, activation="tanh", name="sep"),
    keras.layers.Flatten(name="flat"),
    keras.layers.Dense(2, name="out"),
])
chain.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.3 for w in chain.get_weights()])
chain.compile(optimizer="adam", loss="mean_squared_error")
x = rng.normal(size=(3, 6, 5, 3)).astype(np.float32)
chain.save(os.path.join(out, "chain_keras3.h5"))
with open(os.path.join(out, "chain_x.json"), "w") as f:
    json.dump(arr(x), f)
with open(os.path.join(out, "chain_pred.json"), "w") as f:
    json.dump(arr(chain.predict(x, verbose=0)), f)
print("wrote", out)
