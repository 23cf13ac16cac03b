"""Likelihoods of the WSB process: of the children's creation times, and of cumulative counts.

WSB's growth is a reinforced Poisson process (Wang, Song & Barabasi 2013; Shen et al. 2014):
after N(t) children the next arrives at rate lambda f(t) (N(t) + m), f the lognormal density of
ageing. In the operational time s = lambda F(t) (F the lognormal CDF) it is a pure birth
process with rate N + m, so given N at one time, the growth by a later time is negative
binomial (a Yule process with m immigrants)::

    N(t') - N(t) | N(t)  ~  NegBin(r = N(t) + m, p = exp(-(s(t') - s(t))))

(the number of failures before r successes). Its mean is (N + m)(e^ds - 1), its variance the
mean times e^ds. That makes the likelihood of a cumulative count series exact
(:class:`CountLikelihood`: one negative binomial factor per period), which is what the
identifiability check and the dispersion estimate below use: least squares on the same counts
treats them as independent, and they are not.

:class:`EventLikelihood` is the likelihood of the event ages themselves::

    l = sum_i [ln lambda + ln f(t_i) + ln(m + i - 1)] - lambda * X,
    X = (n + m) F(T) - sum_i F(t_i)

with the closed-form lambda = n / X for fixed (mu, sigma) (with a Gamma(a, b) prior on lambda,
the posterior is Gamma(a + n, b + X)).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, ndtr

from hubscape.analytics.growth.model import operational_time

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class EventLikelihood:
    """The log-likelihood of event ages under the WSB process, and its closed-form lambda."""

    def __init__(self, events: np.ndarray, observed_until: float, m: float, prior: tuple[float, float] | None = None):
        self.events = np.sort(np.asarray(events, dtype=float))
        self.log_t = np.log(self.events)
        self.log_t_sum = float(self.log_t.sum())
        self.n = self.events.size
        self.T = float(observed_until)
        self.m = float(m)
        self.prior = prior
        # sum_i ln(m + i - 1), i = 1..n: the reinforcement term, free of parameters
        self.reinforcement = float(gammaln(self.m + self.n) - gammaln(self.m))

    def exposure(self, mu, sigma):
        """X(mu, sigma) = (n + m) F(T) - sum_i F(t_i); broadcasts over arrays of (mu, sigma)."""
        mu = np.asarray(mu, dtype=float)
        sigma = np.asarray(sigma, dtype=float)
        F_T = ndtr((math.log(self.T) - mu) / sigma)
        F_i = ndtr((self.log_t - mu[..., None]) / sigma[..., None])
        out = (self.n + self.m) * F_T - F_i.sum(axis=-1)
        return float(out) if out.ndim == 0 else out

    def best_lambda(self, mu: float, sigma: float) -> float:
        """The lambda maximizing the likelihood (or the posterior, with a prior) at (mu, sigma)."""
        X = self.exposure(mu, sigma)
        if self.prior is None:
            return self.n / X if X > 0 else math.inf
        a, b = self.prior
        return max(self.n + a - 1.0, 0.0) / (X + b)

    def log_likelihood(self, mu, sigma, lam):
        """l(mu, sigma, lambda) without the prior; broadcasts over arrays of parameters."""
        mu, sigma, lam = (np.asarray(v, dtype=float) for v in (mu, sigma, lam))
        z = (self.log_t - mu[..., None]) / sigma[..., None]
        sum_log_f = (-0.5 * z * z).sum(axis=-1) - self.n * (_LOG_SQRT_2PI + np.log(sigma)) - self.log_t.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self.n * np.log(lam) + sum_log_f + self.reinforcement - lam * self.exposure(mu, sigma)
        out = np.where((lam > 0) & (sigma > 0), out, -np.inf)
        return float(out) if out.ndim == 0 else out

    def parts(self, mu: float, sigma: float) -> tuple[float, np.ndarray, float, np.ndarray]:
        """(sum ln f(t_i) + reinforcement, its gradient, X, the gradient of X), gradients in (mu, sigma).

        With z = (ln t - mu) / sigma and X = (n + m) Phi(z_T) - sum Phi(z_i)::

            d sum ln f / dmu = sum z_i / sigma,   d sum ln f / dsigma = sum (z_i^2 - 1) / sigma
            dX/dmu = -((n + m) phi(z_T) - sum phi(z_i)) / sigma
            dX/dsigma = -((n + m) phi(z_T) z_T - sum phi(z_i) z_i) / sigma
        """
        z = (self.log_t - mu) / sigma
        z_T = (math.log(self.T) - mu) / sigma
        pdf = np.exp(-0.5 * z * z - _LOG_SQRT_2PI)
        pdf_T = math.exp(-0.5 * z_T * z_T - _LOG_SQRT_2PI)
        nm = self.n + self.m
        zz = float(z @ z)
        log_f = -0.5 * zz - self.n * (_LOG_SQRT_2PI + math.log(sigma)) - self.log_t_sum + self.reinforcement
        g_log_f = np.array([float(z.sum()) / sigma, (zz - self.n) / sigma])
        X = nm * float(ndtr(z_T)) - float(ndtr(z).sum())
        g_X = -np.array([nm * pdf_T - float(pdf.sum()), nm * pdf_T * z_T - float(pdf @ z)]) / sigma
        return log_f, g_log_f, X, g_X

    def value_and_grad(self, mu: float, sigma: float, lam: float) -> tuple[float, np.ndarray]:
        """l and its gradient in (mu, sigma) at fixed lambda (for the profile over lambda)."""
        if not (sigma > 0 and lam > 0):
            return -math.inf, np.zeros(2)
        log_f, g_log_f, X, g_X = self.parts(mu, sigma)
        return self.n * math.log(lam) + log_f - lam * X, g_log_f - lam * g_X

    def log_prior(self, lam):
        """The log density of the Gamma prior on lambda (0 without a prior)."""
        if self.prior is None:
            return 0.0 * np.asarray(lam, dtype=float)
        a, b = self.prior
        with np.errstate(divide="ignore"):
            return a * math.log(b) - gammaln(a) + (a - 1.0) * np.log(lam) - b * np.asarray(lam, dtype=float)

    def log_posterior(self, mu, sigma, lam):
        """l plus the log density of the Gamma prior on lambda (l itself without a prior)."""
        out = self.log_likelihood(mu, sigma, lam) + self.log_prior(lam)
        return float(out) if np.ndim(out) == 0 else out


def _negbin_logpmf(k, r, log_p, log1m_p):
    return gammaln(k + r) - gammaln(r) - gammaln(k + 1.0) + r * log_p + k * log1m_p


class CountLikelihood:
    """The exact likelihood of a cumulative count series observed at increasing times t."""

    def __init__(self, t: np.ndarray, count: np.ndarray, m: float):
        self.t = np.asarray(t, dtype=float)
        self.count = np.asarray(count, dtype=float)
        self.m = float(m)
        self.start = np.concatenate([[0.0], self.count[:-1]])
        self.new = self.count - self.start

    def log_likelihood(self, mu, sigma, lam):
        """sum_k ln NegBin(new_k; N_(k-1) + m, exp(-ds_k)); broadcasts over parameter arrays."""
        mu, sigma, lam = (np.asarray(v, dtype=float)[..., None] for v in (mu, sigma, lam))
        s = operational_time(self.t, mu, sigma, lam)
        ds = np.diff(s, axis=-1, prepend=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log1m_p = np.log(-np.expm1(-ds))  # ln(1 - e^-ds)
            terms = _negbin_logpmf(self.new, self.start + self.m, -ds, log1m_p)
        # a period with no growth expected and none seen contributes ln 1 = 0
        terms = np.where((ds <= 0) & (self.new == 0), 0.0, terms)
        out = np.where(np.isfinite(terms), terms, -np.inf).sum(axis=-1)
        out = np.where((lam[..., 0] > 0) & (sigma[..., 0] > 0), out, -np.inf)
        return float(out) if out.ndim == 0 else out

    def dispersion(self, params, n_params: int = 3) -> float:
        """The quasi-likelihood dispersion of the new counts per period around the fitted process.

        1 for data drawn from the WSB process; real model trees are burstier (a wave of
        fine-tunes after a popular derivative), and a band that ignores that is too narrow.
        The estimate is the negative-binomial deviance over its degrees of freedom,
        D / (periods - 1 - n_params), at least 1; the first period is left out (its count
        includes the children dated before the release). The deviance, not Pearson's
        statistic: one child in a period where the fit expects 0.001 adds ~14 to D but 1,000
        to Pearson's sum (on phi-2 the least-squares fit gave 31 against 2,947).
        """
        s = operational_time(self.t, *params)
        ds = np.diff(s, prepend=0.0)
        size = self.start + self.m
        mean = size * np.expm1(ds)
        dof = self.t.size - 1 - n_params
        if dof < 1:
            return 1.0
        y = self.new
        with np.errstate(divide="ignore", invalid="ignore"):
            own = np.where(y > 0, y * np.log(y / mean), 0.0)
            d = 2.0 * (own - (y + size) * np.log((y + size) / (mean + size)))
        d = d[1:]
        return max(1.0, float(np.sum(d[np.isfinite(d)]) / dof))
