"""Diagnostics: numerical gradient checking."""

from __future__ import annotations

import numpy as np

from . import _checks, layers as _layers

__all__ = ["gradient_check"]


def gradient_check(model, X, y, eps=1e-6):
    """Compare the model's analytic gradients with centred finite differences.

    Works on a float64 copy of ``model`` (the model itself is not touched), in
    training mode (batch statistics) with dropout switched off, on the
    objective J = loss + l2 * sum ||W||^2. For each parameter element,
    numeric = (J(p + eps) - J(p - eps)) / (2 eps). Returns
    {parameter name: max|analytic - numeric| / max(max|analytic|, max|numeric|, 1e-12)}.
    Costs two forward passes per parameter element: use a small network and batch.
    """
    eps = _checks.real(eps, "eps", low=0.0, low_open=True)
    probe = model.copy(dtype="float64").train()
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

    errors = {}
    for name, p in probe.parameters().items():
        numeric = np.empty_like(p)
        flat, num_flat = p.reshape(-1), numeric.reshape(-1)
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + eps
            plus = objective()
            flat[i] = original - eps
            minus = objective()
            flat[i] = original
            num_flat[i] = (plus - minus) / (2 * eps)
        a = analytic[name]
        scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(numeric), initial=0.0)), 1e-12)
        errors[name] = float(np.max(np.abs(a - numeric), initial=0.0)) / scale
    return errors
