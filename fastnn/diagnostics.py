"""Diagnostics: numerical gradient checking, per-layer activation and gradient statistics, their plot."""

from __future__ import annotations

import numpy as np

from . import _checks, _plotting, layers as _layers

__all__ = ["gradient_check", "relative_error", "layer_statistics", "plot_layer_histograms"]


def gradient_check(model, X, y, eps=None, params=None, max_entries=None, relative="max", floor=1e-6):
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
        "max": max|a - n| / max(max|a|, max|n|, 1e-12) over the entries checked.
        "elementwise": the largest |a - n| / max(floor, |a| + |n|), entry by entry, where
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


def relative_error(analytic, numeric, relative="max", floor=1e-6):
    """How far two gradients are apart, relative to their size.

    Parameters
    ----------
    analytic, numeric : array_like
        The two gradients, of one shape (NaN entries in ``numeric``, entries not
        computed, are left out).
    relative : {"max", "elementwise"}, optional
        "max": max|a - n| / max(max|a|, max|n|, 1e-12).
        "elementwise": max over the entries of |a - n| / max(floor, |a| + |n|).
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


def layer_statistics(model, X, y=None, bins=50, gradient_bins=50, skip_zeros=False, training=None):
    """Statistics of every activation layer's output for the inputs X, and of the loss gradient there.

    "Activation layers" are the :class:`~fastnn.layers.Activation` layers (and
    their shortcuts ``Tanh()``, ``ReLU()``...) and :class:`~fastnn.layers.Maxout`,
    in model order. Returns one dict per such layer:

    - ``"layer"`` (its index in ``model.layers``), ``"name"`` ("tanh", "relu", "maxout"...);
    - ``"activation_mean"``, ``"activation_std"`` (population std over all N x D values),
      ``"fraction_zero"`` (share of values exactly 0: dead ReLU units),
      ``"activation_hist"``: ``(counts, edges)`` as from ``np.histogram``;
    - with ``y``: ``"gradient_mean"``, ``"gradient_std"``, ``"gradient_fraction_zero"`` and
      ``"gradient_hist"`` of dJ/dH, the gradient of the model's loss with respect to that
      layer's output H, as back-propagation computes it. The loss is the mean over the batch
      (as in ``fit``), so these gradients are 1/N of the per-sample ones; the L2 term has no
      gradient with respect to activations.

    ``bins``/``gradient_bins``: a number of bins spanning each layer's own range, or an array
    of edges (the same for every layer; values outside are not counted). Histograms count only
    finite values; with ``skip_zeros=True`` they also leave out exact zeros (as the lecture's
    ReLU figures: ``fraction_zero`` says how many). Means and stds are over all values.

    The model is not changed: the passes run on a copy (its parameters, batch-norm running
    statistics, dropout counters and last gradients stay as they were). ``training``: run in
    training mode (batch statistics, dropout) or not; None uses the model's current mode.
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


def plot_layer_histograms(stats, path, title=None, dpi=100):
    """Draw ``layer_statistics`` output as in the lecture: one histogram per layer, side by side.

    The top row shows the activations, the bottom row (when the statistics have gradients) the
    loss gradients with a logarithmic count axis, as the lecture's gradient figures. Each panel
    is titled with the layer's number, name, mean and std. Written atomically to ``path``
    (format from the extension, PNG without one); returns the path. Needs matplotlib
    (``pip install matplotlib``).
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
