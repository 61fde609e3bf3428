"""Writes the Keras fixtures of the spatial layers (tests/fixtures/keras/spatial): zero padding,
cropping, upsampling and spatial dropout, 1d and 2d.

    KERAS_BACKEND=jax python tests/interop/make_spatial_fixtures.py tests/fixtures/keras/spatial
    python tests/interop/make_spatial_fixtures.py --tf-keras tests/fixtures/keras/spatial

The first run (Keras 3) writes `layers_keras3.json` and the models `spatial2d_keras3.h5` and
`spatial1d_keras3.h5` with their `model.to_json()` (`*_to_json.json`); the second (tf.keras 2: the tf_keras package on TensorFlow) writes
`layers_keras2.json` and `spatial2d_keras2.h5`, `spatial1d_keras2.h5`.

`layers_keras<v>.json`: one entry per case of CASES (a layer on a fixed input): `name`, `class`,
the Python keyword arguments `kwargs`, the input `x` (2 samples, numpy default_rng(2026),
uniform in [-1, 1), float32; the same in both runs) and the layer's output `y` in inference,
both `{shape, data}` with `data` row-major, and `config`: `json.dumps(layer.get_config())`
(Keras' keys in Keras' order).

Models (channels last; each trained 1 epoch on random data so that the files hold trained
weights and an optimizer): `spatial2d` is input (7, 6, 2) -> ZeroPadding2D(((1, 0), (2, 1)))
-> Conv2D(3, 3, relu) -> Cropping2D(((1, 0), (0, 1))) -> UpSampling2D((2, 1), bilinear)
-> SpatialDropout2D(0.2) -> UpSampling2D(2) -> Flatten -> Dense(2); `spatial1d` is input
(10, 3) -> ZeroPadding1D((2, 1)) -> Conv1D(4, 3) -> Cropping1D((1, 2)) -> UpSampling1D(2)
-> SpatialDropout1D(0.3) -> Flatten -> Dense(2). `<model>_x.csv` holds 4 input rows (flattened
row-major; the same in both runs), `<model>_keras<v>_pred.csv` the file's Keras predictions
(float32 printed to 9 significant digits).
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
CF = {"data_format": "channels_first"}

# (name, class, kwargs, per-sample input shape)
CASES = [
    ("zp1_default", "ZeroPadding1D", {}, (5, 3)),
    ("zp1_pair", "ZeroPadding1D", {"padding": (2, 0)}, (5, 3)),
    ("zp2_int", "ZeroPadding2D", {"padding": 2}, (3, 4, 2)),
    ("zp2_sym", "ZeroPadding2D", {"padding": (1, 2)}, (3, 4, 2)),
    ("zp2_pairs", "ZeroPadding2D", {"padding": ((1, 0), (2, 3))}, (3, 4, 2)),
    ("zp2_cf", "ZeroPadding2D", {"padding": ((0, 1), (2, 0)), **CF}, (2, 3, 4)),
    ("cr1_default", "Cropping1D", {}, (6, 3)),
    ("cr1_pair", "Cropping1D", {"cropping": (2, 0)}, (6, 3)),
    ("cr2_default", "Cropping2D", {}, (5, 6, 2)),
    ("cr2_int", "Cropping2D", {"cropping": 1}, (5, 6, 2)),
    ("cr2_sym", "Cropping2D", {"cropping": (1, 2)}, (5, 6, 2)),
    ("cr2_pairs", "Cropping2D", {"cropping": ((0, 2), (3, 1))}, (5, 6, 2)),
    ("cr2_cf", "Cropping2D", {"cropping": ((1, 1), (0, 2)), **CF}, (2, 5, 6)),
    ("up1_default", "UpSampling1D", {}, (4, 3)),
    ("up1_3", "UpSampling1D", {"size": 3}, (4, 3)),
    ("up2_default", "UpSampling2D", {}, (3, 4, 2)),
    ("up2_23", "UpSampling2D", {"size": (2, 3)}, (3, 4, 2)),
    ("up2_cf", "UpSampling2D", {"size": (2, 1), **CF}, (2, 3, 4)),
    ("up2_bilinear", "UpSampling2D", {"size": (2, 2), "interpolation": "bilinear"}, (3, 4, 2)),
    ("up2_bilinear_31", "UpSampling2D", {"size": (3, 1), "interpolation": "bilinear"}, (3, 4, 2)),
    ("up2_bilinear_cf", "UpSampling2D", {"size": (2, 3), "interpolation": "bilinear", **CF}, (2, 3, 4)),
    ("sd1", "SpatialDropout1D", {"rate": 0.4}, (5, 3)),
    ("sd2", "SpatialDropout2D", {"rate": 0.4}, (3, 4, 2)),
    ("sd2_cf", "SpatialDropout2D", {"rate": 0.25, **CF}, (2, 3, 4)),
]
# tf.keras 2's ZeroPadding1D has no data_format; Keras 3's has (not in CASES: both generations'
# configs are compared by the tests, channels_first 1d padding by the Keras 3 run only)
KERAS3_ONLY = [("zp1_cf", "ZeroPadding1D", {"padding": (1, 2), **CF}, (3, 5))]


def arr(a):
    a = np.asarray(a, dtype="float32")
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def cases():
    rng = np.random.default_rng(2026)
    out = []
    for name, cls, kwargs, shape in CASES + KERAS3_ONLY:
        x = rng.uniform(-1, 1, (2,) + shape).astype("float32")
        if TF_KERAS and (name, cls, kwargs, shape) in KERAS3_ONLY:
            continue
        layer = getattr(L, cls)(**kwargs)
        y = np.asarray(layer(x, training=False))
        out.append({"name": name, "class": cls, "kwargs": kwargs, "x": arr(x), "y": arr(y),
                    "config": json.dumps(layer.get_config())})
    with open(os.path.join(OUT, f"layers_{TAG}.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "cases": out}, f, indent=1)
        f.write("\n")


def save(model, name, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (4,) + shape).astype("float32")
    np.savetxt(os.path.join(OUT, f"{name}_x.csv"), x.reshape(4, -1), delimiter=",", fmt="%.9g")
    train = rng.uniform(-1, 1, (32,) + shape).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.fit(train, y, epochs=1, batch_size=8, verbose=0)
    model.save(os.path.join(OUT, f"{name}_{TAG}.h5"))
    if not TF_KERAS:
        with open(os.path.join(OUT, f"{name}_{TAG}_to_json.json"), "w") as f:
            f.write(model.to_json())
    p = model.predict(x, verbose=0)
    np.savetxt(os.path.join(OUT, f"{name}_{TAG}_pred.csv"), p.reshape(4, -1), delimiter=",", fmt="%.9g")


def models():
    keras.utils.set_random_seed(1)
    m = keras.Sequential([
        keras.Input((7, 6, 2)),
        L.ZeroPadding2D(((1, 0), (2, 1)), name="pad"),
        L.Conv2D(3, 3, activation="relu", name="conv"),
        L.Cropping2D(((1, 0), (0, 1)), name="crop"),
        L.UpSampling2D((2, 1), interpolation="bilinear", name="up_bilinear"),
        L.SpatialDropout2D(0.2, name="sdrop"),
        L.UpSampling2D(2, name="up_nearest"),
        L.Flatten(name="flat"),
        L.Dense(2, name="out"),
    ], name="spatial2d")
    save(m, "spatial2d", (7, 6, 2), 11)
    keras.utils.set_random_seed(2)
    m = keras.Sequential([
        keras.Input((10, 3)),
        L.ZeroPadding1D((2, 1), name="pad"),
        L.Conv1D(4, 3, name="conv"),
        L.Cropping1D((1, 2), name="crop"),
        L.UpSampling1D(2, name="up"),
        L.SpatialDropout1D(0.3, name="sdrop"),
        L.Flatten(name="flat"),
        L.Dense(2, name="out"),
    ], name="spatial1d")
    save(m, "spatial1d", (10, 3), 12)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    cases()
    models()
    print("keras", keras.__version__, f"({TAG})", "fixtures written to", OUT)
