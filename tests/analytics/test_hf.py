"""Shared Hugging Face loading: names, packaged MiniLM, one-line errors."""

import pytest

from hubscape.analytics.hf import is_hf_folder, load_hf_config, minilm_path, resolve_model
from hubscape.core.errors import InputError


def test_minilm_name_resolves_to_the_packaged_folder():
    path = minilm_path()
    assert resolve_model("minilm") == str(path) and is_hf_folder(path)
    assert resolve_model("owner/name") == "owner/name"
    assert load_hf_config(str(path)).model_type == "bert"


def test_a_broken_local_folder_gives_a_one_line_error(tmp_path):
    # (a Hub id offline is tested through the CLI in tests/analytics/landscape/test_cli.py)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputError) as info:
        load_hf_config(str(tmp_path))
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)
