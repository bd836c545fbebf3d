"""Kill ``chainrule train`` at random moments (SIGKILL, then SIGTERM), resume, compare bit for bit.

The data are the embedded 8x8 digits; a run is 5 epochs with a checkpoint every 7 steps.  Each
round starts the run (or ``--resume``s it), waits until the run has written a new checkpoint,
waits a random extra 0-0.25 s and kills it.  The finished weights must equal those of an
uninterrupted run with the same seed exactly, and history.csv must list each epoch once.
"""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["train", "--epochs", "5", "--hidden", "32", "--batch-size", "16",
        "--checkpoint-every", "7", "--schedule", "onecycle", "--patience", "4", "--quiet"]
KILLS = int(os.environ.get("KILL_RESUME_ROUNDS", "4"))


def _start(argv, cwd):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "chainrule", *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return None


def _kill_after_a_checkpoint(proc, ckpt, rng, sig, timeout=120):
    """Wait for a new checkpoint (or the end), then a random moment; kill. ``True`` if killed."""
    before, t0 = _mtime(ckpt), time.monotonic()
    while proc.poll() is None and _mtime(ckpt) in (before, None) and \
            time.monotonic() - t0 < timeout:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.25))
    if proc.poll() is not None:
        proc.communicate()
        return False
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=timeout)
    if sig == signal.SIGTERM and proc.returncode == 128 + signal.SIGTERM:
        assert "interrupted by SIGTERM" in err and "--resume" in err, err
    return True


def test_killed_runs_resume_to_bit_identical_weights(tmp_path):
    ref = tmp_path / "ref"
    proc = _start(ARGS + ["--out", str(ref)], tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    run = tmp_path / "run"
    ckpt = run / "checkpoint.npz"
    rng = random.Random(16)
    log = []
    for i in range(KILLS + 1):
        started = (run / "config.json").is_file()
        argv = ["train", "--resume", str(run), "--quiet"] if started else \
            ARGS + ["--out", str(run)]
        sig = signal.SIGTERM if i == KILLS else signal.SIGKILL
        killed = _kill_after_a_checkpoint(_start(argv, tmp_path), ckpt, rng, sig)
        state = cr.load(ckpt) if ckpt.is_file() else None
        log.append((sig.name, killed, None if state is None else (state["epoch"],
                                                                  state["step"])))
        if not killed:
            break
    print("kills (signal, killed, checkpoint epoch/step):", log)
    assert sum(k for _, k, _ in log) >= 2, log        # the run really was interrupted
    if not (run / "metrics.json").is_file():
        proc = _start(["train", "--resume", str(run), "--quiet"], tmp_path)
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    a, b = cr.load(ref / "model.npz"), cr.load(run / "model.npz")
    for k in a["state_dict"]:
        np.testing.assert_array_equal(a["state_dict"][k].numpy(), b["state_dict"][k].numpy())
    assert a["sha256"] == b["sha256"]
    rows = [r.split(",")[0] for r in (run / "history.csv").read_text().splitlines()[1:]]
    assert rows == [str(e) for e in range(5)]
    assert not ckpt.exists() and not [f for f in os.listdir(run) if f.startswith(".tmp-")]
    import json
    m_ref = json.loads((ref / "metrics.json").read_text())
    m = json.loads((run / "metrics.json").read_text())
    assert m["history"]["loss"] == m_ref["history"]["loss"] and m["test"] == m_ref["test"]
    assert m["resumed"] is True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_save_a_checkpoint(tmp_path, sig):
    run = tmp_path / "run"
    proc = _start(ARGS + ["--out", str(run), "--epochs", "40"], tmp_path)
    ckpt = run / "checkpoint.npz"
    while proc.poll() is None and not ckpt.is_file():
        time.sleep(0.01)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert f"interrupted by {sig.name}" in err and f"chainrule train --resume {run}" in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1
    assert cr.load(ckpt)["format"] == "chainrule-train-state/1"
