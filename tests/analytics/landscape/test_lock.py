"""One run at a time per output bundle: a second run on an output a live run holds stops with
one line (exit 2) before any work and leaves the bundle as it was; the lock of a killed run
is taken over; a finished run leaves no lock file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from hubscape.analytics.landscape import load_landscape
from hubscape.analytics.landscape.lock import hold_output, lock_path
from hubscape.core.errors import InputError
from hubscape.viewer.cli import main

HOLD = "import sys, time; from hubscape.analytics.landscape.lock import hold_output\n" \
       "with hold_output(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)"  # fmt: skip


@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    torch.save(model, tmp_path / "model.pt")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6)).astype(np.float32)
    np.savez(tmp_path / "xy.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    return tmp_path


def _landscape(files, out, *extra):
    args = ["landscape", str(files / "model.pt"), "--data", str(files / "xy.npz"), "--grid", "5x5"]
    return main([*args, "--out", str(out), "--no-progress", *extra])


@pytest.fixture
def holder():
    """Starts a process that holds the lock on a path until it is killed."""
    procs = []

    def start(out):
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def test_a_run_on_an_output_a_live_run_holds_is_one_line_and_exit_2(files, holder, capsys):
    out = files / "l.safetensors"
    assert _landscape(files, out) == 0
    partial = load_landscape(out)
    partial.done[2:] = False  # make it a partial bundle of the same settings
    partial.complete = False
    partial.save(out)
    before = out.read_bytes()
    proc = holder(out)
    for extra in (["--resume"], []):
        capsys.readouterr()
        assert _landscape(files, out, *extra) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"is being written by another run (pid {proc.pid} on " in err[0], err
        assert "Traceback" not in err[0]
    assert out.read_bytes() == before  # untouched
    proc.kill()
    proc.wait(30)
    assert _landscape(files, out, "--resume") == 0  # the killed holder's lock is taken over
    assert load_landscape(out).complete and not lock_path(out).exists()


def test_the_python_api_refuses_a_held_output_too(files, holder):
    from hubscape.analytics.landscape import Objective, compute_landscape, random_directions

    out = files / "api.safetensors"
    holder(out)
    model = torch.load(files / "model.pt", weights_only=False)
    xy = np.load(files / "xy.npz")
    obj = Objective(model, [(torch.from_numpy(xy["X"]), torch.from_numpy(xy["y"]))], torch.nn.functional.cross_entropy)
    with pytest.raises(InputError, match="is being written by another run"):
        compute_landscape(obj, random_directions(model, seed=0), grid=(3, 3), out=out)
    assert not out.exists()


def test_a_stale_lock_of_a_killed_process_is_taken_over(tmp_path, holder):
    out = tmp_path / "sub" / "x.safetensors"
    proc = holder(out)
    assert lock_path(out).exists()
    with pytest.raises(InputError, match=f"pid {proc.pid} on"):
        with hold_output(out):
            pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert lock_path(out).exists()  # left behind by the killed holder, its lock gone with it
    with hold_output(out):
        assert f"pid {os.getpid()} on" in lock_path(out).read_text()
    assert not lock_path(out).exists()


def test_holding_is_reentrant_within_a_process_and_released_after(tmp_path):
    out = tmp_path / "y.safetensors"
    with hold_output(out):
        with hold_output(out):
            assert lock_path(out).exists()
        assert lock_path(out).exists()  # still held by the outer block
        child = subprocess.run([sys.executable, "-c", HOLD.replace("time.sleep(120)", "pass"), str(out)],
                               capture_output=True, text=True, timeout=120)  # fmt: skip
        assert child.returncode != 0 and "is being written by another run" in child.stderr
    assert not lock_path(out).exists()
    with hold_output(out):  # free again
        pass
