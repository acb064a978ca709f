"""Rounds of the inter-core round trip and of 1- and 2-thread training epochs, alternating.

Each round measures the round trip of a cache line between two threads, then times
one epoch of ``fit`` on one thread and one on two threads (their order alternates from
round to round), for each case. The table shows, per round and case, the round trip in
ns, both epoch times in ms and their ratio (2 threads / 1 thread). The summary gives
the largest ratio and, over the rounds whose round trip is under ``--near`` ns, the
median speed-up of two threads.

The round trip comes from fastnn's own probe when the installed fastnn has one, else
from a ping-pong binary given with ``--pingpong`` (a program that prints the round trip
in ns on its last line), else it is left blank.

Usage::

    python bench/thread_rounds.py --rounds 20
    python bench/thread_rounds.py --rounds 20 --wide --pingpong /tmp/pingpong

Run it on a quiet machine: other processes on the cores change both columns.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

import numpy as np

import fastnn

CASES = {
    "3072-50-50-10 bn": [3072, 50, 50, 10],
    "784-512-512-10 bn": [784, 512, 512, 10],
}


def fastnn_probe():
    """fastnn's round-trip probe (a callable returning ns or None), or None when this fastnn has none."""
    diagnostics = getattr(fastnn, "diagnostics", None)
    return getattr(diagnostics, "probe_round_trip", None)


def round_trip_ns(pingpong: str | None) -> float | None:
    """The round trip of a cache line between two threads, in ns (None: no probe)."""
    probe = fastnn_probe()
    if probe is not None:
        ns = probe()
        if ns is not None:
            return float(ns)
    if pingpong:
        out = subprocess.run([pingpong], capture_output=True, text=True, timeout=60, check=True).stdout
        numbers = re.findall(r"[-+]?\d+(?:\.\d+)?", out.strip().splitlines()[-1] if out.strip() else "")
        return float(numbers[-1]) if numbers else None
    return None


def make_case(sizes, samples, batch, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], samples)
    model = fastnn.MLP(list(sizes), batch_norm=True, dtype=np.float32, seed=0)
    return model, X, y


def epoch_ms(model, X, y, batch, threads) -> float:
    fastnn.set_num_threads(threads)
    started = time.perf_counter()
    model.fit(X, y, epochs=1, batch_size=batch, verbose=0)
    return 1e3 * (time.perf_counter() - started)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds to run (default 10)")
    parser.add_argument("--wide", action="store_true", help="also the [784, 512, 512, 10] epoch")
    parser.add_argument("--pingpong", default=None, help="a ping-pong binary printing the round trip in ns")
    parser.add_argument("--samples", type=int, default=10_000, help="samples per epoch (default 10000)")
    parser.add_argument("--batch", type=int, default=100, help="batch size (default 100)")
    parser.add_argument("--near", type=float, default=250.0,
                        help="round trips under this many ns count as near windows (default 250)")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds to sleep between rounds")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    names = ["3072-50-50-10 bn"] + (["784-512-512-10 bn"] if args.wide else [])
    cases = {name: make_case(CASES[name], args.samples, args.batch) for name in names}
    before = fastnn.get_num_threads()
    for model, X, y in cases.values():  # first epochs: page faults, choosers, caches
        epoch_ms(model, X, y, args.batch, 1)
        epoch_ms(model, X, y, args.batch, 2)

    rows = []
    print(f"{'round':>5}  {'case':<18} {'trip ns':>8} {'1 thr ms':>9} {'2 thr ms':>9} {'2/1':>6}")
    try:
        for r in range(args.rounds):
            trip = round_trip_ns(args.pingpong)
            for name, (model, X, y) in cases.items():
                order = (1, 2) if r % 2 == 0 else (2, 1)
                times = {t: epoch_ms(model, X, y, args.batch, t) for t in order}
                ratio = times[2] / times[1]
                rows.append((r, name, trip, times[1], times[2], ratio))
                trip_text = f"{trip:8.0f}" if trip is not None else f"{'-':>8}"
                print(f"{r:5d}  {name:<18} {trip_text} {times[1]:9.1f} {times[2]:9.1f} {ratio:6.2f}", flush=True)
            if args.pause:
                time.sleep(args.pause)
    finally:
        fastnn.set_num_threads(before)

    print()
    for name in names:
        mine = [row for row in rows if row[1] == name]
        near = [row[3] / row[4] for row in mine if row[2] is not None and row[2] < args.near]
        worst = max(row[5] for row in mine)
        line = f"{name}: largest 2/1 ratio {worst:.2f}"
        if near:
            line += f"; median 2-thread speed-up in near windows {statistics.median(near):.2f}x ({len(near)} rounds)"
        print(line)
    info = getattr(fastnn, "thread_report", None)
    if callable(info):
        for engine in info().get("engines", []):
            print(f"chooser {engine['network']}: {engine['threads']} thread(s), {engine['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
