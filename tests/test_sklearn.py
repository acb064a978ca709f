"""fastnn.sklearn: scikit-learn's estimator contract, its tools, threadpoolctl and Dask."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")

from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastnn  # noqa: E402
from fastnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# Short trainings stop at max_iter on purpose; the warning says so and nothing more.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))


# ------------------------------------------------------------------ data
@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris_names(iris):
    X, y = iris
    return X, np.array(["setosa", "versicolor", "virginica"])[y]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=5, n_targets=2, noise=0.1, random_state=0)
    return X, y / y.std(axis=0)


def small(cls, **kw):
    """A quick estimator for the tests that are about plumbing, not accuracy."""
    kw = {"hidden_layer_sizes": (16,), "max_iter": 30, "learning_rate_init": 0.01, "random_state": 0, **kw}
    return cls(**kw)


# ------------------------------------------------------------------ scikit-learn's own checks
@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_import_without_sklearn_says_how_to_install_it():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import fastnn.sklearn\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    # fastnn is installed from its source folder (it is not on the package index): the hint names
    # scikit-learn itself, then the extra as a source install takes it
    assert "pip install 'scikit-learn>=1.6' threadpoolctl" in out.stdout and "pip install '.[sklearn]'" in out.stdout
    assert "fastnn-mlp" not in out.stdout


def test_estimator_kinds():
    assert is_classifier(MLPClassifier()) and is_regressor(MLPRegressor())
    assert MLPClassifier().__sklearn_tags__().classifier_tags.multi_label
    assert MLPRegressor().__sklearn_tags__().target_tags.multi_output


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("params, error, match", [
    ({"solver": "newton"}, ValueError, "solver"),
    ({"activation": "softsign"}, ValueError, "activation"),
    ({"hidden_layer_sizes": (10, 0)}, ValueError, "hidden_layer_sizes"),
    ({"hidden_layer_sizes": "10"}, TypeError, "hidden_layer_sizes"),
    ({"alpha": -1.0}, ValueError, "alpha"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"learning_rate": "cyclic"}, ValueError, "learning_rate"),
    ({"max_iter": 0}, ValueError, "max_iter"),
    ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
    ({"dtype": "float16"}, ValueError, "dtype"),
    ({"backend": "gpu"}, ValueError, "backend"),
    ({"shuffle": "yes"}, TypeError, "shuffle"),
    ({"solver": "lbfgs", "dropout": 0.5}, ValueError, "dropout"),
])
def test_bad_parameters_are_refused_by_fit_not_init(iris, params, error, match):
    X, y = iris
    est = MLPClassifier(**params)  # scikit-learn's rule: __init__ and set_params never check
    with pytest.raises(error, match=match):
        est.fit(X, y)
    assert not hasattr(est, "model_")


def test_sparse_input_is_refused(iris):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = iris
    for est in (small(MLPClassifier), small(MLPRegressor)):
        with pytest.raises(TypeError, match="[Ss]parse"):
            est.fit(sparse.csr_matrix(X), y)
    est = small(MLPClassifier).fit(X, y)
    with pytest.raises(TypeError, match="[Ss]parse"):
        est.predict(sparse.csr_matrix(X))


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu", "leaky_relu", "elu"])
def test_activations(iris, activation):
    X, y = iris
    est = small(MLPClassifier, activation=activation).fit(X, y)
    expected = "sigmoid" if activation == "logistic" else activation
    assert [layer.name for layer in est.model_.layers if isinstance(layer, fastnn.layers.Activation)] == [expected]


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs", "adagrad", "rmsprop"])
def test_solvers_learn(iris, solver):
    X, y = iris
    lr = {"adagrad": 0.1, "rmsprop": 0.01}.get(solver, 0.01)
    est = MLPClassifier(hidden_layer_sizes=(20,), solver=solver, learning_rate_init=lr, max_iter=200,
                        random_state=0).fit(X, y)
    assert est.score(X, y) > 0.9
    assert 1 <= est.n_iter_ <= 200


# ------------------------------------------------------------------ labels and outputs
@pytest.mark.parametrize("labels", [
    np.array(["cat", "dog", "emu"]), np.array([3, 10, 42]), np.array([-1.0, 2.0, 7.0]),
], ids=["strings", "sparse-ints", "integral-floats"])
def test_labels_of_any_kind(iris, labels):
    X, y = iris
    target = labels[y]
    est = small(MLPClassifier, max_iter=100).fit(X, target)
    assert_array_equal(est.classes_, labels)
    pred = est.predict(X)
    assert pred.dtype == target.dtype and set(pred) <= set(labels)
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(pred, labels[proba.argmax(axis=1)])
    assert_allclose(est.predict_log_proba(X), np.log(proba), rtol=1e-12)
    assert est.score(X, target) == np.mean(pred == target)
    assert est.out_activation_ == "softmax" and est.n_outputs_ == 3


def test_binary_labels_train_one_sigmoid_output(iris):
    X, y = iris
    target = y == 2  # booleans
    est = small(MLPClassifier, max_iter=100).fit(X, target)
    assert_array_equal(est.classes_, [False, True])
    assert est.n_outputs_ == 1 and est.out_activation_ == "logistic"
    assert est.model_.loss.name == "sigmoid_binary_cross_entropy"
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(est.predict(X), proba[:, 1] > 0.5)
    assert est.score(X, target) > 0.9


def test_one_class_is_refused(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="1 class"):
        small(MLPClassifier).fit(X, np.zeros(len(X)))


def test_multilabel_indicator_gives_sigmoid_outputs():
    X, Y = make_multilabel_classification(n_samples=150, n_features=8, n_classes=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    est = small(MLPClassifier, max_iter=200).fit(X, Y)
    assert est.out_activation_ == "logistic" and est.n_outputs_ == 4
    assert_array_equal(est.classes_, np.arange(4))
    proba = est.predict_proba(X)
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()
    pred = est.predict(X)
    assert pred.shape == Y.shape
    assert_array_equal(pred, (proba > 0.5).astype(int))
    assert est.score(X, Y) == np.mean((pred == Y).all(axis=1))
    assert est.score(X, Y) > 0.5
    # the same as lists of label sets written as an indicator in another container
    assert_array_equal(small(MLPClassifier, max_iter=200).fit(X, Y.tolist()).predict(X), pred)


def test_regressor_one_and_several_outputs(regression):
    X, Y = regression
    for y in (Y[:, 0], Y):
        est = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, learning_rate_init=0.01,
                           random_state=0).fit(X, y)
        pred = est.predict(X)
        assert pred.shape == y.shape
        assert est.out_activation_ == "identity" and est.n_outputs_ == (1 if y.ndim == 1 else 2)
        ss_res = ((y - pred) ** 2).sum(axis=0)
        ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
        assert est.score(X, y) == pytest.approx(np.mean(1 - ss_res / ss_tot))
        assert est.score(X, y) > 0.9


def manual_forward(est, X):
    """The network from coefs_ and intercepts_ in scikit-learn's orientation (ReLU hidden)."""
    H = X
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        H = H @ W + b
        if i < len(est.coefs_) - 1:
            H = np.maximum(H, 0)
    return H


