"""The ``chainrule`` command: train / evaluate / predict end to end, and its error handling."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("chainrule.nn")
pytest.importorskip("chainrule.optim")

from chainrule.cli import main  # noqa: E402


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env():
    # the package under test, not whichever one is installed
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _run(args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], cwd=cwd, timeout=timeout,
                          capture_output=True, text=True, env=_env())


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``chainrule train`` with no options at all (it picks runs/digits-<timestamp>)."""
    cwd = tmp_path_factory.mktemp("cli")
    proc = _run(["train"], cwd)
    assert proc.returncode == 0, proc.stderr
    runs = os.listdir(cwd / "runs")
    assert len(runs) == 1 and runs[0].startswith("digits-")
    return cwd / "runs" / runs[0], proc


def test_train_defaults_reach_95_percent(default_run):
    run, proc = default_run
    for name in ("model.npz", "config.json", "metrics.json", "curves.png", "history.csv"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.95
    assert metrics["wall_time_s"] < 60
    assert len(metrics["history"]["val_accuracy"]) == metrics["epochs_run"] == 40
    assert metrics["samples"]["test"] == 360
    assert f"test accuracy {metrics['test']['accuracy']:.4f}" in proc.stdout
    assert "Epoch 40/40" in proc.stderr            # one line per epoch when not a terminal
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["sizes"] == [64, 128, 10] and config["options"]["optimizer"] == "adam"


def test_evaluate_and_predict_saved_run(default_run, tmp_path, capsys):
    run, _ = default_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"accuracy {metrics['test']['accuracy']:.4f}" in out and "360 samples" in out
    import chainrule.datasets as ds
    X, y = ds.load_digits()
    np.save(tmp_path / "x.npy", X[:20])
    assert main(["predict", str(run), "--input", str(tmp_path / "x.npy")]) == 0
    pred = np.array(capsys.readouterr().out.split(), dtype=int)
    assert len(pred) == 20 and np.mean(pred == y[:20]) >= 0.9
    np.savetxt(tmp_path / "x.csv", X[:20], delimiter=",", header="h", comments="")
    assert main(["predict", str(run), "--input", str(tmp_path / "x.csv"),
                 "--output", str(tmp_path / "p.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), pred)


def _one_line_error(err):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "error:" in lines[0]
    return lines[0]


@pytest.mark.parametrize("argv,match", [
    (["train", "--optimizer", "nope"], "invalid choice"),
    (["train", "--epochs", "0"], "must be positive"),
    (["train", "--lr", "abc"], "--lr"),
    (["train", "--val-split", "1.5"], "[0, 1)"),
    (["train", "--hidden"], "expected at least one"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
    (["predict", "somewhere"], "--input"),
])
def test_usage_errors_exit_2_with_one_line(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert match in _one_line_error(capsys.readouterr().err)


def test_usage_error_through_the_real_command(tmp_path):
    proc = _run(["train", "--batch-size", "-3"], tmp_path, timeout=60)
    assert proc.returncode == 2 and "--batch-size" in _one_line_error(proc.stderr)
    exe = shutil.which("chainrule")
    if exe:     # the console script declared in pyproject.toml
        proc = subprocess.run([exe, "train", "--loss", "bad"], capture_output=True, text=True,
                              timeout=60, env=_env())
        assert proc.returncode == 2 and "--loss" in _one_line_error(proc.stderr)


def _bad_idx_dir(tmp_path):
    d = tmp_path / "mnist"
    d.mkdir()
    (d / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    return d


@pytest.mark.parametrize("argv,match", [
    (["train", "--dataset", "mnist"], "needs --data-dir"),
    (["train", "--dataset", "mnist", "--data-dir", "{missing}"], "not a folder"),
    (["train", "--dataset", "mnist", "--data-dir", "{empty}"], "found"),
    (["train", "--dataset", "mnist", "--data-dir", "{bad}"], "IDX file"),
    (["evaluate", "{missing}"], "does not exist"),
    (["evaluate", "{empty}"], "config.json"),
])
def test_bad_files_give_one_line_and_status_1(argv, match, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    paths = {"missing": str(tmp_path / "nope"), "empty": str(tmp_path / "empty"),
             "bad": str(_bad_idx_dir(tmp_path))}
    argv = [a.format(**paths) for a in argv]
    assert main(argv + ["--quiet"] if argv[0] == "train" else argv) == 1
    assert match in _one_line_error(capsys.readouterr().err)


def test_bad_idx_through_the_real_command(tmp_path):
    proc = _run(["train", "--dataset", "mnist", "--data-dir", str(_bad_idx_dir(tmp_path))],
                tmp_path, timeout=60)
    assert proc.returncode == 1 and "IDX" in _one_line_error(proc.stderr)


def test_predict_bad_inputs(default_run, tmp_path, capsys):
    run, _ = default_run
    np.save(tmp_path / "narrow.npy", np.zeros((2, 5)))
    (tmp_path / "x.json").write_text("{}")
    for inp, match in (("narrow.npy", "expects 64"), ("x.json", ".npy, .csv"),
                       ("missing.npy", "no such file")):
        assert main(["predict", str(run), "--input", str(tmp_path / inp)]) == 1
        assert match in _one_line_error(capsys.readouterr().err)
    broken = tmp_path / "broken_run"
    shutil.copytree(run, broken)
    (broken / "model.npz").write_bytes(b"PK\x03\x04 truncated")
    assert main(["evaluate", str(broken)]) == 1
    assert "corrupt" in _one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("extra", [
    ["--dataset", "moons", "--hidden", "16", "--activation", "tanh", "--optimizer", "sgd",
     "--schedule", "cosine", "--loss", "mse"],
    ["--dataset", "blobs", "--hidden", "8", "8", "--optimizer", "rmsprop", "--schedule",
     "onecycle", "--loss", "nll", "--val-split", "0"],
    ["--dataset", "xor", "--hidden", "8", "--optimizer", "adagrad", "--schedule", "plateau",
     "--patience", "2", "--activation", "leaky_relu"],
    ["--dataset", "spirals", "--optimizer", "adamw", "--schedule", "step", "--weight-decay",
     "0.01"],
])
def test_train_option_combinations(extra, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--samples", "200", "--quiet", "--out", str(out),
                 *extra]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["test"]["accuracy"] <= 1 and metrics["epochs_run"] <= 3
    assert main(["evaluate", str(out)]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_mnist_idx_with_only_a_test_split(tmp_path, capsys):
    from chainrule.datasets import write_idx
    rng = np.random.default_rng(0)
    d = tmp_path / "mnist"
    d.mkdir()
    labels = np.arange(200) % 10
    images = (rng.random((200, 28, 28)) * 50 + labels[:, None, None] * 20).astype(np.uint8)
    write_idx(d / "t10k-images-idx3-ubyte.gz", images)
    write_idx(d / "t10k-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    out = tmp_path / "run"
    assert main(["train", "--dataset", "mnist", "--data-dir", str(d), "--epochs", "2",
                 "--hidden", "16", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["samples"]["test"] == 40 and metrics["samples"]["train"] == 144
    assert main(["evaluate", str(out)]) == 0
    assert "mnist (test, 40 samples)" in capsys.readouterr().out


def test_plots_and_check_subcommand(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    assert main(["train", "--dataset", "moons", "--epochs", "2", "--samples", "200", "--quiet",
                 "--plots", "--out", str(out)]) == 0
    assert "extra plots:" in capsys.readouterr().err
    for name in ("curves.png", "decision_boundary.png", "weights.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    assert main(["check", str(out)]) == 0
    assert "agree" in capsys.readouterr().out
