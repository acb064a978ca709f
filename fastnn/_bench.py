"""Timing helpers shared by the ``fastnn`` command line and the bench/ suite.

* :func:`make_args` builds seeded inputs for one kernel at one size, so every
  backend (and bench/ and the CLI) times the same data.
* :func:`time_interleaved` times several competitors on one case in
  alternation and reports medians. Alternating means slow drifts of the machine
  (clock boost, other processes, thermal throttling) hit every competitor
  alike instead of whichever happened to run during the drift.
* :func:`format_table` lays results out as aligned plain text.

A competitor is a ``(name, callable)`` pair with the callable taking no
arguments; adding a backend (PyTorch, say) is adding one more pair.

The cases of ``fastnn bench`` and of the bench/ suite are :data:`BENCH_CASES`;
:func:`case_competitors` builds each case's callables for the backends "c"
(fastnn.ops), "numpy" (fastnn.reference) and "torch" (when importable). What
one call of each competitor computes, per kind of case:

* ``linear_forward``: S = X W^T + b. torch: ``F.linear`` under
  ``torch.no_grad()``.
* ``linear_backward``: dX = dS W, dW = dS^T X, db = column sums of dS, from a
  given dS. torch: the same two ``mm`` and one ``sum`` with no autograd, since
  ours needs no forward pass either.
* ``dense_forward``: (S, H) with H = f(X W^T + b). The fused
  ``ops.dense_forward`` when the build has it, else ``linear_forward``
  followed by ``activation_forward`` (the case's label says which). torch:
  ``F.linear`` then the functional activation, under ``torch.no_grad()``.
* ``batchnorm``: forward (Y, mean, var) then backward (dS, dgamma, dbeta) for a
  given dY. torch: ``F.batch_norm(training=True)`` on inputs that require
  grad, then ``torch.autograd.grad`` for (S, gamma, beta): the same outputs.
* ``activation``: forward H = f(S) then backward dS = dH f'(S) for a given dH.
  torch: the functional activation on an S that requires grad, then
  ``torch.autograd.grad(H, S, dH)``. Like ours, torch's sigmoid, tanh and
  relu backward read the output H; its elu and leaky_relu backward read the
  input S (elu recomputes an exponential there, ours uses H + alpha), and so
  does its softplus (a sigmoid of S; ours takes -expm1(-H)). For
  "identity" torch has no function that copies, so its competitor is
  ``S.clone()`` then ``dH.clone()``, which is what ours does.
* ``softmax_cross_entropy``: (loss, dS) for integer labels. torch:
  ``F.cross_entropy`` then ``torch.autograd.grad(loss, S)``.

``torch.autograd.grad`` returns fresh gradients, so nothing accumulates into
``.grad`` between calls. Inputs are built once, outside the timed calls, and
torch sees the very same arrays (``torch.from_numpy`` shares their memory).
"""

from __future__ import annotations

import gc
import math
import statistics
from time import perf_counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from . import ops, reference

# The two implementations of every kernel, under the names bench/ uses.
BACKENDS = {"c": ops, "numpy": reference}

Competitor = tuple[str, Callable[[], object]]


# ---------------------------------------------------------------- inputs

def shape_label(op: str, shape: tuple[int, ...]) -> str:
    """How a size reads in tables: "256x784->512" for linear layers, "256x512" otherwise."""
    if op.startswith("linear"):
        n, d_in, d_out = shape
        return f"{n}x{d_in}->{d_out}"
    return "x".join(str(d) for d in shape)


