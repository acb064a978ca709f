"""Optimisers with PyTorch's update equations and defaults.

``opt.step(params, grads)`` updates the arrays of ``params`` in place from
``grads`` (both dicts keyed by parameter name, as ``model.parameters()``).
State (momentum buffers, moment estimates) is kept per name, so one
optimiser follows one model across several ``fit`` calls; ``opt.iterations``
counts the updates made. The learning rate ``opt.lr`` may be changed between
steps (learning-rate schedules do). L2 regularisation is the model's ``l2``,
not an optimiser option. All arithmetic is NumPy in the parameters' dtype,
shared by both backends.
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["Optimizer", "SGD", "AdaGrad", "Adagrad", "RMSProp", "RMSprop", "Adam", "get", "NAMES"]


class Optimizer:
    def __init__(self, lr):
        self.lr = _checks.real(lr, "lr", low=0.0)
        self.iterations = 0
        self.state = {}

    def step(self, params, grads):
        """One update of every parameter in ``grads``."""
        for name, g in grads.items():
            self._update(name, params[name], g, self.state.setdefault(name, {}))
        self.iterations += 1

    #: names of the per-parameter state arrays, in the order the C engine takes them
    state_keys = ()

    def _update(self, name, p, g, state):
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
    """p -= lr * v, with v = g (momentum 0), or the momentum buffer
    b = momentum * b + (1 - dampening) * g (b = g on the first step) and
    v = b, or v = g + momentum * b with nesterov=True (torch.optim.SGD)."""

    def __init__(self, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False):
        super().__init__(lr)
        self.momentum = _checks.real(momentum, "momentum", low=0.0)
        self.dampening = _checks.real(dampening, "dampening", low=0.0, high=1.0)
        self.nesterov = _checks.boolean(nesterov, "nesterov")
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")

    # The buffer is born on the first update as a copy of the gradient (torch.optim.SGD),
    # so init_state has nothing to make.
    state_keys = ("momentum",)

    def _update(self, name, p, g, state):
        t = p.dtype.type
        if self.momentum != 0.0:
            buf = state.get("momentum")
            if buf is None:
                buf = state["momentum"] = g.copy()
            else:
                buf *= t(self.momentum)
                buf += t(1.0 - self.dampening) * g
            g = g + t(self.momentum) * buf if self.nesterov else buf
        p -= t(self.lr) * g


class AdaGrad(Optimizer):
    """s += g^2; p -= lr / (1 + (k - 1) lr_decay) * g / (sqrt(s) + eps), k the step (torch.optim.Adagrad)."""

    def __init__(self, lr=1e-2, lr_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(lr)
        self.lr_decay = _checks.real(lr_decay, "lr_decay", low=0.0)
        self.initial_accumulator_value = _checks.real(initial_accumulator_value, "initial_accumulator_value", low=0.0)
        self.eps = _checks.real(eps, "eps", low=0.0)

    state_keys = ("sum",)

    def init_state(self, p):
        return {"sum": np.full_like(p, self.initial_accumulator_value)}

    def _update(self, name, p, g, state):
        t = p.dtype.type
        if not state:
            state.update(self.init_state(p))
        state["sum"] += g * g
        clr = self.lr / (1.0 + self.iterations * self.lr_decay)
        p -= t(clr) * (g / (np.sqrt(state["sum"]) + t(self.eps)))


class RMSProp(Optimizer):
    """a = alpha a + (1 - alpha) g^2; d = sqrt(a) + eps (sqrt(a - m^2) + eps when centered, m the
    running mean of g); p -= lr g / d, or with momentum b = momentum b + g / d, p -= lr b
    (torch.optim.RMSprop)."""

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
        super().__init__(lr)
        self.alpha = _checks.real(alpha, "alpha", low=0.0, high=1.0)
        self.eps = _checks.real(eps, "eps", low=0.0)
        self.momentum = _checks.real(momentum, "momentum", low=0.0)
        self.centered = _checks.boolean(centered, "centered")

    state_keys = ("square_avg", "grad_avg", "momentum")

    def init_state(self, p):
        state = {"square_avg": np.zeros_like(p)}
        if self.centered:
            state["grad_avg"] = np.zeros_like(p)
        if self.momentum > 0:
            state["momentum"] = np.zeros_like(p)
        return state

    def _update(self, name, p, g, state):
        t = p.dtype.type
        alpha = t(self.alpha)
        if not state:
            state.update(self.init_state(p))
        sq = state["square_avg"]
        sq *= alpha
        sq += (t(1) - alpha) * g * g
        if self.centered:
            ga = state["grad_avg"]
            ga *= alpha
            ga += (t(1) - alpha) * g
            avg = np.sqrt(sq - ga * ga) + t(self.eps)
        else:
            avg = np.sqrt(sq) + t(self.eps)
        if self.momentum > 0:
            buf = state["momentum"]
            buf *= t(self.momentum)
            buf += g / avg
            p -= t(self.lr) * buf
        else:
            p -= t(self.lr) * (g / avg)


class Adam(Optimizer):
    """m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^k) * m / (sqrt(v) / sqrt(1 - b2^k) + eps), k the step (torch.optim.Adam)."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1 = _checks.real(beta1, "beta1", low=0.0, high=1.0, high_open=True)
        self.beta2 = _checks.real(beta2, "beta2", low=0.0, high=1.0, high_open=True)
        self.eps = _checks.real(eps, "eps", low=0.0)

    state_keys = ("m", "v")

    def init_state(self, p):
        return {"m": np.zeros_like(p), "v": np.zeros_like(p)}

    def _update(self, name, p, g, state):
        t = p.dtype.type
        if not state:
            state.update(self.init_state(p))
        m, v = state["m"], state["v"]
        b1, b2 = t(self.beta1), t(self.beta2)
        m *= b1
        m += (t(1) - b1) * g
        v *= b2
        v += (t(1) - b2) * g * g
        k = self.iterations + 1
        step_size = self.lr / (1.0 - self.beta1 ** k)
        denom = np.sqrt(v) / t(np.sqrt(1.0 - self.beta2 ** k)) + t(self.eps)
        p -= t(step_size) * (m / denom)


Adagrad = AdaGrad
RMSprop = RMSProp

_OPTIMIZERS = {"sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSProp, "adam": Adam}
NAMES = tuple(_OPTIMIZERS)


def get(spec, name="optimizer"):
    """An optimiser from a name (case-insensitive, with default settings) or an Optimizer instance."""
    return _checks.named(spec, name, _OPTIMIZERS, Optimizer, fold_case=True)
