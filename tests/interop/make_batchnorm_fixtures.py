"""Writes the Keras 3 reference values for layer_batch_normalization() (issue 14).

    KERAS_BACKEND=jax python tests/interop/make_batchnorm_fixtures.py tests/fixtures/batchnorm

(run with the venv of bench/anchors/setup_venv.sh: Keras 3 on JAX, CPU). The data and weights
come from numpy.random.default_rng(2026), so a rerun on the same versions writes the same values.

    python tests/interop/make_batchnorm_fixtures.py --tf-keras tests/fixtures/batchnorm

(a venv with tensorflow-cpu, tf-keras and h5py) writes only batchnorm_keras2.h5 and cnn_keras2.json:
the CNN below made, trained and saved by tf.keras 2 (its BatchNormalization config keeps `axis` as
the list [3]).

batchnorm.json holds one entry per case: a Sequential model Input(shape) -> BatchNormalization
(args), with weights set to fixed values, and what Keras computed on x:
- weights: the weights set, in get_weights() order (gamma, beta, moving_mean, moving_variance,
  gamma/beta only when scale/center);
- predict: model.predict(x) (inference: the moving statistics);
- train_out: layer(x, training=True) (the batch statistics) of a fresh copy of the model;
- train_on_batch: with the model compiled with SGD(learning_rate=0) and loss "mse", the loss
  train_on_batch(x, y) returned (computed on the training-mode output) and the weights after it
  (gamma/beta unchanged, the moving statistics updated once: moving * momentum + batch * (1 -
  momentum), with the biased batch variance);
- predict_after: model.predict(x) after that step.
Arrays are {"shape": [...], "data": [row-major values]}; float32 values are written as the exact
doubles they convert to.

batchnorm_keras3.h5 (model.save("*.h5"), Keras 3's legacy HDF5): a small CNN Input(6, 6, 2) ->
Conv2D(3, 3x3) -> BatchNormalization -> Flatten -> Dense(2), compiled with SGD(learning_rate=0.01)
and "mean_squared_error" (Keras 3.15.1 cannot read back its HDF5 files compiled with "mse"), trained 2 epochs (batch 4) on the rows of cnn_x / cnn_y in
cnn.json so that its moving statistics differ from their initial values; cnn.json also holds its
weights after training and predict(cnn_x).

functional_bn_model_config.json: the model_config attribute Keras 3 writes into an HDF5 file for
Input(4, 3) -> BatchNormalization(momentum=0.9, center=False) -> Dense(2) (a functional model).
"""
import json
import os
import sys

import numpy as np

TF_KERAS = "--tf-keras" in sys.argv
if TF_KERAS:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras as keras  # noqa: E402
else:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras  # noqa: E402

out_dir = [a for a in sys.argv[1:] if not a.startswith("--")][0]
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(2026)


def arr(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": [float(v) for v in a.astype("float64").ravel()]}


def bn_model(shape, args):
    return keras.Sequential([keras.Input(shape), keras.layers.BatchNormalization(**args)])


def case(name, shape, n, args):
    x = rng.normal(1.5, 2.0, size=(n, *shape)).astype("float32")
    m = bn_model(shape, args)
    bn = m.layers[0]
    c = bn.moving_mean.shape[0]
    weights = []
    if bn.scale:
        weights.append(rng.uniform(0.5, 1.5, c))
    if bn.center:
        weights.append(rng.uniform(-0.5, 0.5, c))
    weights += [rng.normal(1.0, 0.5, c), rng.uniform(0.5, 3.0, c)]
    weights = [w.astype("float32") for w in weights]
    m.set_weights(weights)
    pred = m.predict(x, verbose=0)
    # training-mode output on a copy, so the model's moving statistics stay as set
    m2 = bn_model(shape, args)
    m2.set_weights(weights)
    train_out = np.asarray(m2.layers[0](x, training=True))
    y = rng.normal(size=pred.shape).astype("float32")
    m.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    loss = m.train_on_batch(x, y)
    after = m.get_weights()
    pred_after = m.predict(x, verbose=0)
    return name, {
        "input_shape": list(shape),
        "args": args,
        "weight_names": [v.path.split("/")[-1] for v in bn.weights],
        "x": arr(x),
        "y": arr(y),
        "weights": [arr(w) for w in weights],
        "predict": arr(pred),
        "train_out": arr(train_out),
        "train_on_batch": {"loss": float(loss), "weights": [arr(w) for w in after]},
        "predict_after": arr(pred_after),
        "config": bn.get_config(),
    }


cases = {} if TF_KERAS else dict(
    [
        case("dense", (3,), 6, {"momentum": 0.9, "epsilon": 0.01}),
        case("dense_defaults", (4,), 5, {}),
        case("conv", (4, 5, 2), 3, {"momentum": 0.8}),
        case("sequence_axis1", (4, 3), 5, {"axis": 1, "momentum": 0.5, "epsilon": 0.1}),
        case("no_center", (3,), 4, {"center": False}),
        case("no_scale_no_center", (2, 3), 4, {"center": False, "scale": False, "momentum": 0.0}),
    ]
)
if not TF_KERAS:
    cases["versions"] = {"keras": keras.__version__, "backend": keras.backend.backend()}
    with open(os.path.join(out_dir, "batchnorm.json"), "w") as f:
        json.dump(cases, f)

# a CNN with batch normalization, trained so that its moving statistics are not the initial ones
keras.utils.set_random_seed(2026)
suffix = "_keras2" if TF_KERAS else ""
cnn = keras.Sequential(
    [
        keras.layers.InputLayer(input_shape=(6, 6, 2)) if TF_KERAS else keras.Input((6, 6, 2)),
        keras.layers.Conv2D(3, (3, 3)),
        keras.layers.BatchNormalization(),
        keras.layers.Flatten(),
        keras.layers.Dense(2),
    ]
)
cx = rng.normal(size=(8, 6, 6, 2)).astype("float32")
cy = rng.normal(size=(8, 2)).astype("float32")
cnn.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mean_squared_error")
cnn.fit(cx, cy, epochs=2, batch_size=4, shuffle=False, verbose=0)
cnn.save(os.path.join(out_dir, "batchnorm_keras2.h5" if TF_KERAS else "batchnorm_keras3.h5"))
with open(os.path.join(out_dir, "cnn" + suffix + ".json"), "w") as f:
    json.dump(
        {
            "cnn_x": arr(cx),
            "cnn_y": arr(cy),
            "weights": [arr(w) for w in cnn.get_weights()],
            "weight_paths": [v.name if TF_KERAS else v.path for v in cnn.weights],
            "predict": arr(cnn.predict(cx, verbose=0)),
        },
        f,
    )
if not TF_KERAS:
    # the legacy HDF5 model_config of a functional model with batch normalization (inbound call
    # kwargs of BatchNormalization: {"mask": null})
    import h5py

    inp = keras.Input((4, 3), name="input_layer")
    h = keras.layers.BatchNormalization(momentum=0.9, center=False, name="batch_normalization")(inp)
    fm = keras.Model(inp, keras.layers.Dense(2, name="dense")(h), name="functional")
    path = os.path.join(out_dir, "functional_bn.h5")
    fm.save(path)
    with h5py.File(path) as f, open(os.path.join(out_dir, "functional_bn_model_config.json"), "w") as out:
        out.write(f.attrs["model_config"])
    os.remove(path)
print("wrote", out_dir)