def make_args(op: str, shape: tuple[int, ...], dtype, activation: str | None = None, seed: int = 0) -> tuple:
    """Positional arguments for ``ops.<op>`` / ``reference.<op>``, C-ordered, of ``dtype``.

    ``shape`` is (N, D_in, D_out) for the linear kernels and (N, D) for the
    others. Activation kernels take the activation name as their first
    argument. Backward inputs are made consistent with the forward pass (H is
    f(S), mean/var are S's statistics) so every branch of a kernel is exercised
    roughly as in training, not on arbitrary numbers.
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)

    def randn(*dims):
        return rng.standard_normal(dims).astype(dtype)

    if op == "linear_forward":
        n, d_in, d_out = shape
        return randn(n, d_in), randn(d_out, d_in), randn(d_out)
    if op == "linear_backward":
        n, d_in, d_out = shape
        return randn(n, d_out), randn(n, d_in), randn(d_out, d_in)
    if op == "dense_forward":
        n, d_in, d_out = shape
        return randn(n, d_in), randn(d_out, d_in), randn(d_out), activation

    n, d = shape
    if op == "batchnorm_forward":
        return randn(n, d), 1 + randn(d), randn(d)
    if op == "batchnorm_backward":
        S = randn(n, d)
        _, mean, var = reference.batchnorm_forward(S, np.ones(d, dtype), np.zeros(d, dtype))
        return randn(n, d), S, 1 + randn(d), mean, var
    if op == "activation_forward":
        return activation, randn(n, d)
    if op == "activation_backward":
        H = reference.activation_forward(activation, randn(n, d))
        return activation, randn(n, d), H
    if op == "softmax_cross_entropy":
        # logits of a few units spread, like a classifier part-way through training
        return 3 * randn(n, d), rng.integers(0, d, size=n)
    # The composite cases of `fastnn bench`: a forward and a backward pass.
    if op == "batchnorm":
        return randn(n, d), 1 + randn(d), randn(d), randn(n, d)  # S, gamma, beta, dY
    if op == "activation":
        return activation, randn(n, d), randn(n, d)  # name, S, dH
    raise ValueError(f"unknown kernel {op!r}")


def kernel_competitors(op: str, args: tuple) -> list[Competitor]:
    """One competitor per backend in BACKENDS, each calling its ``op`` on the same ``args``."""
    return [(name, _bind(getattr(module, op), args)) for name, module in BACKENDS.items()]


# ---------------------------------------------------------------- bench cases

@dataclass(frozen=True)
class Case:
    """One benchmark of ``fastnn bench``: a kernel (or forward+backward pair) at one size.

    ``shape`` is (N, D_in, D_out) for linear_*/dense_forward and (N, D)
    otherwise. ``group`` is "kernels" for the main table and "scaling" for
    the extra batch sizes of the linear_forward scaling table.
    """

    op: str
    shape: tuple[int, ...]
    activation: str | None = None
    group: str = "kernels"

    @property
    def label(self) -> str:
        """The kernel column: e.g. "activation(tanh) fwd+bwd"."""
        if self.op == "dense_forward":
            if has_fused_dense():
                return f"dense_forward({self.activation})"
            return f"linear_forward+activation({self.activation})"
        kernel = f"{self.op}({self.activation})" if self.activation else self.op
        if self.op in ("batchnorm", "activation"):
            kernel += " fwd+bwd"
        return kernel

    @property
    def size(self) -> str:
        return shape_label("linear" if len(self.shape) == 3 else self.op, self.shape)

    @property
    def name(self) -> str:
        """What ``--cases`` matches: e.g. "linear_forward 256x784->512"."""
        return f"{self.label} {self.size}"

    @property
    def flops(self) -> int | None:
        """Floating-point operations of the matrix products (2 per multiply-add); None without one."""
        if len(self.shape) != 3:
            return None
        n, d_in, d_out = self.shape
        products = 2 if self.op == "linear_backward" else 1  # dX and dW
        return 2 * n * d_in * d_out * products


ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus")
SCALING_BATCHES = (1, 8, 64, 256, 1024)  # linear_forward at 784->512
SCALING_LAYER = (784, 512)

BENCH_CASES: tuple[Case, ...] = (
    Case("linear_forward", (1024, 1024, 1024)),
    *(Case(op, shape) for op in ("linear_forward", "linear_backward")
      for shape in ((100, 3072, 50), (256, 784, 512))),
    Case("dense_forward", (256, 784, 512), "relu"),
    Case("batchnorm", (256, 512)),
    *(Case("activation", (256, 4096), name) for name in ACTIVATIONS),
    Case("softmax_cross_entropy", (256, 10)),
    Case("softmax_cross_entropy", (256, 1000)),
    *(Case("linear_forward", (n, *SCALING_LAYER), group="scaling") for n in SCALING_BATCHES if n != 256),
)


def scaling_cases(cases: Sequence[Case] = BENCH_CASES) -> list[Case]:
    """The linear_forward cases at 784->512 (either group), by batch size: the scaling table."""
    rows = [c for c in cases if c.op == "linear_forward" and c.shape[1:] == SCALING_LAYER]
    return sorted(rows, key=lambda c: c.shape[0])


def has_fused_dense() -> bool:
    """Whether this build has ``ops.dense_forward`` (bias + activation in the GEMM epilogue)."""
    return hasattr(ops, "dense_forward")


def import_torch():
    """The torch module, or None when it cannot be imported (it is optional)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def case_competitors(case: Case, dtype, backends: Sequence[str] | None = None, seed: int = 0) -> list[Competitor]:
    """Callables for ``case`` on the same seeded inputs, one per backend.

    Every backend's callable returns the same outputs in the same order:
    S (linear_forward); (dX, dW, db) (linear_backward); (S, H)
    (dense_forward); (Y, dS, dgamma, dbeta) (batchnorm); (H, dS)
    (activation); (loss, dS) (softmax_cross_entropy). torch returns tensors.

    ``backends`` defaults to "c", "numpy" and, when importable, "torch"; asking
    for "torch" without it raises ImportError. Inputs are built here, before
    any timing; see the module docstring for what each call computes.
    """
    torch = import_torch()
    if backends is None:
        backends = [*BACKENDS, *(["torch"] if torch is not None else [])]
    args = make_args(case.op, case.shape, dtype, activation=case.activation, seed=seed)
    unknown = [name for name in backends if name not in (*BACKENDS, "torch")]
    if unknown:
        raise ValueError(f"backends must be among {[*BACKENDS, 'torch']}, got {unknown}")
    competitors = []
    for name in backends:
        if name == "torch":
            if torch is None:
                raise ImportError("the torch backend needs PyTorch, which is not importable")
            competitors.append((name, _torch_call(torch, case.op, args)))
        else:
            competitors.append((name, _numpy_call(BACKENDS[name], case.op, args)))
    return competitors


