"""save/load: bit-exact round trip, refusal of bad files, atomic writes; pickling."""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import io, layers as L
from conftest import classification_data


def _trained(rng, dtype="float32"):
    X, y = classification_data(rng, n=30, d=4, classes=3)
    model = fastnn.Sequential(
        [L.Dense(4, 6, bias=False), L.BatchNorm(6, running_var="biased"), L.LeakyReLU(0.2), L.Dropout(0.25),
         L.Maxout(6, 4, k=2, init=fastnn.init.normal(0.3)), L.Dense(4, 3, init="glorot_uniform")],
        l2=0.01, dtype=dtype, backend="numpy", seed=5)
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    return model, X, y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_bit_exact(tmp_path, rng, dtype):
    model, X, y = _trained(rng, dtype)
    model.eval()
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastnn.load(path)
    assert loaded.to_config() == model.to_config()
    assert not loaded.training
    for kind in ("parameters", "buffers"):
        mine, theirs = getattr(model, kind)(), getattr(loaded, kind)()
        assert list(mine) == list(theirs)
        for name in mine:
            assert theirs[name].dtype == mine[name].dtype
            assert np.array_equal(theirs[name], mine[name]), name
    assert np.array_equal(loaded.forward(X), model.forward(X))
    # training continues identically, dropout masks included
    loaded.train(), model.train()
    assert loaded.layers[3].step == model.layers[3].step > 0
    assert np.array_equal(loaded.forward(X), model.forward(X))
    assert not list(tmp_path.glob(".*.tmp"))


def test_save_is_atomic(tmp_path, rng, monkeypatch):
    model, X, y = _trained(rng)
    path = tmp_path / "m.npz"
    model.save(path)
    good = path.read_bytes()
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (replaced.append((a, b)), real_replace(a, b)))
    model.save(path)
    assert len(replaced) == 1 and os.path.dirname(replaced[0][0]) == str(tmp_path)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    model.layers[0].W = np.zeros_like(model.layers[0].W)
    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == good  # the old model is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temporary file left


def _bad_file(tmp_path, rng, kind):
    model, _, _ = _trained(rng)
    path = tmp_path / f"{kind}.npz"
    model.save(path)
    raw = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "flipped_byte":
        flipped = bytearray(raw)
        flipped[len(raw) // 3] ^= 0xFF
        path.write_bytes(bytes(flipped))
    elif kind == "edited_weights":  # rewritten consistently as a zip: only the digest notices
        with np.load(path) as f:
            contents = {k: f[k] for k in f.files}
        contents["param/0.W"] = contents["param/0.W"] + 1
        with open(path, "wb") as fh:
            np.savez(fh, **contents)
    elif kind == "edited_record":
        with np.load(path) as f:
            contents = {k: f[k] for k in f.files}
        record = contents["__fastnn_model__"].tobytes().replace(b'"l2": 0.01', b'"l2": 0.5')
        contents["__fastnn_model__"] = np.frombuffer(record, dtype=np.uint8)
        with open(path, "wb") as fh:
            np.savez(fh, **contents)
    elif kind == "foreign_npz":
        with open(path, "wb") as fh:
            np.savez(fh, W=np.ones(3))
    elif kind == "npy":
        with open(path, "wb") as fh:
            np.save(fh, np.ones(3))
    elif kind == "text":
        path.write_text("hello")
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"W": 1}))
    elif kind == "foreign_zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("readme.txt", "not numpy")
    return path


@pytest.mark.parametrize("kind", ["truncated", "empty", "flipped_byte", "edited_weights", "edited_record",
                                  "foreign_npz", "npy", "text", "pickle", "foreign_zip"])
def test_bad_files_raise_value_error_naming_the_file(tmp_path, rng, kind):
    path = _bad_file(tmp_path, rng, kind)
    with pytest.raises(ValueError, match=f"{kind}.npz"):
        fastnn.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastnn.load(tmp_path / "nothing.npz")


def test_pickle_round_trip(rng):
    model, X, y = _trained(rng)
    model.optimizer = fastnn.optim.Adam()
    clone = pickle.loads(pickle.dumps(model))
    assert clone.to_config() == model.to_config()
    assert np.array_equal(clone.predict_proba(X), model.predict_proba(X))
    model.fit(X, y, epochs=1, verbose=0)
    clone.fit(X, y, epochs=1, verbose=0)  # the same shuffle and dropout streams continue
    for name, value in model.parameters().items():
        assert np.array_equal(clone.parameters()[name], value)


def test_custom_initialiser_model_saves(tmp_path, rng):
    model = fastnn.Sequential([L.Dense(3, 2, init=lambda shape, rng, dtype: np.full(shape, 0.5, dtype))], seed=0)
    model.save(tmp_path / "c.npz")
    loaded = fastnn.load(tmp_path / "c.npz")
    assert np.array_equal(loaded.layers[0].W, np.full((2, 3), 0.5, np.float32))
    assert loaded.to_config() == model.to_config() and model.to_config()["layers"][0]["init"]["name"] == "custom"
    clone = pickle.loads(pickle.dumps(model))  # the lambda itself is not pickled
    assert np.array_equal(clone.layers[0].W, model.layers[0].W) and clone.to_config() == model.to_config()
