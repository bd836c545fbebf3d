"""Run folders that cannot lie, broken numbers refused, and every bad input one clear message."""
import json
import os
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import runs
from chainrule.cli import main

TRAIN = ["train", "--epochs", "2", "--hidden", "16", "--quiet"]


def _one_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    assert main(TRAIN + ["--out", str(out)]) == 0
    return out


def _copy(run, tmp_path, name="copy"):
    dst = tmp_path / name
    shutil.copytree(run, dst)
    return dst


def _edit_config(path, fn):
    cfg = json.loads((path / "config.json").read_text())
    fn(cfg)
    (path / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize("edit,match", [
    (lambda c: c["model"].update(activation="tanh"), ("model.activation: 'tanh' in config.json, "
                                                      "'relu' in model.npz")),
    (lambda c: c.update(loss="nll"), "disagrees"),
    (lambda c: c["options"].update(seed=5), "options.seed: 5 in config.json, 0 in model.npz"),
    (lambda c: c["model"].update(sizes=[64, 17, 10]), "declares shape"),
    (lambda c: c.update(n_classes=11), "n_classes"),
    (lambda c: c["model"].update(sizes=[64, 10 ** 6, 10 ** 6, 10]), "parameters, more than"),
    (lambda c: c.update(loss=["x"]), "unknown loss"),
    (lambda c: c.pop("model"), "entry 'model' is missing"),
    (lambda c: c["model"].update(sizes="many"), "model must be"),
    (lambda c: c.update(format="chainrule-run/1"), "not a chainrule run config"),
])
@pytest.mark.parametrize("command", ["evaluate", "predict", "check"])
def test_an_edited_config_is_refused(run, tmp_path, capsys, edit, match, command):
    bad = _copy(run, tmp_path)
    _edit_config(bad, edit)
    np.save(tmp_path / "x.npy", np.zeros((2, 64), np.float32))
    extra = ["--input", str(tmp_path / "x.npy")] if command == "predict" else []
    assert main([command, str(bad), *extra]) == 1
    assert match in _one_line(capsys.readouterr().err)


def test_weights_changed_after_saving_fail_the_checksum(run, tmp_path, capsys):
    bad = _copy(run, tmp_path)
    obj = cr.load(bad / "model.npz")
    obj["state_dict"]["0.bias"] = obj["state_dict"]["0.bias"] + 1e-6
    cr.save(obj, bad / "model.npz")
    assert main(["evaluate", str(bad)]) == 1
    assert "checksum mismatch" in _one_line(capsys.readouterr().err)
    cr.save(cr.load(run / "model.npz")["state_dict"], bad / "model.npz")   # a bare state dict
    assert main(["evaluate", str(bad)]) == 1
    assert "no config to check" in _one_line(capsys.readouterr().err)


def test_nan_weights_fail_evaluate_predict_and_check(run, tmp_path, capsys):
    bad = _copy(run, tmp_path)
    cfg = runs.read_config(str(bad))
    _, model = runs.load_run(str(run))
    with cr.no_grad():
        model[2].weight[:] = float("nan")
    runs.save_model(str(bad), model, cfg)
    assert main(["evaluate", str(bad)]) == 1
    assert "non-finite weights: 2.weight (160 NaN, 0 Inf of 160)" in capsys.readouterr().err
    assert main(["check", str(bad)]) == 1
    assert "FAILED: non-finite weights" in capsys.readouterr().out


def test_out_folder_is_refused_unless_resume_or_overwrite(run, tmp_path, capsys):
    dst = _copy(run, tmp_path)
    assert main(TRAIN + ["--out", str(dst)]) == 1
    msg = _one_line(capsys.readouterr().err)
    assert "already holds a run" in msg and "--resume" in msg and "--overwrite" in msg
    (dst / ".tmp-abc").write_bytes(b"x")
    assert main(TRAIN + ["--out", str(dst), "--overwrite", "--seed", "3"]) == 0
    assert not (dst / ".tmp-abc").exists()
    assert runs.read_config(str(dst))["options"]["seed"] == 3
    assert main(["train", "--resume", str(dst)]) == 1
    assert "already finished" in _one_line(capsys.readouterr().err)
    assert main(["train", "--resume", str(dst), "--lr", "0.1"]) == 1
    assert "drop --lr" in _one_line(capsys.readouterr().err)


def test_default_folders_are_claimed_atomically(tmp_path):
    names = {runs.claim_run_dir(str(tmp_path), "digits") for _ in range(5)}
    assert len(names) == 5 and all(os.path.isdir(n) for n in names)


def test_killed_before_the_first_checkpoint_resumes_from_the_start(tmp_path, capsys):
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert main(TRAIN + ["--out", str(ref)]) == 0
    assert main(TRAIN + ["--out", str(out)]) == 0
    os.unlink(out / "model.npz")                 # as if killed right after config.json
    os.unlink(out / "metrics.json")
    assert main(["evaluate", str(out)]) == 1
    assert "model.npz' not found" in capsys.readouterr().err
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    a, b = cr.load(ref / "model.npz"), cr.load(out / "model.npz")
    assert a["sha256"] == b["sha256"]


@pytest.mark.parametrize("argv,match", [
    (["--lr", "inf"], "--lr: must be a finite number"),
    (["--lr", "nan"], "--lr: must be a finite number"),
    (["--weight-decay", "inf"], "--weight-decay: must be a finite number"),
    (["--momentum=-inf"], "--momentum: must be a finite number"),
    (["--seed", str(2 ** 64)], "--seed: must be in"),
    (["--test-split", "0"], "--test-split: must be in (0, 1)"),
    (["--checkpoint-every", "0"], "--checkpoint-every: must be positive"),
])
def test_broken_numbers_are_refused_by_the_parser(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        main(TRAIN + argv)
    assert exc.value.code == 2 and match in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv,match", [
    (["--lr", "1e300", "--optimizer", "sgd"], ("loss became nan in epoch 1, step 2; the last "
                                              "finite loss was")),
    (["--hidden", "1000000000"], "75,000,000,010 parameters, more than"),
    (["--dataset", "moons", "--samples", "1000000000000"], "--samples 1000000000000 needs"),
    (["--test-split", "0.999"], "after --test-split 0.999"),
])
def test_bad_training_options_one_message_no_model(argv, match, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(TRAIN + ["--out", str(out), *argv]) == 1
    assert match in _one_line(capsys.readouterr().err)
    assert not (out / "model.npz").exists()


def test_negative_seed_is_accepted_like_pytorch(tmp_path):
    assert main(TRAIN + ["--out", str(tmp_path / "o"), "--seed", "-1", "--epochs", "1"]) == 0
    assert cr.initial_seed() == 2 ** 64 - 1          # what torch.initial_seed() says after -1


def _mnist(d, images, labels, split="t10k"):
    from chainrule.datasets import write_idx
    d.mkdir(exist_ok=True)
    write_idx(d / f"{split}-images-idx3-ubyte", images)
    write_idx(d / f"{split}-labels-idx1-ubyte", labels.astype(np.uint8))


def test_mnist_data_problems_are_named(tmp_path, capsys):
    rng = np.random.default_rng(0)
    images = rng.random((50, 28, 28)).astype(np.float32)
    images[7, 3, 3] = np.nan                         # one NaN pixel (float32 IDX)
    _mnist(tmp_path / "nan", images, np.arange(50) % 10)
    args = TRAIN + ["--dataset", "mnist", "--out", str(tmp_path / "o")]
    assert main(args + ["--data-dir", str(tmp_path / "nan")]) == 1
    assert "NaN or Inf in 1 sample(s)" in _one_line(capsys.readouterr().err)
    d = tmp_path / "half"                           # the test split lacks its labels file
    d.mkdir()
    from chainrule.datasets import write_idx
    write_idx(d / "t10k-images-idx3-ubyte", (np.nan_to_num(images) * 255).astype(np.uint8))
    assert main(args + ["--data-dir", str(d)]) == 1
    assert "MNIST test split: neither 't10k-labels-idx1-ubyte'" in _one_line(
        capsys.readouterr().err)
    (d / "big-idx").write_bytes(b"\x00\x00\x08\x04" + b"\xff\xff\xff\xff" * 4)
    with pytest.raises(ValueError, match=r"need 340,282,366,604,025,813,516,997,721,482,669,850"):
        cr.datasets.read_idx(d / "big-idx")


def test_small_points_of_the_probe():
    v, i = cr.zeros(0, 3).max(dim=1)
    assert v.shape == (0,) and i.shape == (0,)
    with pytest.raises(IndexError, match="non-zero size"):     # as PyTorch's IndexError
        cr.zeros(3, 0).max(dim=1)
    import chainrule.nn.functional as F
    for t in ([2.0, 0.0], [-1.0, 1.0], [float("nan"), 0.0]):
        with pytest.raises(RuntimeError, match="target should be between 0 and 1"):
            F.binary_cross_entropy(cr.tensor([0.5, 0.5]), cr.tensor(t))
    torch = pytest.importorskip("torch")
    torch.manual_seed(-5)
    cr.manual_seed(-5)
    assert cr.initial_seed() == torch.initial_seed()


def test_state_dict_mismatch_message_lists_the_keys(run, tmp_path, capsys):
    from chainrule.cli import _message
    model = cr.nn.Sequential(cr.nn.Linear(2, 2))
    try:
        model.load_state_dict({"0.weight": cr.zeros(2, 2), "x": cr.zeros(1)})
    except RuntimeError as exc:
        msg = _message(exc)
    assert "\n" not in msg and "0.bias" in msg and "x" in msg


def test_model_file_entries_are_checked_before_reading(run, tmp_path, capsys):
    bad = _copy(run, tmp_path)
    obj = cr.load(bad / "model.npz")
    obj["junk"] = np.zeros(5)                    # an extra array (could be a 2 GB bomb)
    cr.save(obj, bad / "model.npz")
    assert main(["evaluate", str(bad)]) == 1
    assert "entries that the config's model does not have: ['junk']" in capsys.readouterr().err


def test_csv_header_is_detected_honestly(tmp_path):
    from chainrule.cli_inputs import read_inputs
    p = tmp_path / "x.csv"
    p.write_text("a,b,c\n1,2,3\n4,5,6\n")                     # words: a header
    np.testing.assert_array_equal(read_inputs(str(p), 3), [[1, 2, 3], [4, 5, 6]])
    p.write_text("1,2,3\n4,5,6\n")                             # numbers: data from line 1
    assert read_inputs(str(p), 3).shape == (2, 3)
    p.write_text("nan,2,3\n4,5,6\n")                           # nan is a number: row 0 is data
    with pytest.raises(ValueError, match=r"1 row\(s\) hold NaN or Inf .*rows 0 "):
        read_inputs(str(p), 3)
    p.write_text("1e39,2,3\n")                                 # finite in float64, inf in float32
    with pytest.raises(ValueError, match="too large for float32"):
        read_inputs(str(p), 3)
