"""The environment variables hubscape honours, read in one place and parsed as huggingface_hub does.

Values are read when asked for, not at import, so a test or a long notebook session that
changes the environment is seen (huggingface_hub's own constants freeze at import).

Example::

    >>> import os; os.environ["HF_HUB_OFFLINE"] = "false"
    >>> hf_hub_offline()
    False
"""

from __future__ import annotations

import os
from pathlib import Path

#: huggingface_hub.constants.ENV_VARS_TRUE_VALUES: what makes a boolean variable true.
TRUE_VALUES = frozenset({"1", "ON", "YES", "TRUE"})


def is_true(value: str | None) -> bool:
    """huggingface_hub's reading of a boolean variable: 1, ON, YES or TRUE in any case."""
    return value is not None and value.strip().upper() in TRUE_VALUES


def hf_hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or transformers' older ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    return is_true(os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE"))


def cache_home() -> Path:
    """``$XDG_CACHE_HOME``, else ``~/.cache``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path("~/.cache").expanduser()).expanduser()


def hf_home() -> Path:
    """``$HF_HOME``, else ``$XDG_CACHE_HOME/huggingface`` (huggingface_hub's default)."""
    value = os.environ.get("HF_HOME")
    return Path(os.path.expandvars(value)).expanduser() if value else cache_home() / "huggingface"


def hubscape_cache(*parts: str) -> Path:
    """A folder of hubscape's own under ``$HF_HOME/hubscape`` (model trees, converted models)."""
    return hf_home().joinpath("hubscape", *parts)


def hf_endpoint() -> str | None:
    """``$HF_ENDPOINT`` (a Hub mirror), or None for huggingface_hub's default."""
    return os.environ.get("HF_ENDPOINT") or None


def ray_address() -> str | None:
    """``$RAY_ADDRESS``: the Ray cluster ``--ray auto`` joins (Ray reads it too), or None."""
    return os.environ.get("RAY_ADDRESS") or None


def env_path(name: str) -> Path | None:
    """A path-valued hubscape variable (e.g. ``HUBSCAPE_PYODIDE_DIR``), or None when unset."""
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None
