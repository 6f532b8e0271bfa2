"""Abadie-Imbens (2006) standard error of the ATT from matching with replacement.

Written to agree with ``Matching::Match`` (Sekhon 2011; ``estimand = "ATT"``,
``BiasAdjust = FALSE``, ``Var.calc = 0``, ``sample = FALSE``, no observation weights).
With matched pairs ``(i, j)`` of weight ``w_ij`` (``sum_j w_ij = 1`` for each treated i)
and ``N1`` matched treated units:

* ``tau = sum w_ij (Y_i - Y_j) / sum w_ij`` (the ATT);
* ``sigma^2 = 0.5 sum w_ij (Y_i - Y_j - tau)^2 / sum w_ij`` (the homoskedastic conditional
  variance, ``Var.calc = 0``);
* ``K_j = sum_i w_ij`` and ``KK_j = sum_i w_ij^2`` for each control j (how often, and how
  heavily, it is reused);
* ``V = [ sum_j sigma^2 (K_j^2 - KK_j) + sum_i (Y_i - sum_j w_ij Y_j - tau)^2 ] / N1^2``:
  the variance of the population ATT (Abadie and Imbens 2006, Theorem 7, with the
  treated-unit term estimated by the dispersion of the unit-level effects);
* ``se = sqrt(V)``. The "sample" variance (``sample = TRUE``) is
  ``sum_units sigma^2 (T_u + (1 - T_u) K_u)^2 / N1^2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from impacteval.exceptions import DesignError
from impacteval.matching.result import MatchResult

_WHERE = "inference.abadie_imbens"


@dataclass(frozen=True, kw_only=True)
class AbadieImbensATT:
    """ATT from matching with replacement and its Abadie-Imbens standard errors.

    Attributes
    ----------
    att
        Average effect on the treated.
    se
        Abadie-Imbens standard error of the population ATT (Matching's ``se``).
    se_sample
        Standard error of the sample ATT (Matching's ``sample = TRUE``).
    sigma2
        The homoskedastic conditional variance estimate.
    n_treated, n_controls_used
        Matched treated units; distinct controls used.
    """

    att: float
    se: float
    se_sample: float
    sigma2: float
    n_treated: int
    n_controls_used: int


def abadie_imbens_att(y: np.ndarray, pairs: pd.DataFrame) -> AbadieImbensATT:
    """ATT and Abadie-Imbens standard error from matched pairs with replacement.

    Parameters
    ----------
    y
        Outcome per unit (positions as in ``pairs``); finite for every matched unit.
    pairs
        ``treated_index``, ``control_index``, ``weight`` (each treated unit's weights sum to
        1), e.g. from :func:`impacteval.matching.ties.match_with_ties`. For a
        :class:`~impacteval.matching.result.MatchResult`, use ``weight = 1 / k`` with k the
        size of the matched set.

    Returns
    -------
    AbadieImbensATT

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> pairs = pd.DataFrame({"treated_index": [0, 1], "control_index": [2, 2], "weight": [1.0, 1.0]})
    >>> round(abadie_imbens_att(np.array([3.0, 5.0, 1.0]), pairs).att, 6)
    3.0
    """
    for col in ("treated_index", "control_index", "weight"):
        if col not in pairs.columns:
            raise DesignError(f"pairs needs a {col!r} column", where=_WHERE)
    Y = np.asarray(y, dtype=float)
    ti = pairs["treated_index"].to_numpy(dtype=np.int64)
    ci = pairs["control_index"].to_numpy(dtype=np.int64)
    w = pairs["weight"].to_numpy(dtype=float)
    if ti.size == 0:
        raise DesignError("no matched pairs", where=_WHERE)
    used = np.unique(np.r_[ti, ci])
    if used.max() >= Y.shape[0] or not np.all(np.isfinite(Y[used])):
        raise DesignError(
            "the outcome is missing for some matched units (or pairs index beyond y)",
            where=_WHERE,
            hint="drop units with a missing outcome before matching",
        )
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise DesignError("pair weights must be positive", where=_WHERE)
    treated_units, t_code = np.unique(ti, return_inverse=True)
    n1 = treated_units.shape[0]
    if not np.allclose(np.bincount(t_code, weights=w), 1.0, rtol=1e-9):
        raise DesignError("each treated unit's pair weights must sum to 1", where=_WHERE)
    tau_pair = Y[ti] - Y[ci]
    att = float(np.sum(w * tau_pair) / np.sum(w))
    sigma2 = float(0.5 * np.sum(w * (tau_pair - att) ** 2) / np.sum(w))
    control_units, c_code = np.unique(ci, return_inverse=True)
    K = np.bincount(c_code, weights=w)
    KK = np.bincount(c_code, weights=w * w)
    unit_effect = Y[treated_units] - np.bincount(t_code, weights=w * Y[ci])
    var_pop = (sigma2 * np.sum(K * K - KK) + np.sum((unit_effect - att) ** 2)) / n1**2
    var_sample = sigma2 * (n1 + np.sum(K * K)) / n1**2
    return AbadieImbensATT(
        att=att,
        se=float(np.sqrt(var_pop)),
        se_sample=float(np.sqrt(var_sample)),
        sigma2=sigma2,
        n_treated=int(n1),
        n_controls_used=int(control_units.shape[0]),
    )


def weighted_pairs(result: MatchResult) -> pd.DataFrame:
    """A :class:`MatchResult`'s pairs with ``weight = 1 / k`` (k controls in the matched set).

    The input :func:`abadie_imbens_att` expects; meaningful for matching with replacement
    (Abadie and Imbens's setting), e.g. :class:`~impacteval.matching.genetic.GeneticMatcher`.
    """
    p = result.pairs
    k = p.groupby("subclass")["control_index"].transform("size").to_numpy()
    return pd.DataFrame(
        {
            "treated_index": p["treated_index"].to_numpy(),
            "control_index": p["control_index"].to_numpy(),
            "weight": 1.0 / k,
        }
    )
