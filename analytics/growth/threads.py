"""One BLAS thread for the growth fitters.

Their linear algebra is on vectors of 2 or 3 numbers (L-BFGS-B steps, 3x3 solves), where an
OpenBLAS thread pool costs more than it does: on the 2-core machine with other work running,
one ``fit_mle`` took 1.4 s with the default 2 threads and 0.33 s with one. threadpoolctl
limits the pool for the duration of a call; without threadpoolctl (Pyodide) nothing changes.
"""

from __future__ import annotations

import functools

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - Pyodide has no BLAS thread pool to limit
    threadpool_limits = None


def one_blas_thread(fn):
    """Run ``fn`` with BLAS limited to one thread (nested calls are cheap: ~3 ms each)."""
    if threadpool_limits is None:
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper
