"""The training cases of ``fastnn bench``: whole epochs and whole runs of ``fit``, and their competitors.

A :class:`TrainCase` is a network (``MLP(sizes, batch_norm=...)``), a data set
size, a batch size, a number of epochs per timed call and an optimiser. Every
competitor trains the same network from the same initial weights (fastnn's
``seed=0`` draw, copied into the others) on the same data, in the same dtype,
with the same mini-batches: an epoch is one permutation of the samples cut by
:func:`fastnn.data.batch_bounds` with fastnn's rule (with batch norm, a short
last batch is merged into the one before), so every competitor makes the same
number of updates on batches of the same sizes. One timed call is
``case.epochs`` epochs with a fresh optimiser; for per-epoch cases the table
divides by the number of epochs. Data are seeded Gaussian inputs with labels
from a random linear teacher, built once, outside the timed calls.

The competitors:

* ``c``: ``fastnn.MLP(sizes, batch_norm=..., dtype=..., seed=0)`` and
  ``model.fit(X, y, epochs=E, batch_size=B, optimizer=..., verbose=0)``
  (shuffle on): everything fit does, argument checks included.
* ``numpy``: :class:`PlainMLP`, the network written in plain NumPy the way a
  student writes it from the lecture notes: per epoch a permutation, gather
  the batch, forward (X W^T (+ b), batch norm with batch statistics and
  running averages, ReLU), softmax cross-entropy, backward (the three-term
  batch-norm gradient, dW = dS^T X, no dX for the first layer), then the SGD
  or Adam (PyTorch's equations) update, in place, in the model's dtype.
* ``torch``: ``torch.nn.Sequential(Linear(bias=False), BatchNorm1d, ReLU, ...,
  Linear)`` trained with ``torch.optim.SGD``/``Adam`` and ``F.cross_entropy``
  in a DataLoader-free loop: ``torch.randperm`` per epoch, index gathering,
  ``zero_grad(set_to_none=True)``, ``backward``, ``step``.

The thread-scaling case times fastnn alone with ``fastnn.set_num_threads(1)``
and ``(2)`` in alternation.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import fastnn

from .. import optim
from ..data import batch_bounds
from .machine import import_torch
from .timing import Competitor, Result, sample_with_probes

BACKEND_NAMES = ("c", "numpy", "torch")
SCALING_THREADS = (1, 2)
THREAD_BACKENDS = {"c": SCALING_THREADS[1], "c1": SCALING_THREADS[0]}  # the threads case: name -> threads
QUICK_FACTOR = 10  # --quick: a tenth of the samples (per-epoch cases) or of the epochs (whole runs)


@dataclass(frozen=True)
class TrainCase:
    """Training ``MLP(sizes, batch_norm=batch_norm)`` on ``samples`` samples in batches of ``batch``.

    One timed call is ``epochs`` epochs. ``per`` is "epoch" (the table gives
    the time per epoch) or "run" (the time of the whole call). ``threads``
    marks the fastnn-only case timed with 1 and 2 threads.
    """

    sizes: tuple[int, ...]
    batch_norm: bool
    samples: int
    batch: int
    epochs: int = 1
    optimizer: str = "sgd"
    lr: float = 0.01
    per: str = "epoch"
    threads: bool = False
    # what Result and the JSON expect of a case
    op: str = "train"
    activation: str | None = None
    flops: int | None = None
    fused: bool | None = None

    @property
    def group(self) -> str:
        return "threads" if self.threads else "training"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.sizes

    @property
    def network(self) -> str:
        """The layer widths, three or more equal hidden widths in a row shortened: "500-500x10-10 bn"."""
        hidden = [(width, len(list(run))) for width, run in itertools.groupby(self.sizes[1:-1])]
        parts = [str(self.sizes[0]), *(f"{w}x{k}" if k >= 3 else "-".join([str(w)] * k) for w, k in hidden),
                 str(self.sizes[-1])]
        return "-".join(parts) + (" bn" if self.batch_norm else "")

    @property
    def label(self) -> str:
        return f"train {self.network} {self.optimizer}"

    @property
    def size(self) -> str:
        return f"N={self.samples} B={self.batch} E={self.epochs}"

    @property
    def name(self) -> str:
        """What ``--cases`` matches: e.g. "train 784-512-512-10 bn sgd" (every name starts with "train")."""
        return self.label + (" threads 1 vs 2" if self.threads else "") + (
            f" {self.epochs} epochs" if self.per == "run" else "")

    @property
    def updates_per_epoch(self) -> int:
        return len(batch_bounds(self.samples, self.batch, merge_last=self.batch_norm))

    @property
    def divisor(self) -> int:
        """What the time of one call is divided by in the table: epochs, or 1 for whole runs."""
        return self.epochs if self.per == "epoch" else 1

    def details(self) -> dict:
        """The training settings, for the JSON record."""
        return {"samples": self.samples, "batch_size": self.batch, "epochs": self.epochs,
                "updates_per_epoch": self.updates_per_epoch, "optimizer": self.optimizer, "lr": self.lr,
                "batch_norm": self.batch_norm, "per": self.per,
                "threads": list(SCALING_THREADS) if self.threads else None}

    def quick(self) -> TrainCase:
        """The --quick version: a tenth of the samples (per epoch) or of the epochs (whole runs)."""
        if self.per == "epoch":
            return dataclasses.replace(self, samples=max(2 * self.batch, self.samples // QUICK_FACTOR))
        return dataclasses.replace(self, epochs=max(1, self.epochs // QUICK_FACTOR))


TEN_LAYERS = (500, *([500] * 10), 10)

TRAIN_CASES: tuple[TrainCase, ...] = (
    TrainCase((3072, 50, 50, 10), True, 10_000, 100),
    TrainCase((784, 512, 512, 10), True, 10_000, 256),
    TrainCase((64, 100, 10), True, 1347, 32, epochs=50, optimizer="adam", lr=1e-3, per="run"),
    TrainCase((2, 16, 2), False, 1024, 32, epochs=20, lr=0.1, per="run"),
    TrainCase((784, 512, 512, 10), True, 10_000, 256, threads=True),
    TrainCase(TEN_LAYERS, True, 10_000, 256),
)


# ---------------------------------------------------------------- data and models

def make_data(case: TrainCase, dtype, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): standard Gaussian inputs and labels argmax(X T^T) of a random linear teacher T."""
    rng = np.random.default_rng(seed)
    d, classes = case.sizes[0], case.sizes[-1]
    X = rng.standard_normal((case.samples, d))
    teacher = rng.standard_normal((classes, d))
    y = np.argmax(X @ teacher.T, axis=1).astype(np.int64)
    return np.ascontiguousarray(X, dtype=dtype), y


