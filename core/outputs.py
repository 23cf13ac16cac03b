"""Output locations checked before any work starts: a long run never fails at its last step.

Every command that writes (``landscape``, ``refusal-landscape``, ``export``, ``build-site``,
``demo backdoor``, ``growth fit --out`` and the rest) calls :func:`check_output_file` or
:func:`check_output_dir` on its destination first. The check is what the atomic write will
need later (:mod:`hubscape.core.atomic` writes a temporary file beside the target and renames
it): the target is not a folder (or is one, for folders), and a file can be created in the
folder that will hold it, or in the nearest existing folder above it when it does not exist
yet. It is done by creating and removing a probe file there, so read-only file systems,
permissions and ACLs are all seen as the writer will see them. Nothing else is created.

Example::

    >>> check_output_file("out/fig.png", "--out", suffixes=(".png", ".svg"))
    PosixPath('out/fig.png')
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import InputError


def _probe(folder: Path, what: str, target: Path) -> None:
    """Create and remove a file in ``folder``; InputError naming ``target`` if that fails."""
    try:
        fd, name = tempfile.mkstemp(prefix=".hubscape-probe-", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write {what} {target}: {exc.strerror or exc} ({folder})") from None
    os.close(fd)
    os.unlink(name)


def _existing_ancestor(path: Path, what: str, target: Path) -> Path:
    for parent in path.parents:
        if parent.exists() or parent == Path(parent.anchor or "."):
            if not parent.is_dir():
                raise InputError(f"cannot write {what} {target}: {parent} is a file, not a folder")
            return parent
    return Path(".")


def check_output_file(path: str | os.PathLike, what: str = "--out", suffixes: Sequence[str] = ()) -> Path:
    """``path`` as a Path if a file can be written there; a one-line InputError otherwise."""
    target = Path(path)
    if str(path) == "" or target.name in ("", ".", ".."):
        raise InputError(f"{what} needs a file name, got {str(path)!r}")
    if suffixes and target.suffix.lower() not in suffixes:
        raise InputError(f"{what} {target}: the file name must end in {', '.join(suffixes)}")
    if target.is_dir():
        raise InputError(f"{what} {target} is a folder; give a file name")
    parent = target.parent if target.parent.exists() else _existing_ancestor(target, what, target)
    if not parent.is_dir():
        raise InputError(f"cannot write {what} {target}: {parent} is a file, not a folder")
    _probe(parent, what, target)
    return target


def check_output_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """``path`` as a Path if a folder can be written (or created) there; InputError otherwise."""
    target = Path(path)
    if str(path) == "":
        raise InputError(f"{what} needs a folder name")
    if target.exists():
        if not target.is_dir():
            raise InputError(f"{what} {target} exists and is not a folder")
        _probe(target, what, target)
        return target
    _probe(_existing_ancestor(target, what, target), what, target)
    return target
