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

import numpy as np

from . import _checks, _validation, init as _init, ops, reference
from .reference import dropout_mask

__all__ = [
    "Layer", "Dense", "BatchNorm", "Activation", "Identity", "Sigmoid", "Tanh", "ReLU",
    "LeakyReLU", "ELU", "Softplus", "Dropout", "Maxout", "BACKENDS", "from_config", "dropout_mask",
]

BACKENDS = {"c": ops, "numpy": reference}


class Layer:
    """Base class. Subclasses set ``param_shapes``/``buffer_shapes`` and implement the passes."""

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
    def built(self):
        return self.dtype is not None

    def build(self, rng, dtype):
        """Allocate and initialise parameters of ``dtype`` from the Generator ``rng``."""
        self.dtype = _checks.dtype(dtype)
        self.params, self.buffers, self.grads, self._cache = {}, {}, {}, None

    def output_features(self, in_features):
        """Number of output columns for ``in_features`` input columns (ValueError if incompatible)."""
        return in_features

    def to_config(self):
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
    def forward(self, X, training=False):
        raise NotImplementedError

    def backward(self, dOut):
        raise NotImplementedError

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward(..., training=True)")
        return self._cache


class Dense(Layer):
    """S = X W^T + b. W is (out_features, in_features) as in PyTorch; b is None without bias."""

    regularised = ("W",)
    state_names = ("W", "b")

    def __init__(self, in_features, out_features, init="he", bias=True):
        super().__init__()
        self.in_features = _checks.integer(in_features, "in_features", minimum=1)
        self.out_features = _checks.integer(out_features, "out_features", minimum=1)
        self.init = _init.get(init)
        self.bias = _checks.boolean(bias, "bias")

    def build(self, rng, dtype):
        super().build(rng, dtype)
        self.params["W"] = _init.draw(self.init, (self.out_features, self.in_features), rng, self.dtype)
        if self.bias:
            self.params["b"] = np.zeros(self.out_features, dtype=self.dtype)
        self._zero_bias = np.zeros(self.out_features, dtype=self.dtype)

    def __getattr__(self, name):
        if name == "b" and not self.__dict__.get("bias", True):
            return None
        return super().__getattr__(name)

    def output_features(self, in_features):
        if in_features != self.in_features:
            raise ValueError(f"{type(self).__name__} expects {self.in_features} input features, "
                             f"but the previous layer gives {in_features}")
        return self.out_features

    def to_config(self):
        return {"type": "Dense", "in_features": self.in_features, "out_features": self.out_features,
                "init": _init.to_config(self.init), "bias": self.bias}

    def _bias(self):
        return self.params["b"] if self.bias else self._zero_bias

    def forward(self, X, training=False):
        self._cache = X
        return self._k.linear_forward(X, self.params["W"], self._bias())

    def forward_fused(self, X, activation):
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

    def backward(self, dOut):
        X = self._need_cache()
        dX, dW, db = self._k.linear_backward(dOut, X, self.params["W"])
        self.grads = {"W": dW, "b": db} if self.bias else {"W": dW}
        return dX


class BatchNorm(Layer):
    """Batch normalisation of n features (BatchNorm1d).

    Training: normalise with the batch mean and biased variance, then update
    running = (1 - momentum) * running + momentum * batch (momentum=0.1 is the
    lecture's alpha=0.9 on the old value). ``running_var="unbiased"`` (default,
    as PyTorch) feeds the running variance with the unbiased batch variance
    (times n/(n-1)); ``"biased"`` uses the batch variance itself, as the lecture.
    Evaluation: normalise with the running statistics (backward works there
    too, as for any affine map). Running statistics start at mean 0, variance 1.
    """

    state_names = ("gamma", "beta", "running_mean", "running_var")

    settings = {"eps": _checks.Real(low=0.0, low_open=True), "momentum": _checks.Real(low=0.0, high=1.0),
                "running_var_mode": _checks.Choice(("unbiased", "biased"))}

    def __init__(self, n, eps=1e-5, momentum=0.1, running_var="unbiased"):
        super().__init__()
        self.n = _checks.integer(n, "n", minimum=1)
        self.eps, self.momentum = eps, momentum
        self.running_var_mode = _checks.choice(running_var, "running_var", ("unbiased", "biased"))
        _checks.apply_settings(self)

    def build(self, rng, dtype):
        super().build(rng, dtype)
        self.params["gamma"] = np.ones(self.n, dtype=self.dtype)
        self.params["beta"] = np.zeros(self.n, dtype=self.dtype)
        self.buffers["running_mean"] = np.zeros(self.n, dtype=self.dtype)
        self.buffers["running_var"] = np.ones(self.n, dtype=self.dtype)

    def output_features(self, in_features):
        if in_features != self.n:
            raise ValueError(f"BatchNorm expects {self.n} features, but the previous layer gives {in_features}")
        return self.n

    def to_config(self):
        return {"type": "BatchNorm", "n": self.n, "eps": self.eps, "momentum": self.momentum,
                "running_var": self.running_var_mode}

    def forward(self, X, training=False):
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

    def backward(self, dOut):
        mode, X, mean, var = self._need_cache()
        gamma = self.params["gamma"]
        backward = self._k.batchnorm_inference_backward if mode == "eval" else self._k.batchnorm_backward
        dX, dgamma, dbeta = backward(dOut, X, gamma, mean, var, self.eps)
        self.grads = {"gamma": dgamma, "beta": dbeta}
        return dX


