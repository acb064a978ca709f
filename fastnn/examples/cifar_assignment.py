"""The coursework on CIFAR-10, end to end: ``python -m fastnn.examples.cifar_assignment --data DIR``.

The steps of the assignments built on the lecture notes on k-layer networks
and batch normalisation, in order (the coursework guide, docs/coursework.md,
follows them):

1. Data. ``--data DIR``: CIFAR-10 from the folder of its python version
   (data_batch_1 ... data_batch_5 and test_batch); the last 5,000 training
   images are held out for validation. ``--synthetic``: CIFAR-shaped data made
   here (3,072 pixel bytes per image, 10 classes that overlap, so accuracies
   are neither chance nor perfect). ``--digits``: scikit-learn's 8x8 digits, a
   small real data set the whole recipe runs on in seconds. The inputs are
   standardised with the training part's per-feature mean and std.
2. Gradient check: the course's helpers (:mod:`fastnn.coursework`, samples as
   columns) on the first 20 input dimensions of a few samples, then
   :func:`fastnn.gradient_check` on 20 entries of the k-layer network's first W.
3. A 2-layer network (one hidden layer of 50), mini-batch gradient descent
   with a cyclical learning rate, n_s = 2 floor(n / n_batch): 2layer.png.
4. A k-layer network with batch norm ([50, 50] hidden): klayer.png.
5. A coarse-to-fine search for lambda, log-uniform: a coarse range of log10
   lambda, then a narrower one around the coarse search's best, each lambda
   trained for a few cycles and scored on the validation part: lambda_search.png.
6. The final k-layer network with the best lambda, trained on the training
   part for more cycles: final.png and the test accuracy.

The figures show cost (loss + lambda sum ||W||^2), loss and accuracy on the
training and validation parts against the update step. Every random choice
comes from ``--seed``: the same seed prints the same numbers. ``--small``
shrinks the data, the searches and the cycles so the script runs in seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import os
import sys

import numpy as np

from fastnn import MLP, coursework, data, gradient_check, optim, schedules
from fastnn.examples import _common

CLASSES = 10
CIFAR_FEATURES = 3072


@dataclasses.dataclass(frozen=True)
class Recipe:
    """The settings of one run of the assignments: data sizes, schedule, networks, search."""

    n_train: int  # at most this many training samples (the part is trimmed to a multiple of n_batch)
    n_val: int  # held out from the training files for validation
    n_test: int | None  # at most this many test samples (None: all)
    n_batch: int = 100
    eta_min: float = 1e-5
    eta_max: float = 1e-1
    two_layer_hidden: tuple = (50,)
    two_layer_lambda: float = 0.01
    two_layer_cycles: int = 1
    hidden: tuple = (50, 50)
    k_layer_lambda: float = 0.005
    k_layer_cycles: int = 2
    coarse: tuple = (-5.0, -1.0)  # the coarse range of log10 lambda
    coarse_count: int = 8
    fine_width: float = 1.0  # the fine range: the best coarse log10 lambda +- fine_width / 2
    fine_count: int = 8
    search_cycles: int = 2
    final_cycles: int = 3


RECIPES = {
    "cifar": Recipe(n_train=45000, n_val=5000, n_test=None),
    "synthetic": Recipe(n_train=10000, n_val=1000, n_test=2000),
    "digits": Recipe(n_train=1347, n_val=200, n_test=450, n_batch=20, eta_min=1e-4, search_cycles=3,
                     final_cycles=4),
}
# --small: fewer samples (not for the digits, which are small already) and a shorter run
SMALL_DATA = {"n_train": 2000, "n_val": 500, "n_test": 1000}
SMALL_RUN = {"coarse_count": 3, "fine_count": 3, "search_cycles": 1, "k_layer_cycles": 1, "final_cycles": 2}


# ------------------------------------------------------------------ data

def synthetic_cifar(n, seed=0):
    """CIFAR-shaped data: n images of 3,072 pixel bytes in 10 classes that overlap.

    Each class is a Gaussian cloud in a 16-dimensional latent space, its centre
    drawn at random; an image is 128 + its latent point through a fixed map onto
    smooth colour patterns (8x8 blocks scaled up to 32x32, three planes), plus
    pixel noise, clipped to 0..255. The clouds overlap, so a classifier can
    learn the classes well but not perfectly.

    Parameters
    ----------
    n : int
        The number of images.
    seed : int, optional
        Seeds the class centres, the patterns, the labels and the noise.

    Returns
    -------
    X : numpy.ndarray, uint8 (n, 3072)
        Red, green and blue 32x32 planes per row, as CIFAR-10's files.
    y : numpy.ndarray, int64 (n,)
        Labels 0..9.
    """
    rng = np.random.default_rng(seed)
    latent = 16
    centres = 0.7 * rng.standard_normal((CLASSES, latent))
    blocks = rng.standard_normal((latent, 3, 8, 8))
    patterns = np.kron(blocks, np.ones((4, 4))).reshape(latent, CIFAR_FEATURES) / math.sqrt(latent)
    y = rng.integers(0, CLASSES, size=n)
    z = centres[y] + rng.standard_normal((n, latent))
    X = 128 + 30 * z @ patterns + 25 * rng.standard_normal((n, CIFAR_FEATURES))
    return np.clip(np.rint(X), 0, 255).astype(np.uint8), y.astype(np.int64)


@dataclasses.dataclass
class Parts:
    """The standardised training, validation and test parts, samples as rows."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str


