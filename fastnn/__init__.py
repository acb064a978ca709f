"""fastnn: a from-scratch multilayer-perceptron engine.

Hot kernels are C (a blocked, packed GEMM with SIMD micro-kernels chosen at run
time; batch norm, activations, softmax cross-entropy), called through Cython
with the GIL released and parallel with OpenMP over the batch. ``fastnn.ops``
holds the compiled kernels and ``fastnn.reference`` their NumPy twins; above
them, ``Sequential``/``MLP`` models built from ``fastnn.layers`` train with
``fit`` on either backend. ``fastnn.columns`` holds the same kernels with
samples as columns, and ``fastnn.coursework`` a course's k-layer helpers
built on them.

The most used names are here: :class:`~fastnn.model.Sequential`,
:func:`~fastnn.model.MLP`, the layers of :mod:`fastnn.layers`, :func:`load`,
:func:`gradient_check`, the callbacks :class:`History` and
:class:`EarlyStopping`, and the thread controls below.
"""

from __future__ import annotations

import numbers as _numbers
import os as _os

# How long an idle OpenMP worker spins before it sleeps, when the user has not
# said (OMP_WAIT_POLICY or GOMP_SPINCOUNT). libgomp's default spin (300,000
# pause instructions, milliseconds) keeps a core busy long after a kernel ends:
# another process or another library's thread pool then waits for it, and our
# own next parallel region waits for a descheduled worker. 10,000 spins (a pause
# takes 3 to 40 ns, depending on the CPU: 30 to 400 microseconds) cover the
# one-thread kernels between two parallel ones of a training step (a small last
# layer takes tens of microseconds); a worker that sleeps there costs more to wake
# than that on a virtual machine. libgomp
# reads the variable once, when it is loaded (by _ops, just below, unless
# something loaded it first), so it is set only around that import and then
# removed again: child processes and other libraries see the environment the
# user gave.
GOMP_DEFAULT_SPINCOUNT = "10000"
_spin_set_here = not ({"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & set(_os.environ))
if _spin_set_here:
    _os.environ["GOMP_SPINCOUNT"] = GOMP_DEFAULT_SPINCOUNT

try:
    from . import _ops
except ImportError as exc:  # pragma: no cover - only without a build
    # The usual cause: Python found the source tree (the current directory is
    # the repository) rather than the installed package.
    raise ImportError(
        "fastnn's compiled kernels (fastnn._ops) are not built here. Install with "
        "`pip install .` and run from outside the source tree (the `fastnn` command and "
        "`pytest` are fine from anywhere), or build in place with "
        "`python setup.py build_ext --inplace`."
    ) from exc
finally:
    if _spin_set_here:
        del _os.environ["GOMP_SPINCOUNT"]

from . import (
    callbacks,
    columns,
    coursework,
    data,
    diagnostics,
    init,
    io,
    layers,
    losses,
    ops,
    optim,
    plot,
    reference,
    schedules,
)
from .callbacks import EarlyStopping, History
from .diagnostics import gradient_check
from .io import load
from .layers import (
    ELU,
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    Identity,
    LeakyReLU,
    Maxout,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
)
from .model import MLP, Sequential

__version__ = "0.1.0"

__all__ = [
    "ops", "reference", "build_info", "thread_report", "get_num_threads", "set_num_threads", "__version__",
    # the model library
    "Sequential", "MLP", "load", "gradient_check", "History", "EarlyStopping",
    "Dense", "BatchNorm", "Activation", "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU",
    "Softplus", "Dropout", "Maxout",
    "layers", "losses", "init", "optim", "schedules", "callbacks", "data", "io", "diagnostics", "plot",
    # the course's layout (samples as columns) and its k-layer helpers
    "columns", "coursework",
]


def _serial_after_fork() -> None:
    # GNU OpenMP's thread team does not survive fork: the child inherits the parent's
    # bookkeeping but none of its threads, and its next parallel region waits forever.
    # A forked child (a multiprocessing "fork" pool worker) therefore runs the kernels on
    # one thread, which is also the right count when several workers share the cores;
    # set_num_threads in the child raises it again where the OpenMP runtime allows.
    _ops.set_num_threads(1)


if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_serial_after_fork)

# chosen now, at import, so that kernels called from several threads later only read it
_ops.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set how many OpenMP threads the kernels use.

    The default is OMP_NUM_THREADS when set, else the CPUs this process may use:
    its affinity mask, one thread per physical core where the OS reports SMT
    siblings, and at most its cgroup CPU quota. A process forked from one that
    imported fastnn starts with 1 (OpenMP's threads do not survive fork).

    Results do not depend on this number: reductions over the batch are split
    the same way for any thread count.

    Parameters
    ----------
    n : int
        The number of threads, >= 1.

    Raises
    ------
    TypeError
        n is not an integer.
    ValueError
        n < 1.

    Examples
    --------
    >>> import fastnn
    >>> before = fastnn.get_num_threads()
    >>> fastnn.set_num_threads(1)
    >>> fastnn.get_num_threads()
    1
    >>> fastnn.set_num_threads(before)
    """
    if isinstance(n, bool) or not isinstance(n, _numbers.Integral):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    _ops.set_num_threads(int(n))


def get_num_threads() -> int:
    """The number of threads the kernels use.

    Returns
    -------
    int
        1 in a build without OpenMP.
    """
    return _ops.get_num_threads()


def build_info() -> dict[str, object]:
    """How the compiled kernels were built and what they use on this machine.

    Returns
    -------
    dict
        ``openmp`` (bool), ``max_threads`` (threads the kernels use now),
        ``compiler``, ``cflags``, ``simd`` (the GEMM micro-kernel level chosen
        for this CPU: "avx512", "avx2" or "generic"; FASTNN_SIMD=generic|avx2
        caps it), ``simd_supported`` (levels this CPU can run), ``version``.

    Examples
    --------
    >>> import fastnn
    >>> sorted(fastnn.build_info())
    ['cflags', 'compiler', 'max_threads', 'openmp', 'simd', 'simd_supported', 'version']
    """
    return {
        "openmp": _ops.has_openmp(),
        "max_threads": _ops.get_num_threads(),
        "compiler": _ops.compiler(),
        "cflags": _ops.build_cflags(),
        "simd": _ops.simd_level(),
        "simd_supported": _ops.simd_supported(),
        "version": __version__,
    }


def thread_report() -> dict:
    """What the thread choosers chose, and why.

    Training with ``fit`` runs each step on one thread or on all of them: per network
    shape, the engine times steps on both in alternating pairs, keeps the faster,
    and measures again after a few seconds of its steps (later when measuring would
    cost more than 1% of the time between) or when steps suddenly take longer.
    Results are the same bit for bit either way. Kernels called one by one (through
    ``fastnn.ops`` or the layer-by-layer path) run on one thread while their work is
    small; above that, a chooser per kernel and shape times their calls on one
    thread and on all threads in the same way and keeps the faster. A call given all
    threads still runs on one for a while after helper threads came late twice in a
    row (the solo rule; ``FASTNN_SOLO=0`` turns it off).

    The environment variable ``FASTNN_THREAD_CHOICE``, read once, pins the choice:
    ``measure`` (the default), ``1`` (everything on one thread) or ``all`` (every
    step on all threads, the solo rule off).

    Returns
    -------
    dict
        ``threads_available`` (the kernels' thread count, :func:`get_num_threads`),
        ``choice`` (``"measure"``, ``"1"`` or ``"all"``), ``engines`` (one dict per
        network shape trained recently, most recent first: ``network``, ``threads``
        chosen, ``reason`` (``"measuring"``, ``"measured"``, ``"pinned"``,
        ``"one thread"``), ``measuring`` (a measurement is under way),
        ``seconds_per_row_one`` and ``seconds_per_row_all`` (the medians of the last
        measurement, or the last step's time on that setting when pinned), ``steps``,
        ``measurements``, ``switches``, ``seconds_since_decision``), ``calls`` (one
        dict per kernel and shape called one by one recently, most recent first: the
        same fields with ``call`` in place of ``network``, the seconds per call) and
        ``kernels`` (the rule for kernels called one by one).

    Examples
    --------
    >>> import fastnn
    >>> report = fastnn.thread_report()
    >>> sorted(report)
    ['calls', 'choice', 'engines', 'kernels', 'threads_available']
    """
    choice = _ops.thread_choice()
    if choice == "1":
        kernels = "one thread (pinned)"
    elif choice == "all":
        kernels = "all threads above the smallest work (pinned)"
    else:
        kernels = ("above the smallest work, measured per kernel and shape (see calls); "
                   "the solo rule while helper threads come late")
    return {
        "threads_available": _ops.get_num_threads(),
        "choice": choice,
        "engines": _ops.engine_choices(),
        "calls": _ops.call_choices(),
        "kernels": kernels,
    }


# threadpool_limits (threadpoolctl, as scikit-learn, joblib and Dask use it) caps fastnn's
# kernels too, when threadpoolctl is installed; see fastnn/_threadpool.py.
from . import _threadpool

_threadpool.register()
