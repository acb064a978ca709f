"""Data utilities and loaders (the tests write small files in each format themselves)."""

from __future__ import annotations

import gzip
import os
import pickle

import numpy as np
import pytest

from fastnn import data


def test_standardizer(rng):
    X = rng.standard_normal((50, 4)) * [1, 10, 100, 0] + [0, 5, -3, 7]  # last column constant
    s = data.Standardizer().fit(X)
    Z = s.transform(X)
    assert np.allclose(Z[:, :3].mean(0), 0) and np.allclose(Z[:, :3].std(0), 1)
    assert np.all(Z[:, 3] == 0) and np.all(np.isfinite(Z))
    assert np.allclose(s.inverse_transform(Z), X)
    assert s.transform(X.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="4 columns"):
        s.transform(X[:, :3])
    with pytest.raises(RuntimeError, match="not fitted"):
        data.Standardizer().transform(X)


def test_minmax_scaler(rng):
    X = rng.random((30, 3)) * [2, 5, 0] + [1, -1, 4]
    s = data.MinMaxScaler().fit(X)
    Z = s.transform(X)
    assert np.allclose(Z[:, :2].min(0), 0) and np.allclose(Z[:, :2].max(0), 1) and np.all(Z[:, 2] == 0)
    assert np.allclose(s.inverse_transform(Z), X)
    Z2 = data.MinMaxScaler((-1, 1)).fit_transform(X)
    assert np.allclose(Z2[:, 0].min(), -1) and np.allclose(Z2[:, 0].max(), 1)
    with pytest.raises(ValueError, match="must be finite"):
        s.fit(np.array([[np.nan]]))


def test_one_hot():
    assert np.array_equal(data.one_hot([2, 0, 1]), np.eye(3)[[2, 0, 1]])
    assert data.one_hot([0, 1], num_classes=4).shape == (2, 4)
    with pytest.raises(ValueError, match=r"labels in \[0, 2\)"):
        data.one_hot([0, 2], num_classes=2)