def load(args, recipe):
    """The three parts of the chosen data set, standardised with the training part's statistics."""
    rng = np.random.default_rng(args.seed)
    if args.digits:
        X, y = data.load_digits()
        X_rest, X_test, y_rest, y_test = data.train_test_split(X, y, test_size=recipe.n_test, stratify=True,
                                                               seed=args.seed)
        source = f"scikit-learn's digits, {X.shape[0]} images of 8x8 pixels"
    else:
        if args.synthetic:
            X, y = synthetic_cifar(recipe.n_train + recipe.n_val + recipe.n_test, seed=args.seed)
            split = recipe.n_train + recipe.n_val
            X_rest, y_rest, X_test, y_test = X[:split], y[:split], X[split:], y[split:]
            source = "synthetic CIFAR-shaped data"
        else:
            X_rest, y_rest, X_test, y_test = data.load_cifar10(args.data)
            source = f"CIFAR-10 from {args.data}"
        if recipe.n_test is not None and recipe.n_test < X_test.shape[0]:  # --small
            keep = np.sort(rng.choice(X_test.shape[0], recipe.n_test, replace=False))
            X_test, y_test = X_test[keep], y_test[keep]
    # the last n_val samples validate; of the rest, the first n_train (as many as fill whole batches) train
    if X_rest.shape[0] < recipe.n_val + recipe.n_batch:
        raise ValueError(f"the training files hold {X_rest.shape[0]} samples; this run needs {recipe.n_val} "
                         f"for validation and at least {recipe.n_batch} (one batch) for training")
    X_val, y_val = X_rest[-recipe.n_val:], y_rest[-recipe.n_val:]
    n = min(recipe.n_train, X_rest.shape[0] - recipe.n_val)
    n -= n % recipe.n_batch  # every epoch is then exactly n / n_batch updates
    X_train, y_train = X_rest[:n], y_rest[:n]
    scaler = data.Standardizer().fit(X_train)
    return Parts(standardise(scaler, X_train), y_train, standardise(scaler, X_val), y_val,
                 standardise(scaler, X_test), y_test, source)


def standardise(scaler, X, rows=5000):
    """``scaler.transform(X)`` as float32, a few thousand rows at a time (CIFAR-10's training
    images in float64 at once would take over a gigabyte)."""
    out = np.empty(X.shape, dtype=np.float32)
    for start in range(0, X.shape[0], rows):
        out[start:start + rows] = scaler.transform(X[start:start + rows].astype(np.float32))
    return out


# ------------------------------------------------------------------ training

