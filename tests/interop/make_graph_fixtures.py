"""Writes the Keras-made HDF5 fixtures of graph models (tests/fixtures/keras/h5-graph).

    KERAS_BACKEND=jax python tests/interop/make_graph_fixtures.py tests/fixtures/keras/h5-graph
    python tests/interop/make_graph_fixtures.py --tf-keras tests/fixtures/keras/h5-graph

The first run (Keras 3) writes `<model>_keras3.h5`, the second (tf.keras 2: the tf_keras package
with TensorFlow) `<model>_keras2.h5`. Both write the same input rows (`<model>_x<i>.csv`, one
file per model input in input order, made by numpy from a fixed seed, so both runs write the
same values) and each writes its model's predictions of them (`<model>_keras<v>_pred<j>.csv`,
one file per output in output order; float32 results printed to 9 significant digits). The
Keras 3 run also writes `<model>_keras3_to_json.json`, the model's `model.to_json()`.

Models (small, trained a couple of epochs on random data so the optimizer state is saved):
- two_in_two_out: input_a (8) -> dense_a (relu), input_b (4) -> dense_b (tanh) -> concatenate
  -> trunk -> out_class (3, softmax) and out_reg (1, linear); compiled with per-output losses,
  loss_weights and per-output metrics. `two_in_two_out_y<j>.csv` holds targets for the x rows
  and `two_in_two_out_keras<v>_logs.json` the history keys (with validation) and the
  evaluate() results on those rows (return_dict, in Keras' key order).
- merges: a residual block (add) and subtract, multiply (3 inputs), average, maximum, minimum.
- siamese: one Dense applied to two inputs (shared weights, two nodes) and dot(normalize=True).
- nested: a functional encoder model and a Sequential head model used as layers of an outer
  functional model (the encoder is applied to two inputs: a shared nested model).
- reshape_chain: reshape (with -1) -> permute -> flatten -> dense -> repeat_vector -> flatten.
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

OUT = args[0] if args else "."
TAG = "keras2" if TF_KERAS else "keras3"
L = keras.layers
ROWS = 5


def data(name, shapes, seed):
    """Input rows for the fixtures (the same in both runs) and random training data."""
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-1, 1, (ROWS,) + s).astype("float32") for s in shapes]
    for i, x in enumerate(xs):
        np.savetxt(os.path.join(OUT, f"{name}_x{i + 1}.csv"), x.reshape(ROWS, -1), delimiter=",", fmt="%.9g")
    train = [rng.uniform(-1, 1, (40,) + s).astype("float32") for s in shapes]
    return xs, train


def save(model, name, xs):
    keras.utils.set_random_seed(0)
    model.save(os.path.join(OUT, f"{name}_{TAG}.h5"))
    if not TF_KERAS:
        with open(os.path.join(OUT, f"{name}_{TAG}_to_json.json"), "w") as f:
            f.write(model.to_json())
    preds = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    if not isinstance(preds, (list, tuple)):
        preds = [preds]
    for j, p in enumerate(preds):
        np.savetxt(os.path.join(OUT, f"{name}_{TAG}_pred{j + 1}.csv"), np.asarray(p).reshape(ROWS, -1),
                   delimiter=",", fmt="%.9g")


def two_in_two_out():
    name = "two_in_two_out"
    xs, train = data(name, [(8,), (4,)], 1)
    a = keras.Input((8,), name="input_a")
    b = keras.Input((4,), name="input_b")
    ha = L.Dense(6, activation="relu", name="dense_a")(a)
    hb = L.Dense(6, activation="tanh", name="dense_b")(b)
    h = L.Concatenate(name="concat")([ha, hb])
    h = L.Dense(8, activation="relu", name="trunk")(h)
    out_class = L.Dense(3, activation="softmax", name="out_class")(h)
    out_reg = L.Dense(1, name="out_reg")(h)
    model = keras.Model([a, b], [out_class, out_reg], name="two_in_two_out")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss={"out_class": "categorical_crossentropy", "out_reg": "mean_squared_error"},
                  loss_weights={"out_class": 1.0, "out_reg": 0.5},
                  metrics={"out_class": ["accuracy"], "out_reg": ["mae"]})
    rng = np.random.default_rng(2)
    yc = keras.utils.to_categorical(rng.integers(0, 3, 40), 3)
    yr = rng.normal(size=(40, 1)).astype("float32")
    hist = model.fit(train, [yc, yr], epochs=2, batch_size=10, validation_split=0.25, verbose=0)
    y1 = keras.utils.to_categorical(np.arange(ROWS) % 3, 3)
    y2 = np.linspace(-1, 1, ROWS, dtype="float32").reshape(ROWS, 1)
    np.savetxt(os.path.join(OUT, f"{name}_y1.csv"), y1, delimiter=",", fmt="%.9g")
    np.savetxt(os.path.join(OUT, f"{name}_y2.csv"), y2, delimiter=",", fmt="%.9g")
    ev = model.evaluate(xs, [y1, y2], return_dict=True, verbose=0, batch_size=ROWS)
    logs = {"keras_version": keras.__version__, "history_keys": list(hist.history.keys()),
            "evaluate": {k: float(v) for k, v in ev.items()}}
    with open(os.path.join(OUT, f"{name}_{TAG}_logs.json"), "w") as f:
        json.dump(logs, f, indent=1)
        f.write("\n")
    save(model, name, xs)


def merges():
    name = "merges"
    xs, train = data(name, [(6,)], 3)
    x = keras.Input((6,), name="x")
    d1 = L.Dense(6, activation="relu", name="d1")(x)
    res = L.Add(name="residual")([x, d1])
    d2 = L.Dense(6, activation="tanh", name="d2")(res)
    sub = L.Subtract(name="sub")([res, d2])
    mul = L.Multiply(name="mul")([res, d2, sub])
    avg = L.Average(name="avg")([sub, mul])
    mx = L.Maximum(name="max")([avg, d2])
    mn = L.Minimum(name="min")([mx, res])
    out = L.Dense(2, name="out")(mn)
    model = keras.Model(x, out, name="merges")
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    model.fit(train[0], np.random.default_rng(4).normal(size=(40, 2)), epochs=2, batch_size=10, verbose=0)
    save(model, name, xs)


def siamese():
    name = "siamese"
    xs, train = data(name, [(5,), (5,)], 5)
    left = keras.Input((5,), name="left")
    right = keras.Input((5,), name="right")
    shared = L.Dense(4, activation="tanh", name="shared")
    el = shared(left)
    er = shared(right)
    sim = L.Dot(axes=1, normalize=True, name="cosine")([el, er])
    out = L.Dense(1, activation="sigmoid", name="same")(sim)
    model = keras.Model([left, right], out, name="siamese")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9), loss="binary_crossentropy",
                  metrics=["accuracy"])
    y = (np.random.default_rng(6).random((40, 1)) > 0.5).astype("float32")
    model.fit(train, y, epochs=2, batch_size=10, verbose=0)
    save(model, name, xs)


def nested():
    name = "nested"
    xs, train = data(name, [(6,), (6,)], 7)
    enc_in = keras.Input((6,), name="enc_in")
    e = L.Dense(5, activation="relu", name="enc_dense")(enc_in)
    e = L.Dense(3, activation="tanh", name="enc_code")(e)
    encoder = keras.Model(enc_in, e, name="encoder")
    head = keras.Sequential([keras.Input((6,)), L.Dense(4, activation="relu", name="head_dense"),
                             L.Dense(2, activation="softmax", name="head_out")], name="head")
    a = keras.Input((6,), name="first")
    b = keras.Input((6,), name="second")
    ca = encoder(a)
    cb = encoder(b)
    both = L.Concatenate(name="codes")([ca, cb])
    out = head(both)
    model = keras.Model([a, b], out, name="nested")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    y = keras.utils.to_categorical(np.random.default_rng(8).integers(0, 2, 40), 2)
    model.fit(train, y, epochs=2, batch_size=10, verbose=0)
    save(model, name, xs)


def reshape_chain():
    name = "reshape_chain"
    xs, train = data(name, [(12,)], 9)
    x = keras.Input((12,), name="flat_in")
    h = L.Reshape((3, -1), name="to_3x4")(x)
    h = L.Permute((2, 1), name="swap")(h)
    h = L.Flatten(name="flat1")(h)
    h = L.Dense(5, activation="sigmoid", name="squeeze")(h)
    h = L.RepeatVector(3, name="repeat")(h)
    h = L.Flatten(name="flat2")(h)
    out = L.Dense(2, name="out")(h)
    model = keras.Model(x, out, name="reshape_chain")
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.fit(train[0], np.random.default_rng(10).normal(size=(40, 2)), epochs=2, batch_size=10, verbose=0)
    save(model, name, xs)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for i, make in enumerate([two_in_two_out, merges, siamese, nested, reshape_chain]):
        keras.utils.set_random_seed(100 + i)
        make()
    print("keras", keras.__version__, f"({TAG})", "fixtures written to", OUT)
