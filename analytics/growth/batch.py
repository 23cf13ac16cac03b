"""Least-squares WSB fits of thousands of series at once, vectorized over series.

A batched Levenberg-Marquardt: every series takes its own damped Gauss-Newton step in the
same numpy operations, with the analytic Jacobian (:func:`model.jacobian`), the same bounds,
grid start and bound transform as the per-series lmfit path (:mod:`.lsq`; lmfit maps a
bounded parameter x to an unbounded u by x = lo + (sin u + 1)(hi - lo)/2), and the same
covariance (inverse of J^T J scaled by the residual variance). Where the optimum is interior
the two paths agree to the tolerance the tests state (``AGREEMENT_RTOL``); series of
different lengths are padded and masked.

    >>> fit = fit_batch([s.t for s in series], [s.count for s in series], m=30,
    ...                 observed_until=[s.observed_until for s in series])
    >>> fit.params.shape, fit.identifiable.mean()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.identifiability import assess
from hubscape.analytics.growth.lsq import MIN_POINTS, parameter_bounds, start_grid
from hubscape.analytics.growth.results import FitResult

#: Relative agreement of batch and lmfit parameters on identifiable series (tested).
AGREEMENT_RTOL = 1e-3


@dataclass
class BatchFit:
    """Fits of B series: arrays with the series along the first axis."""

    params: np.ndarray
    """(B, 3) mu, sigma, lambda; NaN for series too short to fit."""
    cov: np.ndarray
    """(B, 3, 3) covariance (NaN where not estimable)."""
    r2: np.ndarray
    rmse: np.ndarray
    aic: np.ndarray
    bic: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    bounds: np.ndarray
    """(B, 3, 2) the bounds each series was fitted within."""
    m: float

    def __len__(self) -> int:
        return self.params.shape[0]

    def fit_result(self, i: int, t: np.ndarray) -> FitResult:
        """Series ``i`` as a FitResult, judged for identifiability (without the profile check)."""
        params = self.params[i]
        fit = FitResult(method="lsq", m=self.m, params=params.copy(), cov=self.cov[i].copy(),
                        fitted=wsb.cumulative(t, *params, m=self.m), r2=float(self.r2[i]),
                        rmse=float(self.rmse[i]), aic=float(self.aic[i]), bic=float(self.bic[i]),
                        success=bool(self.converged[i]), message="batched Levenberg-Marquardt")
        if np.all(np.isfinite(params)):
            return assess(fit, self.bounds[i])
        fit.reasons = ["too few points to fit"]
        return fit

    @property
    def identifiable(self) -> np.ndarray:
        """(B,) bool: interior estimate, estimable stderrs within the limits of .identifiability."""
        from hubscape.analytics.growth import identifiability as ident

        p, lo, hi = self.params, self.bounds[..., 0], self.bounds[..., 1]
        tol = 1e-3 * (hi - lo)
        interior = np.all((p > lo + tol) & (p < hi - tol), axis=1)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.diagonal(self.cov, axis1=1, axis2=2))
            corr = self.cov[:, 0, 2] / (se[:, 0] * se[:, 2])
            ok = (np.all(np.isfinite(se), axis=1) & (se[:, 2] <= ident.MAX_REL_STDERR_LAMBDA * p[:, 2])
                  & (se[:, 0] <= ident.MAX_STDERR_MU) & (np.abs(corr) <= ident.MAX_CORR))
        return interior & ok & self.converged


def _pad(arrays: list[np.ndarray], fill: float) -> np.ndarray:
    n = max(a.size for a in arrays)
    out = np.full((len(arrays), n), fill)
    for i, a in enumerate(arrays):
        out[i, :a.size] = a
    return out


def fit_batch(ts: list[np.ndarray], counts: list[np.ndarray], m: float = wsb.DEFAULT_M,
              observed_until: list[float] | None = None, max_iter: int = 300,
              tol: float = 1e-12) -> BatchFit:
    """Fit c(t) to every (t, count) pair by bounded least squares, all series at once."""
    if len(ts) != len(counts) or not ts:
        raise ValueError("fit_batch needs as many t arrays as count arrays, and at least one")
    ts = [np.asarray(t, dtype=float) for t in ts]
    counts = [np.asarray(c, dtype=float) for c in counts]
    T = np.array(observed_until if observed_until is not None else [t[-1] for t in ts], dtype=float)
    B = len(ts)
    sizes = np.array([t.size for t in ts])
    t = _pad(ts, 1.0)
    y = _pad(counts, 0.0)
    w = (np.arange(t.shape[1])[None, :] < sizes[:, None]).astype(float)
    bounds = np.stack([parameter_bounds(x) for x in T])            # (B, 3, 2)
    lo, hi = bounds[..., 0], bounds[..., 1]

    # grid start: for each series the (mu, sigma) grid point with lambda through the last count
    grids = np.stack([start_grid(x) for x in T])                   # (B, G, 2)
    last = sizes - 1
    t_last, y_last = t[np.arange(B), last], y[np.arange(B), last]
    lam0 = np.clip(wsb.lambda_through(y_last[:, None], t_last[:, None], grids[..., 0], grids[..., 1], m),
                   lo[:, 2:3], hi[:, 2:3])
    curves = wsb.cumulative(t[:, None, :], grids[..., 0:1], grids[..., 1:2], lam0[..., None], m)
    best = np.argmin(np.sum(w[:, None, :] * (curves - y[:, None, :]) ** 2, axis=2), axis=1)
    x0 = np.column_stack([grids[np.arange(B), best], lam0[np.arange(B), best]])
    x0 = np.clip(x0, lo, hi)

    half = (hi - lo) / 2.0
    u = np.arcsin(np.clip((x0 - lo) / half - 1.0, -1.0, 1.0))

    def residual(u_):
        x = lo + (np.sin(u_) + 1.0) * half
        return x, w * (wsb.cumulative(t, x[:, 0:1], x[:, 1:2], x[:, 2:3], m) - y)

    x, r = residual(u)
    sse = np.sum(r * r, axis=1)
    damping = np.full(B, 1e-3)
    fittable = (sizes >= MIN_POINTS) & (y_last >= MIN_POINTS)   # as many points and events as lsq needs
    active = fittable.copy()
    converged = np.zeros(B, dtype=bool)
    iterations = np.zeros(B, dtype=int)
    eye = np.eye(3)
    for _ in range(max_iter):
        if not active.any():
            break
        J = w[..., None] * wsb.jacobian(t, x[:, 0:1], x[:, 1:2], x[:, 2:3], m)   # (B, N, 3) in x
        J = J * (half * np.cos(u))[:, None, :]                                   # chain rule to u
        A = np.einsum("bni,bnj->bij", J, J)
        g = np.einsum("bni,bn->bi", J, r)
        diag = np.diagonal(A, axis1=1, axis2=2)
        scale = np.maximum(diag, 1e-12 * np.maximum(diag.max(axis=1, keepdims=True), 1e-300))
        M = A + damping[:, None, None] * scale[:, :, None] * eye
        try:
            step = -np.linalg.solve(M, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(M.reshape(-1, 3), g.reshape(-1), rcond=None)[0].reshape(B, 3)
        step[~active] = 0.0
        u_new = u + step
        x_new, r_new = residual(u_new)
        sse_new = np.sum(r_new * r_new, axis=1)
        better = active & np.isfinite(sse_new) & (sse_new <= sse)
        gain = np.where(better, (sse - sse_new) / np.maximum(sse, 1e-300), 0.0)
        u = np.where(better[:, None], u_new, u)
        x = np.where(better[:, None], x_new, x)
        r = np.where(better[:, None], r_new, r)
        sse = np.where(better, sse_new, sse)
        damping = np.where(better, np.maximum(damping / 10.0, 1e-12), damping * 10.0)
        iterations += active
        small_step = np.max(np.abs(step), axis=1) <= 1e-10 * (1.0 + np.max(np.abs(u), axis=1))
        done = active & ((better & (gain < tol)) | small_step | (damping > 1e12))
        converged |= done
        active &= ~done

    # covariance as lmfit reports it: inv(J^T J) in x, scaled by the residual variance
    n = sizes.astype(float)
    Jx = w[..., None] * wsb.jacobian(t, x[:, 0:1], x[:, 1:2], x[:, 2:3], m)
    A = np.einsum("bni,bnj->bij", Jx, Jx)
    cov = np.full((B, 3, 3), np.nan)
    dof = np.maximum(n - 3, 1)
    ok = np.linalg.cond(A) < 1e14
    cov[ok] = np.linalg.inv(A[ok]) * (sse[ok] / dof[ok])[:, None, None]
    bad_diag = ~np.all(np.diagonal(cov, axis1=1, axis2=2) > 0, axis=1)
    cov[bad_diag] = np.nan

    ybar = np.sum(w * y, axis=1) / n
    sst = np.sum(w * (y - ybar[:, None]) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1.0 - sse / sst, np.nan)
        base = n * np.log(np.maximum(sse, 1e-300) / n)
    fitted = fittable
    nan = np.full(B, np.nan)
    x = np.where(fitted[:, None], x, np.nan)
    cov[~fitted] = np.nan
    return BatchFit(params=x, cov=cov, r2=np.where(fitted, r2, nan), rmse=np.where(fitted, np.sqrt(sse / n), nan),
                    aic=np.where(fitted, base + 6.0, nan), bic=np.where(fitted, base + 3.0 * np.log(n), nan),
                    converged=converged & fitted, iterations=iterations, bounds=bounds, m=float(m))


