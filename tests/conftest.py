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