def test_coefs_in_sklearn_orientation(iris, regression):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=(7, 5), max_iter=20, random_state=0).fit(X, y)
    assert [c.shape for c in est.coefs_] == [(4, 7), (7, 5), (5, 3)]
    assert [b.shape for b in est.intercepts_] == [(7,), (5,), (3,)]
    assert est.n_layers_ == 4
    O = manual_forward(est, X)
    P = np.exp(O - O.max(axis=1, keepdims=True))
    assert_allclose(est.predict_proba(X), P / P.sum(axis=1, keepdims=True), rtol=1e-10)
    X, Y = regression
    reg = MLPRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, Y)
    assert_allclose(reg.predict(X), manual_forward(reg, X), rtol=1e-10, atol=1e-12)
    # coefs_ are views of the live weights: editing them edits the model
    reg.coefs_[-1][...] = 0.0
    reg.intercepts_[-1][...] = 1.5
    assert_array_equal(reg.predict(X), 1.5)


# ------------------------------------------------------------------ scikit-learn's objective
def sklearn_objective(est, X, y):
    """scikit-learn's loss for a full batch, from coefs_ and intercepts_: the mean log-loss
    (or half the squared error averaged over samples and outputs) + alpha/(2n) ||W||^2."""
    O = manual_forward(est, X)
    n = len(X)
    if is_regressor(est):
        Y = y.reshape(n, -1)
        data_term = ((Y - O) ** 2).mean() / 2
    elif est.out_activation_ == "softmax":
        O = O - O.max(axis=1, keepdims=True)
        log_p = O - np.log(np.exp(O).sum(axis=1, keepdims=True))
        data_term = -log_p[np.arange(n), np.searchsorted(est.classes_, y)].mean()
    else:
        Y = (y == est.classes_[1]).reshape(n, 1) if y.ndim == 1 else y
        # -log p = log(1 + e^-o), -log(1 - p) = log(1 + e^o) for p = sigmoid(o)
        data_term = (Y * np.logaddexp(0, -O) + (1 - Y) * np.logaddexp(0, O)).sum() / n
    return data_term + 0.5 * est.alpha * sum((W ** 2).sum() for W in est.coefs_) / n


