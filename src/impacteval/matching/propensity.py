"""Propensity-score models.

:class:`PropensityModel` fits an unpenalised logistic regression of treatment on the
covariates (with an intercept) by Newton-Raphson / IRLS to full convergence, so its
coefficients agree with R's ``glm(treat ~ ., family = binomial)`` (the model MatchIt fits for
``distance = "glm"``) to machine precision, not to an optimiser's tolerance. Nothing is
standardised: coefficients are on the covariates' own scales. Text and categorical
covariates are coded as indicators with the first sorted level as reference
(see :mod:`impacteval.matching.covariates`).

Failures a user can cause raise :class:`~impacteval.exceptions.DesignError`:

* a singular design (a constant covariate, or one that is a linear combination of others);
* perfect or quasi-complete separation (some covariate pattern predicts treatment exactly,
  so the maximum-likelihood estimate does not exist). It is confirmed with the linear
  programme of Konis (2007) when the fit does not converge or fitted probabilities reach
  0 or 1 numerically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special

from impacteval.exceptions import DesignError
from impacteval.matching.covariates import Encoding, as_treatment, encode

_WHERE = "matching.propensity"


@dataclass(frozen=True, kw_only=True)
class FittedPropensity:
    """A fitted propensity model.

    Attributes
    ----------
    coef
        Coefficients named ``"intercept"`` and then the design columns (indicator columns of
        a categorical covariate are named ``"<column>[<level>]"``).
    propensity
        Fitted probability of treatment per unit, in the order of the rows of ``X``.
    logit
        Fitted linear predictor (log-odds) per unit.
    converged, n_iter
        Convergence of the Newton iterations.
    encoding
        How the covariates were coded (used by :meth:`predict_logit`).
    """

    coef: pd.Series
    propensity: np.ndarray
    logit: np.ndarray
    converged: bool
    n_iter: int
    encoding: Encoding

    def predict_logit(self, X: pd.DataFrame) -> np.ndarray:
        """Linear predictor for new units with the same covariate columns."""
        Z = self.encoding.transform(X, where=_WHERE)
        return self.coef.to_numpy()[0] + Z @ self.coef.to_numpy()[1:]

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Propensity for new units with the same covariate columns."""
        return np.asarray(special.expit(self.predict_logit(X)))


@dataclass(frozen=True, kw_only=True)
class PropensityModel:
    """Logistic propensity-score model (unpenalised maximum likelihood).

    Parameters
    ----------
    kind
        Only ``"logistic"`` for now (gradient boosting is planned under issue 3).
    max_iter
        Newton iterations before giving up.
    tol
        Convergence when the largest coefficient change is below
        ``tol * (1 + max |coefficient|)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"age": [70, 80, 75, 90, 85, 72], "frail": [0, 1, 0, 1, 1, 1]})
    >>> fit = PropensityModel().fit(X, np.array([0, 1, 1, 1, 0, 0]))
    >>> list(fit.coef.index)
    ['intercept', 'age', 'frail']
    """

    kind: Literal["logistic"] = "logistic"
    max_iter: int = 100
    tol: float = 1e-10

    def __post_init__(self) -> None:
        if self.kind != "logistic":
            raise ValueError(f"kind must be 'logistic', got {self.kind!r}")
        if self.max_iter < 1:
            raise ValueError("max_iter must be at least 1")
        if not self.tol > 0:
            raise ValueError("tol must be positive")

    def fit(self, X: pd.DataFrame, treated: np.ndarray) -> FittedPropensity:
        """Fit the model.

        Parameters
        ----------
        X
            Covariates, one row per unit (not modified). No missing values.
        treated
            Treatment indicator (bool or 0/1), one per row of ``X``.

        Raises
        ------
        DesignError
            Missing covariate values, only one arm, a singular design or separation.
        """
        t = as_treatment(treated, len(X), where=_WHERE)
        n1 = int(t.sum())
        if n1 == 0 or n1 == len(t):
            raise DesignError(
                f"the propensity model needs treated and control units (treated: {n1}, "
                f"control: {len(t) - n1})",
                where=_WHERE,
                hint="check the cohort filters: one arm is empty",
            )
        Z, names, enc = encode(X, drop_first=True, where=_WHERE)
        design = np.column_stack([np.ones(len(t)), Z])
        names = ["intercept", *names]
        _check_rank(design, names)
        y = t.astype(float)
        beta, converged, n_iter = _newton_logistic(design, y, self.max_iter, self.tol)
        eta = design @ beta
        p = special.expit(eta)
        extreme = bool(np.any(p < 1e-10) or np.any(p > 1 - 1e-10))
        if not converged or extreme:
            separating = _separating_columns(design, y, names)
            if separating:
                raise DesignError(
                    "treatment is perfectly predicted by the covariates (separation): "
                    f"{', '.join(separating)}",
                    where=_WHERE,
                    hint="drop or coarsen these covariates, merge rare categories, or restrict the "
                    "cohort to units with overlap (see the propensity overlap plot)",
                )
            if not converged:
                raise DesignError(
                    f"the propensity model did not converge in {self.max_iter} iterations",
                    where=_WHERE,
                    hint="rescale covariates with extreme values or simplify the model",
                )
        return FittedPropensity(
            coef=pd.Series(beta, index=names, name="coef"),
            propensity=np.asarray(p),
            logit=eta,
            converged=converged,
            n_iter=n_iter,
            encoding=enc,
        )


