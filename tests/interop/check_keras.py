"""Keras side of the rkeras <-> Keras HDF5 interop checks (tests/testthat/test-persistence-hdf5.R
runs it when RKERAS_KERAS_PYTHON names a python with keras and h5py).

    check_keras.py load MODEL.h5 X.csv PRED.csv [WEIGHTS.h5]
        Keras loads a model file rkeras wrote and predicts X like rkeras did (PRED, within
        1e-6); a file with a training configuration must come back compiled with the optimizer
        state of the file (every optimizer variable it has equal to its dataset). With WEIGHTS (from
        save_model_weights_hdf5()), the weights are scrambled and loaded again from it. A
        training step is then tried (reported, not required: see below).
    check_keras.py save MODEL.h5 X.csv PRED.csv
        Keras builds, trains and saves a functional model, and writes its predictions of X.

A model with several inputs or outputs takes X (and PRED) as several CSV files joined by commas,
in input (output) order: `load m.h5 x1.csv,x2.csv pred1.csv,pred2.csv`. Each CSV holds one row
per sample (an input or output of higher rank is compared flattened per sample).

Options: --tf-keras uses tf.keras 2 (the tf_keras package) instead of Keras 3. --key-order (load):
the loaded model is saved again by Keras and every layer's entry in the file's model_config (but
the InputLayer's: tf_keras 2.21 adds `optional`, which tf.keras 2.12 does not know) must list its
keys (and its config's keys) in the order Keras writes them. Use it for files written in the
layout of the Keras that loads them.
Prints one JSON line; exits 1 when a check fails.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

args = [a for a in sys.argv[1:] if not a.startswith("--")]
if "--tf-keras" in sys.argv:
    import tf_keras as keras  # noqa: E402
else:
    import keras  # noqa: E402
import h5py  # noqa: E402

TOL = 1e-6


def read_csv(path):
    return np.loadtxt(path, delimiter=",", dtype="float64", ndmin=2)


def fail(result, why):
    result["ok"] = False
    result.setdefault("failures", []).append(why)


def optimizer_checks(model, path, result):
    with h5py.File(path, "r") as f:
        if "optimizer_weights" not in f:
            return
        g = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in g.attrs["weight_names"]]
        saved = [np.asarray(g[n]) for n in names]
    if getattr(model, "optimizer", None) is None:
        fail(result, "the file has optimizer weights but the model came back without an optimizer")
        return
    opt = model.optimizer
    variables = opt.variables if isinstance(opt.variables, list) else opt.variables()
    values = [np.asarray(v) for v in variables]
    result["optimizer"] = type(opt).__name__
    same = 0
    for a, b in zip(values, saved):
        if a.shape != b.shape or not np.array_equal(a, b):
            break
        same += 1
    result["optimizer_variables_restored"] = f"{same} of {len(saved)}"
    if keras.__version__.startswith("2."):
        # tf.keras 2 builds the optimizer for the model's weights and sets every variable
        if same != len(saved) or len(values) != len(saved):
            fail(result, f"optimizer variables restored: {same} of {len(saved)} (loaded optimizer has {len(values)})")
    else:
        # Keras 3's legacy-HDF5 loader builds the optimizer from model._trainable_variables,
        # which is empty for a model, and then sets its few variables in file order: only the
        # iteration count (and learning rate) can come back, for files Keras writes itself too.
        result["note"] = "Keras 3 restores only the leading optimizer variables of HDF5 files (its own too)"
        if same < 1:
            fail(result, "the iteration count was not restored")
    result["iterations"] = int(np.asarray(variables[0]))


def layer_keys(path):
    """Per layer of a HDF5 model file: (entry keys, config keys), in file order."""
    with h5py.File(path, "r") as f:
        raw = f.attrs["model_config"]
    config = json.loads(raw.decode() if isinstance(raw, bytes) else raw, object_pairs_hook=lambda kv: kv)

    def as_dict(pairs):
        return dict(pairs) if isinstance(pairs, list) else pairs
    model = as_dict(as_dict(config)["config"])
    out = {}
    for entry in as_dict(model)["layers"]:
        e = as_dict(entry)
        c = as_dict(e["config"])
        if e["class_name"] == "InputLayer":
            continue
        out[c["name"]] = ([k for k, _ in entry], [k for k, _ in e["config"]])
    return out


def key_order_check(model, path, result):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        again = os.path.join(d, "again.h5")
        model.save(again)
        want = layer_keys(again)
    got = layer_keys(path)
    bad = [f"{name}: {got[name]} vs Keras {want.get(name)}" for name in got
           if name in want and got[name] != want[name]]
    result["key_order_layers"] = len([n for n in got if n in want])
    if bad:
        fail(result, "config key order differs: " + "; ".join(bad))


def load(path, x_path, pred_path, weights_path=None):
    result = {"ok": True, "keras": keras.__version__, "file": os.path.basename(path)}
    with h5py.File(path, "r") as f:
        has_training = "training_config" in f.attrs
    model = keras.models.load_model(path)
    xs = [read_csv(p).astype("float32") for p in x_path.split(",")]
    xs = [x.reshape((x.shape[0],) + tuple(i.shape[1:])) for x, i in zip(xs, model.inputs)]
    x = xs if len(xs) > 1 else xs[0]
    wants = [read_csv(p) for p in pred_path.split(",")]

    def predictions():
        got = model.predict(x, verbose=0)
        got = list(got) if isinstance(got, (list, tuple)) else [got]
        return [np.asarray(g, dtype="float64").reshape(g.shape[0], -1) for g in got]

    def max_diff(got):
        if len(got) != len(wants) or any(g.shape != w.shape for g, w in zip(got, wants)):
            return None
        return max(float(np.max(np.abs(g - w))) for g, w in zip(got, wants))

    got = predictions()
    diff = max_diff(got)
    result["max_abs_diff"] = diff
    if diff is None or not diff <= TOL:
        fail(result, f"predictions differ by {diff} (shapes {[g.shape for g in got]} vs {[w.shape for w in wants]})")
    result["compiled"] = bool(getattr(model, "optimizer", None) is not None and
                              getattr(model, "compiled", True) and has_training)
    if has_training:
        optimizer_checks(model, path, result)
        loss = getattr(model, "loss", None)
        config = loss.get_config() if hasattr(loss, "get_config") else {}
        result["from_logits"] = bool(isinstance(config, dict) and config.get("from_logits", False))
    if "--key-order" in sys.argv:
        key_order_check(model, path, result)
    if weights_path:
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        model.load_weights(weights_path)
        wdiff = max_diff(predictions())
        result["weights_file_max_abs_diff"] = wdiff
        if wdiff is None or not wdiff <= TOL:
            fail(result, f"after load_weights the predictions differ by {wdiff}")
    if has_training:
        # Informational: Keras 3.15's legacy-HDF5 loader builds the optimizer so that further
        # training fails ("Unknown variable") even for files Keras wrote itself.
        n = xs[0].shape[0]
        ys = [keras.utils.to_categorical(np.arange(n) % g.shape[1], g.shape[1]) if g.shape[1] > 1
              else (np.arange(n) % 2).astype("float32").reshape(n, 1) for g in got]
        try:
            loss = model.train_on_batch(x, ys if len(ys) > 1 else ys[0])
            result["train_step"] = float(np.ravel(loss)[0])
        except Exception as e:  # noqa: BLE001
            result["train_step"] = f"Keras error: {str(e)[:120]}"
    return result


def save(path, x_path, pred_path):
    keras.utils.set_random_seed(7)
    x = read_csv(x_path).astype("float32")
    d = x.shape[1]
    inputs = keras.Input((d,), name="input_layer")
    h = keras.layers.Dense(7, activation="relu", name="hidden")(inputs)
    h = keras.layers.Dropout(0.3, name="drop")(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(inputs, outputs, name="from_keras")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(1)
    xt = rng.random((40, d)).astype("float32")
    yt = keras.utils.to_categorical(rng.integers(0, 3, 40), 3)
    model.fit(xt, yt, epochs=2, batch_size=10, verbose=0)
    model.save(path)
    np.savetxt(pred_path, model.predict(x, verbose=0), delimiter=",", fmt="%.9g")
    return {"ok": True, "keras": keras.__version__, "file": os.path.basename(path)}


if __name__ == "__main__":
    mode = args[0]
    res = load(*args[1:]) if mode == "load" else save(*args[1:])
    print(json.dumps(res))
    sys.exit(0 if res["ok"] else 1)
