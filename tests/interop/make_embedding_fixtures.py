"""Writes Keras 3 reference values for Embedding and pad_sequences (tests/fixtures/keras/embedding/).

    KERAS_BACKEND=jax python tests/interop/make_embedding_fixtures.py tests/fixtures/keras/embedding

- `embedding.json`:
  - `forward`: `Embedding(7, 3)` with fixed `embeddings` (row-major, shape (7, 3)) on fixed ids
    (4 x 5, integers in 0..6), and its output (4, 5, 3).
  - `model`: `Input((5,)) -> Embedding(7, 3) -> Flatten -> Dense(2, tanh)` with fixed weights, its
    predictions on the same ids; the same model is saved as `embedding_model.h5` (Keras 3 HDF5,
    `model.save()`).
  - `pad`: `keras.utils.pad_sequences` on fixed sequences with each setting of `maxlen`,
    `padding`, `truncating`, `value`, `dtype` (result shape, values and dtype).
Inputs come from `numpy.random.default_rng(15)`, so a rerun writes the same values.
Arrays are `{shape, data}` with `data` row-major (numpy order).
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402


def arr(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def main(out):
    rng = np.random.default_rng(15)
    ids = rng.integers(0, 7, size=(4, 5))
    ids[0, 0], ids[3, 4] = 0, 6
    table = rng.uniform(-1, 1, (7, 3)).astype("float32")

    emb = layers.Embedding(7, 3)
    emb.build((None, 5))
    emb.set_weights([table])
    forward = np.asarray(emb(ids.astype("int32")))

    model = keras.Sequential([keras.Input((5,)), layers.Embedding(7, 3), layers.Flatten(),
                              layers.Dense(2, activation="tanh")])
    kernel = rng.uniform(-0.5, 0.5, (15, 2)).astype("float32")
    bias = np.array([0.1, -0.2], dtype="float32")
    model.set_weights([table, kernel, bias])
    pred = model.predict(ids.astype("float32"), verbose=0)
    model.save(os.path.join(out, "embedding_model.h5"))

    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9, 10], [11, 12]]
    settings = [
        {},
        {"maxlen": 4},
        {"maxlen": 4, "padding": "post"},
        {"maxlen": 4, "truncating": "post"},
        {"maxlen": 4, "padding": "post", "truncating": "post"},
        {"maxlen": 3, "value": -1},
        {"maxlen": 8, "value": 2.7},
        {"maxlen": 3, "dtype": "float32", "value": 0.5},
    ]
    pad = []
    for s in settings:
        r = keras.utils.pad_sequences(seqs, **s)
        pad.append({"args": s, "dtype": str(r.dtype), **arr(r)})
    with open(os.path.join(out, "embedding.json"), "w") as f:
        json.dump({
            "keras": keras.__version__, "backend": keras.backend.backend(),
            "forward": {"ids": arr(ids), "embeddings": arr(table), "output": arr(forward)},
            "model": {"kernel": arr(kernel), "bias": arr(bias), "predictions": arr(pred)},
            "pad": {"sequences": seqs, "cases": pad},
        }, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
