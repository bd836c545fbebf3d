"""chainrule.sklearn: scikit-learn's own estimator checks, and the skorch-style wrappers."""
import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.sklearn import (MLPClassifier, MLPRegressor, NeuralNetClassifier,  # noqa: E402
                               NeuralNetRegressor)
from chainrule.train import LambdaCallback  # noqa: E402


@parametrize_with_checks([MLPClassifier(random_state=0), MLPRegressor(random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


class Net(cr.nn.Module):
    def __init__(self, n_in=4, hidden=16, n_out=3):
        super().__init__()
        self.body = cr.nn.Sequential(cr.nn.Linear(n_in, hidden), cr.nn.Tanh(),
                                     cr.nn.Linear(hidden, n_out))

    def forward(self, x):
        return self.body(x)


def blobs(n=150, classes=3, features=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, (classes, features))
    y = rng.integers(0, classes, n)
    return centers[y] + rng.normal(0, 1, (n, features)), y


def clf(**kw):
    args = dict(module=Net, max_epochs=30, lr=0.02, batch_size=32, random_state=0)
    args.update(kw)
    return NeuralNetClassifier(**args)


def test_classifier_fits_and_predicts_float64_probabilities():
    X, y = blobs()
    net = clf().fit(X, y)
    proba = net.predict_proba(X)
    assert proba.dtype == np.float64 and proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-12)
    assert net.score(X, y) > 0.95
    assert net.n_features_in_ == 4 and list(net.classes_) == [0, 1, 2]
    assert [h["epoch"] for h in net.history_] == list(range(1, 31))
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(net.history_[-1])


def test_string_labels_and_binary_two_columns():
    X, y = blobs(classes=2)
    labels = np.array(["no", "yes"])[y]
    net = clf(module__n_out=2).fit(X, labels)
    assert net.predict_proba(X).shape == (150, 2)
    assert set(net.predict(X)) <= {"no", "yes"} and net.score(X, labels) > 0.95


def test_binary_with_one_logit_and_bce():
    X, y = blobs(classes=2)
    net = clf(module__n_out=1, criterion=cr.nn.BCEWithLogitsLoss).fit(X, y)
    proba = net.predict_proba(X)
    assert proba.shape == (150, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert net.score(X, y) > 0.95


def test_float32_and_float64_input_train_the_same_float32_network():
    X, y = blobs()
    a = clf().fit(X.astype(np.float32), y)
    b = clf().fit(X, y)       # float64: cast to the module's float32 once, as float32 would be
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X.astype(np.float32)))
    assert a.module_.body[0].weight.dtype == np.float32


def test_random_state_reproducible_and_caller_module_untouched():
    X, y = blobs()
    module = Net()
    before = module.body[0].weight.detach().numpy().copy()
    a = clf(module=module).fit(X, y)
    b = clf(module=module).fit(X, y)
    np.testing.assert_array_equal(module.body[0].weight.detach().numpy(), before)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = clf().fit(X, y)
    d = clf().fit(X, y)
    np.testing.assert_array_equal(c.predict_proba(X), d.predict_proba(X))
    assert not np.array_equal(c.predict_proba(X), clf(random_state=1).fit(X, y).predict_proba(X))


def test_module_params_clone_and_grid_search():
    X, y = blobs()
    net = clf(module__hidden=8, optimizer="sgd", optimizer__momentum=0.9, max_epochs=5)
    assert net.get_params()["module__hidden"] == 8
    twin = clone(net)
    assert twin.get_params()["module__hidden"] == 8 and twin.optimizer__momentum == 0.9
    gs = GridSearchCV(net, {"module__hidden": [2, 32], "lr": [0.05]}, cv=2).fit(X, y)
    assert gs.best_estimator_.module_.body[0].out_features == gs.best_params_["module__hidden"]
    assert set(gs.cv_results_["param_module__hidden"]) == {2, 32}
    net.set_params(module__hidden=5).fit(X, y)
    assert net.module_.body[0].out_features == 5


def test_pipeline_and_cross_val_score():
    X, y = blobs()
    scores = cross_val_score(make_pipeline(StandardScaler(), clf(max_epochs=15)), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9


def test_pandas_dataframe_gives_same_predictions():
    pd = pytest.importorskip("pandas")
    X, y = blobs()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(4)])
    a = clf().fit(df, pd.Series(y))
    b = clf().fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(df), b.predict_proba(X))
    assert list(a.feature_names_in_) == ["f0", "f1", "f2", "f3"]


