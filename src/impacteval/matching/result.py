"""The match result record (what a matcher returns; consumed by balance, estimators, report)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from impacteval.exceptions import DesignError


@dataclass(frozen=True, kw_only=True)
class MatchResult:
    """Matched sets, ATT weights and unmatched units from one matching run.

    Units are referred to by *position* (0 .. n-1) in the arrays given to the matcher, so a
    caller maps them back to ids with ``data.iloc[...]`` or ``ids[...]``.

    Attributes
    ----------
    pairs
        One row per (treated, control) match: ``subclass`` (matched-set number, 1-based, in
        the data order of the treated units), ``treated_index``, ``control_index``. With
        ``ratio = k`` a treated unit has up to k rows; with replacement a control may appear
        in several matched sets.
    weights
        ATT matching weights, length n: 1 for matched treated units; for a control, the sum
        over the treated units it is matched to of 1 / (number of controls matched to that
        treated unit), then all control weights rescaled to sum to the number of matched
        controls (MatchIt's ``weights.matrix``); 0 for unmatched units.
    treated
        The treatment indicator used (bool, length n).
    matched
        Units with a positive weight.
    discarded
        Treated units left without a match (no control within the caliper, or none left).
    distance
        Name of the distance that was matched on (e.g. ``"logit_propensity"``).
    caliper
        The caliper as given (``None`` for none), on ``caliper_scale``.
    caliper_scale
        ``"sd"`` (caliper in standard deviations of the distance over all units) or ``"raw"``.
    caliper_width
        The caliper in units of the distance (``inf`` without a caliper).
    method, ratio, replace, order
        How the matching was done.
    """

    pairs: pd.DataFrame
    weights: np.ndarray
    treated: np.ndarray
    matched: np.ndarray
    discarded: np.ndarray
    distance: str
    caliper: float | None
    caliper_scale: str
    caliper_width: float
    method: str
    ratio: int
    replace: bool
    order: str

    def __post_init__(self) -> None:
        for name in ("weights", "treated", "matched", "discarded"):
            arr = np.array(getattr(self, name), copy=True)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def n_matched_treated(self) -> int:
        return int(np.sum(self.matched & self.treated))

    @property
    def n_matched_control(self) -> int:
        return int(np.sum(self.matched & ~self.treated))

    def summary(self) -> pd.DataFrame:
        """Sample sizes as MatchIt's ``summary()`` prints them.

        Returns
        -------
        DataFrame
            Index ``all, matched, unmatched, discarded``; columns ``control, treated``.
            ``discarded`` counts treated units without a match (controls are never
            discarded here, only left unmatched).
        """
        t = self.treated
        rows = {
            "all": (int((~t).sum()), int(t.sum())),
            "matched": (self.n_matched_control, self.n_matched_treated),
            "unmatched": (int((~t & ~self.matched).sum()), int((t & ~self.matched).sum())),
            "discarded": (0, int(self.discarded.sum())),
        }
        return pd.DataFrame.from_dict(rows, orient="index", columns=["control", "treated"])

    def balance(
        self,
        X: pd.DataFrame,
        *,
        estimand: Literal["ATT", "ATE"] = "ATT",
        binary: Literal["std", "raw"] = "std",
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Balance tables before and after matching, on the *full* sample ``X``.

        ``X`` has one row per unit, in the matcher's order. The "after" table weights the
        full sample with the matching weights (0 for unmatched units), so both tables share
        the SMD denominator of the unmatched sample, as MatchIt's ``summary()``. (Passing
        only the matched rows to :func:`balance_table` would instead standardise by the
        matched treated units' SD.)
        """
        from impacteval.matching.balance import balance_table

        self._check_rows(X)
        before = balance_table(X, self.treated, estimand=estimand, binary=binary)
        after = balance_table(X, self.treated, self.weights, estimand=estimand, binary=binary)
        return before, after

    def subclass(self) -> np.ndarray:
        """Matched-set number per unit (float, NaN for unmatched units).

        Only defined for matching without replacement, where each unit belongs to at most one
        matched set; use :meth:`pair_data` with replacement.
        """
        if self.replace:
            raise DesignError(
                "with replacement a control can belong to several matched sets, so units have "
                "no single subclass",
                where="matching",
                hint="use MatchResult.pair_data(data), which repeats reused controls",
            )
        out = np.full(self.weights.shape[0], np.nan)
        out[self.pairs["treated_index"].to_numpy()] = self.pairs["subclass"].to_numpy()
        out[self.pairs["control_index"].to_numpy()] = self.pairs["subclass"].to_numpy()
        return out

    def match_data(self, data: pd.DataFrame) -> pd.DataFrame:
        """Matched units of ``data`` (rows in the matcher's order) with ``weights`` and ``subclass``.

        Like MatchIt's ``match.data()``: one row per matched unit; ``data`` is not modified.
        Without replacement only (see :meth:`subclass`).
        """
        self._check_rows(data)
        sub = self.subclass()
        keep = np.flatnonzero(self.matched)
        out = data.iloc[keep].copy()
        out["weights"] = self.weights[keep]
        out["subclass"] = sub[keep].astype(np.int64)
        return out

    def pair_data(self, data: pd.DataFrame) -> pd.DataFrame:
        """One row per unit per matched set, like MatchIt's ``get_matches()``.

        Columns added: ``subclass`` and ``weights`` (1 for treated units, 1/k for each of the
        k controls of a matched set). Reused controls appear once per matched set.
        """
        self._check_rows(data)
        p = self.pairs
        k = p.groupby("subclass")["control_index"].transform("size").to_numpy()
        treated_rows = p.drop_duplicates("subclass")
        t_part = data.iloc[treated_rows["treated_index"].to_numpy()].copy()
        t_part["subclass"] = treated_rows["subclass"].to_numpy()
        t_part["weights"] = 1.0
        c_part = data.iloc[p["control_index"].to_numpy()].copy()
        c_part["subclass"] = p["subclass"].to_numpy()
        c_part["weights"] = 1.0 / k
        out = pd.concat([t_part, c_part])
        is_control = np.r_[np.zeros(len(t_part), bool), np.ones(len(c_part), bool)]
        # treated unit first within each matched set, then its controls in match order
        order = np.lexsort((is_control, out["subclass"].to_numpy()))
        return out.iloc[order]

    def _check_rows(self, data: pd.DataFrame) -> None:
        if len(data) != self.weights.shape[0]:
            raise DesignError(
                f"data has {len(data)} rows but the matching was done on "
                f"{self.weights.shape[0]} units",
                where="matching",
                hint="pass the same rows, in the same order, that were matched",
            )
