"""Diagnostics: numerical gradient checking, per-layer activation and gradient statistics, their plot.

:func:`gradient_check` compares a model's backward pass with centred finite
differences; :func:`layer_statistics` and :func:`plot_layer_histograms` show
how the activations and their gradients are spread, layer by layer, as the
lecture notes' histograms do. :func:`probe_round_trip`, :func:`probe_step_times`
and :func:`interpret_probes` are the machine probes ``fastnn info`` prints: the round
trip of a cache line between two cores, and a training step's time on one and two threads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from . import _checks, _plotting, layers as _layers

if TYPE_CHECKING:
    from .model import Sequential

__all__ = ["gradient_check", "relative_error", "layer_statistics", "plot_layer_histograms",
           "probe_round_trip", "probe_step_times", "interpret_probes"]


def gradient_check(model: Sequential, X: ArrayLike, y: ArrayLike, eps: float | None = None,
                   params: Iterable[str] | None = None, max_entries: int | None = None, relative: str = "max",
                   floor: float = 1e-6) -> dict[str, float]:
    """Compare the model's analytic gradients with centred finite differences.

    Works on a float64 copy of ``model`` (the model itself is not touched), in
    training mode (batch statistics) with dropout switched off, on the
    objective J = loss + l2 * sum ||W||^2. For each parameter element checked,
    numeric = (J(p + eps) - J(p - eps)) / (2 eps), two forward passes each: on a large
    network, ``params`` and ``max_entries`` keep the check to a few entries.

    Parameters
    ----------
    model : Sequential
        The model to check.
    X : array_like, (N, D)
        Inputs, one row per sample (a few samples are enough).
    y : array_like
        Targets, as for ``model.fit``.
    eps : float, optional
        The finite-difference step, > 0. None: 1e-6 with ``relative="max"``, 1e-4 with
        ``relative="elementwise"``. J carries a rounding error of a few units in its last
        place, which the difference divides by 2 eps: for an entry of size 1e-5 that error
        is 1e-5 of the entry at eps = 1e-6. The elementwise error measures each entry against
        its own size, so it takes the larger step, whose truncation error (of order eps^2)
        is still far smaller.
    params : iterable of str, optional
        Names from ``model.parameters()`` ("0.W", "1.gamma", ...) to check; None checks all.
    max_entries : int, optional
        Check only the first ``max_entries`` entries of each parameter (row-major order:
        for "0.W", the first unit's weights on the first inputs); None checks every entry.
    relative : {"max", "elementwise"}, optional
        "max": ``max|a - n| / max(max|a|, max|n|, 1e-12)`` over the entries checked.
        "elementwise": the largest ``|a - n| / max(floor, |a| + |n|)``, entry by entry, where
        a is the analytic and n the numerical gradient.
    floor : float, optional
        The denominator's lower bound of ``relative="elementwise"``, > 0: where both
        gradients are smaller, the error is measured against ``floor`` instead.

    Returns
    -------
    dict
        {parameter name: relative error}, for the parameters checked.

    Raises
    ------
    ValueError
        eps or floor is not > 0, a name in ``params`` is not a parameter of the model,
        max_entries < 1, relative is unknown, or X and y do not fit the model.
    TypeError
        An argument has the wrong type.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> model = fastnn.MLP([3, 4, 2], seed=0)
    >>> X = np.random.default_rng(0).standard_normal((5, 3))
    >>> errors = fastnn.gradient_check(model, X, np.array([0, 1, 0, 1, 1]))
    >>> sorted(errors)
    ['0.W', '0.b', '2.W', '2.b']
    >>> max(errors.values()) < 1e-7
    True
    """
    relative = _checks.choice(relative, "relative", ("max", "elementwise"))
    eps = (1e-6 if relative == "max" else 1e-4) if eps is None else _checks.real(eps, "eps", low=0.0, low_open=True)
    floor = _checks.real(floor, "floor", low=0.0, low_open=True)
    if max_entries is not None:
        max_entries = _checks.integer(max_entries, "max_entries", minimum=1)
    probe = model.copy(dtype="float64").train()
    names = _parameter_names(probe, params)
    for layer in probe.layers:
        if isinstance(layer, _layers.Dropout):
            layer.p = 0.0
    X, y = probe._data(X, y)
    probe._nonempty(X, "X")
    _, _, analytic = probe._loss_and_gradients(X, y, True)

    def objective():
        O = probe._forward(X, True)
        loss, _ = probe.loss(_layers.BACKENDS[probe.backend], O, y)
        return float(loss) + probe.l2_penalty()

    live = probe.parameters()
    errors = {}
    for name in names:
        flat = live[name].reshape(-1)  # a view: the parameters are contiguous
        count = flat.size if max_entries is None else min(max_entries, flat.size)
        numeric = np.empty(count)
        for i in range(count):
            original = flat[i]
            flat[i] = original + eps
            plus = objective()
            flat[i] = original - eps
            minus = objective()
            flat[i] = original
            numeric[i] = (plus - minus) / (2 * eps)
        errors[name] = relative_error(analytic[name].reshape(-1)[:count], numeric, relative, floor)
    return errors


def relative_error(analytic: ArrayLike, numeric: ArrayLike, relative: str = "max", floor: float = 1e-6) -> float:
    """How far two gradients are apart, relative to their size.

    Parameters
    ----------
    analytic, numeric : array_like
        The two gradients, of one shape (NaN entries in ``numeric``, entries not
        computed, are left out).
    relative : {"max", "elementwise"}, optional
        "max": ``max|a - n| / max(max|a|, max|n|, 1e-12)``.
        "elementwise": max over the entries of ``|a - n| / max(floor, |a| + |n|)``.
    floor : float, optional
        The elementwise denominator's lower bound, > 0.

    Returns
    -------
    float
        0.0 when no entry is compared.

    Raises
    ------
    ValueError
        The shapes differ, relative is unknown or floor is not > 0.

    Examples
    --------
    >>> from fastnn.diagnostics import relative_error
    >>> relative_error([1.0, 2.0], [1.0, 2.5])
    0.2
    """
    relative = _checks.choice(relative, "relative", ("max", "elementwise"))
    floor = _checks.real(floor, "floor", low=0.0, low_open=True)
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"analytic and numeric must have one shape, got {a.shape} and {n.shape}")
    keep = ~np.isnan(n)
    a, n = a[keep], n[keep]
    if a.size == 0:
        return 0.0
    difference = np.abs(a - n)
    if relative == "elementwise":
        return float(np.max(difference / np.maximum(floor, np.abs(a) + np.abs(n))))
    scale = max(float(np.max(np.abs(a))), float(np.max(np.abs(n))), 1e-12)
    return float(np.max(difference)) / scale


def _parameter_names(model, params):
    """The names of ``params`` (None: all), checked against the model's, in the model's order."""
    known = list(model.parameters())
    if params is None:
        return known
    if isinstance(params, str):
        params = [params]
    wanted = list(params)
    for name in wanted:
        if not isinstance(name, str):
            raise TypeError(f"params must hold parameter names (str), got {type(name).__name__}")
        if name not in known:
            raise ValueError(f"params: {name!r} is not a parameter of this model; its parameters are {known}")
    return [name for name in known if name in wanted]


def _is_activation_layer(layer):
    return isinstance(layer, (_layers.Activation, _layers.Maxout))


def _bins(value, name):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return _checks.integer(value, name, minimum=1)
    edges = _checks.numeric_array(value, name)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"{name} must be a number of bins or a 1-D array of at least 2 edges, "
                         f"got shape {edges.shape}")
    _checks.finite(edges, name)
    if np.any(np.diff(edges) <= 0):
        raise ValueError(f"{name} edges must increase strictly")
    return edges.astype(np.float64)


def _summary(values, bins, skip_zeros):
    """(mean, std, fraction exactly zero, (counts, edges)) of an array, in float64."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    zero = values == 0
    keep = np.isfinite(values)
    if skip_zeros:
        keep &= ~zero
    shown = values[keep]
    counts, edges = np.histogram(shown, bins=bins)
    return float(values.mean()), float(values.std()), float(zero.mean()), (counts, edges)


def layer_statistics(model: Sequential, X: ArrayLike, y: ArrayLike | None = None, bins: int | ArrayLike = 50,
                     gradient_bins: int | ArrayLike = 50, skip_zeros: bool = False,
                     training: bool | None = None) -> list[dict[str, Any]]:
    """Statistics of every activation layer's output for the inputs X, and of the loss gradient there.

    "Activation layers" are the :class:`~fastnn.layers.Activation` layers (and
    their shortcuts ``Tanh()``, ``ReLU()``...) and :class:`~fastnn.layers.Maxout`,
    in model order. The statistics of each such layer are a dict:

    - ``"layer"`` (its index in ``model.layers``), ``"name"`` ("tanh", "relu", "maxout"...);
    - ``"activation_mean"``, ``"activation_std"`` (population std over all N x D values),
      ``"fraction_zero"`` (share of values exactly 0: dead ReLU units),
      ``"activation_hist"``: ``(counts, edges)`` as from ``np.histogram``;
    - with ``y``: ``"gradient_mean"``, ``"gradient_std"``, ``"gradient_fraction_zero"`` and
      ``"gradient_hist"`` of dJ/dH, the gradient of the model's loss with respect to that
      layer's output H, as back-propagation computes it. The loss is the mean over the batch
      (as in ``fit``), so these gradients are 1/N of the per-sample ones; the L2 term has no
      gradient with respect to activations.

    Histograms count only finite values. Means and stds are over all values.
    The model is not changed: the passes run on a copy (its parameters, batch-norm running
    statistics, dropout counters and last gradients stay as they were).

    Parameters
    ----------
    model : Sequential
        The model.
    X : array_like of shape (N, D)
        The inputs.
    y : array_like, optional
        Targets, as for ``fit``; with them the loss gradients are reported too.
    bins, gradient_bins : int or array_like, default 50
        A number of bins spanning each layer's own range, or an array of edges
        (the same for every layer; values outside are not counted).
    skip_zeros : bool, default False
        Leave exact zeros out of the histograms (as the lecture's ReLU figures;
        ``fraction_zero`` says how many).
    training : bool, optional
        Run in training mode (batch statistics, dropout) or not; None uses the
        model's current mode.

    Returns
    -------
    list of dict
        One dict per activation layer, in model order.

    Raises
    ------
    TypeError, ValueError
        Arguments of the wrong type or value, or X and y that do not fit the model.
    """
    bins = _bins(bins, "bins")
    gradient_bins = _bins(gradient_bins, "gradient_bins")
    skip_zeros = _checks.boolean(skip_zeros, "skip_zeros")
    probe = model.copy()
    mode = probe.training if training is None else _checks.boolean(training, "training")
    if y is None:
        H = probe._input(X, "X")
    else:
        H, y = probe._data(X, y)
    probe._nonempty(H, "X")

    stats = []
    for i, layer in enumerate(probe.layers):
        H = layer.forward(H, mode)
        if _is_activation_layer(layer):
            mean, std, zero, hist = _summary(H, bins, skip_zeros)
            stats.append({"layer": i, "name": getattr(layer, "name", type(layer).__name__.lower()),
                          "activation_mean": mean, "activation_std": std, "fraction_zero": zero,
                          "activation_hist": hist})
    if y is not None and stats:
        _, dOut = probe.loss(_layers.BACKENDS[probe.backend], H, y)
        by_layer = {s["layer"]: s for s in stats}
        lowest = stats[0]["layer"]
        for i in range(len(probe.layers) - 1, lowest - 1, -1):
            if i in by_layer:
                mean, std, zero, hist = _summary(dOut, gradient_bins, skip_zeros)
                by_layer[i].update({"gradient_mean": mean, "gradient_std": std,
                                    "gradient_fraction_zero": zero, "gradient_hist": hist})
            if i > lowest:  # nothing below the lowest activation layer is reported
                dOut = probe.layers[i].backward(dOut)
    return stats


def plot_layer_histograms(stats: Iterable[dict[str, Any]], path: str | os.PathLike[str], title: str | None = None,
                          dpi: int = 100) -> str | os.PathLike[str]:
    """Draw ``layer_statistics`` output as in the lecture: one histogram per layer, side by side.

    The top row shows the activations, the bottom row (when the statistics have gradients) the
    loss gradients with a logarithmic count axis, as the lecture's gradient figures. Each panel
    is titled with the layer's number, name, mean and std. Needs matplotlib
    (``pip install matplotlib``, or ``pip install '.[plot]'`` in fastnn's source folder).

    Parameters
    ----------
    stats : list of dict
        What :func:`layer_statistics` returned.
    path : str or os.PathLike
        The image file, written atomically; the format comes from the extension
        (PNG without one).
    title : str, optional
        The figure's title.
    dpi : int, default 100
        The image's resolution.

    Returns
    -------
    str or os.PathLike
        ``path``.

    Raises
    ------
    ValueError
        stats is empty.
    TypeError
        An entry of stats is not a layer's statistics.
    ImportError
        matplotlib is not installed.
    """
    stats = list(stats)
    if not stats:
        raise ValueError("stats must hold at least one layer's statistics (from layer_statistics), got none")
    for k, s in enumerate(stats):
        if not isinstance(s, dict) or "activation_hist" not in s:
            raise TypeError(f"stats[{k}] must be a dict from layer_statistics, got {type(s).__name__}")
    gradients = all("gradient_hist" in s for s in stats)
    rows = [("activation", "activations")] + ([("gradient", "gradients")] if gradients else [])
    width, height = 2.1 * len(stats) + 0.7, 2.1 * len(rows) + 0.6
    fig = _plotting.new_figure("plot_layer_histograms", figsize=(width, height))
    # fixed margins in inches: tight_layout would cost as much as drawing the figure again
    fig.subplots_adjust(left=0.7 / width, right=1 - 0.15 / width, bottom=0.35 / height, top=1 - 0.75 / height,
                        wspace=0.35, hspace=0.75)
    axes = fig.subplots(len(rows), len(stats), squeeze=False)
    for r, (key, label) in enumerate(rows):
        for c, s in enumerate(stats):
            ax = axes[r, c]
            counts, edges = s[f"{key}_hist"]
            ax.stairs(counts, edges, fill=True, color="C0" if key == "activation" else "C3")
            if key == "gradient" and np.any(counts > 0):
                ax.set_yscale("log")
            ax.set_title(f"layer {c + 1} ({s['name']})\nmean {s[f'{key}_mean']:.2g}, std {s[f'{key}_std']:.2g}",
                         fontsize=7)
            ax.tick_params(labelsize=6)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            ax.xaxis.get_offset_text().set_fontsize(6)
        axes[r, 0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _plotting.save_figure(fig, path, dpi=dpi)


# ---------------------------------------------------------------- machine probes

#: above this round trip (ns) the two cores are far apart: another chiplet or socket
FAR_ROUND_TRIP_NS = 300.0
#: below this speed-up of two threads over one, with close cores, something else is slowing them
GOOD_SPEEDUP = 1.3
#: the network, batch size and dtype of probe_step_times: a step short enough that its
#: synchronisations, not its arithmetic, decide whether a second thread helps
PROBE_SIZES = (3072, 50, 50, 10)
PROBE_BATCH = 100


def allowed_cpus() -> int:
    """How many CPUs this process may run on (its affinity mask, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity masks on this platform
        return os.cpu_count() or 1


def probe_round_trip(runs: int = 9, trips: int = 2000) -> float | None:
    """The round trip of a cache line between two threads on two different CPUs, in ns.

    Two threads, pinned to the first two CPUs of the process's affinity mask, pass a
    counter back and forth on one cache line (one stores, the other answers). Every
    synchronisation between fastnn's threads costs at least this: about a hundred
    nanoseconds between cores of one chip, several hundred between chiplets or sockets,
    where two threads may train more slowly than one.

    Parameters
    ----------
    runs : int, default 9
        Runs of the ping-pong; the result is their median (1 to 1000).
    trips : int, default 2000
        Round trips per run, >= 1 (a run also stops after 20 ms, so that a loaded
        machine cannot make the probe wait long).

    Returns
    -------
    float or None
        The median round trip in nanoseconds; None when the process may run on one
        CPU only (or the platform has no affinity masks), and nothing was measured.

    Raises
    ------
    TypeError, ValueError
        ``runs`` or ``trips`` is not an integer in range.

    Examples
    --------
    >>> from fastnn.diagnostics import probe_round_trip
    >>> ns = probe_round_trip()
    >>> ns is None or ns > 0
    True
    """
    from . import _ops

    runs = _checks.integer(runs, "runs", minimum=1)
    if runs > 1000:
        raise ValueError(f"runs must be at most 1000, got {runs}")
    trips = _checks.integer(trips, "trips", minimum=1)
    if trips > 2**31 - 1:
        raise ValueError(f"trips must be at most {2**31 - 1}, got {trips}")
    result = _ops.probe_round_trip(runs, trips)
    return None if result is None else float(result[0])


def probe_step_times(threads: Iterable[int] = (1, 2), rounds: int = 5, steps: int = 8,
                     seed: int = 0) -> dict[int, float]:
    """Seconds per training step of a short step, on each thread count, timed in alternation.

    Trains ``fastnn.MLP([3072, 50, 50, 10], batch_norm=True, dtype="float32")`` with
    ``fit`` (SGD, batches of 100, ``steps`` steps per call) on random data, one call per
    thread count per round, the counts alternating so that a change of the machine's
    state hits them alike; the thread count is set with :func:`fastnn.set_num_threads`
    and restored afterwards. The measured thread choice is pinned to all threads while
    the probe runs (so a count of 2 really runs on 2 threads) and set back afterwards,
    which starts the engines' choosers again. A step of this network is short (a fraction of a
    millisecond), so the cost of the threads' synchronisations shows in it.

    Parameters
    ----------
    threads : sequence of int, default (1, 2)
        The thread counts to time, each >= 1.
    rounds : int, default 5
        Timed calls per thread count (after one untimed call each), >= 1.
    steps : int, default 8
        Training steps per call, >= 1.
    seed : int, default 0
        Seed of the data and of the network's initial weights.

    Returns
    -------
    dict
        {thread count: median seconds per step}.

    Raises
    ------
    TypeError, ValueError
        An argument is not an integer in range, or ``threads`` is empty.

    Examples
    --------
    >>> from fastnn.diagnostics import probe_step_times
    >>> times = probe_step_times(threads=(1,), rounds=1, steps=2)
    >>> sorted(times) == [1] and times[1] > 0
    True
    """
    import fastnn

    from . import optim as _optim

    if isinstance(threads, (str, bytes)) or not hasattr(threads, "__iter__"):
        raise TypeError(f"threads must be a sequence of thread counts, got {type(threads).__name__}")
    counts = [_checks.integer(t, f"threads[{i}]", minimum=1) for i, t in enumerate(threads)]
    if not counts:
        raise ValueError("threads must name at least one thread count")
    rounds = _checks.integer(rounds, "rounds", minimum=1)
    steps = _checks.integer(steps, "steps", minimum=1)
    seed = _checks.integer(seed, "seed", minimum=0)

    rng = np.random.default_rng(seed)
    n = steps * PROBE_BATCH
    X = rng.standard_normal((n, PROBE_SIZES[0]), dtype=np.float32)
    y = rng.integers(0, PROBE_SIZES[-1], n)
    model = fastnn.MLP(list(PROBE_SIZES), batch_norm=True, dtype="float32", seed=seed)
    before = fastnn.get_num_threads()
    # the measured thread choice would run some "2-thread" steps on one thread; the probe
    # times what each thread count costs, so it pins the choice to every thread asked for
    choice_before = fastnn._ops.thread_choice()
    samples: dict[int, list[float]] = {t: [] for t in counts}

    def one_call(t):
        fastnn.set_num_threads(t)
        start = time.perf_counter()
        model.fit(X, y, epochs=1, batch_size=PROBE_BATCH, optimizer=_optim.SGD(lr=0.01), verbose=0)
        return (time.perf_counter() - start) / steps

    try:
        fastnn._ops.set_thread_choice("all")
        for t in counts:  # untimed: buffers, thread pools and caches warm
            one_call(t)
        for _ in range(rounds):
            for t in counts:
                samples[t].append(one_call(t))
    finally:
        fastnn._ops.set_thread_choice(choice_before)
        fastnn.set_num_threads(before)
    return {t: float(np.median(v)) for t, v in samples.items()}


def interpret_probes(round_trip_ns: float | None, step_times: Mapping[int, float]) -> str:
    """One line that reads the probes: whether two threads pay here, and why.

    Parameters
    ----------
    round_trip_ns : float or None
        :func:`probe_round_trip`'s result (None: one CPU).
    step_times : dict
        :func:`probe_step_times`' result, with the counts 1 and (unless one CPU) 2.

    Returns
    -------
    str

    Examples
    --------
    >>> from fastnn.diagnostics import interpret_probes
    >>> interpret_probes(450.0, {1: 4e-4, 2: 5e-4})
    'two threads slower than one here: the cores are far apart (a cache line takes 450 ns there and back)'
    """
    if round_trip_ns is None or 2 not in step_times:
        return "one CPU available: fastnn trains on one thread here"
    speedup = step_times[1] / step_times[2]
    far = round_trip_ns > FAR_ROUND_TRIP_NS
    trip = f"a cache line takes {round_trip_ns:.0f} ns there and back"
    if speedup < 1.0:
        if far:
            return f"two threads slower than one here: the cores are far apart ({trip})"
        return (f"two threads slower than one here, though the cores are close ({trip}): "
                "probably other programs are using the CPUs")
    if far:
        return f"two threads {speedup:.2f}x faster than one, though the cores are far apart ({trip})"
    if speedup < GOOD_SPEEDUP:
        return (f"two threads only {speedup:.2f}x faster than one, though the cores are close ({trip}): "
                "probably other programs are using the CPUs")
    return f"two threads {speedup:.2f}x faster than one: the cores are close ({trip})"
