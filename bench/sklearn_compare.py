"""fastnn.sklearn.MLPClassifier against sklearn.neural_network.MLPClassifier on scikit-learn's bundled data.

    python bench/sklearn_compare.py [--seeds 5] [--repeats 3] [--dtype float64]

For each data set (digits, breast_cancer, wine, iris) and seed: a stratified
75/25 split drawn with that seed, StandardScaler fitted on the training part,
then both estimators with the same hyper-parameters (hidden_layer_sizes=(100,),
solver='adam', batch_size=32, max_iter=50, alpha=1e-4, learning_rate_init=1e-3,
early stopping off, random_state=seed). The table gives the mean test accuracy
over the seeds and the mean fit time (each seed's time is the fastest of
``--repeats`` fits, the two libraries alternating), and fastnn's speed-up.
Both libraries use their default threads (fastnn's OpenMP count, NumPy's BLAS).
Markdown on stdout, ready for docs/sklearn.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a source checkout as well as installed

import sklearn  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnMLP  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastnn  # noqa: E402
from fastnn.sklearn import MLPClassifier as FastnnMLP  # noqa: E402

DATASETS = {
    "digits": datasets.load_digits,
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "iris": datasets.load_iris,
}
PARAMS = dict(hidden_layer_sizes=(100,), solver="adam", batch_size=32, max_iter=50, alpha=1e-4,
              learning_rate_init=1e-3, early_stopping=False)


def split(load, seed):
    X, y = load(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def timed_fit(make, X, y):
    estimator = make()
    start = time.perf_counter()
    estimator.fit(X, y)
    return estimator, time.perf_counter() - start


def compare(name, seeds, repeats, dtype):
    makers = {"fastnn": lambda seed: FastnnMLP(random_state=seed, dtype=dtype, **PARAMS),
              "sklearn": lambda seed: SklearnMLP(random_state=seed, **PARAMS)}
    accuracy = {k: [] for k in makers}
    seconds = {k: [] for k in makers}
    for seed in range(seeds):
        X_train, X_test, y_train, y_test = split(DATASETS[name], seed)
        best, fitted = {k: np.inf for k in makers}, {}
        for _ in range(repeats):
            for library, make in makers.items():  # alternating, so both see the same machine load
                fitted[library], elapsed = timed_fit(lambda: make(seed), X_train, y_train)
                best[library] = min(best[library], elapsed)
        for library in makers:  # a fixed random_state: every repeat trains the same model
            accuracy[library].append(fitted[library].score(X_test, y_test))
            seconds[library].append(best[library])
    return {k: (100 * np.mean(accuracy[k]), 1000 * np.mean(seconds[k])) for k in makers}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="splits and model seeds per data set (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="fits timed per seed, fastest kept (default 3)")
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"), help="fastnn's dtype")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore", ConvergenceWarning)  # 50 epochs is the setting, not a problem
    load_before = os.getloadavg()
    rows = []
    for name in args.datasets:
        X, _ = DATASETS[name](return_X_y=True)
        result = compare(name, args.seeds, args.repeats, args.dtype)
        (fa, ft), (sa, st) = result["fastnn"], result["sklearn"]
        rows.append(f"| {name} | {X.shape[0]} x {X.shape[1]} | {fa:.1f} | {sa:.1f} | {fa - sa:+.1f} "
                    f"| {ft:.1f} | {st:.1f} | {st / ft:.1f}x |")
    load_after = os.getloadavg()

    print("| data set | samples x features | fastnn accuracy (%) | scikit-learn accuracy (%) | difference "
          "| fastnn fit (ms) | scikit-learn fit (ms) | speed-up |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    blas = _blas_threads()
    print(f"Means over {args.seeds} seeds (split and model); fit time: fastest of {args.repeats} fits per seed. "
          f"fastnn {fastnn.__version__} ({args.dtype}, {fastnn.get_num_threads()} threads, "
          f"SIMD {fastnn.build_info()['simd']}), scikit-learn {sklearn.__version__} "
          f"(NumPy {np.__version__}, BLAS threads: {blas}); Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.")


def _blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    counts = sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
    return ", ".join(map(str, counts)) or "none"


if __name__ == "__main__":
    main()
