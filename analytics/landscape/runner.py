"""The grid driver: fills a landscape chunk by chunk, saves it as it goes, resumes it.

:func:`run_grid` owns the result and its partial bundle. It hands chunks of grid points to an
executor and writes each chunk's values where they belong, whatever order they come back in:

- :class:`Serial` evaluates the chunks in this process, in order;
- a Ray pool (distributed.py) evaluates them on actors, as they become free.

Every executor has ``centre() -> [loss, *metrics]`` (the value at the origin),
``imap(chunks) -> iterator of (idx, values)``, ``meta()`` (how the points were evaluated) and
``workers`` (how many evaluate now), and is a context manager entered once around the grid.
A point function for :class:`Serial` is any ``evaluate(xs, ys) -> (P, 1 + n_metrics)``; one
that is a context manager is entered too. While it writes ``out`` the driver holds the
output's lock (lock.py): a second run on the same bundle stops with an error.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hubscape.core.errors import InputError

from .lock import hold_output
from .memory import is_oom
from .result import LandscapeResult, load_landscape, save_landscape


class Serial:
    """Evaluates the chunks in this process, one after the other."""

    workers = 1

    def __init__(self, evaluate, centre):
        self.evaluate, self._centre = evaluate, centre

    def __enter__(self) -> Serial:
        if hasattr(self.evaluate, "__enter__"):
            self.evaluate.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if hasattr(self.evaluate, "__exit__"):
            self.evaluate.__exit__(*exc)

    def centre(self):
        return self._centre()

    def meta(self) -> dict:
        return self.evaluate.meta() if hasattr(self.evaluate, "meta") else {}

    def imap(self, chunks):
        for idx, xs, ys in chunks:
            yield idx, self.evaluate(xs, ys)


def previous_result(out, resume: bool) -> LandscapeResult | None:
    """The bundle already at ``out`` when resuming; refuse to overwrite a partial one otherwise."""
    if out is None or not Path(out).exists():
        return None
    previous = load_landscape(out)
    if resume:
        return previous
    if not previous.complete:
        raise InputError(
            f"{out} holds a partial grid ({int(previous.done.sum())} of {previous.done.size} "
            "points); pass --resume to continue it, or delete it to start over"
        )
    return None


def run_grid(
    result: LandscapeResult,
    executor,
    chunk: int,
    out=None,
    previous: LandscapeResult | None = None,
    progress: bool = False,
    oom_advice: str = "",
) -> None:
    """Fill ``result`` chunk by chunk with the values ``executor`` computes.

    Continues ``previous`` (a partial grid of the same settings), computes the centre unless
    known, saves the partial grid to ``out`` after every chunk (complete: false), turns
    non-finite values into NaN gaps, and turns out-of-memory errors into an InputError with
    ``oom_advice``. Sets ``result.complete``; the caller saves the final bundle.
    """
    names = list(result.metrics)
    if previous is not None:
        check_resumable(previous, result)
        result.loss[...] = previous.loss
        result.done[...] = previous.done
        for m in names:
            result.metrics[m][...] = previous.metrics[m]
        result.center_loss = previous.center_loss
        result.center_metrics = dict(previous.center_metrics)
    with hold_output(out):  # re-entrant: callers hold it from reading the partial bundle on
        try:
            with executor:
                if result.center_loss is None:
                    values = np.array(executor.centre(), dtype=np.float64)  # a copy: it may be read-only
                    values[~np.isfinite(values)] = np.nan
                    result.center_loss = float(values[0])
                    result.center_metrics = {m: float(v) for m, v in zip(names, values[1:])}
                flat_x, flat_y = _flat_coords(result.x, result.y)
                todo = np.flatnonzero(~result.done.reshape(-1))
                chunks = [todo[s : s + chunk] for s in range(0, len(todo), chunk)]
                work = ((idx, flat_x[idx], flat_y[idx] if flat_y is not None else None) for idx in chunks)
                with _progress(progress, len(todo), result.done.size, len(chunks), executor) as bar:
                    for n_done, (idx, values) in enumerate(executor.imap(work), start=1):
                        values = np.asarray(values, dtype=np.float64).reshape(len(idx), 1 + len(names))
                        values = np.where(np.isfinite(values), values, np.nan)
                        result.loss.reshape(-1)[idx] = values[:, 0]
                        for j, m in enumerate(names):
                            result.metrics[m].reshape(-1)[idx] = values[:, 1 + j]
                        result.done.reshape(-1)[idx] = True
                        if out is not None and n_done < len(chunks):
                            save_landscape(result, out)
                        bar.advance(len(idx))
        except Exception as exc:
            if not is_oom(exc):
                raise
            kept = ""
            if out is not None and result.done.any():
                save_landscape(result, out)
                kept = (
                    f"; the {int(result.done.sum())} points done are kept in {out} "
                    "(complete: false), continue with --resume"
                )
            raise InputError(f"out of memory {oom_advice}{kept}") from None
    result.complete = True


def _flat_coords(x, y):
    if y is None:
        return x.copy(), None
    xx, yy = np.meshgrid(x, y)  # (ny, nx): loss[j, i] is at (x[i], y[j])
    return xx.reshape(-1), yy.reshape(-1)


def check_resumable(previous: LandscapeResult, current: LandscapeResult) -> None:
    """The partial grid must come from the same settings; name the first that differs."""
    for key in ("dims", "method", "grid", "loss", "metrics", "model", "data", "span", "refusal"):
        a, b = previous.meta.get(key), _jsonish(current.meta.get(key))
        if a != b:
            raise InputError(
                f"cannot resume: the partial grid has {key}={a!r}, this run {key}={b!r}; "
                "rerun with the same settings or delete the bundle"
            )
    da, db = previous.meta.get("direction", {}), _jsonish(current.meta.get("direction", {}))
    for key in ("seed", "normalization", "ignore", "fingerprint"):
        if da.get(key) != db.get(key):
            raise InputError(
                f"cannot resume: the partial grid's directions differ ({key}: "
                f"{da.get(key)!r} vs {db.get(key)!r}); delete the bundle to start over"
            )
    if not np.allclose(previous.x, current.x) or (current.y is not None and not np.allclose(previous.y, current.y)):
        raise InputError("cannot resume: the partial grid has other coordinates (grid or span differ)")


def _jsonish(value):
    import json

    from hubscape.core.bundle import to_jsonable

    return json.loads(json.dumps(to_jsonable(value)))


class _NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def advance(self, n: int) -> None:
        return None


class _RichProgress:
    """Points done, chunks done, points per second, live workers, elapsed time and ETA."""

    def __init__(self, todo: int, total: int, chunks: int, executor):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("landscape"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[chunks]}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[workers]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            transient=False,
        )
        self.todo, self.total, self.chunks, self.executor = todo, total, chunks, executor
        self.done_chunks = self.done_points = 0

    def _fields(self) -> dict:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = f"{self.done_points / elapsed:.3g} points/s" if self.done_points else "- points/s"
        workers = self.executor.workers
        return {
            "chunks": f"chunks {self.done_chunks}/{self.chunks}",
            "rate": rate,
            "workers": f"{workers} worker{'s' if workers != 1 else ''}",
        }

    def __enter__(self):
        self.progress.__enter__()
        self.start = time.monotonic()
        self.task = self.progress.add_task("grid", total=self.total, completed=self.total - self.todo, **self._fields())
        return self

    def advance(self, n: int) -> None:
        self.done_chunks += 1
        self.done_points += n
        self.progress.update(self.task, advance=n, **self._fields())

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)


def _progress(enabled: bool, todo: int, total: int, chunks: int, executor):
    return _RichProgress(todo, total, chunks, executor) if enabled else _NoProgress()
