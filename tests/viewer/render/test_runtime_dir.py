import os
import subprocess
import sys


def test_export_prints_nothing_on_stderr_without_xdg_runtime_dir(tmp_path):
    """Mesa complains on stderr about a missing XDG_RUNTIME_DIR; hubscape gives it one."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hubscape.viewer",
            "export",
            "demo:landscape",
            "--out",
            str(tmp_path / "f.png"),
            "--size",
            "160x100",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert (tmp_path / "f.png").stat().st_size > 0
