"""The model file: one .npz holding the parameters, the batch-norm running statistics and a
JSON record of the architecture (``model.to_config()``), dtype, mode and format version.

Files are data, not code: they are read with ``allow_pickle=False``. A SHA-256
digest over the record and every array is stored alongside and checked on
load, so a truncated, corrupted or edited file (or a foreign .npz) raises a
ValueError naming the file instead of loading wrong numbers. The digest
guards against accidents, not against someone who rewrites it on purpose.
Writes go to a temporary file in the target's directory that is renamed over
the target (os.replace) only when complete: a crash never leaves a
half-written model. The path is used exactly as given (no ".npz" is added).
Optimiser state is not saved.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ._files import atomic_write

if TYPE_CHECKING:
    from .model import Sequential

__all__ = ["save", "load", "FORMAT", "VERSION"]

FORMAT = "fastnn-model"
VERSION = 1
_HEADER = "__fastnn_model__"
_DIGEST = "__sha256__"


def _digest(header: bytes, arrays: dict) -> str:
    h = hashlib.sha256(header)
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"\0{key}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _as_uint8(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def save(model: Sequential, path: str | os.PathLike[str]) -> None:
    """Write a model to a file, atomically.

    The file is written to a temporary file in the target's directory, renamed
    over the target (``os.replace``) only when complete.

    Parameters
    ----------
    model : Sequential
        The model; its optimiser state is not saved.
    path : str or os.PathLike
        The file, used exactly as given (no ".npz" is added).

    Raises
    ------
    OSError
        The file cannot be written (the target is then left as it was).

    Examples
    --------
    >>> import os, tempfile
    >>> import fastnn
    >>> model = fastnn.MLP([4, 8, 3], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> fastnn.io.save(model, path)
    >>> fastnn.load(path).to_config() == model.to_config()
    True
    """
    name = os.fspath(path)
    arrays = {f"param/{k}": v for k, v in model.parameters().items()}
    arrays.update({f"buffer/{k}": v for k, v in model.buffers().items()})
    header = json.dumps({"format": FORMAT, "version": VERSION, "config": model.to_config(),
                         "training": bool(model.training)}, sort_keys=True).encode("utf-8")
    entries: dict[str, Any] = {_HEADER: np.frombuffer(header, dtype=np.uint8),
               _DIGEST: _as_uint8(_digest(header, arrays)), **arrays}
    with atomic_write(name) as fh:
        np.savez(fh, **entries)


def _read(name):
    """(header bytes, digest str, arrays) from the file; ValueError for anything unreadable."""
    try:
        with np.load(name, allow_pickle=False) as f:
            files = list(f.files)
            if _HEADER not in files or _DIGEST not in files:
                raise ValueError("no fastnn model record in it")
            contents = {k: f[k] for k in files}  # reads every member; zipfile checks its CRC
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except AttributeError:  # np.load returned a plain array: a .npy file
        raise ValueError(f"{name}: not a fastnn model file (a .npy array, not a model .npz)") from None
    except Exception as exc:  # BadZipFile, EOFError, zlib errors, pickled data, ...
        raise ValueError(f"{name}: not a readable fastnn model file ({type(exc).__name__}: {exc})") from None
    header = contents.pop(_HEADER)
    digest = contents.pop(_DIGEST)
    if header.dtype != np.uint8 or digest.dtype != np.uint8 or header.ndim != 1 or digest.ndim != 1:
        raise ValueError(f"{name}: not a fastnn model file (malformed record)")
    return header.tobytes(), digest.tobytes().decode("ascii", "replace"), contents


def load(path: str | os.PathLike[str]) -> Sequential:
    """Read a model written by :func:`save` (or ``model.save``).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    Sequential
        The model, in the mode (training or evaluation) it was saved in.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        The file cannot be opened.
    ValueError
        The file is truncated, corrupted, edited, of another format or
        version, or not a model file; the message names it.
    """
    from .model import Sequential

    name = os.fspath(path)
    header, digest, arrays = _read(name)
    if _digest(header, arrays) != digest:
        raise ValueError(f"{name}: the file's contents do not match its checksum (corrupted or edited)")
    try:
        record = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{name}: not a fastnn model file (record is not JSON: {exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{name}: not a fastnn model file")
    if record.get("version") != VERSION:
        raise ValueError(f"{name}: fastnn model format version {record.get('version')!r}; "
                         f"this fastnn reads version {VERSION}")
    try:
        model = Sequential.from_config(record["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{name}: invalid model description: {exc}") from None
    state: dict[str, dict[str, np.ndarray]] = {"params": {}, "buffers": {}}
    for key, arr in arrays.items():
        kind, _, pname = key.partition("/")
        if kind not in ("param", "buffer"):
            raise ValueError(f"{name}: unexpected entry {key!r}")
        state[{"param": "params", "buffer": "buffers"}[kind]][pname] = arr
    for kind, live in (("params", model.parameters()), ("buffers", model.buffers())):
        if set(state[kind]) != set(live):
            raise ValueError(f"{name}: {kind} {sorted(state[kind])} do not match the architecture's {sorted(live)}")
        for pname, arr in state[kind].items():
            if arr.shape != live[pname].shape or arr.dtype != live[pname].dtype:
                raise ValueError(f"{name}: {pname} is {arr.dtype} {arr.shape}, the architecture needs "
                                 f"{live[pname].dtype} {live[pname].shape}")
    model.set_state(state)
    model.training = bool(record.get("training", True))
    return model
