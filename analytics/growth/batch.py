"""Least-squares WSB fits of thousands of series at once, vectorized over series.

A batched Levenberg-Marquardt (Marquardt scaling, Nielsen's damping update): every series
takes its own damped Gauss-Newton step in the same numpy operations, with the analytic Jacobian (:func:`model.jacobian`), the same bounds,
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

from dataclasses import dataclass, field

import numpy as np

from hubscape.analytics.growth import model as wsb
from hubscape.analytics.growth.bounds import MIN_POINTS, SIGMAS, parameter_bounds, start_grid, unfit_reason
from hubscape.analytics.growth.identifiability import judge
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

    ts: list[np.ndarray] = field(default_factory=list, repr=False)
    counts: list[np.ndarray] = field(default_factory=list, repr=False)
    observed_until: np.ndarray | None = field(default=None, repr=False)
    n_events: np.ndarray | None = field(default=None, repr=False)
    truncated: np.ndarray | None = field(default=None, repr=False)

    def fit_result(self, i: int) -> FitResult:
        """Series ``i`` as a FitResult, judged by :func:`~.identifiability.judge` like ``fit_lsq``.

        No interval: the batch fitter is what the bootstrap refits with.
        """
        params, t, count = self.params[i], self.ts[i], self.counts[i]
        n_events = int(self.n_events[i])
        fit = FitResult(
            method="lsq",
            m=self.m,
            params=params.copy(),
            cov=self.cov[i].copy(),
            fitted=wsb.cumulative(t, *params, m=self.m),
            r2=float(self.r2[i]),
            rmse=float(self.rmse[i]),
            aic=float(self.aic[i]),
            bic=float(self.bic[i]),
            success=bool(self.converged[i]),
            c_inf_lower_bound=float(count[-1]),
            message="batched Levenberg-Marquardt",
        )
        observed_until = float(self.observed_until[i])
        if not np.all(np.isfinite(params)):
            fit.reasons = [unfit_reason(n_events, t.size, observed_until) or "not fitted"]
        return judge(fit, t, count, observed_until, n_events, bool(self.truncated[i]))

    @property
    def identifiable(self) -> np.ndarray:
        """(B,) bool: each series' verdict from :func:`~.identifiability.judge` (as ``fit_lsq``'s)."""
        return np.array([self.fit_result(i).identifiable for i in range(len(self))], dtype=bool)


_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _model(log_t, w, y, x, m):
    """Weighted residuals and Jacobian columns (each (k, N)) of c(t) at (k, 3) parameters.

    Only the real points are computed (series are padded to a common length, and ndtr is
    the expensive part); the padding stays zero.
    """
    from scipy.special import ndtr

    mask = w > 0
    rows = np.nonzero(mask)[0]
    mu, sigma, lam = x[rows, 0], x[rows, 1], x[rows, 2]
    z = (log_t[mask] - mu) / sigma
    cdf = ndtr(z)
    lc = lam * cdf
    e = np.exp(lc)
    r = np.zeros_like(w)
    r[mask] = m * np.expm1(lc) - y[mask]
    J = [np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)]
    d_mu = (-m * _INV_SQRT_2PI) * e * (lam / sigma) * np.exp(-0.5 * z * z)
    J[0][mask] = d_mu
    J[1][mask] = d_mu * z
    J[2][mask] = m * e * cdf
    return r, J


def _normal_equations(J):
    """The 6 distinct entries of J^T J per series from the 3 Jacobian columns."""
    a, b, c = J
    return [np.einsum("kn,kn->k", p, q) for p, q in ((a, a), (a, b), (a, c), (b, b), (b, c), (c, c))]


def _solve3(A, g):
    """Solve k symmetric 3x3 systems given as entries (A00, A01, A02, A11, A12, A22) and g (3 x (k,))."""
    a, b, c, d, e, f = A
    c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
    c11, c12, c22 = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * c00 + b * c01 + c * c02
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (
            np.stack(
                [
                    c00 * g[0] + c01 * g[1] + c02 * g[2],
                    c01 * g[0] + c11 * g[1] + c12 * g[2],
                    c02 * g[0] + c12 * g[1] + c22 * g[2],
                ],
                axis=1,
            )
            / det[:, None]
        )
    return np.where(np.isfinite(out), out, 0.0)


def _pad(arrays: list[np.ndarray], fill: float) -> np.ndarray:
    n = max(a.size for a in arrays)
    out = np.full((len(arrays), n), fill)
    for i, a in enumerate(arrays):
        out[i, : a.size] = a
    return out


def _grid_start(ts, counts, sizes, T, lo, hi, m):
    """Each series' best grid start (as in lsq.grid_start), evaluated on the unpadded points."""
    from scipy.special import ndtr

    B = len(ts)
    grids = start_grid(T)  # (B, G, 2), mu-major
    n_sigma = SIGMAS.size
    t_last = np.array([t[-1] for t in ts])
    y_last = np.array([c[-1] for c in counts])
    lam0 = np.clip(
        wsb.lambda_through(y_last[:, None], t_last[:, None], grids[..., 0], grids[..., 1], m), lo[:, 2:3], hi[:, 2:3]
    )  # (B, G)
    owner = np.repeat(np.arange(B), sizes)
    mus = grids[:, ::n_sigma, 0]  # (B, n_mu)
    d = np.log(np.concatenate(ts))[:, None] - mus[owner]  # (P, n_mu)
    z = (d[:, :, None] / SIGMAS).reshape(d.shape[0], -1)  # (P, G)
    sq = (m * np.expm1(lam0[owner] * ndtr(z)) - np.concatenate(counts)[:, None]) ** 2
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    best = np.argmin(np.add.reduceat(sq, starts, axis=0), axis=1)
    x0 = np.column_stack([grids[np.arange(B), best], lam0[np.arange(B), best]])
    return np.clip(x0, lo, hi), y_last