def step_size(n, n_batch):
    """n_s = 2 floor(n / n_batch): half a cycle is two epochs."""
    return 2 * (n // n_batch)


def network(parts, hidden, lam, batch_norm, seed):
    """The course's network: ReLU hidden layers (each with batch norm, biased variance, if asked), softmax."""
    sizes = [parts.X_train.shape[1], *hidden, CLASSES]
    options = {"batch_norm": True, "bn_running_var": "biased"} if batch_norm else {}
    return MLP(sizes, l2=lam, seed=seed, **options)


def record_every(n_s, points=5):
    """How many updates apart the curves' points are: about ``points`` per half cycle.

    The divisor of n_s nearest n_s / points, so the points fall on the ends and the peaks
    of the cycles and the last one on the last update.
    """
    divisors = [k for k in range(1, n_s + 1) if n_s % k == 0]
    return min(divisors, key=lambda k: (abs(k - n_s / points), k))


def train(model, parts, recipe, cycles, record=True):
    """Mini-batch gradient descent with the cyclical learning rate for ``cycles`` full cycles.

    Returns the History of ``fit``: with ``record``, a row every :func:`record_every` updates
    ("step", "lr", and "cost", "loss", "accuracy" on the whole training and validation
    parts, in eval mode); without (the lambda search needs only the end), one per epoch.
    """
    n = parts.X_train.shape[0]
    n_s = step_size(n, recipe.n_batch)
    updates_per_epoch = n // recipe.n_batch
    epochs = 2 * n_s * cycles // updates_per_epoch
    fit = {"epochs": epochs, "batch_size": recipe.n_batch, "optimizer": optim.SGD(lr=recipe.eta_min),
           "lr_schedule": schedules.Cyclical(recipe.eta_min, recipe.eta_max, n_s), "verbose": 0}
    if not record:
        return model.fit(parts.X_train, parts.y_train, **fit)
    # How often the curves get a point is decided here alone.
    return model.fit(parts.X_train, parts.y_train, validation_data=(parts.X_val, parts.y_val),
                     eval_every=record_every(n_s), **fit)


def lambda_search(parts, recipe, rng, seed):
    """The coarse-to-fine search: [(stage, lambda, validation accuracy)], coarse first, each stage by lambda.

    Each stage draws its lambdas log-uniformly, log10 lambda uniform in a range: the coarse
    range first, then a range of width ``fine_width`` centred on the coarse search's best.
    Every lambda trains the k-layer network with batch norm from the same initial weights.
    """
    results = []
    low, high = recipe.coarse
    for stage, count in (("coarse", recipe.coarse_count), ("fine", recipe.fine_count)):
        if stage == "fine":
            centre = math.log10(best_of(results)[1])
            low, high = centre - recipe.fine_width / 2, centre + recipe.fine_width / 2
        for exponent in np.sort(low + (high - low) * rng.random(count)):
            lam = float(10.0 ** exponent)
            model = network(parts, recipe.hidden, lam, batch_norm=True, seed=seed)
            train(model, parts, recipe, recipe.search_cycles, record=False)
            results.append((stage, lam, model.score(parts.X_val, parts.y_val)))
    return results


def best_of(results):
    """The (stage, lambda, accuracy) with the highest validation accuracy (the first on ties)."""
    return max(results, key=lambda r: r[2])


# ------------------------------------------------------------------ gradient check

def check_gradients(parts, recipe, seed, dims=20, samples=10):
    """Relative errors of the analytic gradients against centred differences, in float64.

    First the course's helpers on the first ``dims`` input dimensions of ``samples``
    training samples (samples as columns), every parameter of a k-layer network with
    batch norm; then :func:`fastnn.gradient_check` on the full-size network, the first
    20 entries of its first weight matrix. Returns ({parameter: (relative error, largest
    absolute difference)}, the relative error of the model's first W).
    """
    rng = np.random.default_rng(seed)
    X = parts.X_train[:samples, :dims].T.astype(np.float64)  # (d, n): the course's layout, one column per sample
    y = parts.y_train[:samples]
    sizes = [dims, *recipe.hidden, CLASSES]
    Ws = [rng.standard_normal((m, d)) * math.sqrt(2 / d) for d, m in itertools.pairwise(sizes)]
    bs = [0.1 * rng.standard_normal((m, 1)) for m in sizes[1:]]
    gammas = [1 + 0.1 * rng.standard_normal((m, 1)) for m in recipe.hidden]
    betas = [0.1 * rng.standard_normal((m, 1)) for m in recipe.hidden]
    lam = recipe.k_layer_lambda
    analytic = coursework.compute_gradients(X, y, Ws, bs, lam, gammas, betas)
    numerical = coursework.compute_gradients_numerical(X, y, Ws, bs, lam, gammas, betas, h=1e-5)
    relative = coursework.relative_errors(analytic, numerical)
    errors = {}
    for kind in analytic:
        for l, (a, g) in enumerate(zip(analytic[kind], numerical[kind])):
            name = f"{kind}[{l}]"
            errors[name] = (relative[name], float(np.max(np.abs(a - g))))
    model = network(parts, recipe.hidden, lam, batch_norm=True, seed=seed)
    model_error = gradient_check(model, parts.X_train[:samples], parts.y_train[:samples], params=["0.W"],
                                 max_entries=20, relative="elementwise")["0.W"]
    return errors, model_error


# ------------------------------------------------------------------ figures

def plot_curves(history, title, out_dir, name):
    """The course's three figures side by side: cost, loss and accuracy against the update step."""
    path = os.path.join(out_dir, name)
    history.plot(path, title=title, dpi=90)
    print(f"wrote {path}")
    return path


def plot_search(results, best, out_dir, name):
    """Validation accuracy against lambda (log axis), the coarse and the fine search."""
    fig = _common.figure(figsize=(6, 3.8))
    ax = fig.subplots()
    for stage, marker in (("coarse", "o"), ("fine", "x")):
        chosen = [(lam, acc) for s, lam, acc in results if s == stage]
        ax.plot(*zip(*chosen), marker, label=f"{stage} search")
    ax.plot([best[1]], [best[2]], "*", markersize=14, color="tab:red", label=f"best: lambda = {best[1]:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("lambda")
    ax.set_ylabel("validation accuracy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _common.save(fig, out_dir, name)


# ------------------------------------------------------------------ the script

def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m fastnn.examples.cifar_assignment",
        description="The coursework end to end: data, gradient check, a 2-layer network, a k-layer network "
                    "with batch norm, cyclical learning rates, a coarse-to-fine lambda search, the final test "
                    "accuracy and the curves.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="DIR",
                        help="CIFAR-10's python version: the folder holding data_batch_1 ... data_batch_5 and "
                             "test_batch (cifar-10-batches-py)")
    source.add_argument("--synthetic", action="store_true", help="CIFAR-shaped data made by the script")
    source.add_argument("--digits", action="store_true",
                        help="scikit-learn's 8x8 digits (needs scikit-learn), the recipe on a small real data set")
    parser.add_argument("--small", action="store_true",
                        help="less data, shorter searches, fewer cycles: a run of seconds")
    parser.add_argument("--seed", type=seed_value, default=0, metavar="N",
                        help="seeds every random choice, an integer >= 0 (default: 0)")
    parser.add_argument("--out", default=".", metavar="DIR", help="folder for the PNG files (default: .)")
    return parser.parse_args(argv)


def seed_value(text):
    """--seed's value: an integer >= 0 (NumPy's generators take no negative seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def recipe_for(args):
    recipe = RECIPES["digits" if args.digits else "synthetic" if args.synthetic else "cifar"]
    if args.small:
        sizes = {} if args.digits else SMALL_DATA
        recipe = dataclasses.replace(recipe, **SMALL_RUN, **sizes)
    return recipe


def schedule_text(recipe, n):
    return (f"n_batch {recipe.n_batch}, eta from {recipe.eta_min:g} to {recipe.eta_max:g}, "
            f"n_s = 2 floor({n} / {recipe.n_batch}) = {step_size(n, recipe.n_batch)}")


def cycles_text(cycles):
    return f"{cycles} cycle" + ("s" if cycles != 1 else "")


def main(argv=None):
    args = parse_args(argv)
    recipe = recipe_for(args)
    with _common.Stopwatch() as clock:
        try:
            parts = load(args, recipe)
        except (FileNotFoundError, ValueError) as exc:  # files missing, unreadable or too few samples
            print(f"--data {args.data}: {exc}" if args.data else str(exc), file=sys.stderr)
            return 2
        except ImportError as exc:  # the digits need scikit-learn
            print(exc, file=sys.stderr)
            return 1
        if not _common.can_draw(args.out):
            return 1
        code = run(args, recipe, parts)
    print(f"finished in {clock.seconds:.1f} s")
    return code


def run(args, recipe, parts):
    n, d = parts.X_train.shape
    print(f"data: {parts.source}: {n} training, {parts.X_val.shape[0]} validation and {parts.X_test.shape[0]} "
          f"test samples of {d} features, standardised with the training part's mean and std")

    errors, model_error = check_gradients(parts, recipe, args.seed)
    print("\ngradient check in float64: the largest relative error |g_a - g_n| / max(1e-6, |g_a| + |g_n|) "
          "and the largest difference")
    print(f"  fastnn.coursework, samples as columns, the first 20 dimensions of 10 samples, "
          f"[20, {', '.join(map(str, recipe.hidden))}, {CLASSES}] with batch norm:")
    print("    parameter  relative error  |g_a - g_n|")
    for name, (relative, absolute) in errors.items():
        print(f"    {name:<9}  {relative:>14.1e}  {absolute:>11.1e}")
    print(f"  fastnn.gradient_check on the k-layer network, the first 20 entries of 0.W: {model_error:.1e}")

    sizes = f"[{d}, {', '.join(map(str, recipe.two_layer_hidden))}, {CLASSES}]"
    print(f"\n2-layer network {sizes}, lambda {recipe.two_layer_lambda:g}, "
          f"{cycles_text(recipe.two_layer_cycles)}; {schedule_text(recipe, n)}")
    model = network(parts, recipe.two_layer_hidden, recipe.two_layer_lambda, batch_norm=False, seed=args.seed)
    history = train(model, parts, recipe, recipe.two_layer_cycles)
    report(history)
    plot_curves(history, f"2-layer network {sizes}, lambda = {recipe.two_layer_lambda:g}", args.out, "2layer.png")

    sizes = f"[{d}, {', '.join(map(str, recipe.hidden))}, {CLASSES}]"
    print(f"\nk-layer network {sizes} with batch norm, lambda {recipe.k_layer_lambda:g}, "
          f"{cycles_text(recipe.k_layer_cycles)}")
    model = network(parts, recipe.hidden, recipe.k_layer_lambda, batch_norm=True, seed=args.seed)
    history = train(model, parts, recipe, recipe.k_layer_cycles)
    report(history)
    plot_curves(history, f"k-layer network {sizes} with batch norm, lambda = {recipe.k_layer_lambda:g}",
                args.out, "klayer.png")

    low, high = recipe.coarse
    print(f"\nlambda search, log-uniform, {cycles_text(recipe.search_cycles)} each: {recipe.coarse_count} values of "
          f"log10 lambda in [{low:g}, {high:g}], then {recipe.fine_count} within {recipe.fine_width / 2:g} of the "
          "best")
    results = lambda_search(parts, recipe, np.random.default_rng(args.seed), args.seed)
    best = best_of(results)
    print("  search       lambda  validation accuracy")
    for stage, lam, acc in results:
        print(f"  {stage:<6}  {lam:.3e}  {acc:>19.2%}" + ("  best" if (stage, lam, acc) == best else ""))
    plot_search(results, best, args.out, "lambda_search.png")

    lam = best[1]
    print(f"\nfinal: k-layer network {sizes} with batch norm, lambda {lam:.3e}, {cycles_text(recipe.final_cycles)}")
    model = network(parts, recipe.hidden, lam, batch_norm=True, seed=args.seed)
    history = train(model, parts, recipe, recipe.final_cycles)
    report(history)
    test_accuracy = model.score(parts.X_test, parts.y_test)
    plot_curves(history, f"final: k-layer network {sizes} with batch norm, lambda = {lam:.3g}; "
                f"test accuracy {test_accuracy:.2%}", args.out, "final.png")
    print(f"final test accuracy: {test_accuracy:.2%}")
    return 0


def report(history):
    """The last row of the curves: where training ended."""
    h = history.history
    print(f"  {len(h['step'])} points, every {history.params['eval_every']} updates; after {h['step'][-1]} "
          f"updates: cost {h['cost'][-1]:.4f}, training accuracy {h['accuracy'][-1]:.2%}, validation accuracy "
          f"{h['val_accuracy'][-1]:.2%}")


if __name__ == "__main__":
    raise SystemExit(main())
