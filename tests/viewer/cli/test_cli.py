import subprocess
import sys


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "hubscape.viewer", *args], capture_output=True, text=True)


def test_version_and_help():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("hubscape ")
    out = run_cli("--help")
    assert out.returncode == 0 and "commands by world" in out.stdout


def test_bad_arguments_give_one_line_and_exit_2():
    out = run_cli("no-such-command")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "error" in out.stderr