@pytest.mark.parametrize("problem", ["multiclass", "binary", "multilabel", "regression-1", "regression-2"])
def test_lbfgs_minimises_sklearns_objective(iris, regression, problem):
    if problem.startswith("regression"):
        X, Y = regression
        y = Y[:, 0] if problem == "regression-1" else Y
        cls = MLPRegressor
    elif problem == "multilabel":
        X, y = make_multilabel_classification(n_samples=100, n_features=6, n_classes=3, random_state=1)
        cls = MLPClassifier
    else:
        X, y = iris
        y = y if problem == "multiclass" else y == 1
        cls = MLPClassifier
    est = cls(hidden_layer_sizes=(8,), solver="lbfgs", alpha=0.5, max_iter=40, random_state=0).fit(X, y)
    assert est.loss_ == pytest.approx(sklearn_objective(est, X, y), rel=1e-10)
    assert 1 <= est.n_iter_ <= 40


def test_lbfgs_warns_when_it_stops_at_max_iter(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="lbfgs"):
        MLPClassifier(solver="lbfgs", max_iter=2, random_state=0).fit(X, y)


def test_stochastic_loss_curve_is_sklearns_loss(regression):
    # one batch per epoch and plain SGD: each epoch's loss is the objective at the weights
    # the epoch starts from, so the last one can be recomputed from a run one epoch shorter
    X, Y = regression
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", momentum=0.0, batch_size=len(X), alpha=0.3,
              learning_rate_init=0.01, shuffle=False, random_state=0)
    for y in (Y[:, 0], Y):
        full = MLPRegressor(max_iter=5, **kw).fit(X, y)
        short = MLPRegressor(max_iter=4, **kw).fit(X, y)
        assert len(full.loss_curve_) == 5 and full.loss_ == full.loss_curve_[-1]
        assert full.loss_curve_[:4] == short.loss_curve_
        assert full.loss_ == pytest.approx(sklearn_objective(short, X, y), rel=1e-10)


# ------------------------------------------------------------------ the stopping rules, as scikit-learn's
def test_stopping_rules_count_epochs_as_sklearn(iris):
    from sklearn.neural_network import MLPClassifier as SkMLP
    X, y = iris
    # a tolerance no epoch can beat: the training loss "never improves"
    for kw in ({"solver": "adam"}, {"solver": "sgd", "learning_rate": "adaptive"}):
        kw = dict(kw, hidden_layer_sizes=(8,), tol=100.0, n_iter_no_change=3, max_iter=500, random_state=0)
        ours, theirs = MLPClassifier(**kw).fit(X, y), SkMLP(**kw).fit(X, y)
        assert ours.n_iter_ == theirs.n_iter_ < 500
        assert len(ours.loss_curve_) == ours.n_iter_ and ours.best_loss_ == min(ours.loss_curve_)
        assert ours.validation_scores_ is None and ours.best_validation_score_ is None


def test_adaptive_and_invscaling_rates(iris):
    X, y = iris
    est = MLPClassifier(solver="sgd", learning_rate="adaptive", tol=100.0, n_iter_no_change=2,
                        max_iter=7, random_state=0).fit(X, y)
    # 3 epochs without improvement after the first (at epochs 4 and 7): the rate was divided by 5 twice
    assert est._optimizer.lr == pytest.approx(0.001 / 25)
    est = MLPClassifier(solver="sgd", learning_rate="invscaling", power_t=0.25, max_iter=3,
                        random_state=0).fit(X, y)
    assert est.t_ == 3 * len(X)
    assert est._optimizer.lr == pytest.approx(0.001 / (est.t_ + 1) ** 0.25)


