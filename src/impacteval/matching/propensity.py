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

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

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
    expansion
        Spline and interaction terms added before the fit (``None`` for linear terms).
    model
        The fitted scikit-learn classifier for :class:`BoostedPropensityModel` (``coef`` is
        then empty).
    """

    coef: pd.Series
    propensity: np.ndarray
    logit: np.ndarray
    converged: bool
    n_iter: int
    encoding: Encoding
    expansion: TermExpansion | None = None
    model: Any = None

    def predict_logit(self, X: pd.DataFrame) -> np.ndarray:
        """Linear predictor for new units with the same covariate columns."""
        if self.expansion is not None:
            X = self.expansion.transform(X)
        Z = self.encoding.transform(X, where=_WHERE)
        if self.model is not None:
            return np.asarray(self.model.decision_function(Z), dtype=float)
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
        Only ``"logistic"`` (gradient boosting: :class:`BoostedPropensityModel`).
    spline_df
        If set (2 to 6), each numeric covariate with enough distinct values enters as a
        restricted (natural) cubic spline with ``spline_df`` degrees of freedom
        (:class:`TermExpansion`).
    interactions
        Add every pairwise product of the covariates.
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
    spline_df: int | None = None
    interactions: bool = False

    def __post_init__(self) -> None:
        if self.spline_df is not None and not 2 <= self.spline_df <= 6:
            raise ValueError("spline_df must be between 2 and 6, or None")
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
        expansion = None
        if self.spline_df is not None or self.interactions:
            expansion = TermExpansion.fit(X, spline_df=self.spline_df,
                                          interactions=self.interactions)
            X = expansion.transform(X)
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
            expansion=expansion,
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


#: Harrell's (Regression Modeling Strategies, table 2.3) knot quantiles by number of knots.
_KNOT_QUANTILES = {
    3: (0.10, 0.5, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.5, 0.725, 0.95),
    6: (0.05, 0.23, 0.41, 0.59, 0.77, 0.95),
    7: (0.025, 0.1833, 0.3417, 0.5, 0.6583, 0.8167, 0.975),
}


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Restricted cubic spline terms (Harrell's ``rcspline.eval``, ``norm = 2``).

    For knots ``t_1 < ... < t_k`` the ``k - 2`` non-linear terms
    ``(x - t_j)_+^3 - (x - t_{k-1})_+^3 (t_k - t_j)/(t_k - t_{k-1})
    + (x - t_k)_+^3 (t_{k-1} - t_j)/(t_k - t_{k-1})``, each divided by ``(t_k - t_1)^2``;
    with ``x`` itself they span the natural cubic splines with these knots (linear beyond
    the outer knots).
    """
    t = np.asarray(knots, dtype=float)
    k = t.shape[0]

    def cube(v: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip(v, 0, None) ** 3)

    span = (t[-1] - t[0]) ** 2
    cols = [
        (cube(x - t[j])
         - cube(x - t[-2]) * (t[-1] - t[j]) / (t[-1] - t[-2])
         + cube(x - t[-1]) * (t[-2] - t[j]) / (t[-1] - t[-2])) / span
        for j in range(k - 2)
    ]
    return np.column_stack(cols) if cols else np.empty((x.shape[0], 0))


@dataclass(frozen=True, kw_only=True)
class TermExpansion:
    """Spline and interaction terms of a propensity model, learnt once and re-applied.

    Attributes
    ----------
    knots
        Covariate -> its spline knots (covariates with too few distinct values for distinct
        knots stay linear).
    pairs
        Pairs of design columns whose product is added (constant products are left out).
    """

    knots: Mapping[str, tuple[float, ...]]
    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def fit(
        cls, X: pd.DataFrame, *, spline_df: int | None, interactions: bool
    ) -> TermExpansion:
        """Choose knots (quantiles, Harrell's table) and the interaction pairs on ``X``."""
        knots: dict[str, tuple[float, ...]] = {}
        Z, names, enc = encode(X, drop_first=True, where=_WHERE)
        numeric = [c for c in enc.columns if c not in enc.levels]
        if spline_df is not None:
            for col in numeric:
                x = Z[:, names.index(col)]
                if np.unique(x).shape[0] < spline_df + 3:
                    continue
                q = np.quantile(x, _KNOT_QUANTILES[spline_df + 1])
                if np.unique(q).shape[0] == q.shape[0]:
                    knots[col] = tuple(float(v) for v in q)
        pairs: list[tuple[str, str]] = []
        if interactions:
            source = {}
            for col in enc.columns:
                for name in (Encoding(columns=(col,), levels={col: enc.levels[col]}).design_columns
                             if col in enc.levels else [col]):
                    source[name] = col
            for a, b in combinations(range(len(names)), 2):
                if source[names[a]] == source[names[b]]:
                    continue
                prod = Z[:, a] * Z[:, b]
                if np.ptp(prod) > 0:
                    pairs.append((names[a], names[b]))
        return cls(knots=knots, pairs=tuple(pairs))

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` (design columns) plus the spline terms ``col'1 ...`` and products ``a:b``."""
        Z, names, _ = encode(X, drop_first=True, where=_WHERE)
        out: dict[str, np.ndarray] = {name: Z[:, j] for j, name in enumerate(names)}
        for col, kn in self.knots.items():
            basis = rcs_basis(out[col], np.asarray(kn))
            for j in range(basis.shape[1]):
                out[f"{col}'{j + 1}"] = basis[:, j]
        for a, b in self.pairs:
            out[f"{a}:{b}"] = out[a] * out[b]
        return pd.DataFrame(out, index=X.index)


@dataclass(frozen=True, kw_only=True)
class BoostedPropensityModel:
    """Gradient-boosted propensity model (scikit-learn's ``HistGradientBoostingClassifier``).

    No early stopping (so no random validation split); the seed fixes any remaining
    randomness, so the same data and seed give the same scores. The logit is the model's
    raw decision function (log-odds).

    Parameters
    ----------
    max_iter, learning_rate, max_depth
        Boosting rounds, shrinkage and tree depth.
    seed
        ``random_state`` of the classifier.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(80, 5, 200)})
    >>> t = (rng.random(200) < 0.4).astype(int)
    >>> fit = BoostedPropensityModel(max_iter=20).fit(X, t)
    >>> bool(np.all((fit.propensity > 0) & (fit.propensity < 1)))
    True
    """

    max_iter: int = 200
    learning_rate: float = 0.1
    max_depth: int | None = 3
    seed: int = 0

    def fit(self, X: pd.DataFrame, treated: np.ndarray) -> FittedPropensity:
        """Fit the classifier; raises DesignError for missing values or a single arm."""
        from sklearn.ensemble import HistGradientBoostingClassifier

        t = as_treatment(treated, len(X), where=_WHERE)
        n1 = int(t.sum())
        if n1 == 0 or n1 == len(t):
            raise DesignError(
                f"the propensity model needs treated and control units (treated: {n1}, "
                f"control: {len(t) - n1})",
                where=_WHERE,
                hint="check the cohort filters: one arm is empty",
            )
        Z, _, enc = encode(X, drop_first=True, where=_WHERE)
        model = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            early_stopping=False,
            random_state=self.seed,
        ).fit(Z, t.astype(int))
        eta = np.asarray(model.decision_function(Z), dtype=float)
        return FittedPropensity(
            coef=pd.Series([], dtype=float, name="coef"),
            propensity=np.asarray(special.expit(eta)),
            logit=eta,
            converged=True,
            n_iter=int(model.n_iter_),
            encoding=enc,
            model=model,
        )
