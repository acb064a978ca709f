"""Weight initialisers.

An initialiser is a callable ``(shape, rng, dtype) -> array``; ``shape`` is
``(fan_out, fan_in)`` as for a dense layer's W. Layers accept one of the names
below or any such callable (for example ``fastnn.init.normal(std=0.01)``).

Random values are drawn in float64 from the NumPy Generator ``rng`` and then
rounded to ``dtype``, so a float32 model starts from the float32 rounding of
the float64 model with the same seed.

===========================  ==================================================
name                         distribution
===========================  ==================================================
"zeros", "ones"              constants (``constant(c)`` for any c)
"normal"                     N(0, 0.01^2) (the lecture's small random numbers)
"uniform"                    U(-1/sqrt(n_in), +1/sqrt(n_in))
"xavier", "lecun"            N(0, 1/n_in) (std 1/sqrt(n_in), as the lecture's Xavier)
"glorot_normal"              N(0, 2/(n_in + n_out))
"glorot_uniform"             U(+-sqrt(6/(n_in + n_out)))
"glorot_uniform_sigmoid"     U(+-4 sqrt(6/(n_in + n_out))) (the x4 for sigmoid units)
"he", "kaiming"              N(0, 2/n_in)
"he_uniform"                 U(+-sqrt(6/n_in))
===========================  ==================================================
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks

__all__ = ["Initializer", "get", "constant", "normal", "uniform", "NAMES"]


class Initializer:
    """A named, picklable initialiser; ``config`` is its JSON-able description."""

    def __init__(self, name, draw, **params):
        self.name = name
        self._draw = draw
        self.params = params

    def __call__(self, shape, rng, dtype):
        shape = tuple(int(s) for s in shape)
        fan_out, fan_in = (shape[0], shape[1]) if len(shape) == 2 else (shape[0], shape[0])
        values = self._draw(shape, rng, fan_in, fan_out, **self.params)
        return np.asarray(values, dtype=np.float64).astype(dtype)

    @property
    def config(self):
        return {"name": self.name, **self.params}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"fastnn.init.{self.name}({args})" if args else f"fastnn.init.get({self.name!r})"

    def __reduce__(self):
        return (from_config, (self.config,))


def _constant(shape, rng, fan_in, fan_out, value):
    return np.full(shape, value)


def _normal(shape, rng, fan_in, fan_out, std):
    return rng.standard_normal(shape) * std


def _uniform(shape, rng, fan_in, fan_out, limit):
    if limit is None:
        limit = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-limit, limit, size=shape)


def _scaled_normal(variance):
    def draw(shape, rng, fan_in, fan_out):
        return rng.standard_normal(shape) * math.sqrt(variance(fan_in, fan_out))
    return draw


def _scaled_uniform(limit):
    def draw(shape, rng, fan_in, fan_out):
        a = limit(fan_in, fan_out)
        return rng.uniform(-a, a, size=shape)
    return draw


_NAMED = {
    "xavier": _scaled_normal(lambda i, o: 1.0 / i),
    "lecun": _scaled_normal(lambda i, o: 1.0 / i),
    "glorot_normal": _scaled_normal(lambda i, o: 2.0 / (i + o)),
    "glorot_uniform": _scaled_uniform(lambda i, o: math.sqrt(6.0 / (i + o))),
    "glorot_uniform_sigmoid": _scaled_uniform(lambda i, o: 4.0 * math.sqrt(6.0 / (i + o))),
    "he": _scaled_normal(lambda i, o: 2.0 / i),
    "kaiming": _scaled_normal(lambda i, o: 2.0 / i),
    "he_uniform": _scaled_uniform(lambda i, o: math.sqrt(6.0 / i)),
}

NAMES = ("zeros", "ones", "normal", "uniform", *_NAMED)


def constant(value):
    """Every weight equal to ``value`` (the lectures' warning: symmetry is never broken)."""
    return Initializer("constant", _constant, value=_checks.real(value, "value"))


def normal(std=0.01):
    """N(0, std^2); the default 0.01 is the lecture's small random initialisation."""
    return Initializer("normal", _normal, std=_checks.real(std, "std", low=0.0))


def uniform(limit=None):
    """U(-limit, limit); the default limit is 1/sqrt(n_in)."""
    if limit is not None:
        limit = _checks.real(limit, "limit", low=0.0)
    return Initializer("uniform", _uniform, limit=limit)


def get(spec, name="init"):
    """An initialiser from a name in :data:`NAMES` or a callable (returned as is)."""
    if isinstance(spec, str):
        if spec == "zeros":
            return constant(0.0)
        if spec == "ones":
            return constant(1.0)
        if spec == "normal":
            return normal()
        if spec == "uniform":
            return uniform()
        if spec in _NAMED:
            return Initializer(spec, _NAMED[spec])
        raise ValueError(f"{name} must be one of {NAMES} or a callable, got {spec!r}")
    if callable(spec):
        return spec
    raise TypeError(f"{name} must be a name from {NAMES} or a callable (shape, rng, dtype) -> array, "
                    f"got {type(spec).__name__}")


def _unsaved_custom(shape, rng, fan_in, fan_out, repr):
    # The user's callable was not saved (files are data, not code); the layer's
    # parameter values were, and they are what a loaded model uses.
    return np.zeros(shape)


def placeholder(init):
    """Stands in for a user callable in saved or pickled models: config "custom", draws zeros."""
    return Initializer("custom", _unsaved_custom, repr=repr(init))


def from_config(config):
    """Inverse of ``Initializer.config`` ("custom" gives the placeholder of a user callable)."""
    config = dict(config)
    name = config.pop("name")
    if name == "custom":
        return Initializer("custom", _unsaved_custom, repr=str(config.get("repr", "")))
    if name == "constant":
        return constant(**config)
    if name == "normal":
        return normal(**config)
    if name == "uniform":
        return uniform(**config)
    return get(name)


def to_config(init):
    """JSON-able description: the Initializer's config, or {"name": "custom"} for a user callable."""
    if isinstance(init, Initializer):
        return init.config
    return {"name": "custom", "repr": repr(init)}


def draw(init, shape, rng, dtype, name="init"):
    """Call ``init`` and check that it returned finite values of the right shape."""
    values = np.asarray(init(shape, rng, dtype))
    if values.shape != tuple(shape):
        raise ValueError(f"{name} returned shape {values.shape}, expected {tuple(shape)}")
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{name} returned dtype {values.dtype}, expected real numbers")
    values = values.astype(dtype, copy=True)
    _checks.finite(values, f"values returned by {name}")
    return values