class Activation(Layer):
    """H = f(S) elementwise; names as in :mod:`fastnn.reference` ("relu", "tanh", ...)."""

    def __init__(self, name, alpha=None):
        super().__init__()
        self.name, alpha = _validation.check_activation(name, alpha)
        # the kernels take alpha only for the activations that have one
        self.alpha = alpha if self.name in _validation.DEFAULT_ALPHA else None

    def check_together(self, values, prefix=""):
        """name and alpha as assigned now, by the constructor's rule (no declared ``settings``)."""
        try:
            name, alpha = _validation.check_activation(self.name, self.alpha, arg=f"{prefix}name")
        except (TypeError, ValueError) as exc:
            if not prefix:
                raise
            raise type(exc)(f"{prefix.rstrip('.')}: {exc}") from None
        values.update(name=name, alpha=alpha if name in _validation.DEFAULT_ALPHA else None)

    def to_config(self):
        return {"type": "Activation", "name": self.name, "alpha": self.alpha}

    def forward(self, X, training=False):
        H = self._k.activation_forward(self.name, X, self.alpha)
        self._cache = H
        return H

    def backward(self, dOut):
        return self._k.activation_backward(self.name, dOut, self._need_cache(), self.alpha)


def Identity():
    return Activation("identity")


def Sigmoid():
    return Activation("sigmoid")


def Tanh():
    return Activation("tanh")


def ReLU():
    return Activation("relu")


def LeakyReLU(alpha=0.01):
    return Activation("leaky_relu", alpha)


def ELU(alpha=1.0):
    return Activation("elu", alpha)


def Softplus():
    """The softplus activation, log(1 + e^s), a smooth ReLU.

    Returns
    -------
    Activation
        ``Activation("softplus")``.
    """
    return Activation("softplus")


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability p and scale the rest by 1/(1-p).

    Identity in evaluation (and for p = 0). The mask of the k-th training forward
    pass of this layer is ``dropout_mask(seed, k, X.shape, p)`` (counter-based, see
    :func:`fastnn.reference.dropout_mask`); the kernels draw it again in the backward
    pass rather than keep it. ``seed`` is drawn from the model's seed when the model
    is built and ``step`` counts training passes; both are saved with the model.
    """

    settings = {"p": _checks.Real(low=0.0, high=1.0, high_open=True), "seed": _checks.Integer(minimum=0),
                "step": _checks.Integer(minimum=0)}

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.seed = 0
        self.step = 0
        _checks.apply_settings(self)

    def build(self, rng, dtype):
        super().build(rng, dtype)
        self.seed = int(rng.integers(0, 2 ** 63))
        self.step = 0

    def to_config(self):
        return {"type": "Dropout", "p": self.p, "seed": self.seed, "step": self.step}

    def forward(self, X, training=False):
        if not training or self.p == 0.0:
            self._cache = None
            return X
        Y = self._k.dropout_forward(X, self.p, self.seed, self.step)
        self._cache = self.step  # the backward pass draws this pass's mask again
        self.step += 1
        return Y

    def backward(self, dOut):
        step = self._cache
        return dOut if step is None else self._k.dropout_backward(dOut, self.p, self.seed, step)


class Maxout(Layer):
    """out_j = max_i (x W_{j,i}^T + b_{j,i}) over k linear pieces (the lecture notes on maxout).

    W is (out_features * k, in_features) and b (out_features * k,): the k
    pieces of unit j are rows j*k .. j*k+k-1. The gradient goes to the piece
    that won (the first one on a tie; see :func:`fastnn.reference.maxout_forward`).
    Initialisers see shape (out_features * k, in_features).
    """

    regularised = ("W",)
    state_names = ("W", "b")

    def __init__(self, in_features, out_features, k=2, init="he"):
        super().__init__()
        self.in_features = _checks.integer(in_features, "in_features", minimum=1)
        self.out_features = _checks.integer(out_features, "out_features", minimum=1)
        self.k = _checks.integer(k, "k", minimum=1)
        self.init = _init.get(init)

    def build(self, rng, dtype):
        super().build(rng, dtype)
        rows = self.out_features * self.k
        self.params["W"] = _init.draw(self.init, (rows, self.in_features), rng, self.dtype)
        self.params["b"] = np.zeros(rows, dtype=self.dtype)

    output_features = Dense.output_features

    def to_config(self):
        return {"type": "Maxout", "in_features": self.in_features, "out_features": self.out_features,
                "k": self.k, "init": _init.to_config(self.init)}

    def forward(self, X, training=False):
        S = self._k.linear_forward(X, self.params["W"], self.params["b"])
        H, winner = self._k.maxout_forward(S, self.k)
        self._cache = (X, winner)
        return H

    def backward(self, dOut):
        X, winner = self._need_cache()
        dS = self._k.maxout_backward(dOut, winner, self.k)
        dX, dW, db = self._k.linear_backward(dS, X, self.params["W"])
        self.grads = {"W": dW, "b": db}
        return dX


_TYPES = {cls.__name__: cls for cls in (Dense, BatchNorm, Activation, Dropout, Maxout)}


def from_config(config):
    """Build an (unbuilt) layer from ``layer.to_config()``."""
    if not isinstance(config, dict) or config.get("type") not in _TYPES:
        raise ValueError(f"layer config must be a dict with 'type' in {tuple(_TYPES)}, got {config!r}")
    config = dict(config)
    cls = _TYPES[config.pop("type")]
    if "init" in config:
        config["init"] = _init.from_config(config["init"])
    state = {k: config.pop(k) for k in ("seed", "step") if k in config}
    layer = cls(**config)
    layer.__dict__.update(state)
    return layer
