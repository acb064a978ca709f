"""Wording shared by messages and printed output: articles, counts and durations."""

from __future__ import annotations


def with_article(noun: str) -> str:
    """``noun`` after "a" or "an", chosen by its first letter: "an Optimizer", "a Loss"."""
    return f"{'an' if noun[:1].lower() in ('a', 'e', 'i', 'o', 'u') else 'a'} {noun}"


def count(n: float, noun: str) -> str:
    """``n`` and ``noun``, plural (an added "s") unless ``n`` is 1: "1 thread", "2 threads"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def duration(seconds: float) -> str:
    """A duration to three significant digits in a unit that suits it: "850 µs", "31.2 ms", "1.48 s", "2 min 5 s"."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