def _numpy_call(module, op: str, args: tuple) -> Callable[[], object]:
    """The call of ``op`` through ``module`` (fastnn.ops or fastnn.reference)."""
    if op == "batchnorm":
        S, gamma, beta, dY = args

        def batchnorm():
            Y, mean, var = module.batchnorm_forward(S, gamma, beta)
            return (Y, *module.batchnorm_backward(dY, S, gamma, mean, var))
        return batchnorm
    if op == "activation":
        name, S, dH = args

        def activation():
            H = module.activation_forward(name, S)
            return H, module.activation_backward(name, dH, H)
        return activation
    if op == "dense_forward":
        X, W, b, name = args
        if has_fused_dense() and hasattr(module, "dense_forward"):
            return _bind(module.dense_forward, args)

        def dense():
            S = module.linear_forward(X, W, b)
            return S, module.activation_forward(name, S)
        return dense
    return _bind(getattr(module, op), args)


def _torch_call(torch, op: str, args: tuple) -> Callable[[], object]:
    """PyTorch's way of computing what ``_numpy_call`` computes (see the module docstring)."""
    F = torch.nn.functional
    no_grad = torch.no_grad
    t = [torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args]

    if op == "linear_forward":
        X, W, b = t

        def linear_forward():
            with no_grad():
                return F.linear(X, W, b)
        return linear_forward
    if op == "linear_backward":
        dS, X, W = t

        def linear_backward():
            with no_grad():
                return torch.mm(dS, W), torch.mm(dS.t(), X), dS.sum(0)
        return linear_backward
    if op == "dense_forward":
        X, W, b, name = t
        f = _torch_activation(torch, name)

        def dense_forward():
            with no_grad():
                S = F.linear(X, W, b)
                return S, f(S)
        return dense_forward
    if op == "batchnorm":
        S, gamma, beta, dY = t
        inputs = tuple(a.requires_grad_() for a in (S, gamma, beta))

        def batchnorm():
            Y = F.batch_norm(S, None, None, gamma, beta, training=True, eps=1e-5)
            return (Y, *torch.autograd.grad(Y, inputs, dY))
        return batchnorm
    if op == "activation":
        name, S, dH = t
        if name == "identity":
            def identity():
                return S.clone(), dH.clone()
            return identity
        f = _torch_activation(torch, name)
        S.requires_grad_()

        def activation():
            H = f(S)
            return H, *torch.autograd.grad(H, S, dH)
        return activation
    if op == "softmax_cross_entropy":
        S, y = t
        S.requires_grad_()

        def softmax_cross_entropy():
            loss = F.cross_entropy(S, y)
            return loss, *torch.autograd.grad(loss, S)
        return softmax_cross_entropy
    raise ValueError(f"no torch competitor for {op!r}")


