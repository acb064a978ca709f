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
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _checks

__all__ = ["Initializer", "get", "constant", "normal", "uniform", "NAMES"]


class Initializer:
    """A named, picklable initialiser: a callable ``(shape, rng, dtype) -> array``.

    Parameters
    ----------
    name : str
        Its name (a name of :data:`NAMES`, or "constant", "custom").
    draw : callable
        ``draw(shape, rng, fan_in, fan_out, **params)``: the values, in float64.
    **params
        The initialiser's parameters (std, limit, value).

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import init
    >>> init.constant(0.5)((2, 2), np.random.default_rng(0), np.float64)
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """

    def __init__(self, name: str, draw: Callable[..., ArrayLike], **params: Any) -> None:
        self.name = name
        self._draw = draw
        self.params = params

    def __call__(self, shape: Sequence[int], rng: np.random.Generator, dtype: DTypeLike) -> NDArray[Any]:
        """Draw initial values.

        Parameters
        ----------
        shape : tuple of int
            (fan_out, fan_in), as a dense layer's W; a 1-D shape has fan_in = fan_out.
        rng : numpy.random.Generator
            Where the values come from.
        dtype : numpy.dtype
            The dtype they are rounded to.

        Returns
        -------
        numpy.ndarray
        """
        shape = tuple(int(s) for s in shape)
        fan_out, fan_in = (shape[0], shape[1]) if len(shape) == 2 else (shape[0], shape[0])
        values = self._draw(shape, rng, fan_in, fan_out, **self.params)
        return np.asarray(values, dtype=np.float64).astype(dtype)

    @property
    def config(self) -> dict[str, Any]:
        """The initialiser's JSON-able description (``from_config`` builds it again)."""
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


def constant(value: float) -> Initializer:
    """Every weight equal to ``value``.

    The lecture notes' warning applies: equal weights are never made different
    by training, so the units of a layer stay copies of each other.

    Parameters
    ----------
    value : float

    Returns
    -------
    Initializer
    """
    return Initializer("constant", _constant, value=_checks.real(value, "value"))


def normal(std: float = 0.01) -> Initializer:
    """Weights drawn from N(0, std^2).

    Parameters
    ----------
    std : float, default 0.01
        The standard deviation, >= 0 (0.01 is the lecture notes' small random
        initialisation).

    Returns
    -------
    Initializer
    """
    return Initializer("normal", _normal, std=_checks.real(std, "std", low=0.0))


def uniform(limit: float | None = None) -> Initializer:
    """Weights drawn from U(-limit, limit).

    Parameters
    ----------
    limit : float, optional
        >= 0; by default 1/sqrt(n_in).

    Returns
    -------
    Initializer
    """
    if limit is not None:
        limit = _checks.real(limit, "limit", low=0.0)
    return Initializer("uniform", _uniform, limit=limit)


def get(spec: str | Callable[..., Any], name: str = "init") -> Callable[..., Any]:
    """An initialiser from its name, or a callable as given.

    Parameters
    ----------
    spec : str or callable
        A name of :data:`NAMES` (see the table above), or a callable
        ``(shape, rng, dtype) -> array``, returned as it is.
    name : str, default "init"
        The argument's name in error messages.

    Returns
    -------
    callable

    Raises
    ------
    TypeError
        spec is neither a name nor a callable.
    ValueError
        An unknown name.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import init
    >>> init.get("he")((3, 4), np.random.default_rng(0), np.float32).shape
    (3, 4)
    """
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
    """The stand-in for a user's callable in a saved or pickled model.

    Its config is "custom" and it draws zeros: a file holds data, not code, and a
    loaded model uses the saved parameter values.

    Parameters
    ----------
    init : callable
        The user's initialiser (only its repr is kept).

    Returns
    -------
    Initializer
    """
    return Initializer("custom", _unsaved_custom, repr=repr(init))


def from_config(config):
    """An initialiser from its description, the inverse of :attr:`Initializer.config`.

    Parameters
    ----------
    config : dict
        The description; "custom" gives the :func:`placeholder` of a user's callable.

    Returns
    -------
    Initializer
    """
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
    """The JSON-able description of an initialiser.

    Parameters
    ----------
    init : Initializer or callable

    Returns
    -------
    dict
        The Initializer's config, or ``{"name": "custom", "repr": ...}`` for a
        user's callable.
    """
    if isinstance(init, Initializer):
        return init.config
    return {"name": "custom", "repr": repr(init)}


def draw(init, shape, rng, dtype, name="init"):
    """Call ``init`` and check that it returned finite real values of the right shape.

    Parameters
    ----------
    init : callable
        ``(shape, rng, dtype) -> array``.
    shape : tuple of int
    rng : numpy.random.Generator
    dtype : numpy.dtype
    name : str, default "init"
        The initialiser's name in error messages.

    Returns
    -------
    numpy.ndarray
        A new array of ``dtype``.

    Raises
    ------
    TypeError
        The values are not real numbers.
    ValueError
        The shape is wrong or a value is not finite.
    """
    values = np.asarray(init(shape, rng, dtype))
    if values.shape != tuple(shape):
        raise ValueError(f"{name} returned shape {values.shape}, expected {tuple(shape)}")
    if values.dtype.kind not in "iuf":
        raise TypeError(f"{name} returned dtype {values.dtype}, expected real numbers")
    values = values.astype(dtype, copy=True)
    _checks.finite(values, f"values returned by {name}")
    return values
