"""The Wang-Song-Barabasi (WSB) growth curve and what follows from it.

Wang, Song & Barabasi (Science 2013) model the cumulative number of "citations" (here: direct
children of a base model on the Hub) ``t`` periods after release as::

    c(t) = m * (exp(lambda * Phi((ln t - mu) / sigma)) - 1)

``Phi`` is the standard normal CDF, ``mu`` and ``sigma`` place the lognormal ageing in time,
``lambda`` is the fitness and ``m`` a constant (30 in WSB). The curve saturates at
``c_inf = m * (exp(lambda) - 1)``; at ``t = exp(mu)`` it is ``m * (exp(lambda / 2) - 1)``.

Everything here is vectorized, stable for large lambda (``expm1`` and log-space) and for
``t -> 0`` (c -> 0, no ``log(0)`` warnings)::

    >>> round(float(cumulative(1.0, mu=0.0, sigma=1.0, lam=1.0, m=30.0)), 8)
    19.46163812
    >>> round(c_inf(2.0, m=30.0), 6)
    191.671683
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

#: The constant m of WSB (the "initial attractiveness" in citations).
DEFAULT_M = 30.0

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _z(t, mu, sigma):
    """(ln t - mu) / sigma with ln 0 = -inf and no warnings; t is clipped at 0."""
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore"):
        log_t = np.log(np.maximum(t, 0.0))
    return (log_t - mu) / sigma, log_t


def cumulative(t, mu, sigma, lam, m=DEFAULT_M):
    """c(t): the expected cumulative count ``t`` periods after release (0 at t <= 0)."""
    z, _ = _z(t, mu, sigma)
    return m * np.expm1(lam * ndtr(z))


def log_cumulative(t, mu, sigma, lam, m=DEFAULT_M):
    """ln c(t), finite where c(t) itself overflows (lambda in the thousands); -inf at t <= 0."""
    z, _ = _z(t, mu, sigma)
    x = lam * ndtr(z)
    with np.errstate(divide="ignore"):
        # ln(expm1(x)) = x + ln(1 - exp(-x)), accurate for large x; ln(expm1(x)) for small x
        big = x + np.log1p(-np.exp(-np.maximum(x, 1e-300)))
        small = np.log(np.expm1(np.minimum(x, 1.0)))
    return math.log(m) + np.where(x > 1.0, big, small)


def log_rate(t, mu, sigma, lam, m=DEFAULT_M):
    """ln dc/dt; -inf at t <= 0 (the rate vanishes faster than any power as t -> 0)."""
    z, log_t = _z(t, mu, sigma)
    with np.errstate(invalid="ignore"):
        out = math.log(m * lam) + lam * ndtr(z) - 0.5 * z * z - _LOG_SQRT_2PI - math.log(sigma) - log_t
    return np.where(np.asarray(t, dtype=float) > 0, out, -np.inf)


def rate(t, mu, sigma, lam, m=DEFAULT_M):
    """dc/dt = m * lambda * exp(lambda * Phi(z)) * phi(z) / (sigma * t), z = (ln t - mu)/sigma."""
    return np.exp(log_rate(t, mu, sigma, lam, m))


def c_inf(lam, m=DEFAULT_M):
    """The saturation count m * (exp(lambda) - 1)."""
    return m * np.expm1(lam) if np.ndim(lam) else m * math.expm1(lam)


def peak_time(mu, sigma, lam):
    """The time of the highest rate dc/dt (independent of m).

    With ln t = mu + sigma * z, ln dc/dt = lambda * Phi(z) - z^2 / 2 - sigma * z + const, whose
    stationary points solve lambda * phi(z) = z + sigma. For large lambda that equation can
    have several roots, so the global maximum is bracketed on a grid and refined by bisection.
    """
    from scipy.optimize import brentq

    def g(z):
        return lam * ndtr(z) - 0.5 * z * z - sigma * z

    def dg(z):
        return lam * math.exp(-0.5 * z * z - _LOG_SQRT_2PI) - z - sigma

    lo, hi = -sigma - 1.0, lam / math.sqrt(2.0 * math.pi) + 1.0
    grid = np.linspace(lo, hi, 2001)
    k = int(np.argmax(g(grid)))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    if dg(a) > 0 > dg(b):
        z = brentq(dg, a, b, xtol=1e-14)
    else:  # the maximum sits on the grid edge (cannot happen for sigma, lambda > 0)
        z = grid[k]
    return math.exp(mu + sigma * z)


def lambda_through(count, t, mu, sigma, m=DEFAULT_M):
    """The lambda for which c(t) = count, given mu and sigma (used for initial guesses)."""
    z, _ = _z(t, mu, sigma)
    return np.log1p(np.asarray(count, dtype=float) / m) / np.maximum(ndtr(z), 1e-300)


def jacobian(t, mu, sigma, lam, m=DEFAULT_M):
    """dc/d(mu, sigma, lambda) at each t, shape t.shape + (3,); broadcasts over parameters.

    With E = exp(lambda * Phi(z)):  dc/dlambda = m E Phi(z),  dc/dmu = -m E lambda phi(z) / sigma,
    dc/dsigma = dc/dmu * z.
    """
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    lam = np.asarray(lam, dtype=float)
    z, _ = _z(t, mu, sigma)
    cdf = ndtr(z)
    pdf = np.exp(-0.5 * np.minimum(z * z, 1e300) - _LOG_SQRT_2PI)
    e = np.exp(lam * cdf)
    d_mu = -m * e * lam * pdf / sigma
    d_sigma = np.where(np.isfinite(z), d_mu * z, 0.0)
    return np.stack([d_mu, d_sigma, m * e * cdf], axis=-1)


def simulate_events(mu, sigma, lam, m=DEFAULT_M, until=math.inf, rng=None) -> np.ndarray:
    """Draw event ages from the WSB process (sorted), up to age ``until``.

    The process adds an event at rate lambda f(t) (N(t) + m); in the operational time
    s = lambda F(t) it is a pure birth process with rate N + m, so the gaps in s are
    exponential with rates m, m + 1, ... and t = exp(mu + sigma Phi^-1(s / lambda)). Its mean
    count is c(t); the total count is negative binomial with mean c_inf.
    """
    from scipy.special import ndtri

    rng = np.random.default_rng(rng)
    s_end = lam * (float(ndtr((math.log(until) - mu) / sigma)) if np.isfinite(until) else 1.0)
    s, out, k = 0.0, [], 0
    while True:
        s += rng.exponential(1.0 / (m + k))
        if s >= s_end:
            break
        out.append(s)
        k += 1
    return np.exp(mu + sigma * ndtri(np.asarray(out) / lam))


def operational_time(t, mu, sigma, lam):
    """s(t) = lambda F(t): in this time the WSB process is a pure birth process; 0 at t <= 0."""
    z, _ = _z(t, mu, sigma)
    return lam * ndtr(z)


def negbin_growth(n, ds, m=DEFAULT_M, dispersion=1.0, rng=None) -> np.ndarray:
    """New events over an operational time ``ds`` given ``n`` so far (vectorized over n and ds).

    NegBin(n + m, exp(-ds)): mean (n + m)(e^ds - 1), variance the mean times e^ds. A
    ``dispersion`` phi > 1 keeps the mean and multiplies the variance by phi (a burstier
    process than WSB's own; see :meth:`.likelihood.CountLikelihood.dispersion`).
    """
    rng = np.random.default_rng(rng)
    n = np.asarray(n, dtype=float)
    ds = np.maximum(np.asarray(ds, dtype=float), 0.0)
    if dispersion <= 1.0:
        return rng.negative_binomial(n + m, np.exp(-ds)).astype(float)
    mean = (n + m) * np.expm1(ds)
    p = np.clip(np.exp(-ds) / dispersion, 1e-300, 1.0)
    r = np.maximum(mean * p / np.maximum(1.0 - p, 1e-300), 1e-300)
    return np.where(mean > 0, rng.negative_binomial(r, p), 0).astype(float)


def simulate_counts(t, mu, sigma, lam, m=DEFAULT_M, size=1, rng=None, dispersion=1.0) -> np.ndarray:
    """Cumulative counts of ``size`` independent WSB paths at the increasing times ``t``.

    Vectorized over paths: in operational time s = lambda F(t) the process is a Yule process
    with m immigrants, so given N at one time the growth by the next is negative binomial,
    N' - N ~ NegBin(N + m, exp(-(s' - s))) (:func:`negbin_growth`, with ``dispersion``).
    Returns an array of shape (size, len(t)).
    """
    rng = np.random.default_rng(rng)
    s = operational_time(np.asarray(t, dtype=float), mu, sigma, lam)
    out = np.empty((size, s.size))
    n = np.zeros(size)
    prev = 0.0
    for k, s_k in enumerate(s):
        n = n + negbin_growth(n, s_k - prev, m, dispersion, rng)
        out[:, k] = n
        prev = s_k
    return out


__all__ = [
    "DEFAULT_M",
    "cumulative",
    "log_cumulative",
    "rate",
    "log_rate",
    "c_inf",
    "peak_time",
    "lambda_through",
    "jacobian",
    "simulate_events",
    "simulate_counts",
    "operational_time",
    "negbin_growth",
]
