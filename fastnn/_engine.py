"""The bridge from a Sequential model to the C training engine (csrc/engine.c).

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
from .ops import _contiguous

_LAYER_TYPES = (_layers.Dense, _layers.BatchNorm, _layers.Activation, _layers.Dropout, _layers.Maxout)
#: raised by Trainer.run when a batch it checks holds a NaN or an infinity (a ValueError)
NonFiniteBatch = _ops.NonFiniteBatch
#: raised by Trainer.run(stop_nonfinite=1 or 2) at a step whose loss (or updated state) is not finite
NonFiniteStep = _ops.NonFiniteStep

# The engine's description of each optimiser class (fastnn.h's fnn_optimizer).
_OPTIMIZER_SPECS = {
    _optim.SGD: lambda o: _ops.OptimizerSpec.sgd(
        momentum=o.momentum, dampening=o.dampening, nesterov=o.nesterov, iterations=o.iterations),
    _optim.AdaGrad: lambda o: _ops.OptimizerSpec.adagrad(
        lr_decay=o.lr_decay, eps=o.eps, iterations=o.iterations),
    _optim.RMSProp: lambda o: _ops.OptimizerSpec.rmsprop(
        alpha=o.alpha, eps=o.eps, momentum=o.momentum, centered=o.centered, iterations=o.iterations),
    _optim.Adam: lambda o: _ops.OptimizerSpec.adam(
        beta1=o.beta1, beta2=o.beta2, eps=o.eps, iterations=o.iterations),
}


def supports(model, optimizer):
    """Can the engine train this model with this optimiser?"""
    if type(optimizer) not in _OPTIMIZER_SPECS:
        return False
    if not all(type(layer) in _LAYER_TYPES for layer in model.layers):
        return False
    if type(model.loss) not in (_losses.SoftmaxCrossEntropy, _losses.SigmoidBinaryCrossEntropy, _losses.MSE):
        return False
    arrays = [*model.parameters().values(), *model.buffers().values()]
    return all(a.flags.c_contiguous and a.dtype == model.dtype for a in arrays)


def optimizer_spec(optimizer):
    """The engine's description of a fastnn.optim optimiser (an ``_ops.OptimizerSpec``)."""
    spec = _OPTIMIZER_SPECS[type(optimizer)](optimizer)
    return spec.clip(0.0 if optimizer.max_grad_norm is None else optimizer.max_grad_norm)


def _layer_spec(layer, in_features, out_features, ref):
    """The engine's description of ``layer`` (an ``_ops.LayerSpec``); ``ref(key)`` is the index
    of the layer's parameter ``key`` in the engine's list (-1: none)."""
    if isinstance(layer, _layers.Dense):
        return _ops.LayerSpec.dense(in_features=in_features, out_features=out_features,
                                    weight=ref("W"), bias=ref("b"))
    if isinstance(layer, _layers.Maxout):
        return _ops.LayerSpec.maxout(in_features=in_features, out_features=out_features, pieces=layer.k,
                                     weight=ref("W"), bias=ref("b"))
    if isinstance(layer, _layers.BatchNorm):
        return _ops.LayerSpec.batchnorm(
            features=out_features, gamma=ref("gamma"), beta=ref("beta"), eps=layer.eps, momentum=layer.momentum,
            unbiased_running_var=layer.running_var_mode == "unbiased",
            running_mean=layer.buffers["running_mean"], running_var=layer.buffers["running_var"])
    if isinstance(layer, _layers.Activation):
        return _ops.LayerSpec.activation(features=out_features, activation=layer.name,
                                         alpha=0.0 if layer.alpha is None else layer.alpha)
    return _ops.LayerSpec.dropout(features=out_features, p=layer.p, seed=layer.seed, step=layer.step)


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
    else:  # what init_state makes, where missing (RMSProp's centered may be set later)
        for key, value in optimizer.init_state(p).items():
            state.setdefault(key, value)
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
                params.append(_ops.ParamSpec(value, regularised=key in layer.regularised, state=state,
                                             fresh=fresh))
        specs, width = [], model.in_features
        for i, layer in enumerate(model.layers):
            out = layer.output_features(width)
            specs.append(_layer_spec(layer, width, out, lambda key, i=i: index.get(f"{i}.{key}", -1)))
            width = out
        loss = model.loss
        if isinstance(loss, _losses.SoftmaxCrossEntropy):
            kind = _ops.LossKind.SOFTMAX_CE if y.ndim == 1 else _ops.LossKind.SOFTMAX_CE_SOFT
        elif isinstance(loss, _losses.SigmoidBinaryCrossEntropy):
            kind = _ops.LossKind.SIGMOID_BCE
        else:
            kind = _ops.LossKind.MSE
        targets = _contiguous(y, dtype=np.int64 if kind == _ops.LossKind.SOFTMAX_CE else model.dtype)
        self.engine = _ops.TrainingEngine(specs, params, kind, float(model.l2), int(batch_max),
                                          optimizer_spec(optimizer), _contiguous(X), targets)

    def run(self, order, bounds, lr, checked_steps=0, stop_nonfinite=0):
        """Train the steps bounds[s]..bounds[s+1] of ``order`` with learning rates ``lr``;
        afterwards the model and optimiser reflect every completed step. The inputs of the
        first ``checked_steps`` steps are checked as they are gathered (``_ops.NonFiniteBatch``);
        with ``stop_nonfinite`` 1 a step whose loss is not finite raises ``_ops.NonFiniteStep``
        (the optimiser's iterations then count the steps done); with 2 also a step whose
        updated parameters or batch-norm running statistics are not finite."""
        self.engine.set_optimizer(optimizer_spec(self.optimizer))
        try:
            return self.engine.run(order, bounds, lr, checked_steps, stop_nonfinite)
        finally:
            self._sync()

    def _sync(self):
        self.optimizer.iterations = self.engine.iterations
        for layer, step in zip(self.model.layers, self.engine.dropout_steps()):
            if isinstance(layer, _layers.Dropout):
                layer.step = step

    def unborn(self):
        """Names of the parameters whose momentum buffer no update has filled yet."""
        fresh = dict(zip(self.model.parameters(), self.engine.fresh()))
        return [name for name in self._fresh_names if fresh[name]]

    def close(self):
        """End of fit: sync once more (an interrupt may have cut the last sync short), and a
        momentum buffer that no step has filled goes, as if never made."""
        self._sync()
        fresh = dict(zip(self.model.parameters(), self.engine.fresh()))
        for name in self._fresh_names:
            if fresh[name]:
                self.optimizer.state[name].pop("momentum", None)
