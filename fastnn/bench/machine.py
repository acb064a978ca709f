"""What the machine and the installed libraries are, for the heading and the JSON record of ``fastnn bench``.

PyTorch, threadpoolctl and lscpu are optional: each function says None (or
leaves its keys out) when the one it needs is missing.
"""

from __future__ import annotations

import numpy as np


def import_torch():
    """The torch module, or None when it cannot be imported (it is optional)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


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
    """The versions of fastnn, Python, NumPy and ``torch`` (None when it is not importable)."""
    import platform

    import fastnn

    return {
        "fastnn": fastnn.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": None if torch is None else torch.__version__,
    }
