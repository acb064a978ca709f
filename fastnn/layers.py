"""Layers: each carries its forward and backward pass side by side.

``forward(X, training)`` returns the layer's output and keeps what the
backward pass needs; ``backward(dOut)`` stores the parameter gradients in
``layer.grads`` (keyed like ``layer.params``) and returns the gradient with
respect to the layer's input. Samples are rows: X is (N, in_features).

Parameters live in ``layer.params`` (name -> NumPy array) and are also
attributes (``dense.W``, ``bn.gamma``...). Assigning an attribute copies the
values into the layer's dtype after checking the shape.

A layer is created unbuilt; the :class:`~fastnn.Sequential` that receives it
calls ``build(rng, dtype)``, which draws the initial parameters from the
model's seed. Layers hold parameters, hyper-parameters and state; the maths is
the kernels' of the model's backend (``fastnn.ops`` for "c", ``fastnn.reference``
for "numpy"), which the layers call as ``self._k.<kernel>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from . import _checks, _validation, init as _init, ops, reference
from .reference import dropout_mask

__all__ = [
    "Layer", "Dense", "BatchNorm", "Activation", "Identity", "Sigmoid", "Tanh", "ReLU",
    "LeakyReLU", "ELU", "Softplus", "Dropout", "Maxout", "BACKENDS", "from_config", "dropout_mask",
]

BACKENDS = {"c": ops, "numpy": reference}


class Layer:
    """Base class of the layers: parameters, buffers, gradients and the two passes.

    Subclasses create their arrays in :meth:`build` and implement
    :meth:`forward` and :meth:`backward`.

    Attributes
    ----------
    params : dict of str to numpy.ndarray
        The trainable parameters, by name (also attributes: ``layer.W``).
    grads : dict of str to numpy.ndarray
        Their gradients after :meth:`backward`, keyed like ``params``.
    buffers : dict of str to numpy.ndarray
        State that is not trained (batch norm's running statistics).
    backend : {"c", "numpy"}
        Whose kernels the passes call; the model sets it.
    dtype : numpy.dtype or None
        The parameters' dtype; None until the layer is built.
    """

    #: names of parameters included in the L2 penalty
    regularised: tuple[str, ...] = ()
    #: names of the parameters and buffers the layer has once built
    state_names: tuple[str, ...] = ()

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.buffers = {}
        self.backend = "c"
        self.dtype = None
        self._cache = None

    # -- building and description ------------------------------------------------
    @property
    def built(self) -> bool:
        """Whether :meth:`build` has created the layer's arrays."""
        return self.dtype is not None

    def build(self, rng: np.random.Generator, dtype: DTypeLike) -> None:
        """Create the parameters and buffers, the initial values drawn from ``rng``.

        Parameters
        ----------
        rng : numpy.random.Generator
            Where the initial values come from (the model's seed).
        dtype : str or numpy.dtype
            float32 or float64.
        """
        self.dtype = _checks.dtype(dtype)
        self.params, self.buffers, self.grads, self._cache = {}, {}, {}, None

    def output_features(self, in_features: int) -> int:
        """The number of output columns for ``in_features`` input columns.

        Parameters
        ----------
        in_features : int

        Returns
        -------
        int

        Raises
        ------
        ValueError
            The layer cannot take ``in_features`` inputs.
        """
        return in_features

    def to_config(self) -> dict[str, Any]:
        """The layer's description: its type and constructor arguments, JSON-able.

        Returns
        -------
        dict
            :func:`from_config` builds the layer again from it.
        """
        return {"type": type(self).__name__}

    # -- parameter access -----------------------------------------------------------
    def __getattr__(self, name):
        # Only called when normal lookup fails: expose params and buffers as attributes.
        d = self.__dict__
        for store in ("params", "buffers"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name, value):
        d = self.__dict__
        for store in ("params", "buffers"):
            if store in d and name in d[store]:
                current = d[store][name]
                new = _checks.numeric_array(value, name)
                if new.shape != current.shape:
                    raise ValueError(f"{name} must have shape {current.shape}, got shape {new.shape}")
                current[...] = new  # keep the live array: optimiser state and parameters() stay valid
                return
        if name in type(self).state_names:
            raise AttributeError(f"{type(self).__name__}.{name} does not exist: the layer has no such "
                                 "parameter, or is not yet part of a model (Sequential builds it)")
        object.__setattr__(self, name, value)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cache"] = None  # activations of the last batch are not part of the model
        if "init" in state and not isinstance(state["init"], _init.Initializer):
            state["init"] = _init.placeholder(state["init"])  # a lambda would not pickle
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    @property
    def _k(self):
        return BACKENDS[self.backend]

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_config().items() if k != "type")
        return f"{type(self).__name__}({args})"

    # -- passes ----------------------------------------------------------------------
    def forward(self, X: NDArray[Any], training: bool = False) -> NDArray[Any]:
        """The layer's output for a batch; in training, keep what :meth:`backward` needs.

        Parameters
        ----------
        X : numpy.ndarray of shape (N, in_features)
            The input, of the layer's dtype.
        training : bool, default False
            Training mode (batch statistics, dropout) rather than evaluation.

        Returns
        -------
        numpy.ndarray of shape (N, out_features)
        """
        raise NotImplementedError

    def backward(self, dOut: NDArray[Any]) -> NDArray[Any]:
        """The gradient with respect to the input; the parameters' gradients go to :attr:`grads`.

        Parameters
        ----------
        dOut : numpy.ndarray of shape (N, out_features)
            Gradient of the loss with respect to the layer's output.

        Returns
        -------
        numpy.ndarray of shape (N, in_features)

        Raises
        ------
        RuntimeError
            No training forward pass came before.
        """
        raise NotImplementedError

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward(..., training=True)")
        return self._cache


