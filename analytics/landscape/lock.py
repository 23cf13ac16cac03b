"""One run at a time per output: a lock on the bundle a grid writes.

Two runs that write (or ``--resume``) the same partial bundle would overwrite each other's
progress. The run that writes ``out`` holds an exclusive ``flock`` on ``out + ".lock"``; the
file names the holder (PID and host). A second run fails at once with a one-line error naming
it. The kernel releases the lock when the holding process ends, however it ends, so the lock
of a killed run is simply taken over by the next one; a finished run removes the file.
Holding is re-entrant within a process (the CLI takes the lock before it loads the model,
the grid driver again around the grid). POSIX only (fcntl): elsewhere no lock is taken.

Example::

    >>> with hold_output("l.safetensors"):
    ...     previous = previous_result("l.safetensors", resume=True)
    ...     ...  # run the grid, save the bundle
"""

from __future__ import annotations

import os
import socket
import threading
from contextlib import contextmanager
from pathlib import Path

from hubscape.core.errors import InputError

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

_held: dict[str, list] = {}  # lock path -> [fd, depth]
_guard = threading.Lock()


def lock_path(out) -> Path:
    """The lock file of the bundle ``out``: beside it, ``NAME.lock``."""
    out = Path(out).absolute()
    return out.with_name(out.name + ".lock")


@contextmanager
def hold_output(out):
    """Hold the lock on ``out`` for the block (no-op for ``out=None``); InputError when another
    live process holds it."""
    if out is None or fcntl is None:
        yield
        return
    key = str(lock_path(out))
    with _guard:
        if key in _held:
            _held[key][1] += 1
        else:
            _held[key] = [_acquire(Path(key), out), 1]
    try:
        yield
    finally:
        with _guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                _release(Path(key), entry[0])


def _acquire(path: Path, out) -> int:
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)  # as the bundle's atomic write does
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror} ({path})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise InputError(
                f"{out} is being written by another run ({holder}); wait for it to finish or stop it (its lock: {path})"
            ) from None
        except OSError:  # a filesystem without locks: go on unlocked rather than not at all
            return fd
        # A holder that finished between our open and flock removed the file: lock the new one.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
            return fd
        os.close(fd)


def _release(path: Path, fd: int) -> None:
    try:
        os.unlink(path)  # while still holding it: a waiting run then creates a new file
    except OSError:
        pass
    os.close(fd)
