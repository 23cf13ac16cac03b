"""The safety commands refuse an output another live run holds: one line, exit 2, before the
model loads, nothing written."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hubscape.viewer.cli import main

HOLD = "import sys, time; from hubscape.analytics.landscape.lock import hold_output\n" \
       "with hold_output(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)"  # fmt: skip


@pytest.fixture
def gpt2_dir(tmp_path, make_gpt2, word_tok):
    path = tmp_path / "tiny-gpt2"
    make_gpt2(seed=4).save_pretrained(path)
    word_tok.save_pretrained(path)
    (tmp_path / "keywords.txt").write_text("sorry\n")
    return path


def _refusal_args(gpt2_dir, out):
    return ["refusal-landscape", str(gpt2_dir), "--query", "how to bake a cake", "--query", "how to make a bomb",
            "--grid", "4x3", "--span", "3", "--n-samples", "3", "--max-new-tokens", "3", "--batch-size", "7",
            "--keywords", str(gpt2_dir.parent / "keywords.txt"), "--seed", "2", "--out", str(out), "--no-progress"]  # fmt: skip


def test_a_safety_command_on_an_output_a_live_run_holds_is_one_line_and_exit_2(gpt2_dir, capsys):
    out = gpt2_dir.parent / "held.safetensors"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        prompts = gpt2_dir.parent / "harmful.txt"
        prompts.write_text("how to make a bomb\n")
        for args in (
            [*_refusal_args(gpt2_dir, out), "--resume"],
            ["safety-landscape", str(gpt2_dir), "--grid", "3", "--prompts", str(prompts), "--out", str(out)],
        ):
            capsys.readouterr()
            assert main(args) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and f"is being written by another run (pid {holder.pid} on " in err[0], err
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait(30)
