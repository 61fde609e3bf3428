"""Keras side of the CNN model interop (issue 14): Keras writes CNN models that rkeras loads.

    KERAS_BACKEND=jax python tests/interop/cnn_models.py fixtures tests/fixtures/keras/h5-cnn
    python tests/interop/cnn_models.py --tf-keras fixtures tests/fixtures/keras/h5-cnn
        The committed fixtures: `mnist_cnn_mini` (the layer chain of keras' mnist_cnn example:
        conv 3x3 relu -> conv 3x3 relu -> max-pool 2 -> dropout 0.25 -> flatten -> dense relu ->
        dropout 0.5 -> dense 10 softmax, compiled with Adadelta, at a small scale: 12x12 images,
        4 and 8 filters, dense 16, so the files stay small) and `text_cnn` (a Conv1D + pooling
        text-style model on (20, 8) inputs: conv1d same relu -> max-pool 1d 2 -> conv1d causal
        dilation 2 -> average-pool 1d same -> conv1d valid -> global max pooling -> dropout ->
        dense sigmoid, compiled with RMSprop). Each is trained one epoch on random data (so the
        files hold optimizer state) and saved as `<model>_keras3.h5` (Keras 3's legacy HDF5
        save) and `<model>_keras3.keras` (Keras 3's zip format), or with --tf-keras as
        `<model>_keras2.h5` (tf.keras 2). `<model>_x.csv` holds 4 input rows (flattened
        row-major per sample; numpy with a fixed seed: the same in both runs),
        `<model>_<tag>_pred.csv` the predictions of each file's model for them (9 significant
        digits).
    KERAS_BACKEND=jax python tests/interop/cnn_models.py save MODEL DIR [--tf-keras]
        One model at full size in DIR, the same files as above (`MODEL` is `mnist_cnn`: 28x28x1
        images, 32 and 64 filters, dense 128, 1,199,882 parameters; or `text_cnn`). Used by
        tests/testthat/test-persistence-cnn.R when RKERAS_KERAS_PYTHON / RKERAS_TFKERAS_PYTHON
        are set (the full mnist_cnn files are too large to keep in the repository).

Prints one JSON line.
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

TAG = "keras2" if TF_KERAS else "keras3"
L = keras.layers
ROWS = 4


def mnist_cnn(full):
    side, f1, f2, units = (28, 32, 64, 128) if full else (12, 4, 8, 16)
    model = keras.Sequential([
        keras.Input((side, side, 1)),
        L.Conv2D(f1, kernel_size=(3, 3), activation="relu"),
        L.Conv2D(f2, (3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)),
        L.Dropout(0.25),
        L.Flatten(),
        L.Dense(units, activation="relu"),
        L.Dropout(0.5),
        L.Dense(10, activation="softmax"),
    ], name="mnist_cnn" if full else "mnist_cnn_mini")
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adadelta(learning_rate=1.0),
                  metrics=["accuracy"])
    return model, (side, side, 1), 10


def text_cnn(full):
    model = keras.Sequential([
        keras.Input((20, 8)),
        L.Conv1D(6, 3, padding="same", activation="relu", name="conv_same"),
        L.MaxPooling1D(2, name="pool"),
        L.Conv1D(5, 3, padding="causal", dilation_rate=2, activation="tanh", name="conv_causal"),
        L.AveragePooling1D(3, strides=2, padding="same", name="avg"),
        L.Conv1D(4, 2, strides=1, use_bias=False, name="conv_valid"),
        L.GlobalMaxPooling1D(name="global_max"),
        L.Dropout(0.3),
        L.Dense(1, activation="sigmoid", name="out"),
    ], name="text_cnn")
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(learning_rate=0.01),
                  metrics=["accuracy"])
    return model, (20, 8), 1


MODELS = {"mnist_cnn": mnist_cnn, "text_cnn": text_cnn}


def write(name, full, out):
    keras.utils.set_random_seed(3)
    model, shape, classes = MODELS[name](full)
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 1, (ROWS,) + shape).astype("float32")
    base = name if full or name != "mnist_cnn" else "mnist_cnn_mini"
    np.savetxt(os.path.join(out, f"{base}_x.csv"), x.reshape(ROWS, -1), delimiter=",", fmt="%.9g")
    xt = rng.uniform(0, 1, (32,) + shape).astype("float32")
    labels = rng.integers(0, max(classes, 2), 32)
    yt = keras.utils.to_categorical(labels, classes) if classes > 1 else labels.reshape(-1, 1).astype("float32")
    model.fit(xt, yt, epochs=1, batch_size=8, verbose=0)
    files = [f"{base}_{TAG}.h5"]
    model.save(os.path.join(out, files[0]))
    if not TF_KERAS:
        files.append(f"{base}_{TAG}.keras")
        model.save(os.path.join(out, files[1]))
    pred = model.predict(x, verbose=0)
    np.savetxt(os.path.join(out, f"{base}_{TAG}_pred.csv"), pred.reshape(ROWS, -1), delimiter=",", fmt="%.9g")
    return {"model": base, "params": int(model.count_params()), "files": files}


if __name__ == "__main__":
    mode = args[0]
    res = {"ok": True, "keras": keras.__version__}
    if mode == "fixtures":
        out = args[1]
        os.makedirs(out, exist_ok=True)
        res["written"] = [write(n, False, out) for n in MODELS]
    elif mode == "save":
        os.makedirs(args[2], exist_ok=True)
        res["written"] = [write(args[1], True, args[2])]
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(res))
