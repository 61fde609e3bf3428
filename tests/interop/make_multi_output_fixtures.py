"""Writes the Keras 3 reference values for multi-input / multi-output training (issue 13).

    KERAS_BACKEND=jax python tests/interop/make_multi_output_fixtures.py tests/fixtures/multi_output

(run with the venv of bench/anchors/setup_venv.sh: Keras 3 on JAX, CPU). Each JSON file holds one
model: its architecture (as a list of layers and their inbound tensors), its initial weights
(rkeras set_weights() them so both start from the same values), the data, the compile arguments,
and what Keras computed: evaluate() (with and without sample_weight), the history of fit() (SGD,
shuffle=False), predict() before and after fit(), test_on_batch()/train_on_batch().

Arrays are stored as {"shape": [...], "data": [row-major values]}; float32 values are written as
the exact doubles they convert to. Log dictionaries are stored as {"keys": [order Keras wrote
them], "values": {key: value}}; "keys" is the exact order (JAX backend: keys sorted, val_ keys
after the training keys).

- two_io.json: inputs input_a (6) and input_b (4); dense_a(relu) on a, dense_b(tanh) on b,
  concatenate, out1 = Dense(3, softmax), out2 = Dense(2, linear). Compiled with
  loss = [categorical_crossentropy, mse], loss_weights = [1, 0.5],
  metrics = {out1: [accuracy], out2: [mae]}; fit() with validation_data.
- two_io_named.json: the same model and initial weights, compiled with a named loss dict given in
  the other order, named loss_weights, a flat metrics list [accuracy, mae] (Keras 3: one entry
  per output) and weighted_metrics [[accuracy], [mse]]; evaluate() and fit() with one
  sample_weight vector (Keras applies it to every output).
- aux_main.json: Keras' classic example: main_input (8) -> encoder -> aux_output (sigmoid), and
  [encoder, aux_input (3)] concatenated -> mixer -> main_output (sigmoid); outputs
  [main_output, aux_output] with binary_crossentropy, loss_weights [1, 0.2], accuracy per output;
  fit() with validation_split = 0.25. Its log keys show that Keras (JAX) sorts them all:
  aux_output_* come before loss.
- sequence.json: a Sequential model on (5, 4) inputs, Dense(6, tanh) then Dense(3, softmax) on
  the last axis: a (batch, 5, 3) softmax output with categorical_crossentropy, metrics accuracy,
  per-sample sample_weight (broadcast over the time axis: Keras 3 on JAX is given them as (n, 1)),
  validation_data with weights; evaluate_temporal_weighted: one weight per sample and time step.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np  # noqa: E402
import keras  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)


def arr(a):
    a = np.asarray(a)
    return {"shape": list(a.shape), "data": a.astype(np.float64).ravel(order="C").tolist()}


def logs(d):
    return {"keys": list(d.keys()), "values": {k: float(v) for k, v in d.items()}}


def history(h):
    return {"keys": list(h.history.keys()), "values": {k: [float(v) for v in vs] for k, vs in h.history.items()}}


def weights(model):
    res = []
    for layer in model.layers:
        for w in layer.weights:
            res.append({"layer": layer.name, "name": w.name, **arr(w.numpy())})
    return res


def arch(model):
    layers = []
    for layer in model.layers:
        cfg = layer.get_config()
        entry = {"class_name": layer.__class__.__name__, "name": layer.name}
        for k in ("units", "activation", "axis", "batch_shape"):
            if k in cfg:
                entry[k] = cfg[k]
        node = layer._inbound_nodes[0] if layer._inbound_nodes else None
        entry["inbound"] = [t._keras_history[0].name for t in node.input_tensors] if node else []
        layers.append(entry)
    return {"name": model.name, "class_name": model.__class__.__name__, "layers": layers,
            "inputs": [t._keras_history[0].name for t in model.inputs],
            "outputs": list(model.output_names) if hasattr(model, "output_names") else None}


def two_io_model():
    keras.utils.set_random_seed(13)
    a = keras.Input((6,), name="input_a")
    b = keras.Input((4,), name="input_b")
    ha = keras.layers.Dense(5, activation="relu", name="dense_a")(a)
    hb = keras.layers.Dense(3, activation="tanh", name="dense_b")(b)
    h = keras.layers.Concatenate(name="concat")([ha, hb])
    o1 = keras.layers.Dense(3, activation="softmax", name="out1")(h)
    o2 = keras.layers.Dense(2, name="out2")(h)
    return keras.Model([a, b], [o1, o2], name="two_io")


rng = np.random.default_rng(2026)
n, nv = 24, 10
xa = rng.normal(size=(n, 6)).astype("float32")
xb = rng.uniform(size=(n, 4)).astype("float32")
y1 = keras.utils.to_categorical(rng.integers(0, 3, n), 3).astype("float32")
y2 = rng.normal(size=(n, 2)).astype("float32")
xva = rng.normal(size=(nv, 6)).astype("float32")
xvb = rng.uniform(size=(nv, 4)).astype("float32")
yv1 = keras.utils.to_categorical(rng.integers(0, 3, nv), 3).astype("float32")
yv2 = rng.normal(size=(nv, 2)).astype("float32")
sw = np.round(rng.uniform(0.2, 2.0, size=n), 3).astype("float32")
batch = 8
data = {"x": {"input_a": arr(xa), "input_b": arr(xb)}, "y": {"out1": arr(y1), "out2": arr(y2)},
        "x_val": {"input_a": arr(xva), "input_b": arr(xvb)}, "y_val": {"out1": arr(yv1), "out2": arr(yv2)},
        "sample_weight": arr(sw)}


def run_two_io(fname, compile_kw, compile_r, weighted):
    model = two_io_model()
    w0 = weights(model)
    res = {"keras_version": keras.__version__, "backend": keras.backend.backend(),
           "model": arch(model), "weights": w0, **data, "batch_size": batch, "epochs": 2,
           "optimizer": {"class_name": "SGD", "learning_rate": 0.1}, "compile": compile_r}
    res["predict_initial"] = [arr(p) for p in model.predict([xa, xb], batch_size=batch, verbose=0)]
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), **compile_kw)
    res["evaluate"] = logs(model.evaluate([xa, xb], [y1, y2], batch_size=batch, verbose=0, return_dict=True))
    res["evaluate_weighted"] = logs(model.evaluate([xa, xb], [y1, y2], sample_weight=sw, batch_size=batch,
                                                   verbose=0, return_dict=True))
    res["evaluate_val"] = logs(model.evaluate([xva, xvb], [yv1, yv2], batch_size=batch, verbose=0,
                                              return_dict=True))
    fit_kw = dict(batch_size=batch, epochs=2, shuffle=False, verbose=0)
    if weighted:
        h = model.fit([xa, xb], [y1, y2], sample_weight=sw, validation_data=([xva, xvb], [yv1, yv2]), **fit_kw)
    else:
        h = model.fit([xa, xb], [y1, y2], validation_data=([xva, xvb], [yv1, yv2]), **fit_kw)
    res["fit_sample_weight"] = weighted
    res["history"] = history(h)
    res["weights_after_fit"] = weights(model)
    res["predict_after_fit"] = [arr(p) for p in model.predict([xa, xb], batch_size=batch, verbose=0)]
    res["evaluate_after_fit"] = logs(model.evaluate([xa, xb], [y1, y2], batch_size=batch, verbose=0,
                                                    return_dict=True))
    # one batch: the first 8 rows, after fit()
    bx, by = [xa[:8], xb[:8]], [y1[:8], y2[:8]]
    res["test_on_batch"] = logs(model.test_on_batch(bx, by, return_dict=True))
    res["train_on_batch"] = logs(model.train_on_batch(bx, by, return_dict=True))
    res["predict_after_train_on_batch"] = [arr(p) for p in model.predict(bx, verbose=0)]
    with open(os.path.join(out, fname), "w") as f:
        json.dump(res, f, indent=1)


run_two_io("two_io.json",
           dict(loss=["categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                metrics={"out1": ["accuracy"], "out2": ["mae"]}),
           {"loss": ["categorical_crossentropy", "mse"], "loss_weights": [1.0, 0.5],
            "metrics": {"out1": ["accuracy"], "out2": ["mae"]}}, weighted=False)
run_two_io("two_io_named.json",
           dict(loss={"out2": "mse", "out1": "categorical_crossentropy"}, loss_weights={"out2": 1.0, "out1": 0.3},
                metrics=["accuracy", "mae"], weighted_metrics=[["accuracy"], ["mse"]]),
           {"loss": {"out2": "mse", "out1": "categorical_crossentropy"}, "loss_weights": {"out2": 1.0, "out1": 0.3},
            "metrics": ["accuracy", "mae"], "weighted_metrics": [["accuracy"], ["mse"]]}, weighted=True)

# ---- (batch, time, classes) softmax, categorical cross-entropy, sample_weight ----
keras.utils.set_random_seed(7)
seq = keras.Sequential([keras.Input((5, 4)), keras.layers.Dense(6, activation="tanh", name="dense"),
                        keras.layers.Dense(3, activation="softmax", name="probs")], name="sequence")
ns, nsv = 12, 6
sx = rng.normal(size=(ns, 5, 4)).astype("float32")
sy = keras.utils.to_categorical(rng.integers(0, 3, (ns, 5)), 3).astype("float32")
ssw = np.round(rng.uniform(0.2, 2.0, size=ns), 3).astype("float32")
svx = rng.normal(size=(nsv, 5, 4)).astype("float32")
svy = keras.utils.to_categorical(rng.integers(0, 3, (nsv, 5)), 3).astype("float32")
svw = np.round(rng.uniform(0.2, 2.0, size=nsv), 3).astype("float32")
res = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "model": arch(seq),
       "weights": weights(seq), "x": arr(sx), "y": arr(sy), "sample_weight": arr(ssw),
       "x_val": arr(svx), "y_val": arr(svy), "sample_weight_val": arr(svw), "batch_size": 4, "epochs": 2,
       "optimizer": {"class_name": "SGD", "learning_rate": 0.1},
       "compile": {"loss": "categorical_crossentropy", "metrics": ["accuracy"]}}
res["predict_initial"] = arr(seq.predict(sx, batch_size=4, verbose=0))
seq.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy",
            metrics=["accuracy"])
res["evaluate"] = logs(seq.evaluate(sx, sy, batch_size=4, verbose=0, return_dict=True))
# Keras 3 on JAX needs (n, 1) weights to broadcast them over the time axis (a (n,) vector is
# refused); the fixture stores the vector, rkeras broadcasts it.
res["evaluate_weighted"] = logs(seq.evaluate(sx, sy, sample_weight=ssw[:, None], batch_size=4, verbose=0,
                                             return_dict=True))
tw = np.round(rng.uniform(0.0, 2.0, size=(ns, 5)), 3).astype("float32")
res["temporal_sample_weight"] = arr(tw)
res["evaluate_temporal_weighted"] = logs(seq.evaluate(sx, sy, sample_weight=tw, batch_size=4, verbose=0,
                                                      return_dict=True))
h = seq.fit(sx, sy, sample_weight=ssw[:, None], validation_data=(svx, svy, svw[:, None]), batch_size=4, epochs=2,
            shuffle=False, verbose=0)
res["fit_sample_weight"] = True
res["history"] = history(h)
res["weights_after_fit"] = weights(seq)
res["predict_after_fit"] = arr(seq.predict(sx, batch_size=4, verbose=0))
res["evaluate_after_fit"] = logs(seq.evaluate(sx, sy, sample_weight=ssw[:, None], batch_size=4, verbose=0,
                                              return_dict=True))
with open(os.path.join(out, "sequence.json"), "w") as f:
    json.dump(res, f, indent=1)
# ---- Keras' classic two-input two-output example: output names that sort before "loss" ----
def aux_main_model():
    keras.utils.set_random_seed(21)
    main_in = keras.Input((8,), name="main_input")
    aux_in = keras.Input((3,), name="aux_input")
    enc = keras.layers.Dense(6, activation="relu", name="encoder")(main_in)
    aux_out = keras.layers.Dense(1, activation="sigmoid", name="aux_output")(enc)
    mixed = keras.layers.Concatenate(name="merge")([enc, aux_in])
    mixed = keras.layers.Dense(4, activation="relu", name="mixer")(mixed)
    main_out = keras.layers.Dense(1, activation="sigmoid", name="main_output")(mixed)
    return keras.Model([main_in, aux_in], [main_out, aux_out], name="aux_main")


am = aux_main_model()
na = 20
mx = rng.normal(size=(na, 8)).astype("float32")
ax = rng.uniform(size=(na, 3)).astype("float32")
my = (rng.uniform(size=(na, 1)) > 0.5).astype("float32")
ay = (rng.uniform(size=(na, 1)) > 0.5).astype("float32")
res = {"keras_version": keras.__version__, "backend": keras.backend.backend(), "model": arch(am),
       "weights": weights(am), "x": {"main_input": arr(mx), "aux_input": arr(ax)},
       "y": {"main_output": arr(my), "aux_output": arr(ay)}, "batch_size": 5, "epochs": 2,
       "validation_split": 0.25, "optimizer": {"class_name": "SGD", "learning_rate": 0.1},
       "compile": {"loss": ["binary_crossentropy", "binary_crossentropy"], "loss_weights": [1.0, 0.2],
                   "metrics": {"main_output": ["accuracy"], "aux_output": ["accuracy"]}}}
res["predict_initial"] = [arr(p) for p in am.predict([mx, ax], batch_size=5, verbose=0)]
am.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=["binary_crossentropy", "binary_crossentropy"],
           loss_weights=[1.0, 0.2], metrics={"main_output": ["accuracy"], "aux_output": ["accuracy"]})
res["evaluate"] = logs(am.evaluate([mx, ax], [my, ay], batch_size=5, verbose=0, return_dict=True))
h = am.fit([mx, ax], [my, ay], batch_size=5, epochs=2, shuffle=False, validation_split=0.25, verbose=0)
res["history"] = history(h)
res["weights_after_fit"] = weights(am)
res["predict_after_fit"] = [arr(p) for p in am.predict([mx, ax], batch_size=5, verbose=0)]
with open(os.path.join(out, "aux_main.json"), "w") as f:
    json.dump(res, f, indent=1)

print("keras", keras.__version__, keras.backend.backend(), "fixtures written to", out)
