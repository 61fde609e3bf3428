"""Writes the Keras-made HDF5 fixtures of tests/testthat/testdata (run with Keras 3 + h5py).

    python tests/interop/make_fixtures.py tests/testthat/testdata

- keras3_sequential_nadam.h5: a Keras 3 Sequential model (weights under
  <layer>/<model>/<layer>/kernel, Nadam state with its u_product "variable"), trained a few
  steps; keras3_x.csv holds 4 input rows and keras3_sequential_nadam_pred.csv its predictions.
- keras3_conv2d.h5: a model with a Conv2D layer (rkeras reads it since issue 14 began; the R test checks its convolution by hand).
"""
import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402

out = sys.argv[1] if len(sys.argv) > 1 else "."
keras.utils.set_random_seed(42)

x = np.random.rand(32, 6).astype("float32")
y = keras.utils.to_categorical(np.random.randint(0, 3, 32), 3)
m = keras.Sequential(
    [
        keras.Input((6,)),
        keras.layers.Dense(5, activation="elu"),
        keras.layers.Dropout(0.2),
        keras.layers.Activation("swish"),
        keras.layers.Dense(3, activation="softmax", name="probs"),
    ],
    name="seq_nadam",
)
m.compile(optimizer=keras.optimizers.Nadam(learning_rate=0.01), loss="categorical_crossentropy",
          metrics=["accuracy"])
m.fit(x, y, epochs=2, batch_size=8, verbose=0)
m.save(os.path.join(out, "keras3_sequential_nadam.h5"))
xt = x[:4]
np.savetxt(os.path.join(out, "keras3_x.csv"), xt, delimiter=",", fmt="%.9g")
np.savetxt(os.path.join(out, "keras3_sequential_nadam_pred.csv"), m.predict(xt, verbose=0),
           delimiter=",", fmt="%.9g")

c = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3, name="conv2d"),
                      keras.layers.Flatten(), keras.layers.Dense(2)])
c.save(os.path.join(out, "keras3_conv2d.h5"))
print("keras", keras.__version__, "fixtures written to", out)
