"""Writes Keras reference values for masks, Masking and TimeDistributed (tests/fixtures/keras/mask/).

    KERAS_BACKEND=jax python tests/interop/make_mask_fixtures.py tests/fixtures/keras/mask
    python tests/interop/make_mask_fixtures.py --tf-keras tests/fixtures/keras/mask   (tf_keras 2)

Keras 3 (default) writes `mask.json` and the HDF5 files `emb_gap.h5`, `seq.h5`, `td_mask.h5`:
- `masking`: `Masking(0.0)` and `Masking(0.5)` on fixed x (3, 4, 2) with masked steps: outputs and
  `compute_mask()`; `masked_gap`: `Masking(0.0) -> GlobalAveragePooling1D` on the same x.
- `emb_gap`: `Input((6,)) -> Embedding(10, 4, mask_zero) -> GlobalAveragePooling1D -> Dense(3, softmax)`
  with fixed weights; predictions on fixed ids with padding 0, and `evaluate()` (categorical
  cross-entropy, accuracy) against fixed one-hot labels.
- `seq`: `Input((5,)) -> Embedding(8, 3, mask_zero) -> Dense(4, softmax)`, a sequence output whose
  loss and metrics skip the padded steps: `evaluate()` (categorical cross-entropy, metrics accuracy
  and weighted_metrics accuracy) without and with sample weights (Keras 3 takes them per step
  here: each sample's weight repeated over its steps, which rkeras's per-sample weights mean).
- `masking_seq`: `Input((5, 2)) -> Masking -> Dense(3, tanh) -> Dense(1)`, mse and mae on a
  sequence output, `evaluate()` values.
- `td`: `Input((4, 3)) -> TimeDistributed(Dense(2, tanh))`, predictions; `td_mask`:
  `Input((6,)) -> Embedding(9, 4, mask_zero) -> TimeDistributed(Dense(3, relu)) -> GlobalAveragePooling1D
  -> Dense(1, sigmoid)`, predictions and `evaluate()` (binary cross-entropy).
It also writes the core's `src/rust/core/testdata/keras3_or_mask_to_json.json`: `to_json()` of
`ids -> Embedding ea, eb (mask_zero) -> Add -> TimeDistributed(Dense) -> GlobalAveragePooling1D`,
whose config holds the NotEqual/LogicalOr ops that compute masks.
With --tf-keras (tf.keras 2) it writes `tfk2.json` and `td_tfk2.h5`, `emb_gap_tfk2.h5` (the td and
emb_gap models with the same weights, saved by tf.keras 2) with their predictions.
Inputs come from `numpy.random.default_rng(16)`, so a rerun writes the same values. Arrays are
`{shape, data}` with `data` row-major (numpy order).
"""
import json
import os
import sys

TF = "--tf-keras" in sys.argv
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

if TF:
    import tf_keras as keras  # noqa: E402
else:
    import keras  # noqa: E402
layers = keras.layers


