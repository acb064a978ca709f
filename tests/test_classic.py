"""fastnn.classic: the perceptron, its margin, and ADALINE (the lecture notes on perceptrons and ADALINE)."""

from __future__ import annotations

import numpy as np
import pytest

from fastnn.classic import Adaline, Perceptron, margin

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


def separable(n=40, seed=0, gap=0.5):
    """Two classes (0/1) on either side of the line x1 + 2 x2 = 1, at least ``gap`` from it."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(4 * n, 2))
    distance = (X[:, 0] + 2 * X[:, 1] - 1) / np.sqrt(5)
    keep = np.abs(distance) >= gap
    X, distance = X[keep][:n], distance[keep][:n]
    return X, (distance > 0).astype(int)


def lecture_perceptron(X, y, max_iter):
    """PERCEPTRONTRAIN exactly as the notes write it, one sample at a time: the answer key."""
    y = np.where(y > 0, 1.0, -1.0)
    w, b = np.zeros(X.shape[1]), 0.0
    updates = 0
    for it in range(1, max_iter + 1):
        changed = False
        for x_i, y_i in zip(X, y):
            a = w @ x_i + b
            if y_i * a <= 0:
                w, b = w + y_i * x_i, b + y_i
                updates += 1
                changed = True
        if not changed:
            return w, b, updates, it, True
    return w, b, updates, max_iter, False


# ---------------------------------------------------------------- perceptron

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perceptron_separates_separable_data(seed):
    X, y = separable(seed=seed)
    p = Perceptron(max_iter=1000).fit(X, y)
    assert p.converged_
    assert np.array_equal(p.predict(X), y)
    assert p.score(X, y) == 1.0
    assert margin(X, y, p.w, p.b) > 0
    assert 1 <= p.n_iter_ <= 1000 and p.n_updates_ >= 1
    assert len(p.updates_per_pass_) == p.n_iter_ and sum(p.updates_per_pass_) == p.n_updates_
    assert p.updates_per_pass_[-1] == 0 and min(p.updates_per_pass_[:-1]) > 0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("max_iter", [1, 3, 100])
def test_perceptron_is_the_lecture_algorithm_step_for_step(seed, max_iter):
    """Same w, b, updates and passes as the plain loop, on separable and on noisy data."""
    rng = np.random.default_rng(seed)
    X, y = separable(seed=seed, gap=0.0)
    if seed % 2:
        y = np.where(rng.random(len(y)) < 0.1, 1 - y, y)  # flipped labels: not separable
    w, b, updates, passes, converged = lecture_perceptron(X, y, max_iter)
    p = Perceptron(max_iter=max_iter).fit(X, y)
    np.testing.assert_array_equal(p.w, w)
    assert p.b == b and p.n_updates_ == updates and p.n_iter_ == passes and p.converged_ == converged


def test_perceptron_does_not_converge_on_xor():
    p = Perceptron(max_iter=50).fit(XOR_X, XOR_Y)
    assert p.converged_ is False
    assert p.n_iter_ == 50
    assert len(p.updates_per_pass_) == 50 and min(p.updates_per_pass_) > 0
    assert p.score(XOR_X, XOR_Y) < 1.0
    assert margin(XOR_X, XOR_Y, p.w, p.b) == -np.inf


def test_perceptron_first_update_is_the_first_sample():
    """From w = 0, b = 0 the first sample scores 0, which counts as a mistake."""
    X = np.array([[2.0, 1.0], [-1.0, -3.0]])
    p = Perceptron(max_iter=10, record_updates=True).fit(X, [-1, 1])
    index, w, b = p.updates_[0]
    assert index == 0 and np.array_equal(w, [-2.0, -1.0]) and b == -1.0


def test_perceptron_records_every_update():
    X, y = separable(seed=4, gap=0.1)
    p = Perceptron(max_iter=1000, record_updates=True).fit(X, y)
    assert len(p.updates_) == p.n_updates_
    index, w, b = p.updates_[-1]
    assert np.array_equal(w, p.w) and b == p.b
    # each recorded update is the previous (w, b) plus y x of a sample it misclassified
    signs = np.where(y > 0, 1.0, -1.0)
    previous_w, previous_b = np.zeros(2), 0.0
    for index, w, b in p.updates_:
        assert signs[index] * (X[index] @ previous_w + previous_b) <= 0
        np.testing.assert_array_equal(w, previous_w + signs[index] * X[index])
        previous_w, previous_b = w, b


def test_perceptron_labels_minus_one_and_zero_give_the_same_boundary():
    X, y01 = separable(seed=5)
    y_pm = 2 * y01 - 1
    a = Perceptron().fit(X, y01)
    b = Perceptron().fit(X, y_pm)
    assert np.array_equal(a.w, b.w) and a.b == b.b
    assert set(a.predict(X)) == {0, 1} and set(b.predict(X)) == {-1, 1}
    np.testing.assert_array_equal(a.decision_function(X), X @ a.w + a.b)


def test_perceptron_refits_from_zero():
    X, y = separable(seed=6)
    p = Perceptron()
    first = p.fit(X, y).w.copy()
    assert np.array_equal(p.fit(X, y).w, first)


# ---------------------------------------------------------------- margin

def test_margin_is_the_smallest_signed_score_when_w_separates():
    X = np.array([[1.0, 0.0], [3.0, 1.0], [-2.0, 0.0]])
    y = np.array([1, 1, -1])
    assert margin(X, y, [1.0, 0.0], 0.0) == 1.0
    assert margin(X, y, [2.0, 0.0], 0.0) == 2.0  # not normalised by ||w||, as in the notes
    assert margin(X, y, [1.0, 0.0], 0.5) == 1.5  # min(1.5, 3.5, 1.5)
    assert margin(X, [1, 1, 0], [1.0, 0.0], 0.0) == 1.0  # 0/1 labels


def test_margin_is_minus_infinity_when_w_does_not_separate():
    X = np.array([[1.0, 0.0], [-2.0, 0.0]])
    assert margin(X, [1, -1], [-1.0, 0.0], 0.0) == -np.inf  # every sample on the wrong side
    assert margin(X, [1, -1], [1.0, 0.0], -1.0) == -np.inf  # a sample on the boundary
    assert margin(X, [1, -1], [0.0, 0.0], 0.0) == -np.inf   # w = 0 separates nothing


# ---------------------------------------------------------------- ADALINE

def linear_problem(n=30, d=3, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true, b_true = rng.standard_normal(d), 0.7
    return X, X @ w_true + b_true + noise * rng.standard_normal(n)


def least_squares(X, y):
    solution, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)
    return solution[:-1], solution[-1]


def test_adaline_reaches_the_least_squares_solution_of_exactly_linear_targets():
    X, y = linear_problem()
    a = Adaline(lr=0.05, epochs=300).fit(X, y)
    w, b = least_squares(X, y)
    np.testing.assert_allclose(a.w, w, rtol=0, atol=1e-9)
    assert abs(a.b - b) <= 1e-9
    assert a.loss_[-1] <= 1e-18


def test_adaline_approaches_the_least_squares_loss_on_noisy_targets():
    """With a constant lr it wanders around the solution by O(lr): its loss ends within 1%."""
    X, y = linear_problem(n=60, noise=0.3, seed=1)
    w, b = least_squares(X, y)
    best = np.mean((y - X @ w - b) ** 2)
    a = Adaline(lr=0.002, epochs=300).fit(X, y)
    assert best <= a.loss_[-1] <= 1.01 * best
    np.testing.assert_allclose(a.w, w, atol=0.02)


def test_adaline_is_one_widrow_hoff_step_per_sample():
    X, y = linear_problem(n=4, d=2)
    a = Adaline(lr=0.1, epochs=1, shuffle=False).fit(X, y)
    w, b = np.zeros(2), 0.0
    for x_i, y_i in zip(X, y):
        e = y_i - (w @ x_i + b)
        w, b = w + 0.1 * e * x_i, b + 0.1 * e
    np.testing.assert_allclose(a.w, w, rtol=1e-15)
    assert a.b == pytest.approx(b, rel=1e-15)
    assert a.loss_ == [pytest.approx(np.mean((y - X @ w - b) ** 2), rel=1e-12)]


def test_adaline_shuffling_is_seeded():
    X, y = linear_problem(noise=0.3)
    first = Adaline(lr=0.01, epochs=3, seed=7).fit(X, y)
    again = Adaline(lr=0.01, epochs=3, seed=7).fit(X, y)
    other = Adaline(lr=0.01, epochs=3, seed=8).fit(X, y)
    assert np.array_equal(first.w, again.w) and first.loss_ == again.loss_
    assert not np.array_equal(first.w, other.w)
    assert len(first.loss_) == 3


def test_adaline_classifies_by_the_sign_of_its_output():
    X, labels = separable(seed=3)
    y = 2.0 * labels - 1
    a = Adaline(lr=0.01, epochs=50).fit(X, y)
    assert np.mean(np.sign(a.predict(X)) == y) >= 0.95  # least squares need not separate


def test_adaline_with_too_large_a_learning_rate_says_so():
    X, y = linear_problem()
    with pytest.raises(ValueError, match=r"lr=10.0 .*diverge.*smaller lr"):
        Adaline(lr=10.0, epochs=100).fit(X, y)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("model", [Perceptron, lambda: Adaline(lr=0.01)])
def test_predict_before_fit_is_refused(model):
    with pytest.raises(RuntimeError, match="not fitted"):
        model().predict(XOR_X)


@pytest.mark.parametrize("X, y, error, match", [
    (np.zeros(4), [0, 1, 1, 0], ValueError, "X must be 2-dimensional"),
    (np.zeros((0, 2)), [], ValueError, "at least one sample"),
    (XOR_X, [0, 1, 1], ValueError, r"one entry per row of X \(4\)"),
    (XOR_X, [[0, 1, 1, 0]], ValueError, "y must be 1-dimensional"),
    (XOR_X, [0, 1, 2, 0], ValueError, "two-class labels"),
    (XOR_X, [-1, 0, 1, 0], ValueError, "two-class labels"),
    (np.array([["a", "b"]]), [1], TypeError, "X must hold real numbers"),
    (np.array([[np.nan, 0.0]]), [1], ValueError, "X must be finite"),
    (XOR_X, ["a", "b", "a", "b"], TypeError, "y must hold numbers"),
])
def test_perceptron_refuses_bad_data(X, y, error, match):
    with pytest.raises(error, match=match):
        Perceptron().fit(X, y)


def test_predict_refuses_the_wrong_number_of_features():
    p = Perceptron().fit(XOR_X, XOR_Y)
    with pytest.raises(ValueError, match="2 features, as in fit, got 3"):
        p.predict(np.zeros((1, 3)))


@pytest.mark.parametrize("kwargs, error", [
    ({"max_iter": 0}, ValueError), ({"max_iter": 2.5}, TypeError), ({"max_iter": True}, TypeError),
])
def test_perceptron_refuses_bad_settings(kwargs, error):
    with pytest.raises(error, match="max_iter"):
        Perceptron(**kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr": 0}, ValueError, "lr"), ({"lr": -0.1}, ValueError, "lr"), ({"lr": float("nan")}, ValueError, "lr"),
    ({"lr": "0.1"}, TypeError, "lr"), ({"lr": 0.1, "epochs": 0}, ValueError, "epochs"),
])
def test_adaline_refuses_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        Adaline(**kwargs)


def test_margin_refuses_mismatched_weights():
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        margin(XOR_X, XOR_Y, [1.0, 2.0, 3.0], 0.0)
    with pytest.raises(TypeError, match="b must be a real number"):
        margin(XOR_X, XOR_Y, [1.0, 2.0], None)
