"""Small argument checks shared by the model-level modules (layers, optimisers, fit, data).

Each returns the converted value or raises a TypeError/ValueError that names
the argument and says what was expected and what arrived.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

from ._text import with_article

DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}


def integer(value, name, minimum=None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def real(value, name, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real number in [low, high] (or open at either end)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    ok = np.isfinite(value)
    if low is not None:
        ok = ok and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value}")
    return value


def boolean(value, name) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return bool(value)


def choice(value, name, options):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {tuple(options)}, got {type(value).__name__}")
    if value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value


def dtype(value, name="dtype") -> np.dtype:
    """'float32'/'float64' (or the NumPy types) -> np.dtype."""
    try:
        dt = np.dtype(value) if value is not None else None
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"{name} must be 'float32' or 'float64', got {value!r}")
    return dt


def seed(value, name="seed"):
    if value is None:
        return None
    return integer(value, name, minimum=0)


def numeric_array(value, name) -> np.ndarray:
    """An ndarray of real numbers (ints, unsigned or floats); bools, strings, objects refused."""
    if value is None:
        raise TypeError(f"{name} must be an array of numbers, got None")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (int or float), got dtype {arr.dtype}")
    return arr


def finite(arr, name):
    if arr.dtype.kind != "f" or not arr.size:
        return arr
    # C reads whole elements, defined only at aligned addresses: a misaligned array (a view
    # at an odd byte offset) takes the NumPy path below
    if arr.dtype in (np.float32, np.float64) and arr.flags.c_contiguous and arr.flags.aligned:
        from . import _ops  # one threaded pass in C, no temporary (fit checks whole data sets)

        if _ops.all_finite(arr):
            return arr
    # in slices of rows, so that checking a large data set costs no large temporary
    rows = arr.reshape(1, -1) if arr.ndim < 2 else arr
    step = max(1, (1 << 20) // max(1, rows[0].size))
    for start in range(0, rows.shape[0], step):
        block = rows[start:start + step]
        if not np.isfinite(block).all():
            bad = np.argwhere(~np.isfinite(arr))[0]
            raise ValueError(f"{name} must be finite, found {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}")
    return arr


def named(spec, name, registry, base, fold_case=False):
    """``spec`` if it is an instance of ``base``, else a new ``registry[spec]()`` for a known name."""
    if isinstance(spec, base):
        return spec
    names = tuple(registry)
    expected = f"{with_article(base.__name__)} or one of {names}"
    if not isinstance(spec, str):
        raise TypeError(f"{name} must be {expected}, got {type(spec).__name__}")
    key = spec.lower() if fold_case else spec
    if key not in registry:
        raise ValueError(f"{name} must be {expected}, got {spec!r}")
    return registry[key]()


# ---- declared settings -------------------------------------------------------------
# A class that holds user-settable values (an optimiser's lr, a layer's p, a model's l2)
# declares each one's rule once, in a class attribute ``settings`` (name -> Rule). The
# constructor and fit both apply the same rules, so a value assigned after construction
# is checked as strictly as one passed to the constructor.

class Rule:
    """The check of one setting: ``rule(value, name)`` returns the converted value or raises
    the TypeError/ValueError of ``check(value, name, **options)``. ``optional``: None passes."""

    def __init__(self, check, optional=False, **options):
        self.check, self.optional, self.options = check, optional, options

    def __call__(self, value, name):
        if value is None and self.optional:
            return None
        return self.check(value, name, **self.options)


def Real(low=None, high=None, low_open=False, high_open=False, optional=False):
    """A finite real number in an interval (see :func:`real`)."""
    return Rule(real, optional, low=low, high=high, low_open=low_open, high_open=high_open)


def Integer(minimum=None, optional=False):
    """An integer of at least ``minimum`` (see :func:`integer`); with ``optional``, None passes."""
    return Rule(integer, optional, minimum=minimum)


def Boolean():
    return Rule(boolean)


def Choice(options):
    return Rule(choice, options=tuple(options))


@functools.cache
def declared_settings(cls):
    """name -> Rule for every setting ``cls`` and its bases declare (classes declare them
    once, so the answer is kept per class: fit asks for it on every call)."""
    rules = {}
    for klass in reversed(cls.__mro__):
        rules.update(klass.__dict__.get("settings", {}))
    return rules


def check_settings(obj, owner=None):
    """The declared settings of ``obj`` as they are now, checked and converted.

    Parameters
    ----------
    obj : object
        An instance whose class declares ``settings`` (name -> :class:`Rule`); it may also
        define ``check_together(values)``, which checks rules that join several settings.
    owner : str, optional
        How the caller names ``obj`` in messages ("optimizer", "layers[2]"); None names the
        bare setting, as a constructor's argument.

    Returns
    -------
    dict
        name -> converted value. Nothing is assigned: the caller applies the values once
        every object it checks has passed.

    Raises
    ------
    TypeError, ValueError
        The first setting that breaks its rule, named ``owner.name``.
    """
    prefix = "" if owner is None else f"{owner}."
    values = {name: rule(getattr(obj, name, None), prefix + name)
              for name, rule in declared_settings(type(obj)).items()}
    together = getattr(obj, "check_together", None)
    if together is not None:
        together(values, prefix)
    return values


def apply_settings(obj, owner=None):
    """Check ``obj``'s declared settings (:func:`check_settings`) and store the converted values."""
    for name, value in check_settings(obj, owner).items():
        setattr(obj, name, value)
    return obj
