"""Shared fixtures: paths to the real data in ../shared/data and a clean HF environment."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
MODEL_TREES = SHARED_DATA / "hf-model-trees"


@pytest.fixture
def children_csv() -> Path:
    """The real April-2025 fine-tune listing of 25 base models (see its README)."""
    path = MODEL_TREES / "hf_finetune_children_by_base.csv"
    if not path.exists():
        pytest.fail(f"real data missing: {path} (tests read ../shared/data beside the checkout)")
    return path


@pytest.fixture(autouse=True)
def isolated_hf_home(tmp_path, monkeypatch):
    """Never touch the user's HF cache or token, never reach the network from tests."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def backdoor_demo(tmp_path_factory) -> Path:
    """The output folder of `hubscape demo backdoor` (run once per session, ~1 minute on 2 cores):
    the real activations, landscape and interpolation bundles the viewer tests draw."""
    from hubscape.analytics.activations.backdoor import run_backdoor_demo

    out = tmp_path_factory.mktemp("backdoor-demo")
    run_backdoor_demo(out)
    return out
