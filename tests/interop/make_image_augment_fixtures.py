"""Writes Keras' ImageDataGenerator reference values (tests/fixtures/keras/image_augment.json).

    KERAS_BACKEND=jax python tests/interop/make_image_augment_fixtures.py tests/fixtures/keras/image_augment.json

Uses Keras 3's `keras.src.legacy.preprocessing.image.ImageDataGenerator` (the keras 2.x /
keras-preprocessing class keras for R wraps; it needs scipy). Inputs come from
`numpy.random.default_rng(2026)`, so a rerun writes the same values.

- `transforms`: images through `ImageDataGenerator(fill_mode, cval).apply_transform(x, params)`
  with fixed `params` (rotation, shifts, shear, zoom, flips, channel shift; every fill mode; a
  square and a non-square image). Brightness is left out: it needs PIL, which the venv lacks.
- `standardize`: generators with featurewise / samplewise / ZCA / rescale settings, `fit(x)` on
  a small batch, then `standardize()` of a copy of each image of that batch (per image, as
  `NumpyArrayIterator` calls it); with the fitted `mean` and `std` (per channel).

Arrays are `{shape, data}` with `data` row-major (numpy order); images are channels-last.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np  # noqa: E402
from keras.src.legacy.preprocessing.image import ImageDataGenerator  # noqa: E402


def arr(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def main(out):
    rng = np.random.default_rng(2026)
    images = {
        "square": rng.uniform(0, 1, (6, 6, 3)).astype("float32"),
        "wide": rng.uniform(-2, 2, (5, 7, 2)).astype("float32"),
    }
    params = [
        {"theta": 90},
        {"theta": 30},
        {"theta": -45, "zx": 1.2, "zy": 0.8},
        {"tx": 1.5, "ty": -2.25},
        {"tx": -3, "ty": 2},
        {"shear": 20},
        {"zx": 0.7, "zy": 1.3},
        {"theta": 15, "tx": 0.5, "ty": 1, "shear": 10, "zx": 0.9, "zy": 1.1},
        {"flip_horizontal": True},
        {"flip_vertical": True, "theta": 10},
        {"channel_shift_intensity": 0.3, "tx": 1},
        {"theta": 200, "flip_horizontal": True, "flip_vertical": True},
    ]
    transforms = []
    for name, img in images.items():
        for mode, cval in [("nearest", 0.0), ("constant", 0.5), ("reflect", 0.0), ("wrap", 0.0)]:
            gen = ImageDataGenerator(fill_mode=mode, cval=cval)
            for p in params:
                y = gen.apply_transform(img.copy(), dict(p))
                transforms.append({"image": name, "fill_mode": mode, "cval": cval, "params": p, "output": arr(y)})

    x = rng.uniform(0, 255, (12, 3, 3, 3)).astype("float32")
    settings = [
        {"featurewise_center": True, "featurewise_std_normalization": True},
        {"featurewise_center": True, "rescale": 1 / 255},
        {"samplewise_center": True, "samplewise_std_normalization": True, "rescale": 0.5},
        {"zca_whitening": True, "zca_epsilon": 0.1},
    ]
    standardize = []
    for s in settings:
        gen = ImageDataGenerator(**s)
        gen.fit(x)
        # per image, as NumpyArrayIterator calls it (samplewise statistics are per image)
        y = np.stack([gen.standardize(xi.copy()) for xi in x])
        entry = {"settings": s, "output": arr(y)}
        if gen.mean is not None:
            entry["mean"] = arr(np.reshape(gen.mean, -1))
        if gen.std is not None:
            entry["std"] = arr(np.reshape(gen.std, -1))
        standardize.append(entry)

    doc = {
        "keras_version": __import__("keras").__version__,
        "scipy_version": __import__("scipy").__version__,
        "images": {k: arr(v) for k, v in images.items()},
        "transforms": transforms,
        "standardize_x": arr(x),
        "standardize": standardize,
    }
    with open(out, "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main(sys.argv[1])
