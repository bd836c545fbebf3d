"""Tests for chainrule.classic (Perceptron, Adaline)."""

import numpy as np
import pytest

from chainrule.classic import Adaline, NotFittedError, Perceptron


def separable(n=200, seed=0, labels=(0, 1)):
    """Two Gaussian clouds far apart along (1, 1): linearly separable."""
    rng = np.random.default_rng(seed)
    y01 = np.arange(n) % 2
    X = rng.normal(0.0, 0.6, size=(n, 2)) + np.where(y01[:, None] == 1, 2.5, -2.5)
    return X, np.asarray(labels)[y01]


def standardized_regression_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    X = (X - X.mean(0)) / X.std(0)
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.8 * rng.normal(size=n) > 0.3).astype(int)
    return X, y


def lstsq_solution(X, t):
    A = np.hstack([X, np.ones((len(X), 1))])
    beta = np.linalg.lstsq(A, t, rcond=None)[0]
    return beta[:-1], beta[-1], 0.5 * float(np.sum((t - A @ beta) ** 2))


# --------------------------------------------------------------------------- Perceptron
@pytest.mark.parametrize("labels", [(0, 1), (-1, 1), ("cat", "dog")])
def test_perceptron_converges_on_separable_data(labels):
    X, y = separable(labels=labels)
    clf = Perceptron(lr=0.01, epochs=50, seed=0).fit(X, y)
    assert clf.errors_[-1] == 0 and clf.errors_[0] > 0
    assert clf.n_iter_ == len(clf.errors_) < 50
    assert clf.score(X, y) == 1.0
    assert list(clf.classes_) == sorted(labels)
    pred = clf.predict(X)
    assert pred.dtype == np.asarray(labels).dtype and set(pred.tolist()) == set(labels)
    np.testing.assert_array_equal(clf.net_input(X) >= 0, y == clf.classes_[1])
    assert clf.coef_.shape == (2,) and isinstance(clf.intercept_, float)


def test_perceptron_update_rule_by_hand():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    clf = Perceptron(lr=0.5, epochs=10, shuffle=False, init_scale=0).fit(X, [1, 0])
    # epoch 1: x1 z=0 -> 1 ok; x2 z=0 -> 1 wrong: w=[0,-.5], b=-.5
    # epoch 2: x1 z=-.5 -> 0 wrong: w=[.5,-.5], b=0; x2 z=-.5 -> 0 ok; epoch 3: no mistakes
    assert clf.errors_ == [1, 1, 0] and clf.n_iter_ == 3
    np.testing.assert_allclose(clf.coef_, [0.5, -0.5])
    assert clf.intercept_ == 0.0


def test_perceptron_cannot_solve_xor():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    clf = Perceptron(lr=0.1, epochs=30).fit(X, y)
    assert clf.n_iter_ == 30 and min(clf.errors_) > 0
    assert clf.score(X, y) <= 0.75


def test_perceptron_is_deterministic_given_seed():
    X, y = separable(seed=3)
    a = Perceptron(seed=5).fit(X, y)
    b = Perceptron(seed=5).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.errors_ == b.errors_


# --------------------------------------------------------------------------- Adaline
def test_adaline_batch_matches_least_squares():
    X, y = standardized_regression_data()
    t = np.where(y == 1, 1.0, -1.0)
    w_ls, b_ls, j_ls = lstsq_solution(X, t)
    clf = Adaline(lr=0.001, epochs=1000, mode="batch").fit(X, y)
    np.testing.assert_allclose(clf.coef_, w_ls, atol=1e-4)
    assert abs(clf.intercept_ - b_ls) < 1e-4
    assert clf.cost_[-1] == pytest.approx(j_ls, rel=1e-8)
    assert np.all(np.diff(clf.cost_) <= 1e-9)  # gradient descent never increases J here
    assert clf.cost_[0] > 1.5 * j_ls
    assert clf.n_iter_ == 1000


def test_adaline_cost_is_half_sum_of_squares():
    X, y = standardized_regression_data(n=50, seed=1)
    clf = Adaline(lr=0.002, epochs=3).fit(X, y)
    t = np.where(y == 1, 1.0, -1.0)
    assert clf.cost_[-1] == pytest.approx(0.5 * np.sum((t - clf.net_input(X)) ** 2))


