"""Atomic file writes: a reader sees the old file or the complete new one, never half of it.

Write to a temporary file in the target's folder, flush and fsync it, then os.replace() it
over the target. If the writer raises, the temporary file is removed and the target is left
as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it replaces ``target``.

    For writers that insist on a file name (matplotlib, PIL, safetensors)::

        with atomic_path("fig.png") as tmp:
            fig.savefig(tmp, format="png")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(_default_file_mode())  # mkstemp makes 0600; a plain open() would honour the umask
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


#: A temporary file of a writer whose process id cannot be told is stale after this long.
STALE_AFTER = 3600.0


def clean_stale(target: str | os.PathLike) -> list[Path]:
    """Remove temporary files that an earlier, killed write of ``target`` left behind.

    Temporary names are ``.NAME.PID.RANDOM.part``: a file whose writer process is gone is
    removed; one of a live process (a concurrent writer) is kept; one without a process id
    (older hubscape versions) is removed once it is :data:`STALE_AFTER` seconds old.
    """
    import glob
    import time

    target = Path(target)
    removed = []
    for path in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
        pid = path.name[len(target.name) + 2 :].split(".", 1)[0]
        try:
            if pid.isdigit() and len(pid) < 10:
                if _alive(int(pid)):
                    continue
            elif time.time() - path.stat().st_mtime < STALE_AFTER:
                continue
            path.unlink()
            removed.append(path)
        except OSError:  # gone already, or not ours to remove
            continue
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _default_file_mode() -> int:
    # Reading the umask means setting it; do it only here, not per thread at import time.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(target: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a file for writing that appears at ``target`` only when the block succeeds.

    with atomic_open("table.csv", newline="") as fh:
        fh.write("a,b\\n")
    """
    if not any(flag in mode for flag in "wx"):
        raise ValueError(f"atomic_open is for writing, got mode {mode!r}")
    with atomic_path(target) as tmp:
        with open(tmp, mode.replace("x", "w"), **kwargs) as fh:
            yield fh


def write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_open(target, "wb") as fh:
        fh.write(data)
    return Path(target)


def write_text(target: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically and return the path."""
    with atomic_open(target, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(target)
