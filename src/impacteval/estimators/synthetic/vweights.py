"""Nested optimisation of the predictor weights V and donor weights W (Abadie et al.).

For a diagonal V on the simplex, W(V) minimises the V-weighted predictor distance between the
treated unit and the weighted donors; V is chosen to minimise the mean squared prediction
error of the outcome over the optimisation periods. The outer search runs local optimisers over
``v = |x| / sum|x|`` (R Synth's parametrisation) from one or several starts and keeps the
best fit; the problem is multi-modal (see :func:`nested_fit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import minimize

from impacteval.estimators.synthetic.simplex import simplex_least_squares

FloatArray = np.ndarray
VSearch = Literal["synth", "multistart"]


@dataclass(frozen=True)
class NestedFit:
    """Result of the nested V/W optimisation.

    Attributes
    ----------
    w
        Donor weights (simplex), shape (donors,).
    v
        Predictor weights (simplex), shape (predictors,).
    loss_v
        Mean squared outcome prediction error over the optimisation periods.
    loss_w
        V-weighted squared predictor distance at ``w``.
    start
        Which start gave the best fit (``"equal"``, ``"regression"``, ``"random<k>"`` or
        ``"fixed"``).
    """

    w: FloatArray
    v: FloatArray
    loss_v: float
    loss_w: float
    start: str


#: Squared predictor distance (relative) below which the predictors count as matched exactly.
EXACT_MATCH = 1e-14


def scale_predictors(x: FloatArray) -> FloatArray:
    """Divide each predictor (row) by its standard deviation across all units (R Synth)."""
    sd = x.std(axis=1, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    return x / sd[:, None]


def solve_w(v: FloatArray, x0: FloatArray, x1: FloatArray, z0: FloatArray | None = None,
            z1: FloatArray | None = None) -> FloatArray:
    """Donor weights for fixed predictor weights ``v`` (scaled predictors).

    With fewer predictors than donors the treated unit's predictors can often be matched
    exactly by many donor combinations, and the inner problem has no unique solution (R Synth
    and pysyncon then return whichever their solver stops at). When the match is exact and the
    outcomes ``z0, z1`` are given, the combination that also fits the optimisation-period
    outcomes best is chosen: the predictor equations are kept as heavily weighted rows of a
    simplex least-squares problem on the outcomes.
    """
    root = np.sqrt(np.clip(v, 0.0, None))
    a = root[:, None] * x0
    b = root * x1
    w = simplex_least_squares(a, b)
    if z0 is None or z1 is None:
        return w
    r = a @ w - b
    if float(r @ r) > EXACT_MATCH * (1.0 + float(b @ b)):
        return w
    scale = max(float(np.abs(z0).max()), 1.0) / max(float(np.abs(a).max()), 1e-12)
    big = 1e3 * scale
    w2 = simplex_least_squares(np.vstack([z0, big * a]), np.append(z1, big * b))
    r2 = a @ w2 - b
    return w2 if float(r2 @ r2) <= EXACT_MATCH * (1.0 + float(b @ b)) * 1e2 else w


def _regression_start(x0: FloatArray, x1: FloatArray, z0: FloatArray, z1: FloatArray) -> FloatArray:
    # Synth's start: regress each optimisation-period outcome on the scaled predictors across
    # units and weight each predictor by the sum of its squared coefficients.
    xall = np.column_stack([np.ones(x0.shape[1] + 1), np.column_stack([x0, x1]).T])
    zall = np.column_stack([z0, z1]).T
    beta, *_ = np.linalg.lstsq(xall, zall, rcond=None)
    v = (beta[1:] ** 2).sum(axis=1)
    total = v.sum()
    if not np.isfinite(total) or total <= 0:
        return np.full(x0.shape[0], 1.0 / x0.shape[0])
    return v / total


def nested_fit(
    x0: FloatArray,
    x1: FloatArray,
    z0: FloatArray,
    z1: FloatArray,
    *,
    rng: np.random.Generator,
    n_random_starts: int = 2,
    fixed_v: FloatArray | None = None,
    search: VSearch = "synth",
    max_iter: int = 1000,
) -> NestedFit:
    """Choose V and W.

    Parameters
    ----------
    x0, x1
        Scaled predictors of the donors (predictors, donors) and the treated unit (predictors,).
    z0, z1
        Outcomes over the optimisation periods: donors (periods, donors) and treated (periods,).
    rng
        Generator for the random starts.
    n_random_starts
        Random Dirichlet starts in addition to the equal and regression-based ones.
    fixed_v
        Use these predictor weights (normalised) instead of searching.
    search
        ``"synth"``: from equal weights, Nelder-Mead (restarted once from its solution) and
        BFGS, keeping the better (R Synth's default ``optimx`` methods; reproduces its Basque
        weights). ``"multistart"``: also Synth's regression-based start and
        ``n_random_starts`` Dirichlet starts, each with Nelder-Mead, BFGS and Powell; it can
        find a lower pre-period loss than R Synth (a different local optimum).
    max_iter
        Iterations per local search.
    """
    k = x0.shape[0]

    def losses(v: FloatArray) -> tuple[FloatArray, float, float]:
        w = solve_w(v, x0, x1, z0, z1)
        r = z1 - z0 @ w
        d = x1 - x0 @ w
        return w, float(r @ r) / z0.shape[0], float((v * d * d).sum())

    if fixed_v is not None:
        v = np.abs(np.asarray(fixed_v, dtype="float64"))
        v = v / v.sum()
        w, lv, lw = losses(v)
        return NestedFit(w=w, v=v, loss_v=lv, loss_w=lw, start="fixed")
    if k == 1:
        v = np.ones(1)
        w, lv, lw = losses(v)
        return NestedFit(w=w, v=v, loss_v=lv, loss_w=lw, start="equal")

    def objective(x: FloatArray) -> float:
        a = np.abs(x)
        s = a.sum()
        if s <= 0 or not np.isfinite(s):
            return np.inf
        return losses(a / s)[1]

    starts: dict[str, FloatArray] = {"equal": np.full(k, 1.0 / k)}
    methods = ["Nelder-Mead", "BFGS"]
    if search == "multistart":
        starts["regression"] = _regression_start(x0, x1, z0, z1)
        for j in range(n_random_starts):
            starts[f"random{j + 1}"] = rng.dirichlet(np.ones(k))
        methods.append("Powell")
    best: NestedFit | None = None
    for name, x_start in starts.items():
        for method in methods:
            res = minimize(objective, x_start, method=method, options={"maxiter": max_iter})
            if method == "Nelder-Mead":
                # one restart from the solution: a fresh simplex escapes a collapsed one
                a = np.abs(res.x)
                res = minimize(objective, a / a.sum(), method=method,
                               options={"maxiter": max_iter})
            a = np.abs(res.x)
            if not np.isfinite(a.sum()) or a.sum() <= 0:
                continue
            v = a / a.sum()
            w, lv, lw = losses(v)
            if best is None or lv < best.loss_v - 1e-14:
                best = NestedFit(w=w, v=v, loss_v=lv, loss_w=lw, start=f"{name}/{method}")
    assert best is not None
    return best