def test_adaline_minibatch_full_batch_equals_batch():
    X, y = standardized_regression_data(n=100)
    a = Adaline(lr=0.002, epochs=40, mode="batch").fit(X, y)
    b = Adaline(lr=0.002, epochs=40, mode="minibatch", batch_size=100).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.cost_, b.cost_, rtol=1e-10)


@pytest.mark.parametrize("mode,lr", [("sgd", 0.0005), ("minibatch", 0.002)])
def test_adaline_stochastic_modes_approach_least_squares(mode, lr):
    X, y = standardized_regression_data()
    t = np.where(y == 1, 1.0, -1.0)
    w_ls, b_ls, j_ls = lstsq_solution(X, t)
    clf = Adaline(lr=lr, epochs=200, mode=mode, batch_size=16, seed=1).fit(X, y)
    np.testing.assert_allclose(clf.coef_, w_ls, atol=0.03)
    assert abs(clf.intercept_ - b_ls) < 0.03
    assert clf.cost_[-1] < 1.01 * j_ls


def test_adaline_separable_score_and_labels():
    X, y = separable(labels=(-1, 1))
    clf = Adaline(lr=0.0005, epochs=100).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.predict(X).tolist() == y.tolist()


def test_adaline_divergence_warns_and_tol_stops_early():
    X, y = standardized_regression_data()
    with pytest.warns(RuntimeWarning, match="diverged"):
        bad = Adaline(lr=1.0, epochs=500).fit(X, y)
    assert bad.n_iter_ < 500 and bad.cost_[1] > bad.cost_[0]
    early = Adaline(lr=0.001, epochs=1000, tol=1e-6).fit(X, y)
    assert early.n_iter_ < 1000
    assert abs(early.cost_[-2] - early.cost_[-1]) < 1e-6


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("Est", [Perceptron, Adaline])
def test_bad_inputs_raise(Est):
    name = Est.__name__
    X, y = separable(n=10)
    with pytest.raises(ValueError, match=rf"{name}: X must be 2-D.*\(10,\)"):
        Est().fit(X[:, 0], y)
    with pytest.raises(ValueError, match=rf"{name}: X and y have different lengths.*\(10, 2\).*\(9,\)"):
        Est().fit(X, y[:9])
    with pytest.raises(ValueError, match=rf"{name} is a binary classifier.*has 3"):
        Est().fit(X, np.arange(10) % 3)
    with pytest.raises(ValueError, match="exactly two classes"):
        Est().fit(X, np.zeros(10))
    with pytest.raises(ValueError, match="y must be 1-D"):
        Est().fit(X, y[:, None])
    with pytest.raises(ValueError, match="NaN"):
        Est().fit(np.where(np.eye(10, 2) == 1, np.nan, X), y)
    with pytest.raises(ValueError, match="lr must be"):
        Est(lr=0).fit(X, y)
    with pytest.raises(ValueError, match="epochs must be"):
        Est(epochs=0).fit(X, y)
    with pytest.raises(NotFittedError, match="not fitted"):
        Est().predict(X)
    fitted = Est().fit(X, y)
    with pytest.raises(ValueError, match=r"3 features.*fitted with 2"):
        fitted.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"score: y has shape \(9,\)"):
        fitted.score(X, y[:9])


def test_adaline_bad_mode_and_params_api():
    with pytest.raises(ValueError, match="mode must be one of"):
        Adaline(mode="online").fit(np.zeros((2, 1)), [0, 1])
    with pytest.raises(ValueError, match="batch_size"):
        Adaline(mode="minibatch", batch_size=0).fit(np.zeros((2, 1)), [0, 1])
    est = Adaline(lr=0.1)
    assert est.get_params()["lr"] == 0.1 and est.get_params()["mode"] == "batch"
    assert est.set_params(epochs=7).epochs == 7
    assert repr(Perceptron(lr=0.5)).startswith("Perceptron(lr=0.5, epochs=50")
    with pytest.raises(ValueError, match="unknown parameter"):
        est.set_params(alpha=1)