def _torch_activation(torch, name: str):
    """torch's function for one of our activations (not identity), with our default alpha."""
    F = torch.nn.functional
    return {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda S: F.leaky_relu(S, 0.01),
        "elu": lambda S: F.elu(S, 1.0),
        "softplus": F.softplus,
    }[name]


def _bind(fn, args):
    # Binds fn now: a lambda written inside the loop above would look up
    # `module` when called, and every competitor would run the last backend.
    return lambda: fn(*args)


# ---------------------------------------------------------------- timing

def _seconds_per_call(fn: Callable[[], object], loops: int) -> float:
    start = perf_counter()
    for _ in range(loops):
        fn()
    return (perf_counter() - start) / loops


#: how long each interleaved sample runs its competitor untimed before timing it
SETTLE_SECONDS = 3e-3


def _settle(fn: Callable[[], object]) -> None:
    """Call ``fn`` at least once and until SETTLE_SECONDS have passed."""
    start = perf_counter()
    fn()
    while perf_counter() - start < SETTLE_SECONDS:
        fn()


def _warm_up(fn: Callable[[], object], seconds: float) -> float:
    """Run ``fn`` for about ``seconds``; return its mean time per call.

    The first call is not counted: it pays one-off costs (page faults on new
    buffers, starting the OpenMP thread pool, filling caches).
    """
    fn()
    calls = 0
    start = perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = perf_counter() - start
        if elapsed >= seconds:
            return elapsed / calls


def time_interleaved(competitors: Sequence[Competitor], **options) -> dict[str, float]:
    """Median seconds per call of each competitor, timed in alternation (see :func:`sample_interleaved`).

    The median, not the mean, so a few samples hit by an interrupt or by
    another process do not move the result.
    """
    return {name: statistics.median(s) for name, s in sample_interleaved(competitors, **options).items()}


def sample_interleaved(
    competitors: Sequence[Competitor],
    target_seconds: float = 0.3,
    warmup_seconds: float = 0.01,
    min_sample_seconds: float = 2e-4,
    min_rounds: int = 5,
    max_rounds: int = 2000,
    fixed_rounds: int | None = None,
) -> dict[str, list[float]]:
    """Seconds per call of each competitor, one sample per round, timed in alternation.

    Each round takes one sample of every competitor; a sample loops the
    callable enough times to last at least ``min_sample_seconds`` so that the
    timer's resolution and the loop's overhead are negligible. The number of
    rounds is chosen so the whole case takes about ``target_seconds`` (but at
    least ``min_rounds``). The order within a round flips every round so no
    competitor always runs right after the same other one. Each sample starts
    with untimed calls for SETTLE_SECONDS (at least one).

    With ``fixed_rounds`` (for calls that last long, such as training epochs)
    there is no estimate: one untimed call of each competitor, then exactly
    that many rounds of one timed call each, with no untimed call per sample.
    """
    if fixed_rounds is not None:
        for _, fn in competitors:
            fn()
        return _alternate(competitors, fixed_rounds, {name: 1 for name, _ in competitors}, wake=False)
    estimate = {name: _warm_up(fn, warmup_seconds) for name, fn in competitors}
    loops = {name: max(1, math.ceil(min_sample_seconds / max(t, 1e-9))) for name, t in estimate.items()}
    round_seconds = sum(loops[name] * estimate[name] + max(SETTLE_SECONDS, estimate[name])
                        for name, _ in competitors)
    rounds = min(max_rounds, max(min_rounds, int(target_seconds / round_seconds)))
    return _alternate(competitors, rounds, loops, wake=True)