def make_model(case: TrainCase, dtype, backend: str = "c"):
    return fastnn.MLP(list(case.sizes), batch_norm=case.batch_norm, dtype=dtype, backend=backend, seed=0)


def fastnn_optimizer(case: TrainCase):
    return optim.SGD(lr=case.lr) if case.optimizer == "sgd" else optim.Adam(lr=case.lr)


def dense_parameters(model) -> list[dict]:
    """Per Dense layer of an MLP, copies of its arrays: W, b (or None), gamma, beta (or None: no BN)."""
    layers, out = model.layers, []
    current: dict = {}
    for layer in layers:
        if isinstance(layer, fastnn.layers.Dense):
            current = {"W": layer.W.copy(), "b": None if layer.b is None else layer.b.copy(),
                       "gamma": None, "beta": None}
            out.append(current)
        elif isinstance(layer, fastnn.layers.BatchNorm):
            current["gamma"], current["beta"] = layer.gamma.copy(), layer.beta.copy()
    return out


class PlainMLP:
    """The lecture's MLP in plain NumPy: Dense -> (BatchNorm) -> ReLU per hidden layer, then Dense.

    This is the competitor, not fastnn: the code a student writes from the
    lecture notes, so it calls no fastnn kernel (neither fastnn.ops nor
    fastnn.reference). Only the batch boundaries come from fastnn, so that
    every competitor makes the same updates. tests/bench/test_training.py
    checks that it trains exactly as fastnn's NumPy backend does.

    ``layers`` is :func:`dense_parameters`' list; arrays are copied and kept in
    their dtype. ``step(X, y)`` is one SGD or Adam update on one mini-batch and
    returns the batch loss before it; ``fit(X, y, epochs, batch_size)`` trains.
    """

    def __init__(self, layers: Sequence[dict], optimizer: str = "sgd", lr: float = 0.01,
                 eps: float = 1e-5, momentum: float = 0.1, seed: int = 0):
        self.W = [p["W"].copy() for p in layers]
        self.b = [None if p["b"] is None else p["b"].copy() for p in layers]
        self.gamma = [None if p["gamma"] is None else p["gamma"].copy() for p in layers]
        self.beta = [None if p["beta"] is None else p["beta"].copy() for p in layers]
        hidden = len(layers) - 1
        dtype = self.W[0].dtype
        self.running_mean = [np.zeros(w.shape[0], dtype) for w in self.W[:hidden]]
        self.running_var = [np.ones(w.shape[0], dtype) for w in self.W[:hidden]]
        self.optimizer, self.lr, self.eps, self.momentum = optimizer, lr, eps, momentum
        self.rng = np.random.default_rng(seed)
        self.reset_optimizer()

    def reset_optimizer(self):
        self.t = 0
        self.adam = {}

    def params(self):
        """(name, array) of every trained parameter, in a fixed order."""
        for i, arrays in enumerate(zip(self.W, self.b, self.gamma, self.beta)):
            for name, p in zip(("W", "b", "gamma", "beta"), arrays):
                if p is not None:
                    yield f"{i}.{name}", p

    def step(self, X, y):
        n = X.shape[0]
        last = len(self.W) - 1
        caches = []
        H = X
        for i in range(last):
            S = H @ self.W[i].T
            if self.b[i] is not None:
                S += self.b[i]
            bn = None
            if self.gamma[i] is not None:
                mean = S.mean(axis=0)
                centred = S - mean
                var = (centred * centred).mean(axis=0)
                inv_std = 1.0 / np.sqrt(var + self.eps)
                S_hat = centred * inv_std
                S = S_hat * self.gamma[i] + self.beta[i]
                self.running_mean[i] *= 1 - self.momentum
                self.running_mean[i] += self.momentum * mean
                self.running_var[i] *= 1 - self.momentum
                self.running_var[i] += (self.momentum * n / (n - 1)) * var
                bn = (centred, inv_std, S_hat)
            H_next = np.maximum(S, 0)
            caches.append((H, bn, H_next))
            H = H_next
        scores = H @ self.W[last].T + self.b[last]

        # softmax cross-entropy and its gradient (P - onehot) / n
        scores -= scores.max(axis=1, keepdims=True)
        P = np.exp(scores)
        P /= P.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = -np.log(P[rows, y]).mean()
        dS = P
        dS[rows, y] -= 1
        dS /= n

        grads = {}
        grads[f"{last}.W"] = dS.T @ H
        grads[f"{last}.b"] = dS.sum(axis=0)
        dH = dS @ self.W[last]
        for i in reversed(range(last)):
            H_in, bn, H_out = caches[i]
            dS = dH * (H_out > 0)
            if bn is not None:
                centred, inv_std, S_hat = bn
                grads[f"{i}.gamma"] = (dS * S_hat).sum(axis=0)
                grads[f"{i}.beta"] = dS.sum(axis=0)
                g = dS * self.gamma[i]
                dJ_dvar = -0.5 * (g * centred).sum(axis=0) * inv_std ** 3
                dJ_dmean = -g.sum(axis=0) * inv_std
                dS = g * inv_std + (2.0 / n) * dJ_dvar * centred + dJ_dmean / n
            grads[f"{i}.W"] = dS.T @ H_in
            if self.b[i] is not None:
                grads[f"{i}.b"] = dS.sum(axis=0)
            if i > 0:  # no dX for the first layer
                dH = dS @ self.W[i]
        self._update(grads)
        return loss

    def _update(self, grads):
        self.t += 1
        if self.optimizer == "sgd":
            for name, p in self.params():
                p -= self.lr * grads[name]
            return
        b1, b2, eps = 0.9, 0.999, 1e-8
        step_size = self.lr / (1 - b1 ** self.t)
        root = math.sqrt(1 - b2 ** self.t)  # a Python float: keeps float32 arrays float32
        for name, p in self.params():
            g = grads[name]
            if name not in self.adam:
                self.adam[name] = (np.zeros_like(p), np.zeros_like(p))
            m, v = self.adam[name]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            p -= step_size * (m / (np.sqrt(v) / root + eps))

    def fit(self, X, y, epochs: int, batch_size: int):
        """``epochs`` epochs with a fresh optimiser: a permutation per epoch, fastnn's batches."""
        self.reset_optimizer()
        bounds = batch_bounds(X.shape[0], batch_size, merge_last=self.gamma[0] is not None)
        for _ in range(epochs):
            order = self.rng.permutation(X.shape[0])
            for start, stop in bounds:
                idx = order[start:stop]
                self.step(X[idx], y[idx])


