"""Fixtures for tests/testthat/test-text.R: outputs of tf_keras' text preprocessing
(`tf_keras.preprocessing.text.Tokenizer`, `text_to_word_sequence`, `hashing_trick` with md5,
`tf_keras.preprocessing.sequence.make_sampling_table`), written to
tests/fixtures/keras/text/tokenizer.json.

Run with a Python that has tf_keras 2.x (and TensorFlow), from the repository root:
    python tests/interop/make_text_fixtures.py
Dictionaries whose order matters are written as lists of [key, value] pairs, in Python's order.
"""
import json
import os

from tf_keras.preprocessing.sequence import make_sampling_table
from tf_keras.preprocessing.text import Tokenizer, hashing_trick, text_to_word_sequence

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras", "text", "tokenizer.json")

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "The dog barks; the fox runs!",
    "A lazy afternoon: the dog sleeps, the fox waits...",
    "Don't stop (me) now -- I'm having such a good time",
    "Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9 \u00c9T\u00c9 \u00df",
    "tabs\tand\nnewlines\tare filters too",
    "",
    "dog dog dog fox",
]
PROBES = ["the dog and the cat", "fox FOX fox!", "unknown words only", "", "caf\u00e9 \u00e9t\u00e9 time"]

CASES = [
    {"name": "default", "args": {}},
    {"name": "num_words_oov", "args": {"num_words": 6, "oov_token": "<OOV>"}},
    {"name": "num_words", "args": {"num_words": 4}},
    {"name": "char_level", "args": {"char_level": True, "lower": False}},
    {"name": "custom_split", "args": {"filters": ".,;", "lower": False, "split": ", "}},
]


def pairs(d):
    return [[k, v] for k, v in d.items()]


def case(spec):
    tok = Tokenizer(**spec["args"])
    tok.fit_on_texts(CORPUS[:4])
    tok.fit_on_texts(CORPUS[4:])  # a second fit adds to the counts
    seqs = tok.texts_to_sequences(PROBES)
    out = {
        "name": spec["name"],
        "args": spec["args"],
        "document_count": tok.document_count,
        "word_index": pairs(tok.word_index),
        "word_counts": pairs(tok.word_counts),
        "word_docs": dict(tok.word_docs),
        "index_docs": {str(k): v for k, v in tok.index_docs.items()},
        "index_word": [[str(k), v] for k, v in tok.index_word.items()],
        "probes": PROBES,
        "sequences": seqs,
        "texts": tok.sequences_to_texts(seqs + [[1, 2, 3, 99, 0]]),
        "matrix": {m: tok.texts_to_matrix(PROBES, mode=m).tolist() for m in ["binary", "count", "tfidf", "freq"]},
        "to_json": tok.to_json(),
    }
    return out


def sequences_case():
    tok = Tokenizer(num_words=7)
    seqs = [[1, 2, 2, 5], [5, 6, 9], [], [3]]
    tok.fit_on_sequences(seqs)
    return {
        "sequences": seqs,
        "document_count": tok.document_count,
        "index_docs": {str(k): v for k, v in tok.index_docs.items()},
        "matrix": {m: tok.sequences_to_matrix(seqs, mode=m).tolist() for m in ["binary", "count", "tfidf", "freq"]},
    }


WORD_SEQ = [
    {"text": "This is a sample sentence.", "args": {}},
    {"text": "Hello, World!! It's 3:45pm\tnow", "args": {"lower": False}},
    {"text": "a-b_c d", "args": {"filters": "-", "split": "_"}},
    {"text": "x1yy2z", "args": {"filters": "12", "split": "yy"}},
]

HASH = [
    {"text": "The cat sat on the mat; the cat ran.", "n": 20},
    {"text": "caf\u00e9 na\u00efve \u00df \u4e2d\u6587 words", "n": 1000003},
    {"text": "one two three", "n": 2},
]

fixture = {
    "tokenizers": [case(c) for c in CASES],
    "fit_on_sequences": sequences_case(),
    "text_to_word_sequence": [dict(w, words=text_to_word_sequence(w["text"], **w["args"])) for w in WORD_SEQ],
    "hashing_trick_md5": [dict(h, indexes=hashing_trick(h["text"], h["n"], hash_function="md5")) for h in HASH],
    "make_sampling_table": {
        "size": 12,
        "factor": 1e-3,
        "table": make_sampling_table(12, sampling_factor=1e-3).tolist(),
        "default_10": make_sampling_table(10).tolist(),
    },
}

with open(OUT, "w", encoding="utf-8") as f:
    json.dump(fixture, f, ensure_ascii=False)
print("wrote", os.path.normpath(OUT))
