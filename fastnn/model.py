"""Sequential models and the MLP() shortcut: forward, backward, fit, evaluate, predict, save/load.

Behaviours chosen where the specification is silent (also on the documentation's "Models and training" page):

- A new model is in training mode (as in PyTorch). ``fit`` trains in training
  mode and puts the model back in the mode it was in; ``predict``,
  ``predict_proba`` and ``evaluate`` compute in eval mode and leave the
  model's mode as it was.
- ``fit`` converts X and y to the model's dtype once, checks every argument,
  then starts; a rejected call changes nothing. Each epoch visits the samples
  in an order drawn from the model's own seeded Generator (shuffle=True).
  When the model has a BatchNorm layer and the last mini-batch of an epoch is
  short, it is merged into the one before (so batch norm never sees a batch
  of one and no update rests on a handful of samples); otherwise the short
  batch is used as it is.
- The per-epoch "loss" and "accuracy" are averages over the epoch's
  mini-batches, weighted by batch size, measured in training mode before each
  update (as Keras reports them); "val_loss"/"val_accuracy" are computed in
  eval mode after the epoch. Every reported loss, including ``evaluate``'s,
  includes the L2 term ``l2 * sum ||W||^2`` over Dense and Maxout weights.
- ``fit(..., eval_every=k)`` records the course's curves instead: every k
  updates, on the whole training (and validation) set in eval mode, the loss
  without the L2 term (the course's loss), the cost with it (the course's J)
  and the accuracy, beside the step and learning rate. The lecture notes'
  training curves are measured this way, not as running batch averages, so
  that training and validation curves compare like with like.
- ``optimizer=None`` continues with the optimiser of the previous ``fit``
  (keeping its state), or starts ``Adam()`` on the first call.
- Optimiser state is not saved with the model.
- A diverging fit (a loss, parameter or running statistic that is not finite)
  stops and goes back to the state before the step that diverged: see
  ``fit``'s ``on_divergence``.
"""

from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks, _engine, callbacks as _callbacks, layers as _layers, losses as _losses, optim as _optim
from ._text import duration
from .data import batch_bounds

if TYPE_CHECKING:
    import os

__all__ = ["Sequential", "MLP"]