def test_train_test_split(rng):
    X = np.arange(200).reshape(100, 2)
    y = np.repeat([0, 1, 2, 3], [10, 20, 30, 40])
    X_tr, X_te, y_tr, y_te = data.train_test_split(X, y, test_size=0.25, stratify=True, seed=0)
    assert len(X_te) == 25 and len(X_tr) == 75
    assert np.abs(np.bincount(y_te) - [2.5, 5, 7.5, 10]).max() < 1  # each class's share, to within a sample
    assert sorted(np.concatenate([X_tr[:, 0], X_te[:, 0]]).tolist()) == list(range(0, 200, 2))
    assert np.array_equal(y_tr, y[X_tr[:, 0] // 2])
    again = data.train_test_split(X, y, test_size=0.25, stratify=True, seed=0)
    assert np.array_equal(again[1], X_te)
    _, X_te2, _, _ = data.train_test_split(X, y, test_size=10, shuffle=False)
    assert np.array_equal(X_te2[:, 0], np.arange(180, 200, 2))
    with pytest.raises(ValueError, match="same number of rows"):
        data.train_test_split(X, y[:5])
    with pytest.raises(ValueError, match="test_size must be"):
        data.train_test_split(X, y, test_size=1.5)


def test_batches_and_bounds(rng):
    assert data.batch_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert data.batch_bounds(10, 4, merge_last=True) == [(0, 4), (4, 10)]
    assert data.batch_bounds(3, 4, merge_last=True) == [(0, 3)]
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    got = list(data.batches(X, y, batch_size=4, shuffle=True, seed=1))
    assert [len(b[0]) for b in got] == [4, 4, 2]
    assert sorted(np.concatenate([b[1] for b in got]).tolist()) == list(range(10))
    assert all(np.array_equal(bx[:, 0] // 2, by) for bx, by in got)
    assert [len(b) for b in data.batches(X, batch_size=4, drop_last=True)] == [4, 4]


def _cifar_records(rng, n):
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    pixels = rng.integers(0, 256, size=(n, 3072)).astype(np.uint8)
    return labels, pixels


def test_cifar10_binary(tmp_path, rng):
    paths = []
    expected = []
    for i in range(2):
        labels, pixels = _cifar_records(rng, 3)
        path = tmp_path / f"data_batch_{i}.bin"
        path.write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
        paths.append(path)
        expected.append((labels, pixels))
    X, y = data.load_cifar10_binary(paths)
    assert X.dtype == np.uint8 and X.shape == (6, 3072) and y.dtype == np.int64
    assert np.array_equal(X, np.concatenate([e[1] for e in expected]))
    assert np.array_equal(y, np.concatenate([e[0] for e in expected]))
    bad = tmp_path / "short.bin"
    bad.write_bytes(paths[0].read_bytes()[:-1])
    with pytest.raises(ValueError, match="short.bin"):
        data.load_cifar10_binary(bad)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar10_python(tmp_path, rng, protocol):
    labels, pixels = _cifar_records(rng, 4)
    batch = {b"batch_label": b"training batch 1 of 5", b"labels": labels.tolist(), b"data": pixels,
             b"filenames": [b"a.png", b"b.png", b"c.png", b"d.png"]}
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    X, y = data.load_cifar10_python(path)
    assert np.array_equal(X, pixels) and np.array_equal(y, labels)


def test_load_cifar10_reads_the_folder_of_the_python_version(tmp_path, rng):
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels, pixels = _cifar_records(rng, 3)
        written[name] = (labels, pixels)
        raw = pickle.dumps({b"labels": labels.tolist(), b"data": pixels}, protocol=2)
        if name == "data_batch_3":  # a gzipped file is found under its .gz name
            (tmp_path / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (tmp_path / name).write_bytes(raw)
    X_train, y_train, X_test, y_test = data.load_cifar10(tmp_path)
    train = [written[f"data_batch_{i}"] for i in range(1, 6)]
    assert np.array_equal(X_train, np.concatenate([p for _, p in train]))
    assert np.array_equal(y_train, np.concatenate([lab for lab, _ in train])) and y_train.dtype == np.int64
    assert np.array_equal(X_test, written["test_batch"][1]) and np.array_equal(y_test, written["test_batch"][0])


def test_load_cifar10_names_the_missing_files(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="lacks data_batch_2, data_batch_3, data_batch_4, data_batch_5, "
                                                "test_batch"):
        data.load_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder.*data_batch_1"):
        data.load_cifar10(tmp_path / "nowhere")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_cifar10_python_refuses_code(tmp_path):
    path = tmp_path / "evil_batch"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}))
    with pytest.raises(ValueError, match="evil_batch.*refusing to load"):
        data.load_cifar10_python(path)
    other = tmp_path / "list_batch"
    other.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ValueError, match="list_batch"):
        data.load_cifar10_python(other)


def _idx(array, dims):
    header = bytes([0, 0, 8, len(dims)]) + b"".join(int(d).to_bytes(4, "big") for d in dims)
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("compressed", [False, True])
def test_mnist_idx(tmp_path, rng, compressed):
    images = rng.integers(0, 256, size=(5, 28, 28))
    labels = rng.integers(0, 10, size=5)
    suffix = ".gz" if compressed else ""
    write = (lambda p, b: p.write_bytes(gzip.compress(b))) if compressed else (lambda p, b: p.write_bytes(b))
    ip, lp = tmp_path / f"images-idx3-ubyte{suffix}", tmp_path / f"labels-idx1-ubyte{suffix}"
    write(ip, _idx(images, images.shape))
    write(lp, _idx(labels, labels.shape))
    X, y = data.load_mnist(ip, lp)
    assert np.array_equal(X, images.reshape(5, 784)) and np.array_equal(y, labels)
    write(lp, _idx(labels[:4], (4,)))
    with pytest.raises(ValueError, match="4 labels for 5 images"):
        data.load_mnist(ip, lp)
    write(ip, _idx(images, (6, 28, 28)))
    with pytest.raises(ValueError, match="images-idx3-ubyte"):
        data.load_mnist(ip, lp)


def test_load_digits():
    pytest.importorskip("sklearn")
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64 and set(np.unique(y)) == set(range(10))