def _alternate(competitors: Sequence[Competitor], rounds: int, loops: dict[str, int],
               wake: bool) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name, _ in competitors}
    # Like timeit: a garbage collection triggered by one competitor's garbage
    # would otherwise be charged to whoever runs next.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            order = competitors if r % 2 == 0 else list(reversed(competitors))
            for name, fn in order:
                if wake:
                    # Untimed calls first, for SETTLE_SECONDS: they wake this competitor's
                    # thread pool, asleep since its last sample, and outlast the previous
                    # competitor's idle workers, which spin for a while after its last call
                    # (OpenBLAS's for about 0.25 ms even with OPENBLAS_THREAD_TIMEOUT=20) and
                    # would take a core from this competitor's threads. Neither cost is
                    # seen by a program calling one library in a loop.
                    _settle(fn)
                samples[name].append(_seconds_per_call(fn, loops[name]))
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


# ---------------------------------------------------------------- output

def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left_columns: int = 1) -> str:
    """Aligned plain text: the first ``left_columns`` columns (names) left-aligned, the rest (numbers) right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        parts = [
            str(cell).ljust(w) if i < left_columns else str(cell).rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


# ---------------------------------------------------------------- runs

@dataclass
class Result:
    """Median seconds per call of each backend on one case in one dtype."""

    case: Case
    dtype: str
    seconds: dict[str, float]
    quartiles: dict[str, tuple[float, float]]  # 25th and 75th percentiles of the samples
    rounds: int

    def gflops(self, backend: str) -> float | None:
        flops = self.case.flops
        return None if flops is None else flops / self.seconds[backend] / 1e9

    def speedup(self, backend: str, subject: str = "c") -> float:
        """How many times faster ``subject`` is than ``backend`` (above 1: subject wins)."""
        return self.seconds[backend] / self.seconds[subject]

    def as_dict(self) -> dict:
        others = [b for b in self.seconds if b != "c"]
        return {
            "case": self.case.name,
            "op": self.case.op,
            "shape": list(self.case.shape),
            "activation": self.case.activation,
            "group": self.case.group,
            "fused": has_fused_dense() if self.case.op == "dense_forward" else None,
            "dtype": self.dtype,
            "flops": self.case.flops,
            "seconds": dict(self.seconds),
            "seconds_quartiles": {b: list(q) for b, q in self.quartiles.items()},
            "rounds": self.rounds,
            "gflops": {b: self.gflops(b) for b in self.seconds} if self.case.flops else None,
            "speedup": {f"{b}/c": self.speedup(b) for b in others},
            **(self.case.details() if hasattr(self.case, "details") else {}),
        }


def run_case(case: Case, dtype: str, target_seconds: float, min_rounds: int) -> Result:
    """Time every available backend on ``case`` in ``dtype``, interleaved."""
    samples = sample_interleaved(case_competitors(case, dtype), target_seconds=target_seconds, min_rounds=min_rounds)
    median = {name: statistics.median(s) for name, s in samples.items()}
    quartiles = {name: (float(np.percentile(s, 25)), float(np.percentile(s, 75))) for name, s in samples.items()}
    return Result(case, str(np.dtype(dtype)), median, quartiles, len(next(iter(samples.values()))))


# ---------------------------------------------------------------- machine facts

def cpu_facts() -> dict:
    """What lscpu says (model, cores, caches, the SIMD flags that matter here), on Linux.

    Empty where neither lscpu nor /proc/cpuinfo is there; the JSON then has
    only Python's view (platform, os.cpu_count).
    """
    import os
    import platform
    import shutil
    import subprocess

    facts: dict = {"platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        facts["usable_cpus"] = len(os.sched_getaffinity(0))
    text = ""
    if shutil.which("lscpu"):
        try:
            text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10,
                                  env={**os.environ, "LC_ALL": "C"}).stdout
        except (OSError, subprocess.SubprocessError):
            text = ""
    if not text:
        try:
            with open("/proc/cpuinfo") as f:
                text = f.read().split("\n\n")[0]
        except OSError:
            return facts
    flags: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            continue
        if key.lower() == "flags":
            flags = value.split()
        elif key not in facts and not key.startswith("Vulnerability"):
            facts[key] = value
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl")
    facts["simd_flags"] = [f for f in wanted if f in flags]
    return facts


def blas_threads() -> int | None:
    """Threads of NumPy's BLAS, or None if threadpoolctl (which can tell) is not installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return counts[0] if counts else None