def _check_rank(design: np.ndarray, names: list[str]) -> None:
    """Raise DesignError naming the first column that adds nothing to the ones before it."""
    scale = np.sqrt(np.mean(design**2, axis=0))
    zero = np.flatnonzero(scale == 0)
    if zero.size:
        raise DesignError(
            f"covariate {names[zero[0]]!r} is zero for every unit",
            where=_WHERE,
            hint="drop the covariate",
        )
    scaled = design / scale
    if np.linalg.matrix_rank(scaled) == design.shape[1]:
        return
    for j in range(1, design.shape[1] + 1):
        if np.linalg.matrix_rank(scaled[:, :j]) < j:
            raise DesignError(
                f"covariate {names[j - 1]!r} is constant or a linear combination of the "
                "covariates before it (singular design)",
                where=_WHERE,
                hint="drop the redundant covariate (for example one category of a full set of "
                "indicators, or a covariate with a single value in this cohort)",
            )


def _newton_logistic(
    X: np.ndarray, y: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, bool, int]:
    """Newton-Raphson for the logistic log-likelihood with step halving."""
    beta = np.zeros(X.shape[1])

    def loglik(b: np.ndarray) -> float:
        eta = X @ b
        # log p = -log(1 + e^-eta); log(1 - p) = -log(1 + e^eta)
        return float(-np.sum(y * np.logaddexp(0, -eta) + (1 - y) * np.logaddexp(0, eta)))

    ll = loglik(beta)
    for it in range(1, max_iter + 1):
        p = special.expit(X @ beta)
        w = p * (1 - p)
        grad = X.T @ (y - p)
        hess = (X * w[:, None]).T @ X
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return beta, False, it
        new = beta + step
        new_ll = loglik(new)
        halvings = 0
        while not new_ll >= ll - 1e-12 * abs(ll) and halvings < 30:
            step = step / 2
            new = beta + step
            new_ll = loglik(new)
            halvings += 1
        converged = bool(np.max(np.abs(step)) < tol * (1 + np.max(np.abs(new))))
        beta, ll = new, new_ll
        if converged:
            return beta, True, it
    return beta, False, max_iter


def _separating_columns(X: np.ndarray, y: np.ndarray, names: list[str]) -> list[str]:
    """Konis (2007) linear programme: a direction b with s_i x_i'b >= 0 for all i, not all 0.

    Returns the names of the covariates in the separating direction (empty if none exists).
    """
    scale = np.max(np.abs(X), axis=0)
    scale[scale == 0] = 1.0
    Xs = X / scale
    s = np.where(y == 1, 1.0, -1.0)
    A = s[:, None] * Xs
    res = optimize.linprog(
        c=-A.sum(axis=0),
        A_ub=-A,
        b_ub=np.zeros(len(y)),
        bounds=[(-1.0, 1.0)] * X.shape[1],
        method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-6:
        return []
    b = res.x
    involved = [names[j] for j in np.flatnonzero(np.abs(b) > 1e-6) if names[j] != "intercept"]
    return involved or ["intercept"]