class Dense(Layer):
    """A fully connected layer: S = X W^T + b.

    W is (out_features, in_features) as in PyTorch; b is (out_features,), or
    None without bias. W is in the L2 penalty, b is not.

    Parameters
    ----------
    in_features : int
        Input columns, >= 1.
    out_features : int
        Output units, >= 1.
    init : str or callable, default "he"
        W's initialiser: a name of :data:`fastnn.init.NAMES` or a callable
        ``(shape, rng, dtype) -> array`` (see :mod:`fastnn.init`). b starts at 0.
    bias : bool, default True
        Whether the layer has a bias (an MLP with batch norm leaves it out).

    Raises
    ------
    TypeError, ValueError
        An argument of the wrong type or out of range, or an unknown initialiser.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> from fastnn import layers
    >>> model = fastnn.Sequential([layers.Dense(2, 3, init="ones")], dtype="float64")
    >>> model.layers[0].forward(np.array([[1.0, -2.0]]))
    array([[-1., -1., -1.]])
    """

    regularised = ("W",)
    state_names = ("W", "b")

    def __init__(self, in_features: int, out_features: int, init: str | Callable[..., Any] = "he",
                 bias: bool = True) -> None:
        super().__init__()
        self.in_features = _checks.integer(in_features, "in_features", minimum=1)
        self.out_features = _checks.integer(out_features, "out_features", minimum=1)
        self.init = _init.get(init)
        self.bias = _checks.boolean(bias, "bias")

    def build(self, rng: np.random.Generator, dtype: DTypeLike) -> None:
        super().build(rng, dtype)
        self.params["W"] = _init.draw(self.init, (self.out_features, self.in_features), rng, self.dtype)
        if self.bias:
            self.params["b"] = np.zeros(self.out_features, dtype=self.dtype)
        self._zero_bias = np.zeros(self.out_features, dtype=self.dtype)

    def __getattr__(self, name):
        if name == "b" and not self.__dict__.get("bias", True):
            return None
        return super().__getattr__(name)

    def output_features(self, in_features: int) -> int:
        if in_features != self.in_features:
            raise ValueError(f"{type(self).__name__} expects {self.in_features} input features, "
                             f"but the previous layer gives {in_features}")
        return self.out_features

    def to_config(self) -> dict[str, Any]:
        return {"type": "Dense", "in_features": self.in_features, "out_features": self.out_features,
                "init": _init.to_config(self.init), "bias": self.bias}

    def _bias(self):
        return self.params["b"] if self.bias else self._zero_bias

    def forward(self, X: NDArray[Any], training: bool = False) -> NDArray[Any]:
        self._cache = X
        return self._k.linear_forward(X, self.params["W"], self._bias())

    def forward_fused(self, X: NDArray[Any], activation: Activation) -> NDArray[Any]:
        """This layer's forward pass and that of the :class:`Activation` layer after it, in one call.

        One ``dense_forward`` kernel (the fused kernel the C engine runs) computes
        S = X W^T + b and H = f(S). Both layers keep what their backward passes need,
        as their own forward passes would, so ``backward`` runs layer by layer as usual.

        Parameters
        ----------
        X : numpy.ndarray, (N, in_features)
            The input, of the layer's dtype.
        activation : Activation
            The layer that follows this one.

        Returns
        -------
        numpy.ndarray
            H, (N, out_features).

        Raises
        ------
        TypeError, ValueError
            As the kernel's argument checks, for an X of the wrong dtype or shape.
        """
        _, H = self._k.dense_forward(X, self.params["W"], self.params.get("b"), activation.name,
                                     activation.alpha)
        self._cache = X
        activation._cache = H
        return H

    def backward(self, dOut: NDArray[Any]) -> NDArray[Any]:
        X = self._need_cache()
        dX, dW, db = self._k.linear_backward(dOut, X, self.params["W"])
        self.grads = {"W": dW, "b": db} if self.bias else {"W": dW}
        return dX