def test_early_stopping_keeps_the_best_epoch(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(8,), early_stopping=True, validation_fraction=0.2, n_iter_no_change=4,
              learning_rate_init=0.01, batch_size=16, random_state=3)
    est = MLPClassifier(max_iter=300, **kw).fit(X, y)
    scores = est.validation_scores_
    assert est.best_loss_ is None and len(scores) == est.n_iter_ == len(est.loss_curve_)
    best = int(np.argmax(scores))
    assert est.best_validation_score_ == scores[best]
    assert best < est.n_iter_ - 1  # it ran past the best epoch, then went back to it
    # the same run cut at the best epoch ends with the same weights
    cut = MLPClassifier(max_iter=best + 1, **kw).fit(X, y)
    for a, b in zip(est.coefs_, cut.coefs_):
        assert_array_equal(a, b)


def test_verbose_prints_sklearns_lines(iris, capsys):
    X, y = iris
    small(MLPClassifier, max_iter=2, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and lines[1].startswith("Iteration 2, loss = ")


def test_batch_size_larger_than_the_data_is_clipped(iris):
    X, y = iris
    with pytest.warns(UserWarning, match="clipped"):
        est = small(MLPClassifier, batch_size=1000, max_iter=2).fit(X, y)
    assert est.model_.l2 == pytest.approx(0.5 * est.alpha / len(X))


# ------------------------------------------------------------------ determinism, partial_fit, warm_start
def test_random_state_gives_the_same_model(iris):
    X, y = iris
    a, b = small(MLPClassifier).fit(X, y), small(MLPClassifier).fit(X, y)
    c = small(MLPClassifier, random_state=1).fit(X, y)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_results_do_not_depend_on_the_thread_count(iris, thread_count):
    X, y = iris
    thread_count.set(1)
    one = small(MLPClassifier).fit(X, y).predict_proba(X)
    thread_count.set(2)
    assert_array_equal(small(MLPClassifier).fit(X, y).predict_proba(X), one)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_partial_fit_epochs_equal_fit(iris, regression, cls):
    X, y = iris if cls is MLPClassifier else regression
    kw = dict(batch_size=32, n_iter_no_change=1000)
    fitted = small(cls, max_iter=4, **kw).fit(X, y)
    est = small(cls, **kw)
    for _ in range(4):
        est.partial_fit(X, y, **({"classes": np.unique(y)} if cls is MLPClassifier else {}))
    assert est.n_iter_ == 1 and est.t_ == 4 * len(X)
    assert est.loss_curve_ == fitted.loss_curve_
    for a, b in zip(est.coefs_ + est.intercepts_, fitted.coefs_ + fitted.intercepts_):
        assert_array_equal(a, b)


def test_partial_fit_classes(iris_names):
    X, y = iris_names
    est = small(MLPClassifier)
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X, y)
    est.partial_fit(X[:10], y[:10], classes=["virginica", "setosa", "versicolor"])
    assert_array_equal(est.classes_, ["setosa", "versicolor", "virginica"])
    est.partial_fit(X[10:], y[10:])
    assert est.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        est.partial_fit(X[:3], ["setosa", "versicolor", "mallow"])
    with pytest.raises(ValueError, match="not the same"):
        est.partial_fit(X, y, classes=["setosa", "virginica"])
    with pytest.raises(ValueError, match="early_stopping"):
        small(MLPClassifier, early_stopping=True).partial_fit(X, y, classes=np.unique(y))


def test_partial_fit_only_for_stochastic_solvers():
    assert hasattr(MLPClassifier(solver="sgd"), "partial_fit")
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")


def test_warm_start_continues_from_the_weights(iris):
    X, y = iris
    # plain SGD keeps no optimiser state, so 3 + 3 warm-started epochs are 6 epochs
    kw = dict(solver="sgd", momentum=0.0, learning_rate_init=0.05)
    six = small(MLPClassifier, max_iter=6, **kw).fit(X, y)
    est = small(MLPClassifier, max_iter=3, warm_start=True, **kw).fit(X, y)
    est.fit(X, y)
    assert est.n_iter_ == 3 and est.t_ == 6 * len(X)
    assert est.loss_curve_ == six.loss_curve_
    assert_array_equal(est.predict_proba(X), six.predict_proba(X))
    # without warm_start a second fit starts again
    cold = small(MLPClassifier, max_iter=3, **kw).fit(X, y)
    assert_array_equal(cold.fit(X, y).predict_proba(X), small(MLPClassifier, max_iter=3, **kw).fit(X, y).predict_proba(X))
    with pytest.raises(ValueError, match="same classes"):
        est.fit(X[y < 2], y[y < 2])


