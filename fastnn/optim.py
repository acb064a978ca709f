"""Optimisers with PyTorch's update equations and defaults.

``opt.step(params, grads, backend)`` updates the arrays of ``params`` in
place from ``grads`` (both dicts keyed by parameter name, as
``model.parameters()``), each through the backend's update kernel
(``sgd_update``, ``adagrad_update``, ``rmsprop_update``, ``adam_update`` of
:mod:`fastnn.ops` or :mod:`fastnn.reference`, where their equations are
written). An optimiser holds its hyper-parameters and its state (momentum
buffers, moment estimates, kept per parameter name, so one optimiser follows
one model across several ``fit`` calls); ``opt.iterations`` counts the
updates made. The learning rate ``opt.lr`` may be changed between steps
(learning-rate schedules do). L2 regularisation is the model's ``l2``, not an
optimiser option: the gradients arrive with its term added.

Every optimiser takes ``max_grad_norm``: when set, the gradients of one step
are first scaled together so that their global L2 norm (over all parameters,
the L2 term included) is at most ``max_grad_norm``, as
``torch.nn.utils.clip_grad_norm_`` does (the backends' ``clip_grad_norm``).

Each class declares the rule of every hyper-parameter once (``settings``, see
:func:`fastnn._checks.check_settings`); the constructor applies the rules, and
``fit`` applies them again, so a value assigned after construction
(``opt.lr = -0.1``) is refused before the first update.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _checks
from .layers import BACKENDS

__all__ = ["Optimizer", "SGD", "AdaGrad", "Adagrad", "RMSProp", "RMSprop", "Adam", "get", "NAMES"]


def _kernels(backend):
    """The kernel module of ``backend``: a name of :data:`fastnn.layers.BACKENDS` or the module."""
    if isinstance(backend, str):
        return BACKENDS[_checks.choice(backend, "backend", tuple(BACKENDS))]
    if not any(backend is module for module in BACKENDS.values()):
        raise TypeError(f"backend must be one of {tuple(BACKENDS)} or its module, got {backend!r}")
    return backend


class Optimizer:
    """Base class: the learning rate, gradient clipping, the update count and per-parameter state.

    Parameters
    ----------
    lr : float
        The learning rate, >= 0.
    max_grad_norm : float or None, default None
        Clip the gradients of each step by their global norm: when the L2 norm of all
        gradients together exceeds ``max_grad_norm`` (> 0), every gradient is multiplied by
        ``max_grad_norm / (norm + 1e-6)`` (``torch.nn.utils.clip_grad_norm_``). None: no clipping.

    Attributes
    ----------
    iterations : int
        The number of updates made.
    state : dict of str to dict
        Per parameter name, its state arrays (momentum buffers, moment estimates).
    """

    settings = {"lr": _checks.Real(low=0.0),
                "max_grad_norm": _checks.Real(low=0.0, low_open=True, optional=True)}
    #: no clipping, for optimisers made without this class's __init__ (or pickled before it)
    max_grad_norm = None

    def __init__(self, lr: float, max_grad_norm: float | None = None) -> None:
        rules = Optimizer.settings
        self.lr = rules["lr"](lr, "lr")
        self.max_grad_norm = rules["max_grad_norm"](max_grad_norm, "max_grad_norm")
        self.iterations = 0
        self.state: dict[str, dict[str, NDArray[Any]]] = {}

    def check_together(self, values: dict[str, Any], prefix: str = "") -> None:
        """Check the rules that join several settings; raise ValueError if one fails.

        Parameters
        ----------
        values : dict of str to object
            The settings, each already checked on its own.
        prefix : str, default ""
            Put before the names in the message (the owner's name for them).
        """

    def step(self, params: dict[str, NDArray[Any]], grads: dict[str, NDArray[Any]],
             backend: str | ModuleType = "c") -> None:
        """One update of every parameter in ``grads``.

        Parameters
        ----------
        params : dict of str to ndarray
            The parameters, updated in place.
        grads : dict of str to ndarray
            Their gradients (the L2 term included), for the names to update. With
            ``max_grad_norm`` set they are clipped together, in place.
        backend : {"c", "numpy"} or module, default "c"
            Whose update kernels run: :mod:`fastnn.ops` ("c") or :mod:`fastnn.reference`
            ("numpy"). A model passes its own backend.

        Raises
        ------
        TypeError, ValueError
            An unknown backend, or arrays the kernels refuse.
        """
        kernels = _kernels(backend)
        step = self.iterations + 1
        if self.max_grad_norm is not None:
            kernels.clip_grad_norm(list(grads.values()), self.max_grad_norm)
        for name, g in grads.items():
            self._update(kernels, params[name], g, self.state.setdefault(name, {}), step)
        self.iterations = step

    #: names of the per-parameter state arrays, in the order the C engine takes them
    state_keys: tuple[str, ...] = ()

    def _update(self, kernels, p, g, state, step):
        """Update ``p`` from ``g`` and its ``state`` dict with a kernel of ``kernels``;
        ``step`` is the 1-based update count."""
        raise NotImplementedError

    def init_state(self, p: NDArray[Any]) -> dict[str, NDArray[Any]]:
        """The state of one parameter before its first update.

        Parameters
        ----------
        p : numpy.ndarray
            The parameter.

        Returns
        -------
        dict of str to numpy.ndarray
            The state arrays, named as in ``state_keys`` (empty for plain SGD).
        """
        return {}

    def reset(self) -> None:
        """Forget all state and the update count, as a freshly constructed optimiser."""
        self.iterations = 0
        self.state = {}

    def get_config(self) -> dict[str, Any]:
        """The hyper-parameters, as keyword arguments of the constructor.

        Returns
        -------
        dict of str to object
        """
        return {k: v for k, v in vars(self).items() if k not in ("iterations", "state")}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening and Nesterov momentum.

    The equations and defaults of ``torch.optim.SGD``; the update is
    :func:`fastnn.reference.sgd_update`. The momentum buffer starts as the
    first step's gradient.

    Parameters
    ----------
    lr : float, default 1e-3
        The learning rate, >= 0.
    momentum : float, default 0.0
        The momentum factor, >= 0 (0: plain SGD).
    dampening : float, default 0.0
        In [0, 1]: the share of each gradient left out of the momentum buffer.
    nesterov : bool, default False
        Nesterov momentum (needs momentum > 0 and dampening 0).
    max_grad_norm : float or None, default None
        Clip the gradients of each step by their global L2 norm to at most this
        (> 0), as ``torch.nn.utils.clip_grad_norm_``; None: no clipping.

    Raises
    ------
    TypeError, ValueError
        A hyper-parameter of the wrong type or out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import optim
    >>> params, grads = {"W": np.array([1.0, -2.0])}, {"W": np.array([0.5, 0.5])}
    >>> opt = optim.SGD(lr=0.1)
    >>> opt.step(params, grads)
    >>> params["W"], opt.iterations
    (array([ 0.95, -2.05]), 1)
    """

    settings = {"momentum": _checks.Real(low=0.0), "dampening": _checks.Real(low=0.0, high=1.0),
                "nesterov": _checks.Boolean()}

    def __init__(self, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
                 max_grad_norm: float | None = None) -> None:
        super().__init__(lr, max_grad_norm)
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov
        _checks.apply_settings(self)

    def check_together(self, values: dict[str, Any], prefix: str = "") -> None:
        if values["nesterov"] and (values["momentum"] == 0.0 or values["dampening"] != 0.0):
            raise ValueError(f"{prefix}nesterov=True needs {prefix}momentum > 0 and {prefix}dampening = 0")

    # The buffer is born on the first update, which fills it with the gradient
    # (torch.optim.SGD), so init_state has nothing to make.
    state_keys = ("momentum",)

    def _update(self, kernels, p, g, state, step):
        buf = state.get("momentum")
        first_step = self.momentum != 0.0 and buf is None
        if first_step:
            buf = np.zeros_like(p)
        kernels.sgd_update(p, g, buf, self.lr, self.momentum, self.dampening, self.nesterov, first_step)
        if first_step:  # kept once filled: a refused update leaves the buffer unborn
            state["momentum"] = buf


class AdaGrad(Optimizer):
    """AdaGrad: each element's step shrinks with its accumulated squared gradients.

    The equations and defaults of ``torch.optim.Adagrad`` (also available under
    that spelling, ``optim.Adagrad``); the update is
    :func:`fastnn.reference.adagrad_update`.

    Parameters
    ----------
    lr : float, default 1e-2
        The learning rate, >= 0.
    lr_decay : float, default 0.0
        The learning rate at update t is lr / (1 + (t - 1) lr_decay); >= 0.
    initial_accumulator_value : float, default 0.0
        The starting value of the sum of squared gradients, >= 0.
    eps : float, default 1e-10
        Added to the root of the sum, >= 0.
    max_grad_norm : float or None, default None
        Clip the gradients of each step by their global L2 norm to at most this
        (> 0), as ``torch.nn.utils.clip_grad_norm_``; None: no clipping.

    Raises
    ------
    TypeError, ValueError
        A hyper-parameter of the wrong type or out of range.
    """

    settings = {"lr_decay": _checks.Real(low=0.0), "initial_accumulator_value": _checks.Real(low=0.0),
                "eps": _checks.Real(low=0.0)}

    def __init__(self, lr: float = 1e-2, lr_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, max_grad_norm: float | None = None) -> None:
        super().__init__(lr, max_grad_norm)
        self.lr_decay, self.initial_accumulator_value, self.eps = lr_decay, initial_accumulator_value, eps
        _checks.apply_settings(self)

    state_keys = ("sum",)

    def init_state(self, p: NDArray[Any]) -> dict[str, NDArray[Any]]:
        return {"sum": np.full_like(p, self.initial_accumulator_value)}

    def _update(self, kernels, p, g, state, step):
        if not state:
            state.update(self.init_state(p))
        kernels.adagrad_update(p, g, state["sum"], self.lr, step, self.lr_decay, self.eps)


class RMSProp(Optimizer):
    """RMSProp: the gradient divided by a running root mean square of its past values.

    The equations and defaults of ``torch.optim.RMSprop`` (also available under
    that spelling, ``optim.RMSprop``), optionally centred and with momentum; the
    update is :func:`fastnn.reference.rmsprop_update`.

    Parameters
    ----------
    lr : float, default 1e-2
        The learning rate, >= 0.
    alpha : float, default 0.99
        The smoothing constant of the running averages, in [0, 1].
    eps : float, default 1e-8
        Added to the root, >= 0.
    momentum : float, default 0.0
        The momentum factor, >= 0.
    centered : bool, default False
        Divide by the running standard deviation of the gradient instead of its
        root mean square.
    max_grad_norm : float or None, default None
        Clip the gradients of each step by their global L2 norm to at most this
        (> 0), as ``torch.nn.utils.clip_grad_norm_``; None: no clipping.

    Raises
    ------
    TypeError, ValueError
        A hyper-parameter of the wrong type or out of range.
    """

    settings = {"alpha": _checks.Real(low=0.0, high=1.0), "eps": _checks.Real(low=0.0),
                "momentum": _checks.Real(low=0.0), "centered": _checks.Boolean()}

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, max_grad_norm: float | None = None) -> None:
        super().__init__(lr, max_grad_norm)
        self.alpha, self.eps, self.momentum, self.centered = alpha, eps, momentum, centered
        _checks.apply_settings(self)

    state_keys = ("square_avg", "grad_avg", "momentum")

    def init_state(self, p: NDArray[Any]) -> dict[str, NDArray[Any]]:
        state = {"square_avg": np.zeros_like(p)}
        if self.centered:
            state["grad_avg"] = np.zeros_like(p)
        if self.momentum > 0:
            state["momentum"] = np.zeros_like(p)
        return state

    def _update(self, kernels, p, g, state, step):
        for key, value in self.init_state(p).items():  # centered or momentum may be set later
            state.setdefault(key, value)
        kernels.rmsprop_update(p, g, state["square_avg"], state.get("grad_avg"), state.get("momentum"),
                               self.lr, self.alpha, self.eps, self.momentum, self.centered)