def torch_model(torch, case: TrainCase, layers: Sequence[dict]):
    """torch.nn.Sequential of the same network, holding copies of ``layers``' arrays."""
    nn = torch.nn
    modules = []
    for i, p in enumerate(layers):
        W = torch.from_numpy(p["W"].copy())
        linear = nn.Linear(W.shape[1], W.shape[0], bias=p["b"] is not None, dtype=W.dtype)
        with torch.no_grad():
            linear.weight.copy_(W)
            if p["b"] is not None:
                linear.bias.copy_(torch.from_numpy(p["b"]))
        modules.append(linear)
        if i < len(layers) - 1:
            if p["gamma"] is not None:
                bn = nn.BatchNorm1d(W.shape[0], eps=1e-5, momentum=0.1, dtype=W.dtype)
                with torch.no_grad():
                    bn.weight.copy_(torch.from_numpy(p["gamma"]))
                    bn.bias.copy_(torch.from_numpy(p["beta"]))
                modules.append(bn)
            modules.append(nn.ReLU())
    return nn.Sequential(*modules).train()


def torch_optimizer(torch, case: TrainCase, net):
    if case.optimizer == "sgd":
        return torch.optim.SGD(net.parameters(), lr=case.lr)
    return torch.optim.Adam(net.parameters(), lr=case.lr)


