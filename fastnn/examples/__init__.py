"""Runnable examples of the lecture companion, each ``python -m fastnn.examples.<name> [--out DIR] [--small]``.

- ``perceptron``: the perceptron's boundary after each update; no convergence on XOR.
- ``xor``: the worked backpropagation step of the slides, and a 2-2-1 net learning XOR.
- ``init_study``: ten layers of 500 units under four initialisations, tanh and ReLU.
- ``hidden_units``: decision boundaries for growing hidden width, then growing L2.
- ``normalization``: training on raw, standardised and min-max scaled features.
- ``digits``: MLP([64, 100, 10], batch_norm=True) on scikit-learn's digits.
- ``cifar_assignment``: the coursework end to end (gradient check, 2-layer and
  k-layer networks with batch norm, cyclical learning rates, the search for
  lambda); it takes ``--data DIR`` (CIFAR-10), ``--synthetic`` or ``--digits``.

Each prints a short table and saves its figures as PNG files in DIR (default:
the current folder); ``--small`` is a quick run (the tests use it). They draw
with matplotlib, which fastnn does not require: ``pip install matplotlib`` (or
the ``plot`` extra); ``digits`` and ``cifar_assignment --digits`` also need scikit-learn
(the ``datasets`` extra).
"""
