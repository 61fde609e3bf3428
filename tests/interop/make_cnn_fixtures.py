"""Keras 3 reference values of the convolution and pooling layers (tests/fixtures/keras/cnn/layers.json).

    KERAS_BACKEND=jax python tests/interop/make_cnn_fixtures.py tests/fixtures/keras/cnn

For each case one layer (Conv2D, Conv1D, the windowed and the global poolings) is built on a
fixed input shape, its weights are set to fixed values (numpy, seeded per case), and Keras'
output for a fixed input batch (numpy, seeded per case, normal values so that windows of only
negative values occur) is recorded. The JSON file holds, per case: `name`, `class` (Keras class
name), `args` (the layer's constructor arguments as given to Keras, lists for tuples),
`input` and `output` (`{shape, data}` with the batch axis first and `data` row-major), and
`weights` (a list of `{shape, data}` in `get_weights()` order). Values are float32 printed to 9
significant digits, which round-trips them exactly. tests/testthat/test-layers-cnn-keras.R
builds the same layer in rkeras, sets the weights and compares predictions (within 1e-5).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "."
L = keras.layers
BATCH = 2
IN2D = (7, 6, 3)
IN1D = (9, 3)


def arr(a):
    a = np.asarray(a, dtype="float32")
    return {"shape": list(a.shape), "data": [float(f"{v:.9g}") for v in a.ravel()]}


CASES = []


def case(name, cls, args, shape):
    CASES.append((name, cls, args, shape))


# Conv2D: every padding, strides (odd and even sizes: asymmetric "same" padding), dilation,
# use_bias = FALSE, kernels as large as the input, and the activations rkeras knows.
case("conv2d_valid", "Conv2D", {"filters": 4, "kernel_size": [3, 3]}, IN2D)
case("conv2d_same", "Conv2D", {"filters": 4, "kernel_size": [3, 3], "padding": "same"}, IN2D)
case("conv2d_valid_rect", "Conv2D", {"filters": 2, "kernel_size": [3, 2], "strides": [2, 1]}, IN2D)
case("conv2d_same_s2", "Conv2D", {"filters": 3, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same"}, IN2D)
case("conv2d_same_even", "Conv2D", {"filters": 3, "kernel_size": [2, 4], "strides": [2, 3], "padding": "same"}, IN2D)
case("conv2d_same_k4_s1", "Conv2D", {"filters": 2, "kernel_size": [4, 4], "padding": "same"}, IN2D)
case("conv2d_valid_s3", "Conv2D", {"filters": 2, "kernel_size": [2, 2], "strides": [3, 3]}, IN2D)
case("conv2d_dilation_valid", "Conv2D", {"filters": 3, "kernel_size": [3, 2], "dilation_rate": [2, 3]}, IN2D)
case("conv2d_dilation_same", "Conv2D", {"filters": 3, "kernel_size": [3, 3], "dilation_rate": [2, 2],
                                        "padding": "same"}, IN2D)
case("conv2d_no_bias", "Conv2D", {"filters": 4, "kernel_size": [3, 3], "use_bias": False, "activation": "tanh"}, IN2D)
case("conv2d_full_kernel", "Conv2D", {"filters": 5, "kernel_size": [7, 6]}, IN2D)
case("conv2d_1x1", "Conv2D", {"filters": 2, "kernel_size": [1, 1], "activation": "relu"}, IN2D)
for act in ["relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign", "hard_sigmoid",
            "exponential", "swish", "silu", "gelu", "relu6", "leaky_relu", "mish", "log_softmax", "linear"]:
    case(f"conv2d_act_{act}", "Conv2D", {"filters": 3, "kernel_size": [2, 2], "activation": act}, IN2D)

# Conv1D: valid, same, causal, strides, dilation, use_bias = FALSE.
case("conv1d_valid", "Conv1D", {"filters": 4, "kernel_size": 3}, IN1D)
case("conv1d_same", "Conv1D", {"filters": 4, "kernel_size": 3, "padding": "same"}, IN1D)
case("conv1d_same_even", "Conv1D", {"filters": 2, "kernel_size": 4, "padding": "same"}, IN1D)
case("conv1d_causal", "Conv1D", {"filters": 3, "kernel_size": 3, "padding": "causal"}, IN1D)
case("conv1d_causal_dilation", "Conv1D", {"filters": 3, "kernel_size": 3, "padding": "causal",
                                          "dilation_rate": 2}, IN1D)
case("conv1d_causal_s2", "Conv1D", {"filters": 2, "kernel_size": 2, "padding": "causal", "strides": 2}, IN1D)
case("conv1d_same_s2", "Conv1D", {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}, IN1D)
case("conv1d_valid_s3", "Conv1D", {"filters": 2, "kernel_size": 2, "strides": 3}, IN1D)
case("conv1d_dilation_valid", "Conv1D", {"filters": 2, "kernel_size": 3, "dilation_rate": 3}, IN1D)
case("conv1d_dilation_same", "Conv1D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, IN1D)
case("conv1d_no_bias", "Conv1D", {"filters": 3, "kernel_size": 5, "use_bias": False, "activation": "relu"}, IN1D)
case("conv1d_softmax", "Conv1D", {"filters": 4, "kernel_size": 2, "activation": "softmax"}, IN1D)
case("conv1d_full_kernel", "Conv1D", {"filters": 2, "kernel_size": 9, "activation": "sigmoid"}, IN1D)

# Windowed pooling: valid and same, default and explicit strides, windows that overhang.
for cls, short in [("MaxPooling2D", "max2d"), ("AveragePooling2D", "avg2d")]:
    case(f"{short}_valid", cls, {"pool_size": [2, 2]}, IN2D)
    case(f"{short}_same", cls, {"pool_size": [2, 2], "padding": "same"}, IN2D)
    case(f"{short}_valid_rect_s", cls, {"pool_size": [3, 2], "strides": [2, 1]}, IN2D)
    case(f"{short}_same_s2", cls, {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"}, IN2D)
    case(f"{short}_same_s1", cls, {"pool_size": [2, 3], "strides": [1, 1], "padding": "same"}, IN2D)
    case(f"{short}_same_big", cls, {"pool_size": [4, 4], "strides": [3, 2], "padding": "same"}, IN2D)
    case(f"{short}_valid_full", cls, {"pool_size": [7, 6]}, IN2D)
for cls, short in [("MaxPooling1D", "max1d"), ("AveragePooling1D", "avg1d")]:
    case(f"{short}_valid", cls, {"pool_size": 2}, IN1D)
    case(f"{short}_same", cls, {"pool_size": 2, "padding": "same"}, IN1D)
    case(f"{short}_valid_s", cls, {"pool_size": 3, "strides": 2}, IN1D)
    case(f"{short}_same_s2", cls, {"pool_size": 3, "strides": 2, "padding": "same"}, IN1D)
    case(f"{short}_same_s1", cls, {"pool_size": 4, "strides": 1, "padding": "same"}, IN1D)
    case(f"{short}_same_big", cls, {"pool_size": 5, "strides": 3, "padding": "same"}, IN1D)

# Global pooling, with and without keepdims.
for cls, shape in [("GlobalMaxPooling1D", IN1D), ("GlobalAveragePooling1D", IN1D), ("GlobalMaxPooling2D", IN2D),
                   ("GlobalAveragePooling2D", IN2D)]:
    for keep in [False, True]:
        case(f"{cls.lower()}{'_keepdims' if keep else ''}", cls, {"keepdims": keep}, shape)


def run(i, name, cls, args, shape):
    rng = np.random.default_rng(1000 + i)
    x = rng.normal(0, 1, (BATCH,) + shape).astype("float32")
    layer = getattr(L, cls)(name="layer", **args)
    model = keras.Sequential([keras.Input(shape), layer])
    weights = [rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in layer.get_weights()]
    if weights:
        layer.set_weights(weights)
    y = model.predict(x, verbose=0)
    return {"name": name, "class": cls, "args": args, "input": arr(x), "weights": [arr(w) for w in weights],
            "output": arr(y)}


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    out = {"keras_version": keras.__version__, "backend": keras.backend.backend(),
           "cases": [run(i, *c) for i, c in enumerate(CASES)]}
    path = os.path.join(OUT, "layers.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("keras", keras.__version__, keras.backend.backend(), len(CASES), "cases written to", path)
