"""Grids on a Ray cluster: actors that load the model once and evaluate chunks of points.

Ray (``pip install hubscape[ray]``) is imported here only, and only when a run asks for it.
:class:`RayPool` is an executor for a grid driver (landscape.runner.run_grid, the pruning
curve): it sends a *task* to every actor once, and chunks of points to whichever actor is
free. The task is a picklable object whose ``open()`` runs once in each actor (loading the
model there) and returns the point function: ``points(xs, ys) -> (P, n_values)``,
``points.centre() -> values at the origin``, optionally ``points.meta() -> dict`` and a
context manager (entered once). Values come back with the chunk's indices, so the driver
places them whatever order chunks finish in, and the same chunks give the same values
whichever actor runs them.

Faults: an actor that dies (killed, out of memory, its node lost) has its chunk put back in
the queue for the other actors, and a replacement actor is started (at most as many as the
pool had) so the pool keeps its size; a driver that dies leaves the partial bundle it wrote,
which ``--resume`` continues.

Addresses (``--ray``): "local" starts a cluster on this machine for the run and stops it
afterwards; "auto" joins the cluster ``RAY_ADDRESS`` names, or one already running on this
machine (``ray start --head``); anything else is an address for ``ray.init`` ("HOST:6379",
"ray://HOST:10001"). A process that already called ``ray.init`` keeps its connection.

Example::

    >>> with RayPool(task, "local", workers=2) as pool:
    ...     for idx, values in pool.imap([(idx, xs, ys), ...]):
    ...         grid[idx] = values
"""

from __future__ import annotations

import os
from collections import deque

import numpy as np

from hubscape.core.errors import InputError

ADDRESS_HELP = "ADDRESS (HOST:6379 or ray://HOST:10001), auto (RAY_ADDRESS or a running local cluster) or local"


class GridWorker:
    """A Ray actor: opens the task once (loads the model), then evaluates chunks of points."""

    def __init__(self, task, threads: int):
        try:
            import torch

            torch.set_num_threads(max(1, int(threads)))
        except ImportError:  # a task that needs no torch
            pass
        self.points = task.open()
        if hasattr(self.points, "__enter__"):
            self.points.__enter__()

    def pid(self) -> int:
        return os.getpid()

    def centre(self):
        return np.asarray(self.points.centre(), dtype=np.float64)

    def evaluate(self, idx, xs, ys):
        values = np.asarray(self.points(xs, ys), dtype=np.float64)
        meta = self.points.meta() if hasattr(self.points, "meta") else {}
        return idx, values, meta


