"""Runnable examples of the lecture companion, each ``python -m fastnn.examples.<name> [--out DIR]``.

Each prints a short table and saves its figures as PNG files in DIR (default:
the current folder). They draw with matplotlib, which fastnn does not require:
install it with ``pip install matplotlib`` (or the ``plot`` extra).
"""