class BatchNorm(Layer):
    """Batch normalisation of n features, as PyTorch's BatchNorm1d.

    In training, each column is normalised with the batch's mean and biased
    variance, then scaled by gamma and shifted by beta; the running statistics
    are updated as running = (1 - momentum) running + momentum batch (momentum
    0.1 is the lecture notes' alpha = 0.9 on the old value). In evaluation the
    running statistics take the batch's place (an affine map; backward works
    there too). The running statistics start at mean 0, variance 1.

    Parameters
    ----------
    n : int
        The number of features, >= 1.
    eps : float, default 1e-5
        Added to the variance, > 0.
    momentum : float, default 0.1
        Weight of the batch in the running statistics, in [0, 1].
    running_var : {"unbiased", "biased"}, default "unbiased"
        Feed the running variance with the batch's unbiased variance (times
        n/(n - 1), as PyTorch) or with its biased variance (as the lecture notes).

    Raises
    ------
    TypeError, ValueError
        An argument of the wrong type or out of range.
    """

    state_names = ("gamma", "beta", "running_mean", "running_var")

    settings = {"eps": _checks.Real(low=0.0, low_open=True), "momentum": _checks.Real(low=0.0, high=1.0),
                "running_var_mode": _checks.Choice(("unbiased", "biased"))}

    def __init__(self, n: int, eps: float = 1e-5, momentum: float = 0.1, running_var: str = "unbiased") -> None:
        super().__init__()
        self.n = _checks.integer(n, "n", minimum=1)
        self.eps, self.momentum = eps, momentum
        self.running_var_mode = _checks.choice(running_var, "running_var", ("unbiased", "biased"))
        _checks.apply_settings(self)

    def build(self, rng: np.random.Generator, dtype: DTypeLike) -> None:
        super().build(rng, dtype)
        self.params["gamma"] = np.ones(self.n, dtype=self.dtype)
        self.params["beta"] = np.zeros(self.n, dtype=self.dtype)
        self.buffers["running_mean"] = np.zeros(self.n, dtype=self.dtype)
        self.buffers["running_var"] = np.ones(self.n, dtype=self.dtype)

    def output_features(self, in_features: int) -> int:
        if in_features != self.n:
            raise ValueError(f"BatchNorm expects {self.n} features, but the previous layer gives {in_features}")
        return self.n

    def to_config(self) -> dict[str, Any]:
        return {"type": "BatchNorm", "n": self.n, "eps": self.eps, "momentum": self.momentum,
                "running_var": self.running_var_mode}

    def forward(self, X: NDArray[Any], training: bool = False) -> NDArray[Any]:
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not training:
            # the statistics of this pass, kept for its backward (assigning the buffers
            # later does not change it)
            running = (self.buffers["running_mean"].copy(), self.buffers["running_var"].copy())
            self._cache = ("eval", X, *running)
            return self._k.batchnorm_inference_forward(X, gamma, beta, *running, self.eps)
        Y, mean, var = self._k.batchnorm_forward(X, gamma, beta, self.eps)
        self._cache = ("train", X, mean, var)
        self._k.batchnorm_running_update(self.buffers["running_mean"], self.buffers["running_var"], mean,
                                         var, X.shape[0], self.momentum, self.running_var_mode == "unbiased")
        return Y

    def backward(self, dOut: NDArray[Any]) -> NDArray[Any]:
        mode, X, mean, var = self._need_cache()
        gamma = self.params["gamma"]
        backward = self._k.batchnorm_inference_backward if mode == "eval" else self._k.batchnorm_backward
        dX, dgamma, dbeta = backward(dOut, X, gamma, mean, var, self.eps)
        self.grads = {"gamma": dgamma, "beta": dbeta}
        return dX


