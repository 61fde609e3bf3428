"""Prediction anchor: the tutorial's model (untrained weights; speed does not depend on them)
predicting the 10,000 Fashion-MNIST test rows, as rkeras's bench.R --regime predict does.

  python bench/anchor_predict.py --system keras-jax|keras-tensorflow|torch [--data DIR] [--reps 5]

Keras: model.predict(x) with its default batch size (32) and with batch_size=10000.
torch: eval-mode forward under no_grad in batches of 32 and in one batch of 10,000.
Prints one line `RESULT {json}`; median seconds over --reps runs after one warm-up run.
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import time

ap = argparse.ArgumentParser()
ap.add_argument("--system", required=True, choices=["keras-jax", "keras-tensorflow", "torch"])
ap.add_argument("--data", default=os.environ.get("FASHION_DIR", "/usr/share/datasets/fashion-mnist"))
ap.add_argument("--reps", type=int, default=5)
args = ap.parse_args()
threads = int(os.environ.get("BENCH_THREADS", "2"))
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(v, str(threads))
if args.system.startswith("keras-"):
    os.environ["KERAS_BACKEND"] = args.system.split("-", 1)[1]

import numpy as np  # noqa: E402


def read_images(path):
    with gzip.open(path, "rb") as f:
        buf = f.read()
    ndim = struct.unpack(">I", buf[:4])[0] & 0xFF
    dims = struct.unpack(">" + "I" * ndim, buf[4:4 + 4 * ndim])
    x = np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims[0], -1)
    return x.astype(np.float32) / 255.0


x = read_images(os.path.join(args.data, "t10k-images-idx3-ubyte.gz"))


def timed(f):
    f()
    runs = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        f()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs


if args.system == "torch":
    import torch
    import torch.nn as nn
    torch.set_num_threads(threads)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.4), nn.Linear(256, 128), nn.ReLU(),
                          nn.Dropout(0.3), nn.Linear(128, 10), nn.Softmax(dim=1)).eval()
    X = torch.from_numpy(x)

    def pred(bs):
        with torch.no_grad():
            return np.concatenate([model(X[i:i + bs]).numpy() for i in range(0, len(X), bs)])
    version = torch.__version__
else:
    import keras
    from keras import layers
    if args.system == "keras-tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(256, activation="relu"), layers.Dropout(0.4),
                              layers.Dense(128, activation="relu"), layers.Dropout(0.3),
                              layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])

    def pred(bs):
        return model.predict(x, batch_size=bs, verbose=0)
    version = keras.__version__

med32, runs32 = timed(lambda: pred(32))
medbig, runsbig = timed(lambda: pred(10000))
print("RESULT " + json.dumps({"framework": args.system, "regime": "predict", "version": version,
                              "rows": int(len(x)), "median_s": med32, "runs_s": runs32,
                              "median_s_batch_10000": medbig, "runs_s_batch_10000": runsbig}), flush=True)