class Adam(Optimizer):
    """Adam: bias-corrected running estimates of the gradient's first and second moments.

    The equations and defaults of ``torch.optim.Adam``; the update is
    :func:`fastnn.reference.adam_update`.

    Parameters
    ----------
    lr : float, default 1e-3
        The learning rate, >= 0.
    beta1 : float, default 0.9
        Decay of the first-moment estimate, in [0, 1).
    beta2 : float, default 0.999
        Decay of the second-moment estimate, in [0, 1).
    eps : float, default 1e-8
        Added to the root of the second moment, >= 0.
    max_grad_norm : float or None, default None
        Clip the gradients of each step by their global L2 norm to at most this
        (> 0), as ``torch.nn.utils.clip_grad_norm_``; None: no clipping.

    Raises
    ------
    TypeError, ValueError
        A hyper-parameter of the wrong type or out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import optim
    >>> params, grads = {"W": np.array([1.0, -2.0])}, {"W": np.array([0.5, 0.5])}
    >>> optim.Adam(lr=0.1).step(params, grads)
    >>> params["W"]
    array([ 0.9, -2.1])
    """

    settings = {"beta1": _checks.Real(low=0.0, high=1.0, high_open=True),
                "beta2": _checks.Real(low=0.0, high=1.0, high_open=True), "eps": _checks.Real(low=0.0)}

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 max_grad_norm: float | None = None) -> None:
        super().__init__(lr, max_grad_norm)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        _checks.apply_settings(self)

    state_keys = ("m", "v")

    def init_state(self, p: NDArray[Any]) -> dict[str, NDArray[Any]]:
        return {"m": np.zeros_like(p), "v": np.zeros_like(p)}

    def _update(self, kernels, p, g, state, step):
        if not state:
            state.update(self.init_state(p))
        kernels.adam_update(p, g, state["m"], state["v"], self.lr, step, self.beta1, self.beta2, self.eps)


Adagrad = AdaGrad
RMSprop = RMSProp

_OPTIMIZERS = {"sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSProp, "adam": Adam}
NAMES = tuple(_OPTIMIZERS)


def get(spec: str | Optimizer, name: str = "optimizer") -> Optimizer:
    """An optimiser from its name or as given.

    Parameters
    ----------
    spec : str or Optimizer
        One of :data:`NAMES` (case-insensitive; the optimiser gets its default
        settings), or an Optimizer instance, returned as it is.
    name : str, default "optimizer"
        The argument's name in error messages.

    Returns
    -------
    Optimizer

    Raises
    ------
    TypeError
        spec is neither a string nor an Optimizer.
    ValueError
        An unknown name.

    Examples
    --------
    >>> from fastnn import optim
    >>> optim.get("adam")
    Adam(lr=0.001, max_grad_norm=None, beta1=0.9, beta2=0.999, eps=1e-08)
    """
    return _checks.named(spec, name, _OPTIMIZERS, Optimizer, fold_case=True)