class Activation(Layer):
    """An elementwise activation layer: H = f(S).

    Parameters
    ----------
    name : str
        One of ``"identity"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``,
        ``"leaky_relu"``, ``"elu"``, ``"softplus"`` (see
        :func:`fastnn.reference.activation_forward`).
    alpha : float, optional
        The slope (leaky_relu, default 0.01) or scale (elu, default 1.0) below
        zero; ignored by the other activations.

    Raises
    ------
    TypeError, ValueError
        An unknown activation or an invalid alpha.
    """

    def __init__(self, name: str, alpha: float | None = None) -> None:
        super().__init__()
        self.name, alpha = _validation.check_activation(name, alpha)
        # the kernels take alpha only for the activations that have one
        self.alpha = alpha if self.name in _validation.DEFAULT_ALPHA else None

    def check_together(self, values: dict[str, Any], prefix: str = "") -> None:
        """Check name and alpha as assigned now, by the constructor's rule.

        Parameters
        ----------
        values : dict of str to object
            The settings; name and alpha are replaced by their checked values.
        prefix : str, default ""
            Put before the names in the message.
        """
        try:
            name, alpha = _validation.check_activation(self.name, self.alpha, arg=f"{prefix}name")
        except (TypeError, ValueError) as exc:
            if not prefix:
                raise
            raise type(exc)(f"{prefix.rstrip('.')}: {exc}") from None
        values.update(name=name, alpha=alpha if name in _validation.DEFAULT_ALPHA else None)

    def to_config(self) -> dict[str, Any]:
        return {"type": "Activation", "name": self.name, "alpha": self.alpha}

    def forward(self, X: NDArray[Any], training: bool = False) -> NDArray[Any]:
        H = self._k.activation_forward(self.name, X, self.alpha)
        self._cache = H
        return H

    def backward(self, dOut: NDArray[Any]) -> NDArray[Any]:
        return self._k.activation_backward(self.name, dOut, self._need_cache(), self.alpha)


def Identity() -> Activation:
    """The identity activation layer.

    Returns
    -------
    Activation
        ``Activation("identity")``.
    """
    return Activation("identity")


def Sigmoid() -> Activation:
    """The sigmoid activation layer.

    Returns
    -------
    Activation
        ``Activation("sigmoid")``.
    """
    return Activation("sigmoid")


def Tanh() -> Activation:
    """The tanh activation layer.

    Returns
    -------
    Activation
        ``Activation("tanh")``.
    """
    return Activation("tanh")


def ReLU() -> Activation:
    """The relu activation layer.

    Returns
    -------
    Activation
        ``Activation("relu")``.
    """
    return Activation("relu")


def LeakyReLU(alpha: float = 0.01) -> Activation:
    """The leaky ReLU activation layer: s above zero, alpha s below.

    Parameters
    ----------
    alpha : float, default 0.01
        The slope below zero.

    Returns
    -------
    Activation
        ``Activation("leaky_relu", alpha)``.
    """
    return Activation("leaky_relu", alpha)


def ELU(alpha: float = 1.0) -> Activation:
    """The ELU activation layer: s above zero, alpha (e^s - 1) below.

    Parameters
    ----------
    alpha : float, default 1.0
        The scale below zero.

    Returns
    -------
    Activation
        ``Activation("elu", alpha)``.
    """
    return Activation("elu", alpha)


