"""Output checks before work (core.outputs) and stale temporary files (core.atomic.clean_stale)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hubscape.core import atomic
from hubscape.core.errors import InputError
from hubscape.core.outputs import check_output_dir, check_output_file


def test_writable_targets_pass_and_nothing_is_left(tmp_path):
    assert check_output_file(tmp_path / "a.png", suffixes=(".png",)) == tmp_path / "a.png"
    assert check_output_file(tmp_path / "new" / "deeper" / "a.png")  # folders the write will create
    assert check_output_dir(tmp_path / "out") == tmp_path / "out"
    assert check_output_dir(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no probe, no folder left behind


@pytest.mark.parametrize(
    "make, call, needle",
    [
        (lambda t: (t / "d").mkdir(), lambda t: check_output_file(t / "d"), "is a folder"),
        (
            lambda t: (t / "f").write_text("x"),
            lambda t: check_output_file(t / "f" / "x.png"),
            "is a file, not a folder",
        ),
        (lambda t: (t / "f").write_text("x"), lambda t: check_output_dir(t / "f"), "is not a folder"),
        (lambda t: None, lambda t: check_output_file(t / "x.txt", suffixes=(".png",)), "must end in .png"),
        (lambda t: None, lambda t: check_output_file(""), "needs a file name"),
    ],
)
def test_bad_targets_are_one_line_errors(tmp_path, make, call, needle):
    make(tmp_path)
    with pytest.raises(InputError, match=needle) as info:
        call(tmp_path)
    assert "\n" not in str(info.value)


def test_a_read_only_file_system_is_seen(tmp_path):
    """/proc is read-only for everyone, root included: the probe sees it as the writer would."""
    with pytest.raises(InputError, match="cannot write"):
        check_output_file("/proc/hubscape-test.png")
    with pytest.raises(InputError, match="cannot write"):
        check_output_dir("/proc/hubscape-test")


def test_stale_temporary_files_of_a_killed_writer_are_cleaned(tmp_path):
    target = tmp_path / "fig.png"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)  # a process that has exited
    stale = tmp_path / f".fig.png.{pid}.abcd1234.part"
    stale.write_bytes(b"half")
    live = tmp_path / f".fig.png.{os.getpid()}.efgh5678.part"  # a concurrent writer in this process
    live.write_bytes(b"busy")
    old = tmp_path / ".fig.png.k2j3h4g5.part"  # an older hubscape's name, without a process id
    old.write_bytes(b"old")
    os.utime(old, (0, 0))
    other = tmp_path / f".other.png.{pid}.abcd1234.part"
    other.write_bytes(b"not this target")
    atomic.write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert not stale.exists() and not old.exists()
    assert live.exists() and other.exists()
