"""Generalised synthetic control (Xu 2017, *Political Analysis* 25(1):57-76), as R gsynth.

``GeneralizedSyntheticControl`` is registered as ``"generalized_synthetic_control"``. The
untreated outcome follows a linear interactive fixed effects model (Bai 2009, *Econometrica*
77(4):1229-1279)::

    Y_it(0) = X_it' beta + mu + alpha_i + xi_t + lambda_i' f_t + e_it

with the unit and time effects optional (``force``). The model is fitted on the control units'
whole panel by alternating least squares (beta given the factors, factors and loadings given
beta by principal components, until beta changes by less than ``tol``); each treated unit's
loadings (and its own level ``alpha_i``) are then estimated by least squares on its
pre-treatment periods, and its counterfactual is imputed from them. The number of factors is
chosen, unless given, by leave-one-period-out cross-validation over the treated units'
pre-periods: the first ``r`` whose mean squared prediction error improves on every smaller
``r`` by more than the relative ``tol`` (gsynth's rule), or by Bai and Ng's PC criterion
(``criterion="pc"``). Because the treated unit's counterfactual is a projection on factors
rather than a convex combination of donors, it can lie outside the donors' convex hull.
With ``em=True`` (Gobillon and Magnac 2016; gsynth ``EM = TRUE``) the model is fitted on the
controls and the treated units' pre-periods together, the treated post-period cells being
missing values imputed by EM from an additive fixed-effects start.

Several treated units and staggered adoption are handled as in gsynth: each treated unit gets
its own pre-period, the average ATT is the mean effect over all treated unit-periods, and the
ATT by event time averages the units' effects aligned at their adoption (``event_time`` 0 is
the first treated period; gsynth labels it 1).

Inference: ``"parametric"`` (gsynth's default for this estimator; suited to few treated units)
first simulates prediction errors by treating a control unit as pseudo-treated (with the
treated units' timing, the other controls resampled), then rebuilds outcomes as the fitted
values plus resampled errors (control residuals; simulated prediction errors for the treated)
and refits with the chosen number of factors; ``"nonparametric"`` resamples treated and
control units separately (for many treated units: gsynth warns below 40). Standard errors are
the bootstrap standard deviations, intervals and p-values are normal. Estimates, the
cross-validation table and the ATT by period agree with gsynth 1.2.1 on its ``simdata`` and
``turnout`` data; see ``tests/reference/test_gsynth_reference.py``.

Differences from gsynth (none affects the reference tests' estimates): the panel must be
balanced for the treated units (controls with missing outcomes are dropped from the donor
pool); a leave-one-out fit that cannot be computed makes that number of factors ineligible
(gsynth stops summing prediction errors); in the nonparametric bootstrap with staggered adoption
the ATT by period is aligned by event time in every draw (gsynth aligns by position); with EM,
no fixed effects and no factors or covariates, the grand mean is over the observed cells
(gsynth divides the sum over every cell by the number observed).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import stats

from impacteval.estimators.base import register_estimator
from impacteval.estimators.synthetic.classic import SyntheticControlWarning
from impacteval.estimators.synthetic.panel import Panel, build_panel
from impacteval.exceptions import ConfigError, DesignError, SchemaError
from impacteval.results import EffectEstimate

FloatArray = np.ndarray
Force = Literal["none", "unit", "time", "two-way"]
Inference = Literal["parametric", "nonparametric", "none"]
WHERE = "generalized_synthetic_control"
FORCE_CODES = {"none": 0, "unit": 1, "time": 2, "two-way": 3}
MAX_ITER = 500


# --------------------------------------------------------------------------------------------
# Interactive fixed effects on a complete panel (gsynth's inter_fe)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IFEFit:
    """Interactive fixed effects fit on a complete (times x units) panel.

    Attributes
    ----------
    mu, alpha, xi
        Grand mean, unit effects (zeros unless ``force`` has them) and time effects.
    beta
        Covariate coefficients (NaN for a covariate with no variation left after the fixed
        effects).
    factor, loading
        Factors (times x r), normalised ``F'F / T = I``, and loadings (units x r).
    residuals
        Times x units.
    sigma2, ic, pc
        Error variance (degrees-of-freedom corrected), information criterion and Bai-Ng PC
        criterion (gsynth's definitions).
    niter
        Alternating least-squares iterations (0 without covariates).
    """

    mu: float
    alpha: FloatArray
    xi: FloatArray
    beta: FloatArray
    factor: FloatArray
    loading: FloatArray
    residuals: FloatArray
    sigma2: float
    ic: float
    pc: float
    niter: int


def panel_factor(e: FloatArray, r: int) -> tuple[FloatArray, FloatArray]:
    """Principal components of ``e`` (times x units): factors ``sqrt(T) U_r`` and loadings
    ``e' F / T``, signs fixed so each factor's largest entry is positive."""
    n_t = e.shape[0]
    u, _, _ = np.linalg.svd(e, full_matrices=False)
    factor = u[:, :r] * math.sqrt(n_t)
    sign = np.sign(factor[np.argmax(np.abs(factor), axis=0), np.arange(r)])
    factor = factor * np.where(sign == 0, 1.0, sign)
    return factor, e.T @ factor / n_t


def _xb(x: FloatArray, beta: FloatArray) -> FloatArray:
    return np.tensordot(x, beta, axes=([2], [0])) if beta.size else np.zeros(x.shape[:2])


def _xy(x: FloatArray, y: FloatArray) -> FloatArray:
    return np.einsum("tnk,tn->k", x, y)


def inter_fe(y: FloatArray, x: FloatArray, r: int, force: int, beta0: FloatArray | None,
             tol: float) -> IFEFit:
    """Interactive fixed effects by alternating least squares (Bai 2009; gsynth ``inter_fe``).

    Parameters
    ----------
    y
        Outcomes, times x units (complete).
    x
        Covariates, times x units x p.
    r
        Number of factors.
    force
        0 none, 1 unit, 2 time, 3 two-way additive fixed effects.
    beta0
        Starting coefficients (length p); ``None`` or zeros start from the within estimator.
    tol
        Convergence tolerance on the change in beta.
    """
    n_t, n = y.shape
    p = x.shape[2]
    mu_y = float(y.mean())
    yy = y - mu_y
    mu_x = x.mean(axis=(0, 1)) if p else np.zeros(0)
    xx = x - mu_x
    alpha_y, xi_y = np.zeros(n), np.zeros(n_t)
    alpha_x, xi_x = np.zeros((n, p)), np.zeros((n_t, p))
    if force in (1, 3):
        alpha_y = yy.mean(axis=0)
        yy = yy - alpha_y[None, :]
        alpha_x = xx.mean(axis=0)
        xx = xx - alpha_x[None, :, :]
    if force in (2, 3):
        xi_y = yy.mean(axis=1)
        yy = yy - xi_y[:, None]
        xi_x = xx.mean(axis=1)
        xx = xx - xi_x[:, None, :]
    valid = [k for k in range(p) if np.abs(xx[:, :, k]).sum() >= 1e-5]
    xv = xx[:, :, valid]
    niter = 0
    factor, loading = np.zeros((n_t, r)), np.zeros((n, r))
    beta_v = np.zeros(len(valid))
    if not valid:
        u = yy
        if r > 0:
            factor, loading = panel_factor(yy, r)
            u = yy - factor @ loading.T
    else:
        inv = np.linalg.inv(np.einsum("tnk,tnm->km", xv, xv))
        b0 = None if beta0 is None else np.asarray(beta0, dtype="float64")[valid]
        if b0 is None or r == 0 or not np.isfinite(b0).all() or np.abs(b0).sum() < 1e-10:
            b0 = inv @ _xy(xv, yy)
        beta_v = b0
        u = yy - _xb(xv, beta_v)
        if r > 0:
            factor, loading = panel_factor(u, r)
            change = 1.0
            while change > tol and niter < MAX_ITER:
                niter += 1
                new = inv @ _xy(xv, yy - factor @ loading.T)
                change = float(np.linalg.norm(new - beta_v))
                beta_v = new
                u = yy - _xb(xv, beta_v)
                factor, loading = panel_factor(u, r)
            u = u - factor @ loading.T
    mu = mu_y - float(mu_x[valid] @ beta_v) if valid else mu_y
    alpha = alpha_y - alpha_x[:, valid] @ beta_v if force in (1, 3) else np.zeros(n)
    xi = xi_y - xi_x[:, valid] @ beta_v if force in (2, 3) else np.zeros(n_t)
    beta = np.full(p, np.nan)
    beta[valid] = beta_v
    n_par = r * (n + n_t) - r**2 + len(valid) + 1
    n_par += {0: 0, 1: (n - 1) - r, 2: (n_t - 1) - r, 3: (n - 1) + (n_t - 1) - 2 * r}[force]
    ssr = float((u**2).sum())
    nt = n * n_t
    sigma2 = ssr / (nt - n_par) if nt > n_par else math.nan
    ic = math.log(sigma2) + n_par * math.log(nt) / nt if sigma2 > 0 else math.nan
    c = (n + max(60 - n, 0)) * (n_t + max(60 - n_t, 0)) / nt
    pc = ssr / nt + r * sigma2 * c * (n + n_t) / nt * math.log(nt / (n + n_t))
    return IFEFit(mu=mu, alpha=alpha, xi=xi, beta=beta, factor=factor, loading=loading,
                  residuals=u, sigma2=sigma2, ic=ic, pc=pc, niter=niter)


# --------------------------------------------------------------------------------------------
# gsynth's core: controls fitted, treated loadings from the pre-period, effects imputed
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Core:
    r: int
    beta: FloatArray
    sigma2: float
    residuals: FloatArray  # times x controls
    factor: FloatArray  # times x r
    eff: FloatArray  # times x treated
    event_time: FloatArray  # ATT by event time: labels
    att: FloatArray
    att_avg: float
    cv: pd.DataFrame | None


def _treated_residual(y_tr: FloatArray, x_tr: FloatArray, ife: IFEFit, force: int) -> FloatArray:
    beta = np.nan_to_num(ife.beta)
    u = y_tr - _xb(x_tr, beta) - ife.mu
    if force in (2, 3):
        u = u - ife.xi[:, None]
    return u


def _design(ife: IFEFit, r: int, force: int) -> FloatArray:
    z = ife.factor[:, :r]
    if force in (1, 3):
        z = np.column_stack([z, np.ones(z.shape[0])])
    return z


def _loo_errors(u: FloatArray, z: FloatArray, t0s: FloatArray) -> tuple[float, int]:
    """Sum of squared leave-one-period-out prediction errors over each treated unit's
    pre-period, and their number (closed form of refitting the loadings without the period)."""
    total, count = 0.0, 0
    for t0 in np.unique(t0s):
        cols = np.flatnonzero(t0s == t0)
        up = u[:t0, cols]
        if z.shape[1] == 0:
            e = up
        else:
            zp = z[:t0]
            g = zp.T @ zp
            if np.linalg.cond(g) > 1e12:
                return math.inf, 1
            h = zp @ np.linalg.solve(g, zp.T)
            lever = 1.0 - np.diag(h)
            if (lever < 1e-10).any():
                return math.inf, 1
            e = (up - h @ up) / lever[:, None]
        total += float((e**2).sum())
        count += e.size
    return total, count


def _impute(u: FloatArray, z: FloatArray, t0s: FloatArray) -> FloatArray:
    """Treated effects: residuals minus their projection on the factors (loadings fitted on
    each unit's pre-period)."""
    eff = np.empty_like(u)
    for t0 in np.unique(t0s):
        cols = np.flatnonzero(t0s == t0)
        if z.shape[1] == 0:
            eff[:, cols] = u[:, cols]
            continue
        zp = z[:t0]
        g = zp.T @ zp
        if np.linalg.matrix_rank(g) < g.shape[0]:
            raise DesignError("a treated unit's factor loadings are not identified from its "
                              "pre-period", where=f"{WHERE}.r",
                              hint="use fewer factors or a longer pre-period")
        lam = np.linalg.solve(g, zp.T @ u[:t0, cols])
        eff[:, cols] = u[:, cols] - z @ lam
    return eff


def _summarise(eff: FloatArray, t0s: FloatArray) -> tuple[FloatArray, FloatArray, float]:
    """ATT by event time (gsynth's range: from -min(T0) on) and the average post-period ATT."""
    n_t = eff.shape[0]
    t0min = int(t0s.min())
    labels = np.arange(-t0min, n_t - t0min)
    sums = np.zeros(labels.size)
    counts = np.zeros(labels.size)
    for j, t0 in enumerate(t0s):
        ev = np.arange(n_t) - t0
        keep = ev >= -t0min
        idx = ev[keep] + t0min
        sums[idx] += eff[keep, j]
        counts[idx] += 1
    att = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    post = np.arange(n_t)[:, None] >= t0s[None, :]
    return labels, att, float(eff[post].mean())


def gsynth_core(y: FloatArray, x: FloatArray, n0: int, t0s: FloatArray, *, force: int, r: int,
                r_range: tuple[int, int] | None, criterion: str, tol: float,
                beta0: FloatArray | None = None) -> _Core:
    """One gsynth fit: controls are columns ``:n0`` of ``y`` (times x units), treated units
    the rest with ``t0s`` pre-periods each. ``r_range`` given: cross-validate ``r`` over it."""
    y_co, y_tr = y[:, :n0], y[:, n0:]
    x_co, x_tr = x[:, :n0], x[:, n0:]
    cv = None
    if r_range is None:
        ife = inter_fe(y_co, x_co, r, force, beta0, tol)
        r_best = r
    else:
        rows = []
        best: IFEFit | None = None
        best_pc: IFEFit | None = None
        r_best = r_pc = r_range[0]
        min_mspe, min_pc = 1e20, 1e20
        for rr in range(r_range[0], r_range[1] + 1):
            est = inter_fe(y_co, x_co, rr, force, beta0, tol)
            u = _treated_residual(y_tr, x_tr, est, force)
            total, count = _loo_errors(u, _design(est, rr, force), t0s)
            mspe = total / count if count else math.inf
            if (min_mspe - mspe) > tol * min_mspe or best is None:
                best, r_best = est, rr
            if est.pc < min_pc or best_pc is None:
                best_pc, r_pc = est, rr
            min_mspe, min_pc = min(min_mspe, mspe), min(min_pc, est.pc)
            rows.append({"r": rr, "sigma2": est.sigma2, "ic": est.ic, "pc": est.pc,
                         "mspe": mspe})
        assert best is not None and best_pc is not None
        if criterion == "pc" and r_best > r_pc:
            best, r_best = best_pc, r_pc
        ife = best
        cv = pd.DataFrame(rows)
    u = _treated_residual(y_tr, x_tr, ife, force)
    eff = _impute(u, _design(ife, r_best, force), t0s)
    labels, att, att_avg = _summarise(eff, t0s)
    return _Core(r=r_best, beta=ife.beta, sigma2=ife.sigma2, residuals=ife.residuals,
                 factor=ife.factor, eff=eff, event_time=labels, att=att, att_avg=att_avg, cv=cv)


# --------------------------------------------------------------------------------------------
# EM variant (Gobillon and Magnac 2016; gsynth ``EM = TRUE``): treated pre-periods also inform
# the factors, the treated post-period cells are missing values imputed by EM
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EMFit:
    """Interactive fixed effects fitted by EM on the observed cells of a panel.

    ``fit`` is the fitted (imputed) outcome in every cell; ``residuals`` are zero in the
    missing cells; the other fields are as :class:`IFEFit`.
    """

    fit: FloatArray
    residuals: FloatArray
    beta: FloatArray
    factor: FloatArray
    sigma2: float
    ic: float
    pc: float
    niter: int


def additive_start(y: FloatArray, x: FloatArray, observed: FloatArray, force: int
                   ) -> tuple[FloatArray, FloatArray]:
    """Least-squares additive fixed effects (and covariates) on the observed cells: fitted
    values in every cell and the covariate coefficients (gsynth's ``initialFit``).

    The normal equations are assembled from sums (unit and period dummies are never built),
    with the first period as the reference when there are both unit and period effects.
    """
    n_t, n = y.shape
    p = x.shape[2]
    m = observed.astype("float64")
    my = m * y
    mx = m[:, :, None] * x
    blocks: list[tuple[str, int]] = [("x", p)]
    if force in (1, 3):
        blocks.append(("unit", n))
    if force in (2, 3):
        blocks.append(("time", n_t))
    if force == 0:
        blocks.append(("one", 1))
    # each block: cross-products with the outcome and with the other blocks
    def cross(a: str, b: str) -> FloatArray:
        if a == "x" and b == "x":
            return np.einsum("tnk,tnm->km", mx, x)
        if a == "x":
            return {"unit": mx.sum(axis=0).T, "time": mx.sum(axis=1).T,
                    "one": mx.sum(axis=(0, 1))[:, None]}[b]
        if b == "x":
            return cross(b, a).T
        key = (a, b)
        table = {("unit", "unit"): np.diag(m.sum(axis=0)), ("time", "time"): np.diag(m.sum(axis=1)),
                 ("unit", "time"): m.T, ("time", "unit"): m, ("one", "one"): np.array([[m.sum()]])}
        return table[key]
    rhs = {"x": np.einsum("tnk,tn->k", mx, y), "unit": my.sum(axis=0),
           "time": my.sum(axis=1), "one": np.array([my.sum()])}
    gram = np.block([[cross(a, b) for b, _ in blocks] for a, _ in blocks])
    vec = np.concatenate([rhs[a] for a, _ in blocks])
    keep = np.ones(vec.size, dtype=bool)
    if force == 3:
        keep[p + n] = False  # reference period
    coef = np.zeros(vec.size)
    coef[keep] = np.linalg.lstsq(gram[np.ix_(keep, keep)], vec[keep], rcond=None)[0]
    fitted = _xb(x, coef[:p])
    pos = p
    for name, size in blocks[1:]:
        c = coef[pos:pos + size]
        fitted = fitted + {"unit": c[None, :], "time": c[:, None], "one": c[0]}[name]
        pos += size
    return fitted, coef[:p]


def _ife_step(e: FloatArray, force: int, r: int) -> tuple[FloatArray, FloatArray]:
    """Additive effects by means, then factors of the remainder (gsynth's ``ife``):
    the fitted matrix and the factors."""
    mu = float(e.mean())
    fe = np.full(e.shape, mu)
    rest = e - mu
    if force in (1, 3):
        a = e.mean(axis=0) - mu
        fe = fe + a[None, :]
        rest = rest - a[None, :]
    if force in (2, 3):
        xi = e.mean(axis=1) - mu
        fe = fe + xi[:, None]
        rest = rest - xi[:, None]
    factor = np.zeros((e.shape[0], r))
    if r > 0:
        factor, loading = panel_factor(rest, r)
        fe = fe + factor @ loading.T
    return fe, factor


def em_fit(y: FloatArray, x: FloatArray, observed: FloatArray, r: int, force: int,
           tol: float) -> EMFit:
    """EM for interactive fixed effects with missing cells (gsynth's ``inter_fe_ub``).

    Parameters
    ----------
    y, x
        Outcomes (times x units) and covariates (times x units x p); values in unobserved
        cells are ignored.
    observed
        Boolean, times x units: cells used for estimation.
    r, force, tol
        Factors, additive fixed effects (0-3) and the relative change in the fitted values
        at which EM stops.
    """
    n_t, n = y.shape
    valid = [k for k in range(x.shape[2]) if np.abs(x[:, :, k]).sum() >= 1e-5]
    xv = x[:, :, valid]
    start, beta0 = additive_start(y, xv, observed, force)
    beta = beta0
    fit = start
    factor = np.zeros((n_t, r))
    if r > 0:
        factor, loading = panel_factor(np.where(observed, y - start, 0.0), r)
        fit = start + factor @ loading.T
    inv = np.linalg.inv(np.einsum("tnk,tnm->km", xv, xv)) if valid else None
    covar = _xb(xv, beta)
    fe = fit - covar
    change, niter = 1.0, 0
    while change > tol and niter <= MAX_ITER:
        yy = np.where(observed, y, fit)
        if inv is not None:
            beta = inv @ _xy(xv, yy - fe)
            covar = _xb(xv, beta)
            u = np.where(observed, yy - covar, fe)
        else:
            u = yy
        fe, factor = _ife_step(u, force, r)
        new = covar + fe
        change = float(np.linalg.norm(new - fit) / np.linalg.norm(fit))
        fit = new
        niter += 1
    resid = np.where(observed, y - fit, 0.0)
    obs = int(observed.sum())
    n_par = r * (n + n_t) - r**2 + len(valid) + 1
    n_par += {0: 0, 1: (n - 1) - r, 2: (n_t - 1) - r, 3: (n - 1) + (n_t - 1) - 2 * r}[force]
    ssr = float((resid**2).sum())
    sigma2 = ssr / (obs - n_par) if obs > n_par else math.nan
    ic = math.log(sigma2) + n_par * math.log(obs) / obs if sigma2 > 0 else math.nan
    nt = n * n_t
    c = (n + max(60 - n, 0)) * (n_t + max(60 - n_t, 0)) / nt
    pc = ssr / obs + r * sigma2 * c * (n + n_t) / nt * math.log(nt / (n + n_t))
    full_beta = np.full(x.shape[2], np.nan)
    full_beta[valid] = beta
    return EMFit(fit=fit, residuals=resid, beta=full_beta, factor=factor, sigma2=sigma2,
                 ic=ic, pc=pc, niter=niter)


def _observed(n_t: int, n0: int, t0s: FloatArray) -> FloatArray:
    obs = np.ones((n_t, n0 + t0s.size), dtype=bool)
    obs[:, n0:] = np.arange(n_t)[:, None] < t0s[None, :]
    return obs


def em_core(y: FloatArray, x: FloatArray, n0: int, t0s: FloatArray, *, force: int, r: int,
            r_range: tuple[int, int] | None, criterion: str, tol: float) -> _Core:
    """gsynth with ``EM = TRUE``: factors from the controls and the treated pre-periods;
    ``r_range`` given: each pre-period left out in turn (for every treated unit) and
    predicted by EM (gsynth's ``synth.em.cv``)."""
    n_t = y.shape[0]
    obs = _observed(n_t, n0, t0s)
    cv = None
    if r_range is None:
        est = em_fit(y, x, obs, r, force, tol)
        r_best = r
    else:
        rows = []
        best: EMFit | None = None
        best_pc: EMFit | None = None
        r_best = r_pc = r_range[0]
        min_mspe, min_pc = 1e20, 1e20
        for rr in range(r_range[0], r_range[1] + 1):
            fit_r = em_fit(y, x, obs, rr, force, tol)
            total, count = 0.0, 0
            for lv in range(int(t0s.max())):
                held = obs.copy()
                held[lv, n0:] = False
                out = em_fit(y, x, held, rr, force, tol)
                e = (y[lv, n0:] - out.fit[lv, n0:])[t0s > lv]
                total += float((e**2).sum())
                count += e.size
            mspe = total / count if count else math.inf
            if (min_mspe - mspe) > tol * min_mspe or best is None:
                best, r_best = fit_r, rr
            if fit_r.pc < min_pc or best_pc is None:
                best_pc, r_pc = fit_r, rr
            min_mspe, min_pc = min(min_mspe, mspe), min(min_pc, fit_r.pc)
            rows.append({"r": rr, "sigma2": fit_r.sigma2, "ic": fit_r.ic, "pc": fit_r.pc,
                         "mspe": mspe})
        assert best is not None and best_pc is not None
        if criterion == "pc" and r_best > r_pc:
            best, r_best = best_pc, r_pc
        est = best
        cv = pd.DataFrame(rows)
    eff = y[:, n0:] - est.fit[:, n0:]
    labels, att, att_avg = _summarise(eff, t0s)
    return _Core(r=r_best, beta=est.beta, sigma2=est.sigma2, residuals=est.residuals[:, :n0],
                 factor=est.factor, eff=eff, event_time=labels, att=att, att_avg=att_avg,
                 cv=cv)


# --------------------------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------------------------

def _refit(y: FloatArray, x: FloatArray, n0: int, t0s: FloatArray, core: _Core, force: int,
           tol: float, em: bool) -> _Core | None:
    try:
        if em:
            return em_core(y, x, n0, t0s, force=force, r=core.r, r_range=None,
                           criterion="mspe", tol=tol)
        return gsynth_core(y, x, n0, t0s, force=force, r=core.r, r_range=None,
                           criterion="mspe", tol=tol, beta0=core.beta)
    except (DesignError, np.linalg.LinAlgError):
        return None


def parametric_draws(y: FloatArray, x: FloatArray, n0: int, t0s: FloatArray, core: _Core, *,
                     force: int, tol: float, reps: int, rng: np.random.Generator,
                     em: bool = False) -> tuple[FloatArray, FloatArray]:
    """gsynth's parametric bootstrap: (ATT-average draws, ATT-by-event-time draws)."""
    n_t, n_tr = y.shape[0], y.shape[1] - n0
    fitted = y.copy()
    fitted[:, n0:] = y[:, n0:] - core.eff
    fitted[:, :n0] = y[:, :n0] - core.residuals
    avg = np.full(reps, np.nan)
    by_time = np.full((reps, core.att.size), np.nan)
    if em:
        # gsynth's EM branch: every unit's errors are resampled control residual series
        for b in range(reps):
            yb = fitted + core.residuals[:, rng.integers(n0, size=n0 + n_tr)]
            fit = _refit(yb, x, n0, t0s, core, force, tol, em)
            if fit is not None:
                avg[b] = fit.att_avg + core.att_avg
                by_time[b] = fit.att + core.att
        return avg, by_time
    # 1. prediction errors: a control as pseudo-treated (with the treated units' timing),
    #    the other controls resampled as its donors
    errors = np.full((reps, n_t, n_tr), np.nan)
    for b in range(reps):
        fake = int(rng.integers(n0))
        rest = np.delete(np.arange(n0), fake)
        donors = rest[rng.integers(rest.size, size=n0)]
        cols = np.concatenate([donors, np.full(n_tr, fake)])
        fit = _refit(y[:, cols], x[:, cols], n0, t0s, core, force, tol, em)
        if fit is not None:
            errors[b] = fit.eff
    ok = ~np.isnan(errors).any(axis=(1, 2))
    if not ok.any():
        raise DesignError("the parametric bootstrap could not simulate prediction errors",
                          where=f"{WHERE}.inference", hint="use fewer factors (r)")
    errors = errors[ok]
    # 2. outcomes = fitted values + resampled errors, refitted with the chosen r
    for b in range(reps):
        ctrl = rng.integers(n0, size=n0)
        e_tr = errors[rng.integers(errors.shape[0], size=n_tr), :, np.arange(n_tr)].T
        e_co = core.residuals[:, rng.integers(n0, size=n0)]
        yb = np.column_stack([fitted[:, ctrl] + e_co, fitted[:, n0:] + e_tr])
        xb = np.concatenate([x[:, ctrl], x[:, n0:]], axis=1)
        fit = _refit(yb, xb, n0, t0s, core, force, tol, em)
        if fit is not None:
            avg[b] = fit.att_avg + core.att_avg
            by_time[b] = fit.att + core.att
    return avg, by_time


def nonparametric_draws(y: FloatArray, x: FloatArray, n0: int, t0s: FloatArray, core: _Core,
                        *, force: int, tol: float, reps: int, rng: np.random.Generator,
                        em: bool = False) -> tuple[FloatArray, FloatArray]:
    """Treated and control units resampled separately; ATT by event time aligned by label."""
    n_tr = y.shape[1] - n0
    avg = np.full(reps, np.nan)
    by_time = np.full((reps, core.att.size), np.nan)
    for b in range(reps):
        tr = rng.integers(n_tr, size=n_tr)
        cols = np.concatenate([rng.integers(n0, size=n0), n0 + tr])
        fit = _refit(y[:, cols], x[:, cols], n0, t0s[tr], core, force, tol, em)
        if fit is None:
            continue
        avg[b] = fit.att_avg
        pos = np.searchsorted(core.event_time, fit.event_time)
        inside = (pos < core.event_time.size)
        inside[inside] &= core.event_time[pos[inside]] == fit.event_time[inside]
        by_time[b, pos[inside]] = fit.att[inside]
    return avg, by_time


def _sd(draws: FloatArray) -> FloatArray:
    ok = np.isfinite(draws)
    n = ok.sum(axis=0)
    mean = np.where(ok, draws, 0.0).sum(axis=0) / np.maximum(n, 1)
    ss = np.where(ok, (draws - mean) ** 2, 0.0).sum(axis=0)
    return np.where(n > 1, np.sqrt(ss / np.maximum(n - 1, 1)), np.nan)


# --------------------------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GeneralizedFit:
    """A generalised synthetic control fit.

    Attributes
    ----------
    att_avg, std_error, ci_lower, ci_upper, p_value
        Average ATT over all treated unit-periods and its bootstrap inference.
    r
        Number of factors (chosen by cross-validation unless given).
    att
        ATT by event time: ``event_time`` (0 = first treated period), ``att, std_error,
        ci_lower, ci_upper, p_value, n_treated`` (treated units observed at that event time
        after adoption; 0 for pre-periods, whose ATT is the in-sample fit error).
    cv
        Cross-validation table ``r, sigma2, ic, pc, mspe`` (None when ``r`` is given).
    beta
        Covariate coefficients by name.
    factors
        ``time`` and one column per factor (``f1``, ``f2``, ...).
    effects
        Long table ``unit, time, event_time, observed, counterfactual, effect`` for the
        treated units.
    path
        ``time, treated_mean, counterfactual_mean, control_mean`` by calendar time (means
        over the treated units; with staggered adoption they mix pre- and post-periods).
    sigma2, pre_rmspe
        Control residual variance; treated units' root mean squared pre-period fit error.
    """

    att_avg: float
    std_error: float
    ci_lower: float
    ci_upper: float
    p_value: float
    r: int
    att: pd.DataFrame
    cv: pd.DataFrame | None
    beta: dict[str, float]
    factors: pd.DataFrame
    effects: pd.DataFrame
    path: pd.DataFrame
    sigma2: float
    pre_rmspe: float
    n_treated: int
    n_control: int
    n_dropped_treated: int
    n_donors_dropped: int
    inference: str
    replications: int
    n_failed_draws: int
    warnings: tuple[str, ...]


def _covariate_array(panel: Panel, covariates: Sequence[str]) -> FloatArray:
    long = panel.long
    out = np.empty((len(panel.times), len(panel.units), len(covariates)))
    for k, name in enumerate(covariates):
        try:
            values = pd.to_numeric(long[name], errors="raise").astype("float64")
        except (TypeError, ValueError) as exc:
            raise SchemaError("covariate must be numeric", where=f"{WHERE}.{name}") from exc
        wide = pd.DataFrame({"u": long[panel.unit].to_numpy(), "t": long[panel.time].to_numpy(),
                             "v": values.to_numpy()}).pivot(index="t", columns="u", values="v")
        arr = wide.reindex(index=list(panel.times), columns=list(panel.units)).to_numpy()
        if np.isnan(arr).any():
            raise SchemaError(f"covariate has {int(np.isnan(arr).sum())} missing unit-period "
                              "value(s)", where=f"{WHERE}.{name}",
                              hint="impute or drop the covariate; the panel must be complete")
        if np.allclose(arr, arr[:1, :]):
            raise DesignError("covariate does not change over time within any unit",
                              where=f"{WHERE}.{name}",
                              hint="time-invariant covariates are absorbed by the unit effects "
                                   "and loadings: remove it")
        if np.allclose(arr, arr[:, :1]):
            raise DesignError("covariate does not vary between units", where=f"{WHERE}.{name}",
                              hint="unit-invariant covariates are absorbed by the time effects "
                                   "and factors: remove it")
        out[:, :, k] = arr
    return out


@register_estimator("generalized_synthetic_control")
@dataclass(frozen=True, kw_only=True)
class GeneralizedSyntheticControl:
    """Generalised synthetic control: interactive fixed effects counterfactuals (R gsynth).

    Parameters
    ----------
    force
        Additive fixed effects: ``"none"``, ``"unit"`` (default, as gsynth), ``"time"`` or
        ``"two-way"``.
    r
        Number of factors; ``None`` (default) chooses it by cross-validation over
        ``r_range``.
    r_range
        Smallest and largest number of factors tried by cross-validation (default 0 to 5).
    criterion
        ``"mspe"`` (default: leave-one-period-out prediction error) or ``"pc"`` (Bai-Ng PC
        criterion caps the cross-validated choice).
    inference
        ``"parametric"`` (default), ``"nonparametric"`` (many treated units) or ``"none"``.
    replications
        Bootstrap replications (gsynth's default 200).
    level
        Confidence level of the normal intervals.
    min_pre_periods
        Treated units with fewer pre-treatment periods are dropped with a warning (gsynth's
        ``min.T0``, default 5).
    tol
        Convergence tolerance of the alternating least squares (or EM), and the relative
        improvement in MSPE a further factor must bring (gsynth's ``tol``, default 0.001).
    em
        ``True``: the EM algorithm of Gobillon and Magnac (2016) (gsynth ``EM = TRUE``): the
        treated units' pre-periods also inform the factors, their post-periods are missing
        values imputed by EM; cross-validation refits EM with each pre-period left out (slower).
        Better with few controls; the parametric bootstrap then resamples control residual
        series for every unit.
    seed
        Seed of the bootstrap generator.

    Notes
    -----
    ``fit`` takes ``covariates`` (time-varying columns, optional) besides the panel roles.
    ``details``: ``r``, ``force``, ``em``, ``criterion``, ``inference``, ``replications``, ``cv``
    (records), ``att_by_event_time`` (records), ``beta``, ``sigma2``, ``pre_rmspe``,
    ``n_dropped_treated``, ``n_donors_dropped``, ``n_failed_draws``, ``staggered``,
    ``warnings``.
    """

    design: ClassVar[str] = "synthetic_control"

    force: Force = "unit"
    r: int | None = None
    r_range: tuple[int, int] = (0, 5)
    criterion: Literal["mspe", "pc"] = "mspe"
    inference: Inference = "parametric"
    replications: int = 200
    level: float = 0.95
    min_pre_periods: int = 5
    tol: float = 1e-3
    em: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.force not in FORCE_CODES:
            raise ConfigError("unknown force; allowed: none, unit, time, two-way",
                              where=f"{WHERE}.force")
        if self.r is not None and (not isinstance(self.r, int) or isinstance(self.r, bool)
                                   or self.r < 0):
            raise ConfigError("r must be a non-negative integer (or null to cross-validate)",
                              where=f"{WHERE}.r")
        rng_ = tuple(self.r_range)
        if (len(rng_) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                      for v in rng_) or not 0 <= rng_[0] <= rng_[1]):
            raise ConfigError("r_range must be two integers 0 <= low <= high, e.g. [0, 5]",
                              where=f"{WHERE}.r_range")
        object.__setattr__(self, "r_range", (int(rng_[0]), int(rng_[1])))
        if self.criterion not in ("mspe", "pc"):
            raise ConfigError("unknown criterion; allowed: mspe, pc", where=f"{WHERE}.criterion")
        if self.inference not in ("parametric", "nonparametric", "none"):
            raise ConfigError("unknown inference; allowed: parametric, nonparametric, none",
                              where=f"{WHERE}.inference")
        if not isinstance(self.replications, int) or self.replications < 2:
            raise ConfigError("replications must be an integer >= 2",
                              where=f"{WHERE}.replications")
        if not 0.0 < float(self.level) < 1.0:
            raise ConfigError("level must be between 0 and 1, e.g. 0.95", where=f"{WHERE}.level")
        if not isinstance(self.min_pre_periods, int) or self.min_pre_periods < 1:
            raise ConfigError("min_pre_periods must be a positive integer",
                              where=f"{WHERE}.min_pre_periods")
        if not (math.isfinite(self.tol) and self.tol > 0):
            raise ConfigError("tol must be a positive number", where=f"{WHERE}.tol")
        if not isinstance(self.em, bool):
            raise ConfigError("em must be true or false", where=f"{WHERE}.em")

    def _identified(self, t0min: int, n0: int, messages: list[str]) -> None:
        unit_fe = FORCE_CODES[self.force] in (1, 3)
        top = self.r if self.r is not None else self.r_range[1]
        # gsynth: loadings (plus the unit's own level) need r (+1) pre-periods; cross-validation
        # needs one more to leave out
        need = top + int(unit_fe) + (0 if self.r is not None else 1)
        if t0min < need:
            what = f"r = {top}" if self.r is not None else f"cross-validation up to r = {top}"
            raise DesignError(
                f"{what} with force = {self.force!r} needs at least {need} pre-treatment "
                f"periods per treated unit; the shortest has {t0min}",
                where=f"{WHERE}.{'r' if self.r is not None else 'r_range'}",
                hint="use fewer factors, or a longer pre-period, or raise min_pre_periods to "
                     "drop treated units with short pre-periods")
        if n0 <= top:
            raise DesignError(f"{top} factor(s) need more than {top} control units; found {n0}",
                              where=f"{WHERE}.r_range" if self.r is None else f"{WHERE}.r",
                              hint="use fewer factors or a larger donor pool")
        if n0 < 10:
            messages.append(f"only {n0} control units: the factors are poorly estimated from "
                            "few controls (Xu 2017 recommends a large control group)")

    def fit_details(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str,
                    treatment: str, covariates: Sequence[str] = ()) -> GeneralizedFit:
        """Fit and return the full :class:`GeneralizedFit` (roles as ``fit``)."""
        if isinstance(covariates, str):
            covariates = [covariates]
        covariates = list(covariates)
        panel, dropped = build_panel(data, unit=unit, time=time, outcome=outcome,
                                     treatment=treatment, where=WHERE, min_pre_periods=1,
                                     extra=covariates)
        messages: list[str] = []
        n0 = panel.n_control
        t0_all = np.asarray(panel.adoption, dtype=int)
        keep = t0_all >= self.min_pre_periods
        if not keep.any():
            raise DesignError(f"every treated unit has fewer than {self.min_pre_periods} "
                              "pre-treatment periods", where=f"{WHERE}.{time}",
                              hint="use a longer pre-period or lower min_pre_periods")
        n_drop_tr = int((~keep).sum())
        if n_drop_tr:
            messages.append(f"{n_drop_tr} treated unit(s) with fewer than "
                            f"{self.min_pre_periods} pre-treatment periods were dropped")
        cols = np.concatenate([np.arange(n0), n0 + np.flatnonzero(keep)])
        units = [panel.units[i] for i in cols]
        t0s = t0_all[keep]
        y = panel.y[cols].T  # times x units
        x = (_covariate_array(panel, covariates)[:, cols, :] if covariates
             else np.zeros((y.shape[0], y.shape[1], 0)))
        self._identified(int(t0s.min()), n0, messages)
        force = FORCE_CODES[self.force]
        r_range = None if self.r is not None else self.r_range
        if self.em:
            core = em_core(y, x, n0, t0s, force=force, r=self.r or 0, r_range=r_range,
                           criterion=self.criterion, tol=self.tol)
        else:
            core = gsynth_core(y, x, n0, t0s, force=force, r=self.r or 0, r_range=r_range,
                               criterion=self.criterion, tol=self.tol)
        if covariates and np.isnan(core.beta).any():
            messages.append("covariate(s) with no variation left after the fixed effects were "
                            "dropped (coefficient NaN)")
        n_tr = t0s.size
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        se_avg, se_t = math.nan, np.full(core.att.size, np.nan)
        failed = 0
        if self.inference != "none":
            if self.inference == "nonparametric":
                if n_tr < 2:
                    raise DesignError("the nonparametric bootstrap needs several treated units",
                                      where=f"{WHERE}.inference",
                                      hint="use inference: parametric with few treated units")
                if n_tr < 40:
                    messages.append(f"nonparametric bootstrap with {n_tr} treated units (< 40) "
                                    "may be unreliable; gsynth suggests the parametric one")
                draw = nonparametric_draws
            else:
                if n0 < core.r + 2:
                    raise DesignError("the parametric bootstrap needs at least r + 2 control "
                                      "units", where=f"{WHERE}.inference",
                                      hint="use fewer factors or a larger donor pool")
                draw = parametric_draws
            rng = np.random.default_rng(self.seed)
            avg, by_time = draw(y, x, n0, t0s, core, force=force, tol=self.tol,
                                reps=self.replications, rng=rng, em=self.em)
            failed = int(np.isnan(avg).sum())
            if failed > self.replications // 2:
                raise DesignError(f"{failed} of {self.replications} bootstrap fits failed",
                                  where=f"{WHERE}.inference",
                                  hint="use fewer factors or a longer pre-period")
            if failed:
                messages.append(f"{failed} of {self.replications} bootstrap fits failed and "
                                "were left out")
            se_avg = float(_sd(avg[:, None])[0])
            se_t = _sd(by_time)
        ok = math.isfinite(se_avg) and se_avg > 0
        times = list(panel.times)
        n_t = len(times)
        post = np.arange(n_t)[:, None] >= t0s[None, :]
        pre_rmspe = float(np.sqrt(np.mean(core.eff[~post] ** 2)))
        sigma2 = core.sigma2
        if math.isfinite(sigma2) and pre_rmspe > 2 * math.sqrt(sigma2):
            messages.append(f"poor pre-period fit: treated RMSPE {pre_rmspe:.3g} is more than "
                            f"twice the controls' residual SD {math.sqrt(sigma2):.3g}")
        for m in messages:
            warnings.warn(m, SyntheticControlWarning, stacklevel=2)
        n_by = np.array([(t0s + e < n_t).sum() if e >= 0 else 0 for e in core.event_time])
        with np.errstate(invalid="ignore", divide="ignore"):
            p_t = 2 * stats.norm.sf(np.abs(core.att / se_t))
        att = pd.DataFrame({"event_time": core.event_time.astype(int), "att": core.att,
                            "std_error": se_t, "ci_lower": core.att - z * se_t,
                            "ci_upper": core.att + z * se_t, "p_value": p_t,
                            "n_treated": n_by.astype(int)})
        tr_units = units[n0:]
        y_tr = y[:, n0:]
        effects = pd.DataFrame({
            "unit": np.repeat(np.array(tr_units, dtype=object), n_t),
            "time": np.tile(np.array(times, dtype=object), n_tr),
            "event_time": (np.arange(n_t)[None, :] - t0s[:, None]).ravel(),
            "observed": y_tr.T.ravel(), "counterfactual": (y_tr - core.eff).T.ravel(),
            "effect": core.eff.T.ravel()})
        path = pd.DataFrame({"time": times, "treated_mean": y_tr.mean(axis=1),
                             "counterfactual_mean": (y_tr - core.eff).mean(axis=1),
                             "control_mean": y[:, :n0].mean(axis=1)})
        factors = pd.DataFrame({"time": times})
        for k in range(core.r):
            factors[f"f{k + 1}"] = core.factor[:, k]
        return GeneralizedFit(
            att_avg=core.att_avg, std_error=se_avg,
            ci_lower=core.att_avg - z * se_avg if ok else math.nan,
            ci_upper=core.att_avg + z * se_avg if ok else math.nan,
            p_value=float(2 * stats.norm.sf(abs(core.att_avg) / se_avg)) if ok else math.nan,
            r=core.r, att=att, cv=core.cv,
            beta={c: float(b) for c, b in zip(covariates, core.beta, strict=True)},
            factors=factors, effects=effects, path=path, sigma2=sigma2, pre_rmspe=pre_rmspe,
            n_treated=n_tr, n_control=n0, n_dropped_treated=n_drop_tr, n_donors_dropped=dropped,
            inference=self.inference, replications=self.replications, n_failed_draws=failed,
            warnings=tuple(messages))

    def fit(self, data: pd.DataFrame, *, unit: str, time: str, outcome: str, treatment: str,
            covariates: Sequence[str] = ()) -> EffectEstimate:
        """Fit and summarise as an :class:`EffectEstimate` (average ATT, difference scale).

        Parameters
        ----------
        data
            Long table, one row per unit and period.
        unit, time, outcome
            Column names.
        treatment
            0/1 column: 1 for a treated unit from its first treated period on (adoption may
            differ between units).
        covariates
            Time-varying covariate columns (optional).
        """
        res = self.fit_details(data, unit=unit, time=time, outcome=outcome,
                               treatment=treatment, covariates=covariates)
        return self.to_estimate(res, outcome=outcome)

    def to_estimate(self, res: Any, *, outcome: str) -> EffectEstimate:
        """Summarise a :meth:`fit_details` result as an :class:`EffectEstimate` (no refit)."""
        details: dict[str, Any] = {
            "r": res.r, "force": self.force, "em": self.em, "criterion": self.criterion,
            "inference": self.inference, "replications": self.replications,
            "cv": res.cv if res.cv is not None else [],
            "att_by_event_time": res.att, "beta": res.beta, "sigma2": res.sigma2,
            "pre_rmspe": res.pre_rmspe, "n_dropped_treated": res.n_dropped_treated,
            "n_donors_dropped": res.n_donors_dropped, "n_failed_draws": res.n_failed_draws,
            "staggered": bool(res.effects.groupby("unit", sort=False)["event_time"].min()
                              .nunique() > 1),
            "warnings": list(res.warnings)}
        return EffectEstimate(
            design="synthetic_control",
            estimator="generalized_synthetic_control" + (":em" if self.em else ""),
            outcome=outcome, estimand="ATT", scale="difference", estimate=res.att_avg,
            std_error=res.std_error, ci_lower=res.ci_lower, ci_upper=res.ci_upper,
            p_value=res.p_value, n_treated=res.n_treated, n_control=res.n_control,
            ci_level=self.level, details=details)