def torch_fit(torch, case: TrainCase, net, X, y, bounds, generator):
    """``case.epochs`` epochs of PyTorch's usual loop, no DataLoader; returns the last loss."""
    F = torch.nn.functional
    opt = torch_optimizer(torch, case, net)
    loss = None
    for _ in range(case.epochs):
        order = torch.randperm(X.shape[0], generator=generator)
        for start, stop in bounds:
            idx = order[start:stop]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(X[idx]), y[idx])
            loss.backward()
            opt.step()
    return loss


# ---------------------------------------------------------------- competitors

def backend_names(case: TrainCase, torch: bool = True) -> list[str]:
    """The competitors of ``case``: c, numpy (and torch), or c (2 threads) and c1 (1 thread)."""
    if case.threads:
        return list(THREAD_BACKENDS)
    return [b for b in BACKEND_NAMES if torch or b != "torch"]


def train_competitors(case: TrainCase, dtype, backends: Sequence[str] | None = None) -> list[Competitor]:
    """One callable per backend, each training ``case.epochs`` epochs per call (see the module docstring).

    ``backends`` defaults to "c", "numpy" and, when importable, "torch"; the
    thread-scaling case has the fastnn-only competitors "c" (2 threads) and
    "c1" (1 thread) instead. Models and data are built here, before any timing.
    """
    torch = import_torch()
    names = backend_names(case, torch is not None)
    backends = names if backends is None else list(backends)
    unknown = [b for b in backends if b not in (THREAD_BACKENDS if case.threads else BACKEND_NAMES)]
    if unknown:
        raise ValueError(f"backends of {case.name!r} must be among {backend_names(case, True)}, got {unknown}")
    X, y = make_data(case, dtype)
    model = make_model(case, dtype)
    if case.threads:
        return [(name, _fit_with_threads(model, case, X, y, THREAD_BACKENDS[name])) for name in backends]
    layers = dense_parameters(model)
    competitors = []
    for name in backends:
        if name == "c":
            competitors.append((name, _fit_with_threads(model, case, X, y, None)))
        elif name == "numpy":
            plain = PlainMLP(layers, case.optimizer, case.lr)
            competitors.append((name, _bind_fit(plain, X, y, case)))
        else:
            if torch is None:
                raise ImportError("the torch backend needs PyTorch, which is not importable")
            net = torch_model(torch, case, layers)
            tX, ty = torch.from_numpy(X), torch.from_numpy(y)
            bounds = batch_bounds(case.samples, case.batch, merge_last=case.batch_norm)
            generator = torch.Generator().manual_seed(0)
            competitors.append((name, _bind_torch(torch, case, net, tX, ty, bounds, generator)))
    return competitors


def _fit_with_threads(model, case, X, y, threads: int | None) -> Callable[[], object]:
    def fit():
        if threads is not None:
            fastnn.set_num_threads(threads)
        return model.fit(X, y, epochs=case.epochs, batch_size=case.batch, optimizer=fastnn_optimizer(case),
                         verbose=0)
    return fit


def _bind_fit(plain, X, y, case) -> Callable[[], object]:
    return lambda: plain.fit(X, y, case.epochs, case.batch)


def _bind_torch(torch, case, net, X, y, bounds, generator) -> Callable[[], object]:
    return lambda: torch_fit(torch, case, net, X, y, bounds, generator)


# ---------------------------------------------------------------- runs

def run_train_case(case: TrainCase, dtype: str, rounds: int) -> Result:
    """Time ``case``'s competitors in ``dtype``: one untimed call each, then ``rounds`` interleaved
    rounds of one timed call each. Seconds are per epoch (or per run, see TrainCase.per)."""
    competitors = train_competitors(case, dtype)
    threads_before = fastnn.get_num_threads()
    try:
        samples, _, runnable = sample_with_probes(competitors, None, fixed_rounds=rounds)
    finally:
        fastnn.set_num_threads(threads_before)
    samples = {name: [s / case.divisor for s in times] for name, times in samples.items()}
    # the threads case runs up to SCALING_THREADS[1] threads; the others the bench's count
    threads = max(SCALING_THREADS) if case.threads else threads_before
    return Result.from_samples(case, dtype, samples, runnable=runnable, threads=threads)