def arr(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def weights(model):
    return [arr(w) for w in model.get_weights()]


def fixed_weights(model, rng):
    model.set_weights([rng.uniform(-1, 1, w.shape).astype("float32") for w in model.get_weights()])


def ids_with_padding(rng, rows, steps, dim):
    ids = rng.integers(1, dim, size=(rows, steps))
    # pre-padding of varying length, and some zeros inside
    for r in range(rows):
        ids[r, : r % steps] = 0
    ids[0, 3] = 0
    return ids


def emb_gap_model():
    inp = keras.Input((6,))
    h = layers.Embedding(10, 4, mask_zero=True)(inp)
    h = layers.GlobalAveragePooling1D()(h)
    out = layers.Dense(3, activation="softmax")(h)
    return keras.Model(inp, out)


def td_model():
    inp = keras.Input((4, 3))
    out = layers.TimeDistributed(layers.Dense(2, activation="tanh"))(inp)
    return keras.Model(inp, out)


def evaluate(model, x, y, w=None):
    r = model.evaluate(x, y, sample_weight=w, batch_size=len(x), verbose=0, return_dict=True)
    return {k: float(v) for k, v in r.items()}


def keras3(out):
    rng = np.random.default_rng(16)
    res = {"keras_version": keras.__version__}
    x = rng.uniform(-1, 1, (3, 4, 2)).astype("float32")
    x[0, 1] = 0
    x[1, 0] = 0
    x[1, 3] = 0
    x[2, 2] = [0, 0.5]
    x[2, 3] = 0.5
    res["masking"] = {"x": arr(x)}
    for v in [0.0, 0.5]:
        m = layers.Masking(mask_value=v)
        res["masking"][str(v)] = {"output": arr(m(x)), "mask": arr(np.asarray(m.compute_mask(x)))}
    gap = keras.Sequential([keras.Input((4, 2)), layers.Masking(), layers.GlobalAveragePooling1D()])
    res["masked_gap"] = {"output": arr(gap.predict(x, verbose=0))}

    m = emb_gap_model()
    fixed_weights(m, rng)
    ids = ids_with_padding(rng, 5, 6, 10).astype("float32")
    y = np.eye(3)[rng.integers(0, 3, 5)].astype("float32")
    m.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    res["emb_gap"] = {"weights": weights(m), "ids": arr(ids), "y": arr(y),
                      "predictions": arr(m.predict(ids, verbose=0)), "evaluate": evaluate(m, ids, y)}
    m.save(os.path.join(out, "emb_gap.h5"))

    inp = keras.Input((5,))
    h = layers.Embedding(8, 3, mask_zero=True)(inp)
    o = layers.Dense(4, activation="softmax")(h)
    m = keras.Model(inp, o)
    fixed_weights(m, rng)
    ids = ids_with_padding(rng, 4, 5, 8).astype("float32")
    y = np.eye(4)[rng.integers(0, 4, (4, 5))].astype("float32")
    w = np.array([1.0, 2.0, 0.5, 1.0], dtype="float32")
    m.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"], weighted_metrics=["accuracy"])
    res["seq"] = {"weights": weights(m), "ids": arr(ids), "y": arr(y), "sample_weight": arr(w),
                  "predictions": arr(m.predict(ids, verbose=0)), "evaluate": evaluate(m, ids, y),
                  # Keras 3 cannot join per-sample weights (4,) with the (4, 5) mask (its
                  # squeeze_or_expand_to_same_rank fails): each sample's weight is given per step
                  "evaluate_weighted": evaluate(m, ids, y, np.repeat(w[:, None], 5, axis=1))}
    m.save(os.path.join(out, "seq.h5"))

    inp = keras.Input((5, 2))
    h = layers.Masking()(inp)
    h = layers.Dense(3, activation="tanh")(h)
    o = layers.Dense(1)(h)
    m = keras.Model(inp, o)
    fixed_weights(m, rng)
    xs = rng.uniform(-1, 1, (4, 5, 2)).astype("float32")
    xs[0, :2] = 0
    xs[2, 4] = 0
    xs[3, 1:] = 0
    ys = rng.uniform(-1, 1, (4, 5, 1)).astype("float32")
    m.compile(loss="mse", optimizer="sgd", metrics=["mae"])
    res["masking_seq"] = {"weights": weights(m), "x": arr(xs), "y": arr(ys),
                          "predictions": arr(m.predict(xs, verbose=0)), "evaluate": evaluate(m, xs, ys)}

    m = td_model()
    fixed_weights(m, rng)
    xt = rng.uniform(-1, 1, (3, 4, 3)).astype("float32")
    res["td"] = {"weights": weights(m), "x": arr(xt), "predictions": arr(m.predict(xt, verbose=0))}

    inp = keras.Input((6,))
    h = layers.Embedding(9, 4, mask_zero=True)(inp)
    h = layers.TimeDistributed(layers.Dense(3, activation="relu"))(h)
    h = layers.GlobalAveragePooling1D()(h)
    o = layers.Dense(1, activation="sigmoid")(h)
    m = keras.Model(inp, o)
    fixed_weights(m, rng)
    ids = ids_with_padding(rng, 5, 6, 9).astype("float32")
    yb = rng.integers(0, 2, (5, 1)).astype("float32")
    m.compile(loss="binary_crossentropy", optimizer="sgd")
    res["td_mask"] = {"weights": weights(m), "ids": arr(ids), "y": arr(yb),
                      "predictions": arr(m.predict(ids, verbose=0)), "evaluate": evaluate(m, ids, yb)}
    m.save(os.path.join(out, "td_mask.h5"))
    with open(os.path.join(out, "mask.json"), "w") as f:
        json.dump(res, f, indent=1)

    inp = keras.Input((6,), name="ids")
    a = layers.Embedding(10, 4, mask_zero=True, name="ea")(inp)
    b = layers.Embedding(10, 4, mask_zero=True, name="eb")(inp)
    h = layers.Add(name="add")([a, b])
    h = layers.TimeDistributed(layers.Dense(2, name="inner"), name="td")(h)
    h = layers.GlobalAveragePooling1D(name="gap")(h)
    testdata = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "rust", "core", "testdata")
    with open(os.path.join(testdata, "keras3_or_mask_to_json.json"), "w") as f:
        f.write(keras.Model(inp, h, name="or_mask").to_json())


def tf_keras2(out):
    # the same weights as the Keras 3 fixture (read back from mask.json)
    with open(os.path.join(out, "mask.json")) as f:
        k3 = json.load(f)

    def load(model, ws):
        model.set_weights([np.asarray(w["data"], dtype="float32").reshape(w["shape"]) for w in ws])

    def back(a):
        return np.asarray(a["data"], dtype="float32").reshape(a["shape"])

    res = {"keras_version": keras.__version__}
    m = td_model()
    load(m, k3["td"]["weights"])
    res["td"] = {"predictions": arr(m.predict(back(k3["td"]["x"]), verbose=0))}
    m.save(os.path.join(out, "td_tfk2.h5"))
    m = emb_gap_model()
    load(m, k3["emb_gap"]["weights"])
    res["emb_gap"] = {"predictions": arr(m.predict(back(k3["emb_gap"]["ids"]), verbose=0))}
    m.save(os.path.join(out, "emb_gap_tfk2.h5"))
    with open(os.path.join(out, "tfk2.json"), "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    out = [a for a in sys.argv[1:] if not a.startswith("--")][0]
    (tf_keras2 if TF else keras3)(out)
