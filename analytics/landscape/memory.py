"""How many grid points run at once, and telling an out-of-memory error from other errors."""

from __future__ import annotations

#: Memory the stacked weights of one chunk may take when the chunk size is chosen for you.
AUTO_CHUNK_BYTES = 512 * 2**20
MAX_AUTO_CHUNK = 64


def auto_chunk(origin: dict, moving) -> int:
    """A chunk size whose stacked moving weights stay under AUTO_CHUNK_BYTES."""
    per_point = sum(origin[k].numel() * origin[k].element_size() for k in moving)
    return int(max(1, min(MAX_AUTO_CHUNK, AUTO_CHUNK_BYTES // max(2 * per_point, 1))))


def within_budget(chunk: int, bytes_per_point: int) -> int:
    """``chunk``, lowered so that ``bytes_per_point`` per point (twice) fit AUTO_CHUNK_BYTES."""
    return max(1, min(chunk, AUTO_CHUNK_BYTES // max(2 * bytes_per_point, 1)))


def is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, MemoryError) or isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
