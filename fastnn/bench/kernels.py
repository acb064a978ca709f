"""The kernel cases of ``fastnn bench`` and of the bench/ suite, and their competitors.

:func:`make_args` builds seeded inputs for one kernel at one size, so every
backend (and bench/ and the CLI) times the same data.

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import fastnn

from .. import _ops, ops, reference
from .machine import import_torch
from .timing import Competitor, ProbeFloors, Result, sample_with_probes

# The two implementations of every kernel, under the names bench/ uses.
BACKENDS = {"c": ops, "numpy": reference}


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
        assert activation is not None  # the activation cases all name one
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

    @property
    def fused(self) -> bool | None:
        """For dense_forward, whether this build times the fused kernel; None for the other kernels."""
        return has_fused_dense() if self.op == "dense_forward" else None

    def details(self) -> dict:
        """Settings of the case beyond its shape, for the JSON record: none for a kernel case."""
        return {}


ACTIVATIONS = _ops.ACTIVATIONS
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


# ---------------------------------------------------------------- runs

#: the probe of each library: a small float32 product on its threads, timed after every round of a kernel case;
#: 9 rows, a size no case times, so that fastnn's thread chooser for the probe's scattered calls is not the
#: one of a case's steady run of calls
PROBE_CASE = Case("linear_forward", (9, *SCALING_LAYER), group="probe")


def probe_competitors() -> list[Competitor]:
    """The probes of :mod:`fastnn.bench.timing`, one per backend, built once per run.

    The same small product (9 rows, 784->512, float32) through each library:
    it runs on the library's threads, so a core taken by another process
    slows it as it slows the case being timed, and it is short enough to add
    little to a round.
    """
    return case_competitors(PROBE_CASE, "float32")


def run_case(case: Case, dtype: str, target_seconds: float, min_rounds: int,
             probes: Sequence[Competitor] | None = None, floors: ProbeFloors | None = None) -> Result:
    """Time every available backend on ``case`` in ``dtype``, interleaved.

    With ``probes`` (see :func:`probe_competitors`), each library's probe is
    timed after every round; its median is kept in the result (NumPy's only
    for a matrix product, the one case where the reference uses NumPy's
    threads) and ``floors``, when given, takes in the probes' times.
    """
    samples, probe_samples, runnable = sample_with_probes(case_competitors(case, dtype), probes,
                                                          target_seconds=target_seconds, min_rounds=min_rounds)
    if floors is not None:
        floors.observe(probe_samples)
    if case.flops is None:
        # The NumPy reference's elementwise kernels run on the calling thread alone: the
        # state of NumPy's BLAS threads, which its probe measures, says nothing about them.
        probe_samples = {name: times for name, times in probe_samples.items() if name != "numpy"}
    return Result.from_samples(case, dtype, samples, probe_samples, runnable, fastnn.get_num_threads())
