"""Learning-rate schedules: callables ``schedule(t) -> lr`` of the update count t.

``fit(..., lr_schedule=s)`` sets ``optimizer.lr = s(optimizer.iterations)``
before every update, so t counts updates (mini-batches) from 0 over the
optimiser's whole life, across ``fit`` calls. ``fit`` evaluates the schedule
for every step it will train, and checks each value (a finite number >= 0),
before the first update: a bad value refuses the fit and changes nothing. Any callable of one integer
works; the classes below are picklable and describe themselves.
"""

from __future__ import annotations

import math

from . import _checks

__all__ = ["Schedule", "Constant", "StepDecay", "Cyclical", "constant", "step_decay", "cyclical", "triangular"]


class Schedule:
    def __call__(self, t):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """lr at every update."""

    def __init__(self, lr):
        self.lr = _checks.real(lr, "lr", low=0.0)

    def __call__(self, t):
        return self.lr


class StepDecay(Schedule):
    """lr * factor ** floor(t / step_size): multiply by ``factor`` every ``step_size`` updates.

    For a decay per epoch use step_size = the number of updates per epoch
    (``history.params["steps"]`` after one ``fit``).
    """

    def __init__(self, lr, factor=0.1, step_size=1000):
        self.lr = _checks.real(lr, "lr", low=0.0)
        self.factor = _checks.real(factor, "factor", low=0.0)
        self.step_size = _checks.integer(step_size, "step_size", minimum=1)

    def __call__(self, t):
        return self.lr * self.factor ** (int(t) // self.step_size)


class Cyclical(Schedule):
    """The triangular cyclical schedule (Smith 2017; the coursework's eta_t).

    Rises linearly from eta_min to eta_max over ``step_size`` updates (n_s),
    falls back over the next ``step_size``, and repeats with period 2 n_s:
    for 2 l n_s <= t <= (2l+1) n_s, eta_t = eta_min + (t - 2 l n_s) / n_s (eta_max - eta_min);
    for (2l+1) n_s <= t <= 2(l+1) n_s, eta_t = eta_max - (t - (2l+1) n_s) / n_s (eta_max - eta_min).
    """

    def __init__(self, eta_min, eta_max, step_size):
        self.eta_min = _checks.real(eta_min, "eta_min", low=0.0)
        self.eta_max = _checks.real(eta_max, "eta_max", low=self.eta_min)
        self.step_size = _checks.integer(step_size, "step_size", minimum=1)

    def __call__(self, t):
        n_s = self.step_size
        cycle = math.floor(t / (2 * n_s))
        x = abs(t / n_s - 2 * cycle - 1)  # 1 at the cycle's ends, 0 at its peak
        return self.eta_min + (self.eta_max - self.eta_min) * (1.0 - x)


constant = Constant
step_decay = StepDecay
cyclical = triangular = Cyclical
