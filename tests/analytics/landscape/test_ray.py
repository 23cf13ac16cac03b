"""Grids on a local Ray cluster that the tests start and stop: the same values as the serial
path whatever the number of actors, a killed actor's chunk rescheduled, a killed driver
resumed from its partial bundle, no Ray import without --ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import torch

from hubscape.analytics.landscape import Objective, compute_landscape, load_landscape, random_directions

ray = pytest.importorskip("ray", reason="Ray is the optional extra hubscape[ray]")

pytestmark = pytest.mark.slow
CE = torch.nn.functional.cross_entropy


# -- runs of the CLI in their own processes (before the in-process cluster starts) ----------


@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3))
    torch.save(model, tmp_path / "model.pt")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 6)).astype(np.float32)
    np.savez(tmp_path / "xy.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    return tmp_path


def _cli(files, *extra):
    return [sys.executable, "-m", "hubscape.viewer", "landscape", str(files / "model.pt"), "--data",
            str(files / "xy.npz"), "--grid", "8x8", "--chunk", "2", "--no-progress", *extra]  # fmt: skip


def test_a_killed_driver_is_resumed_from_its_partial_bundle(files, ray_processes):
    """The driver (with its own local cluster) is killed mid-grid; --resume finishes the grid,
    equal to a serial run, and the killed run's Ray processes went with it."""
    temp = tempfile.mkdtemp(prefix="hsray", dir="/tmp")
    env = {**os.environ, "RAY_TMPDIR": temp}
    out = files / "ray.safetensors"
    serial = files / "serial.safetensors"
    subprocess.run([*_cli(files, "--out", str(serial))], check=True, capture_output=True, timeout=600)
    driver = subprocess.Popen(_cli(files, "--out", str(out), "--ray", "local", "--ray-workers", "2"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and driver.poll() is None:
            if out.exists() and 0 < int(load_landscape(out).done.sum()):
                break
            time.sleep(0.2)
        assert driver.poll() is None, "the run ended before it could be killed"
        driver.kill()
        driver.wait(60)
    finally:
        if driver.poll() is None:
            driver.kill()
    partial = load_landscape(out)
    assert not partial.complete and 0 < partial.done.sum() < 64
    time.sleep(3)
    left = ray_processes(temp)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "Ray processes of the killed driver outlived it"
    done = subprocess.run([*_cli(files, "--out", str(out), "--ray", "local", "--resume")], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    resumed, ref = load_landscape(out), load_landscape(serial)
    assert resumed.complete
    np.testing.assert_allclose(resumed.loss, ref.loss, atol=1e-6, rtol=0)
    for pid in ray_processes(temp):
        os.kill(pid, signal.SIGKILL)


def test_without_ray_nothing_imports_ray(files):
    code = (
        "import sys; from hubscape.viewer.cli import main; "
        f"rc = main(['landscape', {str(files / 'model.pt')!r}, '--data', {str(files / 'xy.npz')!r}, '--grid', '3x3', "
        f"'--out', {str(files / 'o.safetensors')!r}, '--no-progress']); "
        "print(rc, 'ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.split()[-2:] == ["0", "False"]


@pytest.mark.parametrize("how", ["address", "auto"])
def test_no_cluster_to_join_is_a_one_line_error(files, how):
    """An address nobody answers at (given, or in RAY_ADDRESS for auto) fails at once."""
    env = {**os.environ, "RAY_TMPDIR": tempfile.mkdtemp(prefix="hsray", dir="/tmp"), "RAY_ADDRESS": "127.0.0.1:9"}
    flag = "127.0.0.1:9" if how == "address" else "auto"
    proc = subprocess.run([*_cli(files, "--out", str(files / "o.safetensors"), "--ray", flag)], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("hubscape:")]
    assert len(lines) == 1 and f"--ray {flag}: nothing answers at 127.0.0.1:9" in lines[0]
    assert "Traceback" not in proc.stderr and not (files / "o.safetensors").exists()


# -- the Python API on a cluster this process starts -----------------------------------------


class Residual(torch.nn.Module):
    """Not an nn.Sequential: the grid goes point by point, weights written in place."""

    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(6, 16), torch.nn.Linear(16, 3)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)) + x.sum(1, keepdim=True))


def problem(kind: str):
    torch.manual_seed(0)
    X = torch.randn(60, 6)
    y = torch.randint(0, 3, (60,))
    if kind == "residual":
        model = Residual()
    else:
        model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    return model, [(X[:30], y[:30]), (X[30:], y[30:])]


@pytest.mark.parametrize("kind", ["residual", "sequential"])
def test_a_2d_grid_on_one_or_two_actors_equals_the_serial_grid(ray_cluster, kind):
    model, batches = problem(kind)
    obj = Objective(model, batches, CE, metrics=["accuracy"])
    dirs = random_directions(model, seed=1)
    kw = dict(grid=(7, 6), span=0.8, chunk=5)
    serial = compute_landscape(obj, dirs, **kw)
    one = compute_landscape(obj, dirs, ray="auto", workers=1, **kw)
    two = compute_landscape(obj, dirs, ray="auto", workers=2, **kw)
    assert two.meta["ray"]["workers"] == 2 and two.meta["batched"] is serial.meta["batched"]
    # the same chunks whichever actor runs them; one actor has 2 torch threads, two have 1 each
    np.testing.assert_allclose(one.loss, two.loss, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(one.metrics["accuracy"], two.metrics["accuracy"])
    np.testing.assert_allclose(two.loss, serial.loss, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(two.metrics["accuracy"], serial.metrics["accuracy"])
    assert two.center_loss == pytest.approx(serial.center_loss, abs=1e-7) and two.complete
    for k, p in model.named_parameters():  # the driver's model is untouched
        assert torch.equal(p, dirs.origin[k])


def test_a_killed_actor_has_its_chunk_rescheduled(ray_cluster, monkeypatch, tmp_path):
    from hubscape.analytics.distributed import RayPool

    model, batches = problem("residual")
    obj = Objective(model, batches, CE)
    dirs = random_directions(model, seed=2)
    kw = dict(grid=(6, 6), span=0.5, chunk=3, ray="auto", workers=2)
    clean = compute_landscape(obj, dirs, **kw)
    real, killed = RayPool.imap, []

    def imap(self, chunks):
        results = real(self, chunks)
        yield next(results)
        pid = self.pids()[0]  # both actors are busy now: one of them dies mid-chunk
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
        yield from results

    monkeypatch.setattr(RayPool, "imap", imap)
    out = tmp_path / "l.safetensors"
    res = compute_landscape(obj, dirs, out=out, **kw)
    assert killed and res.meta["ray"]["lost"] == 1 and res.complete and res.done.all()
    np.testing.assert_array_equal(res.loss, clean.loss)
    assert load_landscape(out).complete


def test_a_pruning_curve_on_actors_equals_the_serial_curve(ray_cluster):
    from hubscape.analytics.activations.pruning import pruning_curve

    torch.manual_seed(3)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 6 * 6, 4)).eval()
    x = np.random.default_rng(0).standard_normal((40, 1, 8, 8)).astype(np.float32)
    y = np.arange(40) % 4
    xt = x.copy()
    xt[:, :, :2, :2] = 3.0
    order = np.arange(6)[::-1]
    args = (model, "1", order, (x, y), (xt, y), 0, "linf")
    serial = pruning_curve(*args)
    on_ray = pruning_curve(*args, ray="auto", workers=2)
    np.testing.assert_array_equal(on_ray.clean_accuracy, serial.clean_accuracy)
    np.testing.assert_array_equal(on_ray.attack_success_rate, serial.attack_success_rate)
