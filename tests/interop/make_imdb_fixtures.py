"""Small IMDB / Reuters stand-ins in Keras' own file format, and what Keras 3's
`keras.datasets.imdb.load_data()` / `reuters.load_data()` / `get_word_index()` return for
them, for tests/testthat/test-datasets-text.R. Writes tests/fixtures/keras/text/:

- imdb_small.npz: x_train (40 reviews) / x_test (30) as numpy object arrays of Python int
  lists (np.savez pickles them, as in Keras' imdb.npz), y_train / y_test int64.
- imdb_small_py2.npz: the same arrays pickled with protocol 2 under the numpy 1.x module name
  `numpy.core.multiarray` (the form of the real imdb.npz, written by Python 2).
- reuters_small.npz: x (60 newswires, object array), y (int64 topics 0..45).
- imdb_small_word_index.json: {"word": index} in a fixed order.
- imdb_expected.json: load_data() results for several argument sets.

Run with the bench venv (Keras 3, KERAS_BACKEND=jax), from the repository root:
    python tests/interop/make_imdb_fixtures.py
"""
import io
import json
import os
import pickle
import re
import zipfile

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
from keras.src.datasets import imdb, reuters  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras", "text")
os.makedirs(OUT, exist_ok=True)

rng = np.random.RandomState(2024)


def reviews(n, vocab=400, max_len=30):
    out = []
    for _ in range(n):
        length = int(rng.randint(1, max_len))
        # Zipf-like word ranks (1 = most frequent), as Python ints
        out.append([int(min(vocab, rng.zipf(1.3))) for _ in range(length)])
    return out


def object_array(lists):
    a = np.empty(len(lists), dtype=object)
    for i, s in enumerate(lists):
        a[i] = s
    return a


x_train, x_test = reviews(40), reviews(30)
y_train = rng.randint(0, 2, 40).astype(np.int64)
y_test = rng.randint(0, 2, 30).astype(np.int64)
np.savez(os.path.join(OUT, "imdb_small.npz"), x_train=object_array(x_train), y_train=y_train,
         x_test=object_array(x_test), y_test=y_test)


def npy_py2(arr):
    """An object .npy in the form of the real imdb.npz (pickled by Python 2, numpy 1.x): protocol
    2, `numpy.core` module names, byte strings as SHORT_BINSTRING (Python 3's protocol 2 writes
    `_codecs.encode(...)` and BINUNICODE instead, rewritten here)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(arr))
    stream = pickle.dumps(arr, protocol=2).replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    stream, n = re.subn(rb"c_codecs\nencode\nq.X\x01\x00\x00\x00bq.X\x06\x00\x00\x00latin1q.\x86q.R",
                        b"U\x01b", stream, flags=re.DOTALL)
    assert n == 1
    stream = stream.replace(b"X\x02\x00\x00\x00O8", b"U\x02O8").replace(b"X\x01\x00\x00\x00|", b"U\x01|")
    assert np.array_equal(pickle.loads(stream), arr)
    return buf.getvalue() + stream


def npy(arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


with zipfile.ZipFile(os.path.join(OUT, "imdb_small_py2.npz"), "w") as z:
    z.writestr("x_train.npy", npy_py2(object_array(x_train)))
    z.writestr("y_train.npy", npy(y_train))
    z.writestr("x_test.npy", npy_py2(object_array(x_test)))
    z.writestr("y_test.npy", npy(y_test))

rx = reviews(60, vocab=300, max_len=40)
ry = rng.randint(0, 46, 60).astype(np.int64)
np.savez(os.path.join(OUT, "reuters_small.npz"), x=object_array(rx), y=ry)

words = ["the", "and", "a", "of", "to", "is", "br", "in", "it", "i", "caf\u00e9", "don't"]
with open(os.path.join(OUT, "imdb_small_word_index.json"), "w", encoding="utf-8") as f:
    json.dump({w: i + 1 for i, w in enumerate(reversed(words))}, f, ensure_ascii=False)

# Keras' loaders on these files: get_file() would check the real file's hash, so it is
# replaced by a function that returns the path it is given.
imdb.get_file = lambda fname=None, origin=None, file_hash=None, **kw: fname
reuters.get_file = lambda fname=None, origin=None, file_hash=None, **kw: fname


def lists(a):
    return [[int(w) for w in s] for s in a]


IMDB_ARGS = [
    {},
    {"num_words": 50, "skip_top": 3},
    {"maxlen": 15, "oov_char": None, "num_words": 40},
    {"seed": 7, "start_char": None, "index_from": 0},
    {"start_char": 5, "oov_char": 9, "index_from": 10, "num_words": 100},
]
REUTERS_ARGS = [{}, {"num_words": 60, "test_split": 0.3}, {"maxlen": 20, "seed": 1, "oov_char": None, "num_words": 80}]

expected = {"keras_version": keras.__version__, "imdb": [], "reuters": []}
for args in IMDB_ARGS:
    (a, b), (c, d) = imdb.load_data(path=os.path.join(OUT, "imdb_small.npz"), **args)
    expected["imdb"].append({"args": args, "x_train": lists(a), "y_train": b.tolist(),
                             "x_test": lists(c), "y_test": d.tolist()})
for args in REUTERS_ARGS:
    (a, b), (c, d) = reuters.load_data(path=os.path.join(OUT, "reuters_small.npz"), **args)
    expected["reuters"].append({"args": args, "x_train": lists(a), "y_train": b.tolist(),
                                "x_test": lists(c), "y_test": d.tolist()})
wi = imdb.get_word_index(path=os.path.join(OUT, "imdb_small_word_index.json"))
expected["word_index"] = [[k, v] for k, v in wi.items()]
with open(os.path.join(OUT, "imdb_expected.json"), "w", encoding="utf-8") as f:
    json.dump(expected, f, ensure_ascii=False)
print("wrote fixtures in", os.path.normpath(OUT))
