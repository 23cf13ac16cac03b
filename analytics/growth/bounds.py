"""The parameter box and the starting grid every WSB fitter shares (least squares, likelihood, batch).

>>> parameter_bounds(24.0)          # (mu, sigma, lambda) x (lower, upper)
>>> grid_start(series.t, series.count, 30.0, series.observed_until)
"""

from __future__ import annotations

import numpy as np

from hubscape.analytics.growth import model as wsb

#: Starting grid: mu offsets from ln(T) and sigmas.
MU_OFFSETS = np.linspace(-2.5, 1.5, 9)
SIGMAS = np.array([0.3, 0.6, 1.0, 1.5, 2.5])

#: Fewer points than this leave nothing to judge a 3-parameter curve by.
MIN_POINTS = 5


def parameter_bounds(observed_until) -> np.ndarray:
    """(3, 2) lower/upper bounds of (mu, sigma, lambda) for a series observed until T.

    mu spans from a fraction of the first period to e^4 (~55) times the observed span; sigma
    and lambda cover every curve seen on the Hub with room to spare (lambda = 15 means a
    saturation count of 30 e^15, ~10^8, for m = 30). An estimate on a bound is reported as not
    identifiable, never silently kept. An array of T gives shape T.shape + (3, 2).
    """
    T = np.asarray(observed_until, dtype=float)
    out = np.empty(T.shape + (3, 2))
    out[..., 0, 0], out[..., 0, 1] = -2.0, np.log(np.maximum(T, 1.0)) + 4.0
    out[..., 1, :] = (0.05, 5.0)
    out[..., 2, :] = (1e-3, 15.0)
    return out


def start_grid(observed_until) -> np.ndarray:
    """(G, 2) grid of (mu, sigma) starting points (T.shape + (G, 2) for an array of T)."""
    T = np.asarray(observed_until, dtype=float)
    bounds = parameter_bounds(T)
    mus = np.log(np.maximum(T, 1.0))[..., None] + MU_OFFSETS
    mus = np.clip(mus, bounds[..., 0, 0, None], bounds[..., 0, 1, None])
    out = np.empty(T.shape + (MU_OFFSETS.size, SIGMAS.size, 2))
    out[..., 0] = mus[..., :, None]
    out[..., 1] = SIGMAS
    return out.reshape(T.shape + (-1, 2))


def grid_start(t: np.ndarray, count: np.ndarray, m: float, observed_until: float) -> np.ndarray:
    """The best (lowest squared error) grid start (mu, sigma, lambda) for one series."""
    grid = start_grid(observed_until)
    bounds = parameter_bounds(observed_until)
    lam = np.clip(wsb.lambda_through(count[-1], t[-1], grid[:, 0], grid[:, 1], m), *bounds[2])
    curves = wsb.cumulative(t[None, :], grid[:, :1], grid[:, 1:], lam[:, None], m)
    best = int(np.argmin(np.sum((curves - count) ** 2, axis=1)))
    return np.array([grid[best, 0], grid[best, 1], lam[best]])


def unfit_reason(n_events: int, n_points: int, observed_until: float, unit: str = "month") -> str | None:
    """Why a series is too small for a 3-parameter fit ("not fitted: ..."), or None if it is not."""
    if n_events < MIN_POINTS:
        children = "child" if n_events == 1 else "children"
        return f"not fitted: {n_events} dated {children}; a 3-parameter curve needs at least {MIN_POINTS}"
    if n_points < MIN_POINTS:
        return (
            f"not fitted: {observed_until:.2g} {unit}s observed; a 3-parameter "
            f"curve needs at least {MIN_POINTS} points (try a shorter --unit)"
        )
    return None
