"""Environment variables are read in one place and parsed as huggingface_hub parses them."""

from __future__ import annotations

import pytest

from hubscape.core import env


@pytest.mark.parametrize(
    "value, offline",
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("false", False),
        ("", False),
        ("no", False),
        ("2", False),
    ],
)
def test_hf_hub_offline_reads_values_as_huggingface_hub_does(monkeypatch, value, offline):
    from huggingface_hub.constants import _is_true

    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert env.hf_hub_offline() is offline
    assert _is_true(value.strip()) is offline  # huggingface_hub's own reading agrees


def test_every_reader_of_offline_mode_agrees(monkeypatch):
    """analytics.hf and growth.hub once parsed HF_HUB_OFFLINE differently ("false" was offline in one)."""
    from hubscape.analytics.growth.hub import is_offline

    for value in ("false", "1", "0", "TRUE"):
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        assert is_offline() is env.hf_hub_offline()


def test_hf_home_and_hubscape_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert env.hf_home() == tmp_path / "hf"
    assert env.hubscape_cache("trees") == tmp_path / "hf" / "hubscape" / "trees"
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert env.hf_home() == tmp_path / "xdg" / "huggingface"  # huggingface_hub's default
    assert env.cache_home() == tmp_path / "xdg"


def test_hf_endpoint_and_paths(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert env.hf_endpoint() is None
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert env.hf_endpoint() == "http://127.0.0.1:9/"
    monkeypatch.setenv("HUBSCAPE_SOMETHING", str(tmp_path))
    assert env.env_path("HUBSCAPE_SOMETHING") == tmp_path and env.env_path("HUBSCAPE_UNSET_NAME") is None