class Sequential:
    """A stack of layers trained on one loss.

    With ``backend="c"``, ``fit`` trains in the C engine (whole runs of
    mini-batches per call, see :mod:`fastnn._engine`); set ``use_engine = False``
    on a model to train it layer by layer through the same compiled kernels
    instead (the results agree to rounding; the engine is the fast path).

    Parameters
    ----------
    layers : list of Layer
        The layers from :mod:`fastnn.layers`, new ones: the model builds them.
    loss : str or Loss, default "softmax_cross_entropy"
        A name of :data:`fastnn.losses.NAMES` ("softmax_cross_entropy",
        "sigmoid_binary_cross_entropy", "mse") or a Loss.
    l2 : float, default 0.0
        The weight of the L2 penalty ``l2 * sum ||W||^2`` over the Dense and
        Maxout weights, >= 0.
    dtype : {"float32", "float64"}, default "float32"
        The parameters' and the computations' dtype.
    backend : {"c", "numpy"}, default "c"
        The compiled kernels, or the NumPy reference.
    seed : int, optional
        The seed of the initial weights, the shuffling and the dropout masks;
        None draws one, kept in ``model.seed``.

    Raises
    ------
    TypeError, ValueError
        An argument of the wrong type or value, layers whose sizes do not
        chain, or a layer that already belongs to a model.

    Examples
    --------
    >>> import numpy as np
    >>> import fastnn
    >>> from fastnn import layers
    >>> model = fastnn.Sequential([layers.Dense(2, 8), layers.Tanh(), layers.Dense(8, 2)], seed=0)
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    >>> history = model.fit(X, [0, 1, 1, 0], epochs=300, batch_size=4, verbose=0,
    ...                     optimizer=fastnn.optim.Adam(lr=0.05))
    >>> model.predict(X)
    array([0, 1, 1, 0])
    """

    def __init__(self, layers: Iterable[_layers.Layer], loss: str | _losses.Loss = "softmax_cross_entropy",
                 l2: float = 0.0, dtype: str | np.dtype = "float32", backend: str = "c",
                 seed: int | None = None) -> None:
        if isinstance(layers, _layers.Layer) or not hasattr(layers, "__iter__"):
            raise TypeError(f"layers must be a list of fastnn layers, got {type(layers).__name__}")
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, _layers.Layer):
                raise TypeError(f"layers[{i}] must be a fastnn layer, got {type(layer).__name__}")
        for i, layer in enumerate(layers):
            # A model initialises its layers; sharing one would silently re-initialise the other model.
            if layer.built:
                raise ValueError(f"layers[{i}] already belongs to a model: pass new layers "
                                 "(model.copy() duplicates a whole model)")
        if len({id(layer) for layer in layers}) != len(layers):
            raise ValueError("layers must not contain the same layer object twice")
        self.loss = _losses.get(loss)
        self.l2 = self.settings["l2"](l2, "l2")
        self.dtype = _checks.dtype(dtype)
        self.backend = _checks.choice(backend, "backend", tuple(_layers.BACKENDS))
        seed = _checks.seed(seed)
        # a SeedSequence drawn from the OS has an int entropy (the stubs also allow a sequence or None)
        self.seed = int(cast(int, np.random.SeedSequence().entropy) % 2 ** 63) if seed is None else seed
        self.in_features, self.out_features = _infer_sizes(layers)
        self.loss.check_outputs(self.out_features)

        rng = np.random.default_rng(self.seed)
        for layer in layers:
            layer.build(rng, self.dtype)
            layer.backend = self.backend
        self.layers = layers
        self._shuffle_rng = np.random.default_rng([self.seed, 1])
        self.training = True
        self.optimizer: _optim.Optimizer | None = None
        self.stop_training = False

    #: the rule of each setting that fit checks again as it is then (see _checks.check_settings)
    settings = {"l2": _checks.Real(low=0.0), "backend": _checks.Choice(_layers.BACKENDS)}

    #: the rules of fit's arguments that are declared rather than checked inline
    fit_arguments = {"eval_every": _checks.Integer(minimum=1, optional=True)}

    #: train backend "c" models in the C engine (False: layer by layer, as the NumPy backend)
    use_engine = True
    #: seconds of training per engine call: fit comes back this often for progress and Ctrl-C
    engine_chunk_seconds = 0.15
    #: data sets of at least this many bytes that the engine trains with no callbacks, no
    #: validation and verbose=0 have their values checked as the first epoch gathers them
    check_while_training_bytes = 1 << 24

    # ------------------------------------------------------------ description
    def parameters(self) -> dict[str, NDArray[Any]]:
        """Trainable parameters, name -> the live array ("0.W", "0.b", "1.gamma", ...)."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    def buffers(self) -> dict[str, NDArray[Any]]:
        """Non-trained state (batch-norm running statistics), name -> live array."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.buffers.items()}

    def gradients(self) -> dict[str, NDArray[Any]]:
        """Gradients of the last layer-by-layer backward pass (``backward``, ``loss_and_gradients``,
        a fit with ``use_engine = False``), without the L2 term, keyed like parameters(). The C
        engine keeps its gradients in its own workspace and does not fill these."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def get_state(self) -> dict[str, dict[str, NDArray[Any]]]:
        """Copies of every parameter and buffer (see set_state)."""
        return {"params": {k: v.copy() for k, v in self.parameters().items()},
                "buffers": {k: v.copy() for k, v in self.buffers().items()}}

    def set_state(self, state: Mapping[str, Mapping[str, ArrayLike]]) -> None:
        """Copy arrays into the live parameters and buffers.

        Parameters
        ----------
        state : dict
            What :meth:`get_state` returned.
        """
        for kind, live in (("params", self.parameters()), ("buffers", self.buffers())):
            given = state[kind]
            if set(given) != set(live):
                raise ValueError(f"state {kind} must have keys {sorted(live)}, got {sorted(given)}")
            for name, arr in given.items():
                if np.shape(arr) != live[name].shape:
                    raise ValueError(f"state {kind} {name!r} must have shape {live[name].shape}, got {np.shape(arr)}")
            for name, arr in given.items():
                live[name][...] = arr

    def to_config(self) -> dict[str, Any]:
        """A JSON-able description of the architecture and settings (no parameter values)."""
        return {"layers": [layer.to_config() for layer in self.layers], "loss": self.loss.name,
                "l2": self.l2, "dtype": self.dtype.name, "backend": self.backend, "seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """A new model from ``to_config()``, freshly initialised from its seed."""
        layer_configs = config["layers"]
        model = cls([_layers.from_config(c) for c in layer_configs], loss=config["loss"], l2=config["l2"],
                    dtype=config["dtype"], backend=config["backend"], seed=config["seed"])
        for layer, c in zip(model.layers, layer_configs):
            for key in ("seed", "step"):  # the dropout stream continues where it was
                if key in c:
                    setattr(layer, key, _checks.integer(c[key], key, minimum=0))
        return model

    def copy(self, dtype: str | np.dtype | None = None) -> Sequential:
        """An independent copy with the same parameters and buffers.

        Parameters
        ----------
        dtype : {"float32", "float64"}, optional
            The copy's dtype; None keeps the model's.

        Returns
        -------
        Sequential
        """
        config = self.to_config()
        if dtype is not None:
            config["dtype"] = _checks.dtype(dtype).name
        clone = type(self).from_config(config)
        clone.set_state(self.get_state())
        clone.training = self.training
        return clone

    def summary(self, print_fn: Callable[[str], object] = print) -> None:
        """Print a table of layers, output shapes and parameter counts.

        Parameters
        ----------
        print_fn : callable, default print
            Called once with the whole table.
        """
        rows = [("#", "layer", "output shape", "params")]
        width = self.in_features
        total = 0
        for i, layer in enumerate(self.layers):
            width = layer.output_features(width)
            count = sum(p.size for p in layer.params.values())
            total += count
            rows.append((str(i), repr(layer), f"(N, {width})", f"{count:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(4)]
        line = "  ".join("-" * w for w in widths)
        text = [line] + ["  ".join(r[c].ljust(widths[c]) if c < 3 else r[c].rjust(widths[c]) for c in range(4))
                         for r in rows] + [line]
        text.insert(2, line)
        text.append(f"{total:,} trainable parameters; input (N, {self.in_features}); loss {self.loss.name!r}, "
                    f"l2={self.l2}, dtype {self.dtype.name}, backend {self.backend!r}")
        print_fn("\n".join(text))

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return (f"Sequential([\n  {inner}\n], loss={self.loss.name!r}, l2={self.l2}, "
                f"dtype={self.dtype.name!r}, backend={self.backend!r}, seed={self.seed})")

    # ------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Sequential:
        """Switch to training mode (batch statistics, dropout on) or out of it.

        Parameters
        ----------
        mode : bool, default True
            False is :meth:`eval`.

        Returns
        -------
        Sequential
            The model.
        """
        self.training = _checks.boolean(mode, "mode")
        return self

    def eval(self) -> Sequential:
        """Eval mode (running statistics, no dropout); returns the model."""
        self.training = False
        return self

    def to_backend(self, name: str) -> Sequential:
        """Run every layer on another backend; the parameters are untouched.

        Parameters
        ----------
        name : {"c", "numpy"}
            The compiled kernels, or the NumPy reference.

        Returns
        -------
        Sequential
            The model.
        """
        self.backend = _checks.choice(name, "backend", tuple(_layers.BACKENDS))
        for layer in self.layers:
            layer.backend = self.backend
        return self

    # ------------------------------------------------------------ passes
    def forward(self, X: ArrayLike, training: bool | None = None) -> NDArray[Any]:
        """The network's output for X.

        Parameters
        ----------
        X : array_like of shape (N, in_features)
            The inputs.
        training : bool, optional
            Run in training mode or not; None uses the model's current mode.

        Returns
        -------
        numpy.ndarray of shape (N, out_features)
        """
        X = self._input(X, "X")
        return self._forward(X, self.training if training is None else _checks.boolean(training, "training"))

    def backward(self, dOut: ArrayLike) -> NDArray[Any]:
        """Backpropagate through the last forward pass; the parameters' gradients go to :meth:`gradients`.

        Parameters
        ----------
        dOut : numpy.ndarray of shape (N, out_features)
            Gradient of the loss with respect to the output.

        Returns
        -------
        numpy.ndarray of shape (N, in_features)
            Gradient of the loss with respect to the input.
        """
        dOut = _checks.numeric_array(dOut, "dOut")
        if dOut.ndim != 2 or dOut.shape[1] != self.out_features:
            raise ValueError(f"dOut must have shape (N, {self.out_features}), got shape {dOut.shape}")
        return self._backward(dOut.astype(self.dtype, copy=False))

    def _forward(self, X, training):
        layers, i = self.layers, 0
        while i < len(layers):
            layer = layers[i]
            after = layers[i + 1] if i + 1 < len(layers) else None
            if type(layer) is _layers.Dense and type(after) is _layers.Activation:
                # one dense_forward call for the pair, as the C engine runs it; the two
                # layers keep what their own backward passes read
                X = layer.forward_fused(X, after)
                i += 2
            else:
                X = layer.forward(X, training)
                i += 1
        return X

    def _backward(self, dOut):
        for layer in reversed(self.layers):
            dOut = layer.backward(dOut)
        return dOut

    def l2_penalty(self) -> float:
        """l2 * sum of ||W||^2 over the Dense and Maxout weights (0.0 when l2 == 0), each
        weight's term from the backend's ``l2_penalty``, added in layer order."""
        if self.l2 == 0.0:
            return 0.0
        kernels = _layers.BACKENDS[self.backend]
        return sum(kernels.l2_penalty(w, self.l2) for w in self._regularised())

    def _regularised(self):
        for layer in self.layers:
            for name in layer.regularised:
                yield layer.params[name]

    def _loss_and_gradients(self, X, y, training):
        """Forward, loss, backward; returns (J including L2, output, gradients including 2 l2 W)."""
        O = self._forward(X, training)
        loss, dO = self.loss(_layers.BACKENDS[self.backend], O, y)
        self._backward(dO)
        kernels = _layers.BACKENDS[self.backend]
        grads = {}
        for i, layer in enumerate(self.layers):
            for k, g in layer.grads.items():
                if self.l2 and k in layer.regularised:
                    g = kernels.l2_gradient(g, layer.params[k], self.l2)
                grads[f"{i}.{k}"] = g
        return float(loss) + self.l2_penalty(), O, grads

    def loss_and_gradients(self, X: ArrayLike, y: ArrayLike) -> tuple[float, dict[str, NDArray[Any]]]:
        """The objective of one batch and its gradients, in the current mode.

        Parameters are not changed (batch-norm running statistics are, in
        training mode, as in any training forward pass).

        Parameters
        ----------
        X : array_like of shape (N, in_features)
            The inputs.
        y : array_like
            Their targets, as for :meth:`fit`.

        Returns
        -------
        J : float
            The loss plus the L2 term.
        gradients : dict of str to numpy.ndarray
            The gradients of J, keyed like :meth:`parameters`.
        """
        X, y = self._data(X, y)
        self._nonempty(X, "X")
        J, _, grads = self._loss_and_gradients(X, y, self.training)
        return J, grads

    # ------------------------------------------------------------ input checks
    def _input(self, X, name, finite=True) -> NDArray[Any]:
        X = _checks.numeric_array(X, name)
        if X.ndim != 2 or X.shape[1] != self.in_features:
            raise ValueError(f"{name} must have shape (N, {self.in_features}) for this model's "
                             f"{self.in_features} input features, got shape {X.shape}")
        X = X.astype(self.dtype, copy=False)
        return _checks.finite(X, name) if finite else X

    def _data(self, X, y, names=("X", "y")) -> tuple[NDArray[Any], NDArray[Any]]:
        X = self._input(X, names[0])
        return X, self.loss.targets(y, X.shape[0], self.out_features, self.dtype, names[1])

    @staticmethod
    def _nonempty(X, name):
        if X.shape[0] == 0:
            raise ValueError(f"{name} must hold at least one sample, got shape {X.shape}")

    def _has_batchnorm(self):
        return any(isinstance(layer, _layers.BatchNorm) for layer in self.layers)

    # ------------------------------------------------------------ training
    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 1, batch_size: int = 32,
            optimizer: _optim.Optimizer | str | None = None,
            validation_data: tuple[ArrayLike, ArrayLike] | None = None, shuffle: bool = True,
            verbose: int = 1, callbacks: Iterable[_callbacks.Callback] | None = None,
            lr_schedule: Callable[[int], float] | None = None, on_divergence: str = "raise",
            eval_every: int | None = None) -> _callbacks.History:
        """Train with mini-batches; returns a :class:`~fastnn.callbacks.History`.

        ``optimizer``: an optimiser from :mod:`fastnn.optim` or its name (None: see the module
        notes). ``validation_data``: (X_val, y_val), evaluated after each epoch.
        ``lr_schedule``: a callable t -> learning rate of the update count (see
        :mod:`fastnn.schedules`). ``verbose``: 0 silent, 1 a progress bar (redrawn in place on a
        terminal; one plain line per epoch into a pipe or a file), 2 one line per epoch.

        Every argument is checked before the first update: a rejected call leaves the model as it
        was. That includes the settings of the model (``l2``), of its layers (dropout ``p``,
        batch-norm ``eps`` and ``momentum``, activation ``alpha``) and of the optimiser (``lr``,
        momentum, betas, eps, ``max_grad_norm``...) as they are now, assigned after construction
        or not, and the learning rate ``lr_schedule`` gives for every step of this fit.
        (The values of an X of at least ``check_while_training_bytes`` that the C engine trains with
        no callbacks, no validation and verbose=0 are checked as the first epoch gathers them, which
        spares a pass over the data; a NaN or an infinity then undoes the steps before it and
        raises the same ValueError.)

        Parameters
        ----------
        X : array_like of shape (N, in_features)
            The training inputs, finite.
        y : array_like
            Their targets: integer labels (N,) or class probabilities (N, classes) for
            "softmax_cross_entropy", 0/1 labels for "sigmoid_binary_cross_entropy", real
            targets (N, out_features) for "mse".
        epochs : int, default 1
            Passes over the data, >= 1.
        batch_size : int, default 32
            Samples per update, >= 1.
        optimizer : Optimizer or str, optional
            An optimiser from :mod:`fastnn.optim` or its name; None continues with the
            previous fit's optimiser (and its state), or starts ``Adam()``.
        validation_data : tuple of array_like, optional
            (X_val, y_val), evaluated in eval mode after each epoch ("val_loss", ...).
        shuffle : bool, default True
            Visit the samples in a new order each epoch (from the model's seed).
        verbose : {0, 1, 2}, default 1
            0: silent; 1: a progress bar; 2: one line per epoch.
        callbacks : list of Callback, optional
            Hooks called at the start and end of training and of each epoch
            (:mod:`fastnn.callbacks`).
        lr_schedule : callable, optional
            ``t -> learning rate`` of the update count t over the optimiser's life
            (:mod:`fastnn.schedules`), set before every update.
        on_divergence : {"raise", "warn", "ignore"}, default "raise"
            What to do when training diverges: at the first step whose update leaves a
            parameter or batch-norm running statistic not finite, or makes the next step's
            loss not finite (the parameters before it may still give finite outputs).
            "raise": stop, put the parameters, batch-norm running statistics, optimiser state
            and dropout steps back as they were before that step (not the epoch), and raise
            FloatingPointError naming the epoch and step, the last finite loss and what to
            try. "warn": stop and restore the same way, warn (RuntimeWarning) and return the
            History of the updates kept (its rows up to the step undone, which they do not
            include). "ignore": train on regardless.
        eval_every : int, optional
            Record the learning curves every ``eval_every`` updates (counted over the whole fit,
            across epochs) instead of once per epoch: after updates k, 2k, ... (no row at step 0,
            nor after the last update unless it falls on a multiple of k), the returned History
            gets a row with "step", "epoch", "lr", the training set's "loss" (the data term
            alone), "cost" (loss plus the L2 term, the course's J) and "accuracy"
            (classification), and with ``validation_data`` the same of the validation set
            ("val_loss", "val_cost", "val_accuracy"). As the lecture notes' training curves,
            each is measured on the whole set in eval mode (batch-norm running statistics, no
            dropout) with the parameters after that update, not averaged over mini-batches:
            every row costs a forward pass over the training (and validation) set. The C engine
            still trains the k steps between two rows in runs of steps without Python. Callbacks
            still see per-epoch logs. See :class:`~fastnn.callbacks.History` for the columns.

        Returns
        -------
        History
            The learning curves: a row per epoch ("step", "epoch", "lr", "loss", "accuracy",
            "val_loss", "val_accuracy" as available), or with ``eval_every`` a row every
            ``eval_every`` updates (adding "cost" and "val_cost").

        Raises
        ------
        TypeError, ValueError
            An argument or a current setting that breaks its rule; nothing has changed.
        FloatingPointError
            Training diverged (``on_divergence="raise"``).
        """
        epochs = _checks.integer(epochs, "epochs", minimum=0)
        batch_size = _checks.integer(batch_size, "batch_size", minimum=1)
        verbose = _checks.integer(verbose, "verbose", minimum=0)
        if verbose > 2:
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose}")
        shuffle = _checks.boolean(shuffle, "shuffle")
        on_divergence = _checks.choice(on_divergence, "on_divergence", ("raise", "warn", "ignore"))
        eval_every = self.fit_arguments["eval_every"](eval_every, "eval_every")
        if optimizer is None:
            optimizer = self.optimizer if self.optimizer is not None else _optim.Adam()
        optimizer = _optim.get(optimizer)
        if lr_schedule is not None and not callable(lr_schedule):
            raise TypeError(f"lr_schedule must be a callable t -> lr, got {type(lr_schedule).__name__}")
        settings = self._current_settings(optimizer)
        callbacks = [] if callbacks is None else list(callbacks)
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, _callbacks.Callback):
                raise TypeError(f"callbacks[{i}] must be a fastnn.callbacks.Callback, got {type(cb).__name__}")
        engine = self.backend == "c" and self.use_engine and _engine.supports(self, optimizer)
        quiet = not callbacks and validation_data is None and verbose == 0
        X = self._input(X, "X", finite=False)
        # A large data set that the engine trains with nothing to run between epochs is
        # checked as the first epoch gathers its batches, not in a pass at memory bandwidth
        # of its own; a bad value then undoes the steps before it (see _Snapshot).
        # (rows of eval_every read the whole of X between runs: it is checked before)
        check_while_training = (engine and quiet and eval_every is None and epochs > 0
                                and X.nbytes >= self.check_while_training_bytes)
        if not check_while_training:
            _checks.finite(X, "X")
        y = self.loss.targets(y, X.shape[0], self.out_features, self.dtype, "y")
        self._nonempty(X, "X")
        n = X.shape[0]
        batchnorm = self._has_batchnorm()
        if batchnorm and (n < 2 or batch_size < 2):
            raise ValueError("a model with BatchNorm needs batches of at least 2 samples: "
                             f"got {n} samples and batch_size={batch_size}")
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("validation_data must be a pair (X_val, y_val)")
            validation = self._data(*validation_data, names=("validation_data[0]", "validation_data[1]"))
            self._nonempty(validation[0], "validation_data[0]")

        metrics = ["loss", "accuracy"] if self.loss.classification else ["loss"]
        available = metrics + ([f"val_{m}" for m in metrics] if validation else [])
        bounds = batch_bounds(n, batch_size, merge_last=batchnorm)
        rates = self._scheduled_rates(optimizer, lr_schedule, epochs * len(bounds))
        history = _callbacks.History({"epochs": epochs, "steps": len(bounds), "batch_size": batch_size,
                                      "samples": n, "eval_every": eval_every})
        for cb in callbacks:
            cb.on_train_begin(self, available)

        # Checks are done (but for X's values when check_while_training): from here on the model changes.
        saved = _Snapshot(self, optimizer) if check_while_training else None
        for obj, values in settings:
            for name, value in values.items():
                setattr(obj, name, value)
        self.optimizer = optimizer
        self.stop_training = False
        was_training = self.training
        self.training = True
        progress = _Progress(verbose, epochs, len(bounds))
        trainer = _engine.Trainer(self, optimizer, X, y, bounds) if engine else None
        # Callbacks may change the model or the optimiser between epochs, which a replay would
        # not repeat: with callbacks fit takes a checkpoint at each epoch's start, without
        # them only at its own start (validation and progress change nothing).
        watch = _Watch(on_divergence, len(bounds), every_epoch=bool(callbacks))
        steps = len(bounds)

        def lr_of(g):
            """The learning rate of update g (from 0) of this fit, once it is done."""
            return float(rates[g]) if rates is not None else float(optimizer.lr)

        rows = []  # the rows of eval_every recorded so far

        def record(done):
            """The History row of eval_every after ``done`` updates of this fit."""
            row = {"step": done, "epoch": (done - 1) // steps, "lr": lr_of(done - 1), **self._curve_metrics(X, y)}
            if validation is not None:
                row.update({f"val_{k}": v for k, v in self._curve_metrics(*validation).items()})
            history._append(row["epoch"], row)
            rows.append(row)

        def end_epoch(epoch, logs):
            """Validation, progress and callbacks after an epoch; True when training should stop."""
            if validation is not None:
                done = (epoch + 1) * steps
                if rows and rows[-1]["step"] == done:  # measured on this very state a moment ago
                    logs["val_loss"] = rows[-1]["val_cost"]  # fit's loss includes the L2 term
                    if self.loss.classification:
                        logs["val_accuracy"] = rows[-1]["val_accuracy"]
                else:
                    logs.update({f"val_{k}": v for k, v in self._evaluate(*validation).items()})
            progress.epoch_end(epoch, logs)
            if eval_every is None:
                history.on_epoch_end(self, epoch, {"step": (epoch + 1) * steps, "epoch": epoch,
                                                   "lr": lr_of((epoch + 1) * steps - 1), **logs})
            for cb in callbacks:
                cb.on_epoch_end(self, epoch, logs)
            return self.stop_training

        try:
            try:
                if trainer is None:
                    for epoch in range(epochs):
                        if epoch == 0 or watch.every_epoch:
                            watch.checkpoint(self, optimizer, epoch * len(bounds))
                        order = self._shuffle_rng.permutation(n) if shuffle else np.arange(n)
                        if end_epoch(epoch, self._train_epoch(X, y, order, bounds, optimizer, rates,
                                                              progress, epoch, watch, eval_every, record)):
                            break
                else:
                    # with nothing to run between epochs, one engine run may cross several of them
                    self._train_engine(trainer, epochs, shuffle, optimizer, rates, progress, end_epoch,
                                       quiet, check_while_training, watch, eval_every, record)
            finally:
                self.training = was_training
                if trainer is not None:
                    trainer.close()
        except _engine.NonFiniteBatch:
            # raised only when check_while_training, which took the snapshot
            cast(_Snapshot, saved).restore()
            failed = True
        except _Diverged as diverged:
            failed = False
            diverged = self._undo_diverged_step(diverged, watch, X, y, bounds, shuffle, optimizer, rates, engine)
            self.training = was_training
            self.optimizer = optimizer
            message = watch.message(diverged, optimizer)
            if on_divergence == "raise":
                raise FloatingPointError(message) from None
            history._keep_until(diverged.culprit)  # the rows of the state fit returns to, not after it
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        else:
            failed = False
        if failed:
            _checks.finite(X, "X")  # raises, naming the first value that is not finite
            raise ValueError("X must be finite")
        for cb in callbacks:
            cb.on_train_end(self)
        return history

    def _train_epoch(self, X, y, order, bounds, optimizer, rates, progress, epoch, watch, eval_every=None,
                     record=None):
        loss_sum, correct, seen = 0.0, 0, 0
        params = self.parameters()
        progress.epoch_begin(epoch)
        for step, (start, stop) in enumerate(bounds):
            idx = order[start:stop]
            Xb, yb = X[idx], y[idx]
            J, O, grads = self._train_step(Xb, yb, optimizer, rates, epoch * len(bounds) + step, params)
            if watch.active and not (math.isfinite(J) and self._state_finite()):
                raise _Diverged(epoch * len(bounds) + step, J)
            watch.finite_loss(J, epoch * len(bounds) + step)
            if eval_every is not None and (epoch * len(bounds) + step + 1) % eval_every == 0:
                record(epoch * len(bounds) + step + 1)
            size = stop - start
            loss_sum += J * size
            seen += size
            if self.loss.classification:
                correct += self.loss.correct(O, yb)
            progress.update(step + 1, loss_sum / seen)
        logs = {"loss": loss_sum / seen}
        if self.loss.classification:
            logs["accuracy"] = correct / seen
        return logs

    def _train_step(self, Xb, yb, optimizer, rates, g, params):
        """One layer-by-layer training step (global step ``g`` of the fit); returns (J, O, grads)."""
        J, O, grads = self._loss_and_gradients(Xb, yb, True)
        if rates is not None:
            optimizer.lr = float(rates[g])
        optimizer.step(params, grads, _layers.BACKENDS[self.backend])
        return J, O, grads

    def _state_finite(self, arrays=None):
        """True when every parameter and buffer (or each of ``arrays``) holds only finite values."""
        if arrays is None:
            arrays = (*self.parameters().values(), *self.buffers().values())
        for a in arrays:
            if a.flags.c_contiguous and a.dtype in (np.float32, np.float64):
                from . import _ops
                if not _ops.all_finite(a):
                    return False
            elif not np.isfinite(a).all():
                return False
        return True

    def _current_settings(self, optimizer):
        """[(object, {name: checked value})] for the model, its layers and ``optimizer``, as their
        settings are now; raises TypeError/ValueError naming the first bad one."""
        owners = [(self, "model"), *((layer, f"layers[{i}]") for i, layer in enumerate(self.layers)),
                  (optimizer, "optimizer")]
        return [(obj, _checks.check_settings(obj, label)) for obj, label in owners]

    def _scheduled_rates(self, optimizer, lr_schedule, count):
        """The learning rates lr_schedule gives for the next ``count`` updates, each checked
        (None without a schedule: the optimiser's lr is used as it is at each step)."""
        if lr_schedule is None:
            return None
        start = optimizer.iterations
        rates = np.empty(count)
        for s in range(count):
            rates[s] = _checks.real(lr_schedule(start + s), f"lr_schedule({start + s})", low=0.0)
        return rates

    def _undo_diverged_step(self, diverged, watch, X, y, bounds, shuffle, optimizer, rates, engine):
        """Back to the state before step ``diverged.culprit``: restore the last checkpoint before
        it and replay the steps between (training is deterministic, so they come out exactly as
        they did). Returns the _Diverged that holds: the engine trains with only its loss
        checked, so when it stopped (or its state was found not finite after a run), a replay
        that checks every step's state first finds the step, as the layer-by-layer path finds it."""
        if diverged.search:
            bound = diverged.step
            self._restore(watch, max(bound - 1, 0), optimizer)
            try:
                self._replay(X, y, bounds, shuffle, optimizer, rates, watch.restored_from, bound + 1, engine, 2)
            except _Diverged as found:
                diverged = found
        self._restore(watch, diverged.culprit, optimizer)
        self._replay(X, y, bounds, shuffle, optimizer, rates, watch.restored_from, diverged.culprit, engine, 0)
        return diverged

    def _restore(self, watch, step, optimizer):
        """Put back the latest checkpoint taken at or before global step ``step``."""
        snapshot, start, unborn = [c for c in watch.saved if c[1] <= step][-1]
        snapshot.restore()
        for name in unborn:  # as the optimiser holds them outside the engine (see Trainer.close)
            optimizer.state[name].pop("momentum", None)
        watch.restored_from = start

    def _replay(self, X, y, bounds, shuffle, optimizer, rates, start, stop, engine, level):
        """Train global steps start .. stop - 1 again from a restored checkpoint taken before
        ``start``, drawing the sample orders again from the restored generator. ``level``: 2
        checks each step's loss and updated state (_Diverged at the first not finite), 0 none."""
        steps, n = len(bounds), X.shape[0]
        first = start // steps
        # through the epoch of step ``stop``: the state before that step has its order drawn
        orders = [self._shuffle_rng.permutation(n) if shuffle else np.arange(n)
                  for _ in range(first, stop // steps + 1)]
        if stop <= start:
            return
        if engine:
            trainer = _engine.Trainer(self, optimizer, X, y, bounds)
            try:
                g = np.arange(start, stop + 1)
                run_edges = (g // steps - first) * n + trainer.edges[g % steps]
                lr = rates[start:stop] if rates is not None else np.full(stop - start, optimizer.lr)
                if rates is not None:
                    optimizer.lr = float(rates[stop - 1])
                before = optimizer.iterations
                try:
                    trainer.run(np.concatenate(orders), run_edges, lr, 0, level)
                except _engine.NonFiniteStep as exc:
                    good = optimizer.iterations - before
                    raise _Diverged(start + good, float(exc.losses[good])) from None
            finally:
                trainer.close()
            return
        params = self.parameters()
        for g in range(start, stop):
            epoch, step = divmod(g, steps)
            begin, end = bounds[step]
            idx = orders[epoch - first][begin:end]
            J, _, _ = self._train_step(X[idx], y[idx], optimizer, rates, g, params)
            if level and not (math.isfinite(J) and self._state_finite()):
                raise _Diverged(g, J)

    def _train_engine(self, trainer, epochs, shuffle, optimizer, rates, progress, end_epoch, cross_epochs,
                      check_first_epoch=False, watch=None, eval_every=None, record=None):
        """All epochs in the C engine, in runs of about ``engine_chunk_seconds`` each. A run stays
        inside one epoch unless ``cross_epochs``; each epoch's sample order is drawn when a run
        first reaches it, in epoch order, so the orders are those of the layer-by-layer path.
        ``check_first_epoch``: the engine checks the first epoch's batches as it gathers them.
        With ``eval_every`` a run also ends at every multiple of it, where ``record(done)``
        measures the curves, before the epoch's end (when they coincide) runs the callbacks."""
        n, edges, sizes = trainer.n_samples, trainer.edges, trainer.sizes
        size_array = np.asarray(sizes, dtype=np.float64)
        steps = len(sizes)
        total = epochs * steps
        orders, first = [], 0  # the orders of epochs first, first + 1, ...
        state = (*self.parameters().values(), *self.buffers().values())  # the engine's live arrays
        loss_sum, correct, seen, done = 0.0, 0, 0, 0
        while done < total:
            epoch, step = divmod(done, steps)
            if step == 0:
                progress.epoch_begin(epoch)
                if done == 0 or watch.every_epoch:
                    watch.checkpoint(self, optimizer, done, trainer.unborn())
            count = min(self._engine_chunk, total - done if cross_epochs else steps - step)
            if eval_every is not None:
                count = min(count, eval_every - done % eval_every)
            while first < epoch:
                orders.pop(0)
                first += 1
            while first + len(orders) <= (done + count - 1) // steps:
                orders.append(self._shuffle_rng.permutation(n) if shuffle else np.arange(n))
            order = orders[0] if len(orders) == 1 else np.concatenate(orders)
            g = np.arange(done, done + count + 1)
            run_edges = (g // steps - first) * n + edges[g % steps]
            if rates is None:
                lr = np.full(count, _checks.real(optimizer.lr, "optimizer.lr", low=0.0))
            else:
                lr = rates[done:done + count]
                optimizer.lr = float(lr[-1])
            started = time.perf_counter()
            before = optimizer.iterations
            # Each step's loss is checked in C at no cost; the parameters and buffers once per
            # run. A step found either way is found exactly again in a replay (_undo_diverged_step).
            try:
                losses, hits = trainer.run(order, run_edges, lr, max(0, steps - done) if check_first_epoch else 0,
                                           1 if watch.active else 0)
            except _engine.NonFiniteStep as exc:
                good = optimizer.iterations - before
                watch.finite_losses(exc.losses[:good], done)
                raise _Diverged(done + good, float(exc.losses[good]), search=True) from None
            watch.finite_losses(losses, done)
            if watch.active and not self._state_finite(state):
                raise _Diverged(done + count - 1, float(losses[-1]), search=True)
            elapsed = time.perf_counter() - started
            # the run's steps epoch by epoch: one vector product per piece of an epoch, and
            # each step's J * size added to loss_sum in step order, as the layer-by-layer
            # path sums them
            i = 0
            while i < count:
                step = done % steps
                take = min(count - i, steps - step)
                for term in (losses[i:i + take] * size_array[step:step + take]).tolist():
                    loss_sum += term
                seen += sum(sizes[step:step + take])
                correct += int(hits[i:i + take].sum())
                done += take
                i += take
                if eval_every is not None and done % eval_every == 0:
                    record(done)  # the run's last step: runs end at these
                if done % steps == 0:
                    progress.update(steps, loss_sum / seen)
                    logs = {"loss": loss_sum / seen}
                    if self.loss.classification:
                        logs["accuracy"] = correct / seen
                    if end_epoch(done // steps - 1, logs):
                        return
                    loss_sum, correct, seen = 0.0, 0, 0
            if done % steps:
                progress.update(done % steps, loss_sum / seen)
            # the next run's length: about engine_chunk_seconds, growing at most 16x at a time
            per_step = max(elapsed / count, 1e-7)
            self._engine_chunk = int(min(max(1, self.engine_chunk_seconds / per_step), 16 * count))

    _engine_chunk = 1

    # ------------------------------------------------------------ inference
    def _outputs(self, X):
        X = self._input(X, "X")
        return self._forward(X, False)

    def _one_sample(self, X) -> tuple[NDArray[Any], bool]:
        """(X as a batch, whether it is one sample): a 1-D X of in_features values is one sample."""
        X = _checks.numeric_array(X, "X")
        if X.ndim != 1:
            return X, False
        if X.shape[0] != self.in_features:
            raise ValueError(f"X as one sample (a 1-D array) must hold this model's {self.in_features} input "
                             f"features, got shape {X.shape}; N samples of one feature are X.reshape(-1, 1)")
        return X.reshape(1, -1), True

    def predict(self, X: ArrayLike) -> Any:
        """Class labels (int) for classification losses, the network's outputs otherwise; eval mode.

        Parameters
        ----------
        X : array_like, (N, in_features), or (in_features,) for one sample

        Returns
        -------
        numpy.ndarray
            Labels (N,) or outputs (N, out_features); for one sample, its label (a scalar)
            or its outputs (out_features,): the first row of a batch's result.

        Raises
        ------
        ValueError, TypeError
            X does not fit the model.
        """
        X, one = self._one_sample(X)
        # every loss of fastnn.losses defines predict; the base class leaves it to them
        out = cast(Any, self.loss).predict(self._outputs(X))
        return out[0] if one else out

    def predict_proba(self, X: ArrayLike) -> NDArray[Any]:
        """Class probabilities: softmax rows (N, classes), or P(y=1) as (N, 1) for the binary loss.

        Parameters
        ----------
        X : array_like, (N, in_features), or (in_features,) for one sample

        Returns
        -------
        numpy.ndarray
            (N, classes) or (N, 1); for one sample, its row (classes,) or (1,).

        Raises
        ------
        ValueError
            The loss is not a classification loss, or X does not fit the model.
        """
        if not self.loss.classification:
            raise ValueError(f"predict_proba needs a classification loss; this model's loss is {self.loss.name!r}")
        X, one = self._one_sample(X)
        # the classification losses define proba (checked above)
        P = cast(Any, self.loss).proba(_layers.BACKENDS[self.backend], self._outputs(X))
        return P[0] if one else P

    def evaluate(self, X: ArrayLike, y: ArrayLike) -> dict[str, float]:
        """{"loss": J (with the L2 term), "accuracy": ...} in eval mode ("accuracy" for classification).

        Parameters
        ----------
        X : array_like, (N, in_features), or (in_features,) for one sample
        y : array_like
            Targets as for ``fit``; for one sample, its label (a scalar) or its target row.

        Returns
        -------
        dict

        Raises
        ------
        ValueError, TypeError
            X or y does not fit the model, or X holds no sample.
        """
        X, one = self._one_sample(X)
        if one:
            y = np.asarray(y)[None]
        X, y = self._data(X, y)
        self._nonempty(X, "X")
        return self._evaluate(X, y)

    def _evaluate(self, X, y):
        metrics = self._curve_metrics(X, y)
        result = {"loss": metrics["cost"]}
        if self.loss.classification:
            result["accuracy"] = metrics["accuracy"]
        return result

    def _curve_metrics(self, X, y):
        """{"loss": the data term, "cost": loss + the L2 term, "accuracy"} of (X, y) in eval mode."""
        O = self._forward(X, False)
        loss, _ = self.loss(_layers.BACKENDS[self.backend], O, y)
        result = {"loss": float(loss), "cost": float(loss) + self.l2_penalty()}
        if self.loss.classification:
            result["accuracy"] = self.loss.correct(O, y) / X.shape[0]
        return result

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """The model's score on (X, y), as scikit-learn's estimators define it, in eval mode.

        Parameters
        ----------
        X : array, (N, in_features)
        y : array
            Targets as ``fit`` takes them.

        Returns
        -------
        float
            The accuracy (the fraction of samples classified right) for the classification
            losses; for "mse", the coefficient of determination R^2 of the outputs, computed
            per output column and averaged (:func:`sklearn.metrics.r2_score`: 1 is a perfect
            fit, a constant column scores 1 when predicted exactly and 0 otherwise).

        Raises
        ------
        TypeError, ValueError
            X or y that ``evaluate`` refuses.
        """
        X, y = self._data(X, y)
        self._nonempty(X, "X")
        O = self._forward(X, False)
        if self.loss.classification:
            return self.loss.correct(O, y) / X.shape[0]
        return _losses.r2_score(y, O)

    # ------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to a file, atomically (see :func:`fastnn.io.save`).

        Parameters
        ----------
        path : str or os.PathLike
            The .npz file, used exactly as given.
        """
        from . import io
        io.save(self, path)


def _infer_sizes(layers):
    """(in_features, out_features) of a layer stack; ValueError where neighbours disagree."""
    width, first = None, None
    for i, layer in enumerate(layers):
        if width is None:
            width = _first_width(layer, None)
            first = width
            if width is None:
                continue
        try:
            width = layer.output_features(width)
        except ValueError as exc:
            raise ValueError(f"layers[{i}]: {exc}") from None
    if width is None:
        raise ValueError("layers must include a Dense, Maxout or BatchNorm layer (they fix the sizes)")
    return first, width


def _first_width(layer, default):
    if isinstance(layer, (_layers.Dense, _layers.Maxout)):
        return layer.in_features
    if isinstance(layer, _layers.BatchNorm):
        return layer.n
    return default



class _Diverged(Exception):
    """Inside fit: global step ``step`` had a non-finite ``loss`` (or a finite loss and a
    non-finite updated parameter or running statistic). ``culprit`` is the step undone: the
    one before when the loss is not finite (its update made the outputs overflow; the
    parameters before it can still give finite outputs), that step itself otherwise."""

    def __init__(self, step, loss, search=False):
        super().__init__(step, loss)
        self.step, self.loss, self.search = step, loss, search
        self.culprit = step - 1 if step > 0 and not math.isfinite(loss) else step


class _Watch:
    """fit's divergence watch: the mode, the last finite loss, and the checkpoints a diverged
    step is undone from (a _Snapshot, the global step it was taken before, the engine's unborn
    momentum buffers): the fit's start, and with ``every_epoch`` each epoch's start."""

    def __init__(self, mode, steps, every_epoch):
        self.mode, self.steps, self.every_epoch = mode, steps, every_epoch
        self.active = mode != "ignore"
        self.last = None  # (loss, global step)
        self.saved = []   # the last two checkpoints: the culprit may lie in the epoch before
        self.restored_from = None

    def checkpoint(self, model, optimizer, step, unborn=()):
        """Save the state before global step ``step``; ``unborn``: parameters whose momentum
        buffer the engine holds but no update has filled yet."""
        if self.active:
            self.saved = [*self.saved[-1:], (_Snapshot(model, optimizer), step, tuple(unborn))]

    def finite_loss(self, loss, step):
        if self.active and math.isfinite(loss):
            self.last = (loss, step)

    def finite_losses(self, losses, first_step):
        """finite_loss for a run's losses, step ``first_step`` first, in one pass."""
        if self.active:
            finite = np.flatnonzero(np.isfinite(losses))
            if finite.size:
                self.last = (float(losses[finite[-1]]), first_step + int(finite[-1]))

    def _where(self, step):
        epoch, within = divmod(step, self.steps)
        return f"epoch {epoch + 1}, step {within + 1} of {self.steps}"

    def message(self, diverged, optimizer):
        if np.isfinite(diverged.loss):
            what = "its update left a parameter or batch-norm running statistic not finite"
        elif diverged.culprit < diverged.step:
            what = f"after its update the loss of the next step is {diverged.loss}"
        else:
            what = f"its loss is {diverged.loss}, before any update of this fit"
        last = ("no step had a finite loss" if self.last is None else
                f"the last finite loss was {self.last[0]:.6g} ({self._where(self.last[1])})")
        return (f"training diverged at {self._where(diverged.culprit)}: {what}; {last}. The parameters, "
                "batch-norm running statistics and optimiser state are back to what they were before "
                f"that step. Try a lower learning rate (optimizer.lr is {optimizer.lr:g}), standardised "
                "inputs (fastnn.data.Standardizer), or gradient clipping (the optimiser's max_grad_norm); "
                "fit(on_divergence='ignore') trains on regardless.")


def _copied(value):
    """A deep copy of optimiser state (dicts and lists of arrays and numbers): the arrays are
    copied directly, which a fit that checkpoints every epoch needs to be cheap."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(item) for item in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value  # immutable
    return copy.deepcopy(value)


class _Snapshot:
    """Everything a fit may change, saved before it starts (or before an epoch). ``restore``
    puts it back: a fit that checks its data during the first epoch undoes the steps trained
    before a bad batch, so that a rejected fit leaves the model, the optimiser and the
    shuffling as they were; a diverging fit goes back to a checkpoint and replays from it."""

    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer
        self.arrays = [(a, a.copy()) for a in (*model.parameters().values(), *model.buffers().values())]
        self.model_attributes = dict(model.__dict__)
        self.layer_attributes = [dict(layer.__dict__) for layer in model.layers]  # dropout steps
        self.optimizer_attributes = _copied(optimizer.__dict__)  # state, iterations, lr
        self.shuffle_state = model._shuffle_rng.bit_generator.state

    def restore(self):
        for live, saved in self.arrays:
            np.copyto(live, saved)  # in place: arrays the caller holds see their old values
        # the optimiser gets copies of the saved state arrays: training after a restore updates
        # them in place, and a snapshot may be restored more than once (fit's divergence search)
        for obj, attributes in [(self.model, self.model_attributes),
                                (self.optimizer, _copied(self.optimizer_attributes)),
                                *zip(self.model.layers, self.layer_attributes)]:
            obj.__dict__ = dict(attributes)  # one assignment: never an object half restored
        self.model._shuffle_rng.bit_generator.state = self.shuffle_state


def MLP(sizes: Sequence[int], activation: str = "relu", batch_norm: bool = False, dropout: float = 0.0,
        init: str | Callable[..., Any] = "he", bn_momentum: float = 0.1, bn_eps: float = 1e-5,
        bn_running_var: str = "unbiased", **kw: Any) -> Sequential:
    """A multilayer perceptron: ``sizes = [inputs, hidden..., outputs]``.

    Each hidden layer is Dense -> (BatchNorm) -> Activation -> (Dropout); the
    output layer is a plain Dense (the loss applies softmax or sigmoid). With
    batch_norm the hidden Dense layers have no bias: BN's beta is the shift.
    Other keywords (loss, l2, dtype, backend, seed) go to :class:`Sequential`.
    Train it with ``model.fit(X, y, epochs=..., batch_size=..., optimizer=...,
    validation_data=..., callbacks=..., lr_schedule=...)``: see
    :meth:`Sequential.fit` for every argument.

    The activations: "relu", "tanh", "sigmoid", "leaky_relu" (slope 0.01 below
    zero), "elu" (scale 1.0), "softplus" and "identity". The initialisers
    (:mod:`fastnn.init`): "he" (also "kaiming"), "he_uniform", "xavier" (also
    "lecun"), "glorot_normal", "glorot_uniform", "glorot_uniform_sigmoid",
    "normal", "uniform", "zeros", "ones", or a callable
    ``(shape, rng, dtype) -> array``.

    Parameters
    ----------
    sizes : list of int
        The widths, inputs first and outputs last.
    activation : str, default "relu"
        The hidden units' activation, from the list above.
    batch_norm : bool, default False
        A BatchNorm layer after each hidden Dense layer.
    dropout : float, default 0.0
        Dropout probability after each hidden activation (0: no Dropout layer).
    init : str or callable, default "he"
        The Dense layers' initialisation, from the list above.
    bn_momentum, bn_eps, bn_running_var
        Every BatchNorm layer's ``momentum``, ``eps`` and ``running_var`` ("unbiased",
        as PyTorch, or "biased", as the lecture notes); see :class:`~fastnn.layers.BatchNorm`.
        Only with ``batch_norm=True``.
    **kw
        Passed to :class:`Sequential`: loss, l2, dtype, backend, seed.

    Returns
    -------
    Sequential

    Raises
    ------
    TypeError, ValueError
        An argument of the wrong type or out of range, or a batch-norm option set
        without ``batch_norm=True``.

    Examples
    --------
    >>> import fastnn
    >>> model = fastnn.MLP([64, 100, 10], batch_norm=True, seed=0)
    >>> [type(layer).__name__ for layer in model.layers]
    ['Dense', 'BatchNorm', 'Activation', 'Dense']
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a list of layer widths, got {type(sizes).__name__}")
    sizes = [_checks.integer(s, f"sizes[{i}]", minimum=1) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least the input and output widths, got {sizes}")
    batch_norm = _checks.boolean(batch_norm, "batch_norm")
    dropout = _checks.real(dropout, "dropout", low=0.0, high=1.0, high_open=True)
    bn_options: dict[str, Any] = {"momentum": bn_momentum, "eps": bn_eps, "running_var": bn_running_var}
    _layers.BatchNorm(1, **bn_options)  # checks the options, with or without batch norm
    if not batch_norm:
        for name, (value, default) in {"bn_momentum": (bn_momentum, 0.1), "bn_eps": (bn_eps, 1e-5),
                                       "bn_running_var": (bn_running_var, "unbiased")}.items():
            if value != default:
                raise ValueError(f"{name}={value!r} sets the BatchNorm layers, but batch_norm=False adds none; "
                                 f"pass batch_norm=True")
    layers: list[_layers.Layer] = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(_layers.Dense(n_in, n_out, init=init, bias=not batch_norm))
        if batch_norm:
            layers.append(_layers.BatchNorm(n_out, **bn_options))
        layers.append(_layers.Activation(activation))
        if dropout > 0:
            layers.append(_layers.Dropout(dropout))
    layers.append(_layers.Dense(sizes[-2], sizes[-1], init=init))
    return Sequential(layers, **kw)


class _Progress:
    """Progress output on stdout: verbose=1 a bar, verbose=2 one line per epoch.

    The bar is redrawn in place with a carriage return only when stdout is a
    terminal; into a pipe, a file or a notebook's captured stream, verbose=1
    writes one plain line per epoch instead, as tqdm and Keras do, so logs hold
    no control characters. No line ends in padding: on a terminal, a line
    shorter than the bar it replaces is padded by the difference only.
    """

    WIDTH = 30

    def __init__(self, verbose, epochs, steps):
        self.verbose, self.epochs, self.steps = verbose, epochs, steps
        self.stream = sys.stdout
        self.redraw = verbose == 1 and _is_terminal(self.stream)
        self._last_draw = 0.0
        self._drawn = 0  # characters of the bar line on screen

    def epoch_begin(self, epoch):
        self._epoch = epoch
        self._start = time.perf_counter()

    def update(self, step, running_loss):
        if not self.redraw:
            return
        now = time.perf_counter()
        if step < self.steps and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        done = self.WIDTH * step // self.steps
        bar = "=" * done + (">" if done < self.WIDTH else "") + "." * (self.WIDTH - done - 1)
        self._draw(f"{self._label()} [{bar[:self.WIDTH]}] {step}/{self.steps} - loss {running_loss:.4f}")
        self.stream.flush()

    def _label(self):
        return f"Epoch {self._epoch + 1}/{self.epochs}"

    def _draw(self, text):
        # The terminal keeps the previous bar's characters beyond the new text's end.
        self.stream.write("\r" + text + " " * max(0, self._drawn - len(text)))
        self._drawn = len(text)

    def epoch_end(self, epoch, logs):
        if self.verbose == 0:
            return
        seconds = time.perf_counter() - self._start
        metrics = " - ".join(f"{k} {v:.4f}" for k, v in logs.items())
        line = f"Epoch {epoch + 1}/{self.epochs} - {duration(seconds)} - {metrics}"
        if self.redraw and self._drawn:
            self._draw(line)
            self.stream.write("\n")
            self._drawn = 0
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _is_terminal(stream) -> bool:
    """Whether ``stream`` is an interactive terminal (False for pipes, files and StringIO)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False