# ------------------------------------------------------------------ clone, pickle, feature names, dtype
def test_clone_and_pickle(iris_names):
    X, y = iris_names
    est = small(MLPClassifier, solver="sgd")
    est.fit(X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "model_")
    assert_array_equal(copy.fit(X, y).predict_proba(X), est.predict_proba(X))
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.predict(X), est.predict(X))
    assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    # the optimiser and the shuffling continue where they were
    restored.partial_fit(X, y)
    est.partial_fit(X, y)
    assert_array_equal(restored.predict_proba(X), est.predict_proba(X))


def test_float32_model(iris):
    X, y = iris
    est = small(MLPClassifier, dtype="float32").fit(X, y)
    assert est.model_.dtype == np.float32 and est.coefs_[0].dtype == np.float32
    assert est.predict_proba(X).dtype == np.float32
    assert est.score(X, y) > 0.8


def test_dataframe_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    est = small(MLPClassifier).fit(frame, y)
    assert_array_equal(est.feature_names_in_, frame.columns)
    assert est.n_features_in_ == 4
    assert_array_equal(est.predict_proba(frame), small(MLPClassifier).fit(X, y).predict_proba(X))
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(X)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(frame.rename(columns={"petal_w": "petal_width"}))
    reg = small(MLPRegressor).fit(frame, X[:, 0])
    assert_array_equal(reg.feature_names_in_, frame.columns)


# ------------------------------------------------------------------ scikit-learn's tools
def test_string_labels_in_a_pipeline_under_cross_val_score(iris_names):
    X, y = iris_names
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(16,), max_iter=200,
                                                         learning_rate_init=0.01, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and scores.min() > 0.85
    assert pipe.fit(X, y).score(X, y) > 0.9
    assert set(pipe.predict(X)) == set(y)


def same_search_results(a, b):
    assert a.best_params_ == b.best_params_
    assert a.best_index_ == b.best_index_
    keys = [k for k in a.cv_results_ if "time" not in k]
    assert sorted(keys) == sorted(k for k in b.cv_results_ if "time" not in k)
    for key in keys:
        if key.startswith("param"):
            assert list(a.cv_results_[key]) == list(b.cv_results_[key]), key
        else:
            assert_array_equal(a.cv_results_[key], b.cv_results_[key], err_msg=key)


def grid_search(**kw):
    return GridSearchCV(MLPClassifier(max_iter=40, random_state=0),
                        {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-1]}, cv=3, **kw)


def test_grid_search_is_the_same_on_one_or_two_processes(iris_names):
    X, y = iris_names
    # loky's workers get the parent's sys.path (so the source tree, in a development checkout)
    # and OMP_NUM_THREADS=1: one kernel thread each, against two here, and the same results
    serial, parallel = grid_search(n_jobs=1).fit(X, y), grid_search(n_jobs=2).fit(X, y)
    same_search_results(serial, parallel)
    assert serial.best_score_ > 0.8


def test_randomized_search_is_the_same_on_one_or_two_processes(regression):
    X, Y = regression
    stats = pytest.importorskip("scipy.stats")
    distributions = {"alpha": stats.loguniform(1e-5, 1e-1), "learning_rate_init": [1e-3, 1e-2],
                     "solver": ["adam", "sgd"]}

    def search(n_jobs):
        return RandomizedSearchCV(MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
                                  distributions, n_iter=4, cv=3, random_state=0, n_jobs=n_jobs).fit(X, Y)
    same_search_results(search(1), search(2))


# ------------------------------------------------------------------ Dask
def test_grid_search_on_a_dask_cluster(iris_names):
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    X, y = iris_names
    serial = grid_search(n_jobs=1).fit(X, y)
    # Worker processes are spawned with the parent's sys.path (multiprocessing's spawn sends
    # it), so they import this fastnn; the nanny gives each OMP_NUM_THREADS=1.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
    with cluster, distributed.Client(cluster) as client:
        assert set(client.run(fastnn.get_num_threads).values()) == {1}
        with distributed.get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
            on_dask = grid_search(n_jobs=-1).fit(X, y)
        workers = {task["worker"] for task in stream.data}
        # docs/sklearn.md's way to give each worker process more kernel threads
        client.run(fastnn.set_num_threads, 2)
        assert set(client.run(fastnn.get_num_threads).values()) == {2}
    assert len(workers) == 2  # both workers trained
    same_search_results(serial, on_dask)