def test_early_stopping_restores_best_weights():
    X, y = blobs(n=200)
    Xv, yv = X[150:], y[150:]

    def split(X_, y_):
        return X_[:150], Xv, y_[:150], np.searchsorted(np.unique(y_), yv)

    # a large step size makes the validation loss wander, so the last epoch is not the best
    net = clf(train_split=split, optimizer="sgd", lr=3.0, max_epochs=40, patience=4)
    net.fit(X, y)
    val = [h["val_loss"] for h in net.history_]
    assert len(val) < 40 and int(np.argmin(val)) < len(val) - 1
    p = np.clip(net.predict_proba(Xv), 1e-300, None)
    now = -np.mean(np.log(p[np.arange(len(yv)), yv]))
    np.testing.assert_allclose(now, min(val), rtol=1e-4)


def test_warm_start_and_partial_fit_continue_training():
    X, y = blobs()
    net = clf(max_epochs=3, warm_start=True, train_split=None).fit(X, y)
    w = net.module_.body[0].weight.detach().numpy().copy()
    net.fit(X, y)
    assert len(net.history_) == 6 and net.history_[3]["loss"] < net.history_[0]["loss"]
    assert not np.array_equal(w, net.module_.body[0].weight.detach().numpy())
    cold = clf(max_epochs=3, train_split=None).fit(X, y)
    cold.fit(X, y)
    assert len(cold.history_) == 3

    pf = clf(train_split=None)
    for _ in range(3):
        pf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert [h["epoch"] for h in pf.history_] == [1, 2, 3] and list(pf.classes_) == [0, 1, 2]
    assert pf.history_[2]["loss"] < pf.history_[0]["loss"]


def test_pickle_round_trip_keeps_predictions_and_optimizer_state():
    X, y = blobs()
    net = clf(max_epochs=3).fit(X, y)
    back = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    net.partial_fit(X, y)
    back.partial_fit(X, y)
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))


def test_callbacks_run_inside_fit():
    X, y = blobs()
    seen = []
    clf(max_epochs=4, callbacks=[LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))]
        ).fit(X, y)
    assert seen == [0, 1, 2, 3]


def test_regressor_shapes_and_score():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.normal(size=200)
    reg = NeuralNetRegressor(Net, module__n_out=1, max_epochs=60, lr=0.01, random_state=0,
                             train_split=None).fit(X, y)
    assert reg.predict(X).shape == (200,) and reg.predict(X).dtype == np.float64
    assert reg.score(X, y) > 0.95
    Y = np.stack([y, -y], 1)
    reg2 = NeuralNetRegressor(Net, module__n_out=2, max_epochs=60, lr=0.01, random_state=0,
                              train_split=None).fit(X, Y)
    assert reg2.predict(X).shape == (200, 2) and reg2.score(X, Y) > 0.95


def test_errors_name_the_problem():
    X, y = blobs()
    with pytest.raises(NotFittedError):
        clf().predict(X)
    with pytest.raises(TypeError, match="unexpected argument 'hidden'"):
        NeuralNetClassifier(Net, hidden=3)
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'"):
        clf(optimizer="adamm").fit(X, y)
    with pytest.raises(ValueError, match="module__ parameters"):
        clf(module=Net(), module__hidden=3).fit(X, y)
    with pytest.raises(ValueError, match="train_split"):
        clf(train_split=1.5).fit(X, y)
    net = clf(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="4 features"):
        net.predict(X[:, :3])


def test_mlp_zoo_activation_solver_and_bad_params():
    X, y = blobs()
    for act, solver in (("elu", "sgd"), ("gelu", "rmsprop"), ("leaky_relu", "adamw")):
        m = MLPClassifier(hidden_layer_sizes=(16,), activation=act, solver=solver,
                          learning_rate_init=0.05 if solver == "sgd" else 0.01, max_iter=50,
                          random_state=0).fit(X, y)
        assert m.score(X, y) > 0.9, (act, solver)
        assert type(m.model_[1]).__name__ == cr.models.ACTIVATIONS[act]
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        MLPClassifier(activation="swishy").fit(X, y)
    with pytest.raises(ValueError, match="solver 'lbfgs'.*needs a closure"):
        MLPClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="unknown optimizer 'newton'"):
        MLPClassifier(solver="newton").fit(X, y)
    es = MLPClassifier(early_stopping=True, n_iter_no_change=3, max_iter=300, tol=0.01,
                       random_state=0).fit(X, y)
    assert es.n_iter_ < 300 and len(es.loss_curve_) == es.n_iter_
