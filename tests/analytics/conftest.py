"""A local Ray cluster for the tests that run grids on Ray (landscape, pruning, refusal)."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import pytest


def ray_processes_of(temp: str) -> list[int]:
    """PIDs of the processes of the Ray cluster whose temp dir is ``temp`` (ours only)."""
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if temp in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    out.append(int(proc.name))
            except OSError:
                pass
    return out


@pytest.fixture
def ray_processes():
    """``ray_processes(temp)``: the PIDs of a Ray cluster started with that temp dir."""
    return ray_processes_of


@pytest.fixture(scope="module")
def ray_cluster():
    """A two-CPU Ray cluster on this machine, started for a test module and stopped after it;
    nothing of it may outlive it."""
    ray = pytest.importorskip("ray", reason="Ray is the optional extra hubscape[ray]")
    temp = tempfile.mkdtemp(prefix="hsray", dir="/tmp")  # short: Ray's socket paths have a length limit
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    yield temp
    ray.shutdown()
    time.sleep(1)
    for pid in ray_processes_of(temp):
        os.kill(pid, signal.SIGKILL)
