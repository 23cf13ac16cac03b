"""The examples/ gallery runs: every script as a user would run it, the notebook in a real kernel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: script -> files it must write into its output folder
SCRIPTS = {
    "backdoor_activations.py": ["activations.safetensors", "activations.png"],
    "growth_fit.py": ["growth.safetensors", "growth.png"],
    "landscape_own_model.py": ["landscape.safetensors", "landscape.png"],
}


def test_every_example_is_run_here():
    on_disk = {p.name for p in EXAMPLES.glob("*.py")} | {p.name for p in EXAMPLES.glob("*.ipynb")}
    assert on_disk == set(SCRIPTS) | {"notebook.ipynb"}
    listed = (EXAMPLES / "README.md").read_text()
    assert all(name in listed for name in on_disk), "examples/README.md lists every example"


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_script_runs_and_writes_its_outputs(script, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), str(out)], capture_output=True, text=True, timeout=900, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in SCRIPTS[script]:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_notebook_shows_widgets_and_exports(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    nb = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) == 2  # both hs.show cells display an interactive canvas
    assert (tmp_path / "landscape.png").stat().st_size > 10_000