def limit_blas_threads(n: int):
    """Cap NumPy's BLAS at ``n`` threads for the life of the returned object (threadpoolctl); None without it."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=n, user_api="blas")


def versions(torch) -> dict:
    import platform

    import fastnn

    return {
        "fastnn": fastnn.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
    }


# ---------------------------------------------------------------- plot

def plot_results(results: Sequence[Result], path: str) -> None:
    """Speed-ups of the compiled kernels per case (bars) and the linear_forward scaling (lines), one PNG/PDF/SVG.

    Needs matplotlib (imported here, so the rest of fastnn does not); the
    caller checks it is importable before spending time on the timings.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dtypes = sorted({r.dtype for r in results})
    main = [r for r in results if r.case.group in ("kernels", "training")]
    scaling = set(scaling_cases([r.case for r in results]))
    scale_rows = [r for r in results if r.case in scaling]
    others = [b for b in dict.fromkeys(b for r in main for b in r.seconds) if b != "c"]

    fig, axes = plt.subplots(1, 2, figsize=(15, 6.5), gridspec_kw={"width_ratios": [3, 1]})
    bars, lines = axes
    names = list(dict.fromkeys(r.case.name for r in main))
    series = [(dtype, other) for dtype in dtypes for other in others]
    width = 0.8 / max(1, len(series))
    for k, (dtype, other) in enumerate(series):
        by_name = {r.case.name: r.speedup(other) for r in main if r.dtype == dtype and other in r.seconds}
        xs = [i + (k - (len(series) - 1) / 2) * width for i, n in enumerate(names) if n in by_name]
        bars.bar(xs, [by_name[n] for n in names if n in by_name], width, label=f"{other} / c, {dtype}")
    bars.axhline(1.0, color="black", linewidth=0.8)
    bars.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    bars.set_ylabel("speed-up of fastnn (other's time / fastnn's time)")
    bars.set_yscale("log")
    bars.set_title("fastnn (C) against NumPy and PyTorch: above 1, fastnn is faster")
    bars.legend(fontsize=8)

    for dtype in dtypes:
        rows = sorted((r for r in scale_rows if r.dtype == dtype), key=lambda r: r.case.shape[0])
        for backend in (rows[0].seconds if rows else {}):
            lines.plot([r.case.shape[0] for r in rows], [r.seconds[backend] * 1e6 for r in rows],
                       marker="o", label=f"{backend}, {dtype}")
    lines.set_xscale("log")
    lines.set_yscale("log")
    lines.set_xlabel("batch size N")
    lines.set_ylabel("median time per call (µs)")
    lines.set_title(f"linear_forward, {SCALING_LAYER[0]}->{SCALING_LAYER[1]}")
    if scale_rows:
        lines.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
