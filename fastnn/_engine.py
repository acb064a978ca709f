"""The bridge from a Sequential model to the C training engine (csrc/engine_impl.h).

``fit`` with the C backend describes the model once per call (layers,
parameters, optimiser state, the data) and hands the engine runs of steps;
the engine trains them with the GIL released and comes back with each step's
loss and correct count. Parameters, batch-norm running statistics and
optimiser state are the model's and optimiser's own live arrays, so between
two runs (and after an interrupted fit) they are exactly what the Python path
would hold after the same steps, and either path can continue from them.

What the engine does not know (an optimiser class of the user's own, a layer
type added later, parameters that are not contiguous) makes :func:`supports`
return False, and ``fit`` then trains layer by layer as the NumPy backend does.
"""

from __future__ import annotations

import numpy as np

from . import _ops, layers as _layers, losses as _losses, optim as _optim

# enum values of fastnn.h
_DENSE, _BATCHNORM, _ACTIVATION, _DROPOUT, _MAXOUT = range(5)
_SOFTMAX_CE, _SOFTMAX_CE_SOFT, _SIGMOID_BCE, _MSE = range(4)
_OPTIMIZERS = {_optim.SGD: 0, _optim.AdaGrad: 1, _optim.RMSProp: 2, _optim.Adam: 3}
_LAYER_TYPES = (_layers.Dense, _layers.BatchNorm, _layers.Activation, _layers.Dropout, _layers.Maxout)
#: raised by Trainer.run when a batch it checks holds a NaN or an infinity (a ValueError)
NonFiniteBatch = _ops.NonFiniteBatch


def supports(model, optimizer):
    """Can the engine train this model with this optimiser?"""
    if type(optimizer) not in _OPTIMIZERS:
        return False
    if not all(type(layer) in _LAYER_TYPES for layer in model.layers):
        return False
    if type(model.loss) not in (_losses.SoftmaxCrossEntropy, _losses.SigmoidBinaryCrossEntropy, _losses.MSE):
        return False
    arrays = [*model.parameters().values(), *model.buffers().values()]
    return all(a.flags.c_contiguous and a.dtype == model.dtype for a in arrays)


def optimizer_spec(optimizer):
    """The settings fnn_optimizer holds, from a fastnn.optim optimiser."""
    kind = _OPTIMIZERS[type(optimizer)]
    spec = {"kind": kind, "iterations": optimizer.iterations}
    if kind == 0:
        spec.update(momentum=optimizer.momentum, dampening=optimizer.dampening, nesterov=optimizer.nesterov)
    elif kind == 1:
        spec.update(eps=optimizer.eps, lr_decay=optimizer.lr_decay)
    elif kind == 2:
        spec.update(alpha=optimizer.alpha, eps=optimizer.eps, momentum=optimizer.momentum,
                    centered=optimizer.centered)
    else:
        spec.update(beta1=optimizer.beta1, beta2=optimizer.beta2, eps=optimizer.eps)
    return spec


def _state_arrays(optimizer, name, p):
    """The optimiser state of parameter ``name`` in the engine's order, created as the
    optimiser creates it before a first update. Returns (arrays, fresh)."""
    state = optimizer.state.setdefault(name, {})
    fresh = False
    if isinstance(optimizer, _optim.SGD):
        if optimizer.momentum == 0.0:
            return [], False
        fresh = "momentum" not in state
        if fresh:  # optim.py copies the first gradient in; the engine does the same
            state["momentum"] = np.zeros_like(p)
    elif not state:
        state.update(optimizer.init_state(p))
    return [state.get(key) for key in optimizer.state_keys], fresh


class Trainer:
    """One fit's engine: the C description of ``model``, its workspace, and runs of steps."""

    def __init__(self, model, optimizer, X, y, bounds):
        """``bounds``: the (start, stop) of every step of an epoch, into its sample order."""
        self.model, self.optimizer = model, optimizer
        #: step s of an epoch trains positions edges[s]:edges[s+1] of the order; sizes[s] samples
        self.edges = np.array([start for start, _ in bounds] + [bounds[-1][1]], dtype=np.int64)
        self.sizes = np.diff(self.edges).tolist()
        self.n_samples = X.shape[0]
        batch_max = max(self.sizes)
        index = {name: i for i, name in enumerate(model.parameters())}
        params, self._fresh_names = [], []
        for i, layer in enumerate(model.layers):
            for key, value in layer.params.items():
                name = f"{i}.{key}"
                state, fresh = _state_arrays(optimizer, name, value)
                if fresh:
                    self._fresh_names.append(name)
                params.append({"value": value, "regularised": key in layer.regularised,
                               "state": state, "fresh": fresh})
        specs, width = [], model.in_features
        for i, layer in enumerate(model.layers):
            out = layer.output_features(width)
            spec = {"in_features": width, "out_features": out}
            ref = lambda key: index.get(f"{i}.{key}", -1)  # noqa: E731
            if isinstance(layer, _layers.Dense):
                spec.update(kind=_DENSE, weight=ref("W"), bias=ref("b"))
            elif isinstance(layer, _layers.Maxout):
                spec.update(kind=_MAXOUT, weight=ref("W"), bias=ref("b"), pieces=layer.k)
            elif isinstance(layer, _layers.BatchNorm):
                spec.update(kind=_BATCHNORM, gamma=ref("gamma"), beta=ref("beta"), eps=layer.eps,
                            momentum=layer.momentum, unbiased_running_var=layer.running_var_mode == "unbiased",
                            running_mean=layer.buffers["running_mean"], running_var=layer.buffers["running_var"])
            elif isinstance(layer, _layers.Activation):
                spec.update(kind=_ACTIVATION, activation=_ops.ACTIVATION_CODES[layer.name],
                            alpha=0.0 if layer.alpha is None else layer.alpha)
            else:
                spec.update(kind=_DROPOUT, p=layer.p, seed=layer.seed, step=layer.step)
            specs.append(spec)
            width = out
        loss = model.loss
        if isinstance(loss, _losses.SoftmaxCrossEntropy):
            kind = _SOFTMAX_CE if y.ndim == 1 else _SOFTMAX_CE_SOFT
        else:
            kind = _SIGMOID_BCE if isinstance(loss, _losses.SigmoidBinaryCrossEntropy) else _MSE
        targets = np.ascontiguousarray(y, dtype=np.int64 if kind == _SOFTMAX_CE else model.dtype)
        self.engine = _ops.TrainingEngine(specs, params, kind, float(model.l2), int(batch_max),
                                          optimizer_spec(optimizer), np.ascontiguousarray(X), targets)

    def run(self, order, bounds, lr, checked_steps=0):
        """Train the steps bounds[s]..bounds[s+1] of ``order`` with learning rates ``lr``;
        afterwards the model and optimiser reflect every completed step. The inputs of the
        first ``checked_steps`` steps are checked as they are gathered (``_ops.NonFiniteBatch``)."""
        self.engine.set_optimizer(optimizer_spec(self.optimizer))
        try:
            return self.engine.run(order, bounds, lr, checked_steps)
        finally:
            self._sync()

    def _sync(self):
        self.optimizer.iterations = self.engine.iterations
        for layer, step in zip(self.model.layers, self.engine.dropout_steps()):
            if isinstance(layer, _layers.Dropout):
                layer.step = step

    def close(self):
        """End of fit: sync once more (an interrupt may have cut the last sync short), and a
        momentum buffer that no step has filled goes, as if never made."""
        self._sync()
        fresh = dict(zip(self.model.parameters(), self.engine.fresh()))
        for name in self._fresh_names:
            if fresh[name]:
                self.optimizer.state[name].pop("momentum", None)
