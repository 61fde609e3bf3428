"""Writes Keras reference values for the recurrent layers (tests/fixtures/keras/rnn/).

    KERAS_BACKEND=jax python tests/interop/make_rnn_fixtures.py tests/fixtures/keras/rnn
    python tests/interop/make_rnn_fixtures.py --tf-keras tests/fixtures/keras/rnn

- `layers.json` (Keras 3 run only): `cases`, each one recurrent layer (SimpleRNN, LSTM, GRU with
  and without `reset_after`) with one set of options (`return_sequences`, `go_backwards`,
  `use_bias = False`, activations, and a mask), fixed weights and a fixed input, and Keras'
  output. Each case: `class`, `config` (the constructor arguments), `x` (input (batch, T, F)),
  `mask` (null or (batch, T) of 0/1, passed to the layer's call as `mask=`), `weights` (in
  `get_weights()` order, Keras 3 layouts), `y` (the output). Inputs and weights come from
  `numpy.random.default_rng(2000 + case)`, so a rerun writes the same values.
- `rnn_<tag>.h5` (`keras3`: Keras 3 legacy HDF5; `keras2`: tf.keras 2 with --tf-keras): a
  Sequential model `Input((6, 4)) -> LSTM(5, return_sequences) -> GRU(4, go_backwards,
  return_sequences) -> GRU(3, reset_after = False, return_sequences) -> SimpleRNN(3) -> Dense(2,
  softmax)`, compiled with Adam and trained one epoch on random data (so the file holds optimizer
  state); `rnn_x.csv` 4 input rows (flattened row-major per sample, the same in both runs),
  `rnn_<tag>_pred.csv` the file's model's predictions for them (9 significant digits).

Arrays in JSON are `{shape, data}` with `data` row-major (numpy order).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

TF_KERAS = "--tf-keras" in sys.argv
args = [a for a in sys.argv[1:] if not a.startswith("--")]
if TF_KERAS:
    import tf_keras as keras  # noqa: E402
else:
    import keras  # noqa: E402
L = keras.layers
TAG = "keras2" if TF_KERAS else "keras3"


def arr(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


CASES = []
for cls in ["SimpleRNN", "LSTM", "GRU", "GRU_ra0"]:
    base = {"units": 3}
    if cls == "GRU_ra0":
        base["reset_after"] = False
    for opts, masked in [
        ({}, False),
        ({"return_sequences": True}, False),
        ({"go_backwards": True}, False),
        ({"go_backwards": True, "return_sequences": True}, False),
        ({"use_bias": False}, False),
        ({"return_sequences": True}, True),
        ({"go_backwards": True, "return_sequences": True}, True),
        ({}, True),
        ({"activation": "relu"} if cls == "SimpleRNN" else {"recurrent_activation": "hard_sigmoid"}, False),
    ]:
        c = dict(base)
        c.update(opts)
        CASES.append((cls, c, masked))


def layer_cases():
    out = []
    for i, (cls, config, masked) in enumerate(CASES):
        rng = np.random.default_rng(2000 + i)
        n, t, f = 3, 5, 4
        x = rng.normal(0, 1, (n, t, f)).astype("float32")
        klass = {"GRU_ra0": "GRU"}.get(cls, cls)
        layer = getattr(L, klass)(**config)
        layer.build((None, t, f))
        ws = [rng.uniform(-0.7, 0.7, w.shape).astype("float32") for w in layer.get_weights()]
        layer.set_weights(ws)
        mask = None
        if masked:
            # sample 0 unmasked; sample 1 pre-padded; sample 2 with holes and a masked last step
            mask = np.ones((n, t), dtype=bool)
            mask[1, :2] = False
            mask[2, [1, 3, 4]] = False
            y = layer(x, mask=mask)
        else:
            y = layer(x)
        out.append({
            "class": klass,
            "config": config,
            "x": arr(x),
            "mask": None if mask is None else arr(mask.astype("float64")),
            "weights": [arr(w) for w in ws],
            "y": arr(np.asarray(y)),
        })
    return out


def model_file(out):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((6, 4)),
        L.LSTM(5, return_sequences=True, name="lstm"),
        L.GRU(4, go_backwards=True, return_sequences=True, name="gru"),
        L.GRU(3, reset_after=False, return_sequences=True, name="gru_v1"),
        L.SimpleRNN(3, name="simple"),
        L.Dense(2, activation="softmax", name="out"),
    ], name="rnn_stack")
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  metrics=["accuracy"])
    rng = np.random.default_rng(17)
    x = rng.normal(0, 1, (4, 6, 4)).astype("float32")
    np.savetxt(os.path.join(out, "rnn_x.csv"), x.reshape(4, -1), delimiter=",", fmt="%.9g")
    xt = rng.normal(0, 1, (16, 6, 4)).astype("float32")
    yt = keras.utils.to_categorical(rng.integers(0, 2, 16), 2)
    model.fit(xt, yt, epochs=1, batch_size=4, verbose=0)
    model.save(os.path.join(out, f"rnn_{TAG}.h5"))
    pred = model.predict(x, verbose=0)
    np.savetxt(os.path.join(out, f"rnn_{TAG}_pred.csv"), pred, delimiter=",", fmt="%.9g")
    return int(model.count_params())


def main(out):
    os.makedirs(out, exist_ok=True)
    res = {"ok": True, "keras": keras.__version__, "params": model_file(out)}
    if not TF_KERAS:
        cases = layer_cases()
        with open(os.path.join(out, "layers.json"), "w") as fh:
            json.dump({"keras": keras.__version__, "backend": keras.backend.backend(), "cases": cases}, fh)
        res["cases"] = len(cases)
    print(json.dumps(res))


if __name__ == "__main__":
    main(args[0])
