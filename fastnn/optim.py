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

import numpy as np

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
    """

    settings = {"lr": _checks.Real(low=0.0),
                "max_grad_norm": _checks.Real(low=0.0, low_open=True, optional=True)}
    #: no clipping, for optimisers made without this class's __init__ (or pickled before it)
    max_grad_norm = None

    def __init__(self, lr, max_grad_norm=None):
        rules = Optimizer.settings
        self.lr = rules["lr"](lr, "lr")
        self.max_grad_norm = rules["max_grad_norm"](max_grad_norm, "max_grad_norm")
        self.iterations = 0
        self.state = {}

    def check_together(self, values, prefix=""):
        """Rules that join several settings (``values``: the checked settings)."""

    def step(self, params, grads, backend="c"):
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

    def init_state(self, p):
        """The state of parameter array ``p`` before its first update (name -> array)."""
        return {}

    def reset(self):
        """Forget all state (as a freshly constructed optimiser)."""
        self.iterations = 0
        self.state = {}

    def get_config(self):
        return {k: v for k, v in vars(self).items() if k not in ("iterations", "state")}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and dampening
    (torch.optim.SGD); the update is :func:`fastnn.reference.sgd_update`."""

    settings = {"momentum": _checks.Real(low=0.0), "dampening": _checks.Real(low=0.0, high=1.0),
                "nesterov": _checks.Boolean()}

    def __init__(self, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, max_grad_norm=None):
        super().__init__(lr, max_grad_norm)
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov
        _checks.apply_settings(self)

    def check_together(self, values, prefix=""):
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
    """AdaGrad with learning-rate decay and an initial accumulator value (torch.optim.Adagrad);
    the update is :func:`fastnn.reference.adagrad_update`."""

    settings = {"lr_decay": _checks.Real(low=0.0), "initial_accumulator_value": _checks.Real(low=0.0),
                "eps": _checks.Real(low=0.0)}

    def __init__(self, lr=1e-2, lr_decay=0.0, initial_accumulator_value=0.0, eps=1e-10, max_grad_norm=None):
        super().__init__(lr, max_grad_norm)
        self.lr_decay, self.initial_accumulator_value, self.eps = lr_decay, initial_accumulator_value, eps
        _checks.apply_settings(self)

    state_keys = ("sum",)

    def init_state(self, p):
        return {"sum": np.full_like(p, self.initial_accumulator_value)}

    def _update(self, kernels, p, g, state, step):
        if not state:
            state.update(self.init_state(p))
        kernels.adagrad_update(p, g, state["sum"], self.lr, step, self.lr_decay, self.eps)


class RMSProp(Optimizer):
    """RMSProp, optionally centred and with momentum (torch.optim.RMSprop); the update is
    :func:`fastnn.reference.rmsprop_update`."""

    settings = {"alpha": _checks.Real(low=0.0, high=1.0), "eps": _checks.Real(low=0.0),
                "momentum": _checks.Real(low=0.0), "centered": _checks.Boolean()}

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, centered=False, max_grad_norm=None):
        super().__init__(lr, max_grad_norm)
        self.alpha, self.eps, self.momentum, self.centered = alpha, eps, momentum, centered
        _checks.apply_settings(self)

    state_keys = ("square_avg", "grad_avg", "momentum")

    def init_state(self, p):
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
    """Adam with bias-corrected moment estimates (torch.optim.Adam); the update is
    :func:`fastnn.reference.adam_update`."""

    settings = {"beta1": _checks.Real(low=0.0, high=1.0, high_open=True),
                "beta2": _checks.Real(low=0.0, high=1.0, high_open=True), "eps": _checks.Real(low=0.0)}

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, max_grad_norm=None):
        super().__init__(lr, max_grad_norm)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        _checks.apply_settings(self)

    state_keys = ("m", "v")

    def init_state(self, p):
        return {"m": np.zeros_like(p), "v": np.zeros_like(p)}

    def _update(self, kernels, p, g, state, step):
        if not state:
            state.update(self.init_state(p))
        kernels.adam_update(p, g, state["m"], state["v"], self.lr, step, self.beta1, self.beta2, self.eps)


Adagrad = AdaGrad
RMSprop = RMSProp

_OPTIMIZERS = {"sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSProp, "adam": Adam}
NAMES = tuple(_OPTIMIZERS)


def get(spec, name="optimizer"):
    """An optimiser from a name (case-insensitive, with default settings) or an Optimizer instance."""
    return _checks.named(spec, name, _OPTIMIZERS, Optimizer, fold_case=True)