def fit_batch(
    ts: list[np.ndarray],
    counts: list[np.ndarray],
    m: float = wsb.DEFAULT_M,
    observed_until: list[float] | None = None,
    n_events: list[int] | None = None,
    truncated: list[bool] | None = None,
    max_iter: int = 300,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
) -> BatchFit:
    """Fit c(t) to every (t, count) pair by bounded least squares, all series at once.

    ``n_events`` (default: each series' last count) and ``truncated`` (default: False) feed
    the identifiability verdict of :attr:`BatchFit.identifiable`. A series stops when a step
    lowers its squared error by less than ``ftol`` (relative), when
    its step is below ``xtol`` (relative), or when no damping finds a better point.
    """
    if len(ts) != len(counts) or not ts:
        raise ValueError("fit_batch needs as many t arrays as count arrays, and at least one")
    ts = [np.asarray(t, dtype=float) for t in ts]
    counts = [np.asarray(c, dtype=float) for c in counts]
    T = np.array(observed_until if observed_until is not None else [t[-1] for t in ts], dtype=float)
    B = len(ts)
    sizes = np.array([t.size for t in ts])
    if np.any(sizes == 0):
        raise ValueError("fit_batch got an empty series")
    log_t = np.log(_pad(ts, 1.0))
    y = _pad(counts, 0.0)
    w = (np.arange(log_t.shape[1])[None, :] < sizes[:, None]).astype(float)
    bounds = parameter_bounds(T)  # (B, 3, 2)
    lo, hi = bounds[..., 0], bounds[..., 1]
    x0, y_last = _grid_start(ts, counts, sizes, T, lo, hi, m)

    # lmfit's bound transform: x = lo + (sin u + 1) (hi - lo) / 2
    half = (hi - lo) / 2.0
    u = np.arcsin(np.clip((x0 - lo) / half - 1.0, -1.0, 1.0))
    x = lo + (np.sin(u) + 1.0) * half
    r, Jx = _model(log_t, w, y, x, m)
    Jx = list(Jx)
    sse = np.einsum("kn,kn->k", r, r)
    damping = np.full(B, 1e-3)
    nu = np.full(B, 2.0)
    fittable = (sizes >= MIN_POINTS) & (y_last >= MIN_POINTS)  # as many points and events as lsq needs
    active = fittable.copy()
    converged = np.zeros(B, dtype=bool)
    iterations = np.zeros(B, dtype=int)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)  # work only on the series still iterating
        if idx.size == 0:
            break
        du = half[idx] * np.cos(u[idx])  # chain rule from x to u
        J = [Jx[i][idx] * du[:, i : i + 1] for i in range(3)]
        A = _normal_equations(J)
        ri = r[idx]
        g = [np.einsum("kn,kn->k", Ji, ri) for Ji in J]
        A0 = list(A)
        lm = damping[idx]
        floor = 1e-12 * np.maximum(np.maximum(A[0], A[3]), np.maximum(A[5], 1e-300))
        for k in (0, 3, 5):  # Marquardt: damp the diagonal in proportion to itself
            A[k] = A[k] + lm * np.maximum(A[k], floor)
        step = -_solve3(A, g)
        u_new = u[idx] + step
        x_new = lo[idx] + (np.sin(u_new) + 1.0) * half[idx]
        r_new, J_new = _model(log_t[idx], w[idx], y[idx], x_new, m)
        sse_new = np.einsum("kn,kn->k", r_new, r_new)
        sse_old = sse[idx]
        h0, h1, h2 = step[:, 0], step[:, 1], step[:, 2]
        hAh = (
            A0[0] * h0 * h0
            + A0[3] * h1 * h1
            + A0[5] * h2 * h2
            + 2 * (A0[1] * h0 * h1 + A0[2] * h0 * h2 + A0[4] * h1 * h2)
        )
        pred = -(2 * (g[0] * h0 + g[1] * h1 + g[2] * h2) + hAh)
        better = np.isfinite(sse_new) & (sse_new <= sse_old)
        rho = np.where(better, (sse_old - sse_new) / np.maximum(pred, 1e-300), 0.0)
        gain = np.where(better, (sse_old - sse_new) / np.maximum(sse_old, 1e-300), 0.0)
        acc = idx[better]
        u[acc], x[acc], r[acc], sse[acc] = u_new[better], x_new[better], r_new[better], sse_new[better]
        for i in range(3):
            Jx[i][acc] = J_new[i][better]
        # Nielsen's damping update: relax by how well the quadratic model predicted the gain
        nu_i = nu[idx]
        damping[idx] = np.where(
            better, np.maximum(lm * np.maximum(1 / 3, 1 - (2 * np.minimum(rho, 1.0) - 1) ** 3), 1e-12), lm * nu_i
        )
        nu[idx] = np.where(better, 2.0, nu_i * 2.0)
        iterations[idx] += 1
        small_step = ~np.all(np.abs(step) > xtol * (xtol + np.abs(u[idx])), axis=1) & better
        # crawling into a bound (the transform flattens there): stop once it would be flagged as on it
        xi, loi, hii = x[idx], lo[idx], hi[idx]
        near = np.any(np.minimum(xi - loi, hii - xi) < 1e-3 * (hii - loi), axis=1)
        done = (better & (gain < ftol)) | small_step | (damping[idx] > 1e12) | (near & better & (gain < 1e-6))
        converged[idx[done]] = True
        active[idx[done]] = False
    Jx = np.stack(Jx, axis=-1)  # (B, N, 3), weighted, in x

    # covariance as lmfit reports it: inv(J^T J) in x, scaled by the residual variance
    n = sizes.astype(float)
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
    return BatchFit(
        params=x,
        cov=cov,
        r2=np.where(fitted, r2, nan),
        rmse=np.where(fitted, np.sqrt(sse / n), nan),
        aic=np.where(fitted, base + 6.0, nan),
        bic=np.where(fitted, base + 3.0 * np.log(n), nan),
        converged=converged & fitted,
        iterations=iterations,
        bounds=bounds,
        m=float(m),
        ts=ts,
        counts=counts,
        observed_until=T,
        n_events=np.array(n_events if n_events is not None else [c[-1] for c in counts], dtype=int),
        truncated=np.array(truncated if truncated is not None else [False] * B, dtype=bool),
    )
