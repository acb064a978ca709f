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
    """Base class of the schedules: ``schedule(t)`` is the learning rate of update t.

    Any callable of one integer works as a schedule; these classes are also
    picklable and describe themselves in their repr.
    """
    def __call__(self, t: int) -> float:
        """The learning rate of update ``t``.

        Parameters
        ----------
        t : int
            The update count, from 0.

        Returns
        -------
        float
        """
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """The same learning rate at every update.

    Parameters
    ----------
    lr : float
        >= 0.
    """

    def __init__(self, lr: float) -> None:
        self.lr = _checks.real(lr, "lr", low=0.0)

    def __call__(self, t: int) -> float:
        return self.lr


class StepDecay(Schedule):
    """Step decay: lr * factor ** floor(t / step_size).

    For a decay per epoch use step_size = the number of updates per epoch
    (``history.params["steps"]`` after one ``fit``).

    Parameters
    ----------
    lr : float
        The starting learning rate, >= 0.
    factor : float, default 0.1
        The multiplier, >= 0.
    step_size : int, default 1000
        Updates between two multiplications, >= 1.

    Examples
    --------
    >>> from fastnn.schedules import StepDecay
    >>> StepDecay(0.1, factor=0.5, step_size=100)(250)
    0.025
    """

    def __init__(self, lr: float, factor: float = 0.1, step_size: int = 1000) -> None:
        self.lr = _checks.real(lr, "lr", low=0.0)
        self.factor = _checks.real(factor, "factor", low=0.0)
        self.step_size = _checks.integer(step_size, "step_size", minimum=1)

    def __call__(self, t: int) -> float:
        return self.lr * self.factor ** (int(t) // self.step_size)


class Cyclical(Schedule):
    """The triangular cyclical schedule (Smith 2017; the coursework's eta_t).

    Rises linearly from eta_min to eta_max over ``step_size`` updates (n_s),
    falls back over the next ``step_size``, and repeats with period 2 n_s::

        2 l n_s <= t <= (2l+1) n_s:        eta_t = eta_min + (t - 2 l n_s) / n_s (eta_max - eta_min)
        (2l+1) n_s <= t <= 2(l+1) n_s:     eta_t = eta_max - (t - (2l+1) n_s) / n_s (eta_max - eta_min)

    Parameters
    ----------
    eta_min : float
        The lowest learning rate, >= 0.
    eta_max : float
        The highest, >= eta_min.
    step_size : int
        n_s, the updates of half a cycle, >= 1.

    Examples
    --------
    >>> from fastnn.schedules import Cyclical
    >>> s = Cyclical(0.0, 0.1, step_size=500)
    >>> [round(s(t), 3) for t in (0, 250, 500, 1000)]
    [0.0, 0.05, 0.1, 0.0]
    """

    def __init__(self, eta_min: float, eta_max: float, step_size: int) -> None:
        self.eta_min = _checks.real(eta_min, "eta_min", low=0.0)
        self.eta_max = _checks.real(eta_max, "eta_max", low=self.eta_min)
        self.step_size = _checks.integer(step_size, "step_size", minimum=1)

    def __call__(self, t: int) -> float:
        n_s = self.step_size
        cycle = math.floor(t / (2 * n_s))
        x = abs(t / n_s - 2 * cycle - 1)  # 1 at the cycle's ends, 0 at its peak
        return self.eta_min + (self.eta_max - self.eta_min) * (1.0 - x)


constant = Constant
step_decay = StepDecay
cyclical = triangular = Cyclical