def Softplus() -> Activation:
    """The softplus activation, log(1 + e^s), a smooth ReLU.

    Returns
    -------
    Activation
        ``Activation("softplus")``.
    """
    return Activation("softplus")


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability p and scale the rest by 1/(1 - p).

    The identity in evaluation (and for p = 0). The mask of the k-th training
    forward pass of this layer is ``dropout_mask(seed, k, X.shape, p)``
    (counter-based, see :func:`fastnn.reference.dropout_mask`); the kernels draw
    it again in the backward pass rather than keep it. ``seed`` is drawn from the
    model's seed when the model is built and ``step`` counts training passes;
    both are saved with the model.

    Parameters
    ----------
    p : float
        The drop probability, in [0, 1).

    Raises
    ------
    TypeError, ValueError
        p of the wrong type or out of range.
    """

    settings = {"p": _checks.Real(low=0.0, high=1.0, high_open=True), "seed": _checks.Integer(minimum=0),
                "step": _checks.Integer(minimum=0)}

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.seed = 0
        self.step = 0
        _checks.apply_settings(self)

    def build(self, rng: np.random.Generator, dtype: DTypeLike) -> None:
        super().build(rng, dtype)
        self.seed = int(rng.integers(0, 2 ** 63))
        self.step = 0

    def to_config(self) -> dict[str, Any]:
        return {"type": "Dropout", "p": self.p, "seed": self.seed, "step": self.step}

    def forward(self, X: NDArray[Any], training: bool = False) -> NDArray[Any]:
        if not training or self.p == 0.0:
            self._cache = None
            return X
        Y = self._k.dropout_forward(X, self.p, self.seed, self.step)
        self._cache = self.step  # the backward pass draws this pass's mask again
        self.step += 1
        return Y

    def backward(self, dOut: NDArray[Any]) -> NDArray[Any]:
        step = self._cache
        return dOut if step is None else self._k.dropout_backward(dOut, self.p, self.seed, step)


class Maxout(Layer):
    """Maxout units: each output is the maximum of k linear pieces of the input.

    out_j = max_i (x W_(j k + i)^T + b_(j k + i)), as in the lecture notes on
    maxout. W is (out_features * k, in_features) and b (out_features * k,): the
    k pieces of unit j are rows j*k .. j*k+k-1. The gradient goes to the piece
    that won (the first one on a tie; see :func:`fastnn.reference.maxout_forward`).

    Parameters
    ----------
    in_features : int
        Input columns, >= 1.
    out_features : int
        Output units, >= 1.
    k : int, default 2
        Pieces per unit, >= 1.
    init : str or callable, default "he"
        W's initialiser, as for :class:`Dense`; it sees shape
        (out_features * k, in_features).

    Raises
    ------
    TypeError, ValueError
        An argument of the wrong type or out of range.
    """

    regularised = ("W",)
    state_names = ("W", "b")

    def __init__(self, in_features: int, out_features: int, k: int = 2, init: str | Callable[..., Any] = "he") -> None:
        super().__init__()
        self.in_features = _checks.integer(in_features, "in_features", minimum=1)
        self.out_features = _checks.integer(out_features, "out_features", minimum=1)
        self.k = _checks.integer(k, "k", minimum=1)
        self.init = _init.get(init)

    def build(self, rng: np.random.Generator, dtype: DTypeLike) -> None:
        super().build(rng, dtype)
        rows = self.out_features * self.k
        self.params["W"] = _init.draw(self.init, (rows, self.in_features), rng, self.dtype)
        self.params["b"] = np.zeros(rows, dtype=self.dtype)

    output_features = Dense.output_features

    def to_config(self) -> dict[str, Any]:
        return {"type": "Maxout", "in_features": self.in_features, "out_features": self.out_features,
                "k": self.k, "init": _init.to_config(self.init)}

    def forward(self, X: NDArray[Any], training: bool = False) -> NDArray[Any]:
        S = self._k.linear_forward(X, self.params["W"], self.params["b"])
        H, winner = self._k.maxout_forward(S, self.k)
        self._cache = (X, winner)
        return H

    def backward(self, dOut: NDArray[Any]) -> NDArray[Any]:
        X, winner = self._need_cache()
        dS = self._k.maxout_backward(dOut, winner, self.k)
        dX, dW, db = self._k.linear_backward(dS, X, self.params["W"])
        self.grads = {"W": dW, "b": db}
        return dX


_TYPES = {cls.__name__: cls for cls in (Dense, BatchNorm, Activation, Dropout, Maxout)}


def from_config(config: dict[str, Any]) -> Layer:
    """Build an unbuilt layer from its description.

    Parameters
    ----------
    config : dict
        What :meth:`Layer.to_config` returned.

    Returns
    -------
    Layer

    Raises
    ------
    ValueError
        config is not a layer description.
    """
    if not isinstance(config, dict) or config.get("type") not in _TYPES:
        raise ValueError(f"layer config must be a dict with 'type' in {tuple(_TYPES)}, got {config!r}")
    config = dict(config)
    cls = _TYPES[config.pop("type")]
    if "init" in config:
        config["init"] = _init.from_config(config["init"])
    state: dict[str, Any] = {k: config.pop(k) for k in ("seed", "step") if k in config}
    layer = cls(**config)
    layer.__dict__.update(state)
    return layer
