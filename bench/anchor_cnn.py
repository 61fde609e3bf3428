"""Anchors for bench/cnn.R that keras_zoo.py does not give: Keras 3 predict() time of the
mnist_cnn model on the 10,000 Fashion-MNIST test images, and the model's f32 GEMM floor.

  python bench/anchor_cnn.py --part predict [--system keras-jax|keras-tensorflow] [--reps 3]
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/anchor_cnn.py --part floor [--rows 6000]

The floor: the time of the matrix products a fit epoch of this model cannot avoid, at numpy's
(OpenBLAS) f32 speed with BENCH_THREADS threads: the convolutions as im2col products (forward,
kernel gradient, and input gradient for the second convolution) and the dense layers' three
products, per training batch of 128, plus the forward products per validation batch, for
--rows rows with validation_split 0.2 (as bench/anchors/gemm_probe.py does for the MLP).
Prints one line `RESULT {json}`.
"""
import argparse
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "anchors"))
ap = argparse.ArgumentParser()
ap.add_argument("--part", required=True, choices=["predict", "floor"])
ap.add_argument("--system", default="keras-jax", choices=["keras-jax", "keras-tensorflow"])
ap.add_argument("--rows", type=int, default=6000)
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--data", default=None)
args = ap.parse_args()
os.environ["KERAS_BACKEND"] = args.system.split("-", 1)[1]
import common  # noqa: E402  (pins the thread variables to BENCH_THREADS)
import numpy as np  # noqa: E402

B = 128
# (name, M, K, N, forward?) for one batch of B images: C[M,N] = A[M,K] @ B[K,N]
PRODUCTS = [
    ("conv1 fwd", B * 676, 9, 32, True),
    ("conv1 dK", 9, B * 676, 32, False),
    ("conv2 fwd", B * 576, 288, 64, True),
    ("conv2 dK", 288, B * 576, 64, False),
    ("conv2 dX", B * 576, 64, 288, False),
    ("dense fwd", B, 9216, 128, True),
    ("dense dW", 9216, B, 128, False),
    ("dense dX", B, 128, 9216, False),
    ("dense_1 fwd", B, 128, 10, True),
    ("dense_1 dW", 128, B, 10, False),
    ("dense_1 dX", B, 10, 128, False),
]


def best_time(f, trials=7):
    f()
    best = float("inf")
    for _ in range(trials):
        n, t0 = 0, time.perf_counter()
        while True:
            f()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= 0.05:
                break
        best = min(best, dt / n)
    return best


if args.part == "floor":
    from threadpoolctl import threadpool_limits
    threadpool_limits(common.THREADS)
    rng = np.random.default_rng(0)
    step = fwd = 0.0
    shapes = []
    for name, m, k, n, is_fwd in PRODUCTS:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        t = best_time(lambda: np.matmul(a, b))
        shapes.append({"name": name, "M": m, "K": k, "N": n, "s": t, "gflops": round(2 * m * k * n / t / 1e9, 1)})
        step += t
        fwd += t if is_fwd else 0.0
    train = int(args.rows * 0.8)
    val = args.rows - train
    rec = {"framework": "gemm-probe", "model": "mnist_cnn", "rows": args.rows, "threads": common.THREADS,
           "train_step_gemm_s": step, "fwd_batch_gemm_s": fwd, "shapes": shapes,
           "fit_epoch_gemm_floor_s": round(train / B * step + val / B * fwd, 4)}
else:
    import keras
    from keras import layers
    x = common.read_idx(os.path.join(args.data or common.FASHION_DIR, "t10k-images-idx3-ubyte.gz"))
    x = (x.astype("float32") / 255.0).reshape(len(x), 28, 28, 1)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.predict(x, verbose=0)
    runs = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        model.predict(x, verbose=0)
        runs.append(time.perf_counter() - t0)
    rec = {"framework": args.system.replace("keras-", "keras3-"), "model": "mnist_cnn", "part": "predict",
           "keras": keras.__version__, "predict_10k_s": statistics.median(runs), "predict_runs": runs,
           "threads": common.THREADS}
common.emit(rec, None)