class RayPool:
    """Evaluates chunks of grid points on Ray actors (see the module docstring).

    ``address``: "local", "auto" or a cluster address; ``workers``: actors to start (default:
    one per GPU of the cluster, else one per CPU); ``threads``: torch threads per CPU actor
    (default: the cluster's CPUs shared out among the actors). With GPUs every actor gets one.
    """

    def __init__(self, task, address: str = "local", workers: int | None = None, threads: int | None = None):
        if workers is not None and workers < 1:
            raise InputError(f"--ray-workers must be at least 1, got {workers}")
        self.task, self.address, self.wanted, self.threads = task, address, workers, threads
        self.actors: list = []
        self.lost = 0
        self._meta: dict = {}
        self._started_ray = False

    # -- the pool ------------------------------------------------------------------------------
    def __enter__(self) -> RayPool:
        ray = _import_ray()
        if not ray.is_initialized():
            _connect(ray, self.address)
            self._started_ray = True
        try:
            resources = ray.cluster_resources()
            gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
            self.n = self.wanted or (gpus or cpus)
            self.gpus = 1 if gpus else 0
            self.cpus = 1 if gpus else (self.threads or max(1, cpus // self.n))
            self._task_ref = ray.put(self.task)
            self.actors = [self._start() for _ in range(self.n)]
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        ray = _import_ray()
        for actor in self.actors:
            try:
                ray.kill(actor)
            except Exception:  # already dead
                pass
        self.actors = []
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def _start(self):
        ray = _import_ray()
        cls = ray.remote(GridWorker).options(num_cpus=self.cpus, num_gpus=self.gpus, max_restarts=0)
        return cls.remote(self._task_ref, self.cpus)

    @property
    def workers(self) -> int:
        """Live actors (for the progress bar)."""
        return len(self.actors)

    def pids(self) -> list[int]:
        """The process ids of the live actors."""
        ray = _import_ray()
        return ray.get([a.pid.remote() for a in self.actors])

    def meta(self) -> dict:
        """How the chunks were evaluated (the point function's meta, merged over the chunks)."""
        return dict(self._meta)

    def describe(self) -> dict:
        """For the bundle: where it ran, how many actors, how many of them died."""
        return {"address": self.address, "workers": self.n, "lost": self.lost}

    # -- work --------------------------------------------------------------------------------
    def centre(self):
        """The values at the origin, computed by an actor (another one if it dies)."""
        ray = _import_ray()
        while True:
            actor = self._any_actor()
            try:
                return ray.get(actor.centre.remote())
            except ray.exceptions.RayTaskError as exc:
                raise _cause(exc) from None
            except _lost_errors(ray):
                self._replace(actor)

    def imap(self, chunks):
        """(idx, values) for every chunk ``(idx, xs, ys)``, in the order they finish."""
        ray = _import_ray()
        queue = deque(chunks)
        running: dict = {}  # ObjectRef -> (actor, chunk)
        idle = list(self.actors)
        while queue or running:
            while idle and queue:
                actor, chunk = idle.pop(), queue.popleft()
                running[actor.evaluate.remote(*chunk)] = (actor, chunk)
            if not running:
                raise InputError("no Ray worker is left to evaluate the grid")
            (ref,), _ = ray.wait(list(running), num_returns=1)
            actor, chunk = running.pop(ref)
            try:
                idx, values, meta = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                raise _cause(exc) from None
            except _lost_errors(ray):
                queue.appendleft(chunk)  # run it again on another actor
                new = self._replace(actor)
                if new is not None:
                    idle.append(new)
                continue
            self._meta.update(meta)
            idle.append(actor)
            yield idx, values

    def _any_actor(self):
        if not self.actors:
            raise InputError("no Ray worker is left to evaluate the grid")
        return self.actors[0]

    def _replace(self, dead):
        """Drop a dead actor and start another in its place while fewer than the pool's size
        have been lost; None once that many have died (the run goes on with the others)."""
        self.actors = [a for a in self.actors if a is not dead]
        self.lost += 1
        if self.lost > self.n:
            if not self.actors:
                raise InputError(f"{self.lost} Ray workers died (killed or out of memory); the grid cannot go on")
            return None
        new = self._start()
        self.actors.append(new)
        return new


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs Ray: pip install 'hubscape[ray]'") from None
    return ray


def _connect(ray, address: str) -> None:
    """ray.init for "local", "auto" or an address, quiet, with a one-line error if it fails."""
    import logging

    from hubscape.core.env import ray_address

    kwargs = {"logging_level": logging.ERROR, "log_to_driver": False, "include_dashboard": False}
    if address == "local":
        ray.init(address="local", **kwargs)
        return
    target = ray_address() if address == "auto" else address
    if target and target != "auto":  # ray.init retries an address nobody answers at for minutes
        _check_reachable(address, target)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = (str(exc) or type(exc).__name__).splitlines()[0]
        hint = (
            "set RAY_ADDRESS or start a cluster with `ray start --head`, or use --ray local"
            if address == "auto"
            else "check the address"
        )
        raise InputError(f"--ray {address}: cannot connect to a Ray cluster ({first}); {hint}") from None


def _check_reachable(flag: str, address: str, timeout: float = 10.0) -> None:
    """A TCP connection to the HOST:PORT of ``address`` ("HOST:PORT" or "ray://HOST:PORT")."""
    import socket

    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep or not port.isdigit():
        raise InputError(f"--ray {flag}: {address!r} is no HOST:PORT address; use {ADDRESS_HELP}")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise InputError(
            f"--ray {flag}: nothing answers at {host}:{port} ({why}); give the head node's address "
            "(HOST:6379, or ray://HOST:10001 for Ray Client)"
        ) from None


def _lost_errors(ray) -> tuple:
    """The errors that mean an actor (or its node) is gone, not that the task failed."""
    e = ray.exceptions
    return (e.RayActorError, e.WorkerCrashedError, e.NodeDiedError, e.OutOfMemoryError, e.ObjectLostError)


def _cause(exc) -> BaseException:
    """The exception a task raised inside its actor (an InputError stays one line)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
