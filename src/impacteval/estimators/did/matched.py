"""Matched DiD on a person-level cohort with pre- and post-index outcome windows.

After matching (:mod:`impacteval.matching`), each person has event counts and person-time in
a window before and a window after the index date. :class:`MatchedDiD` stacks the two windows
(two rows per person) and fits the DiD on the matched sample with the matching weights as
prior weights and standard errors clustered on the matched set (MatchIt's guidance for effect
estimation after matching; Stuart et al. 2014, "Using propensity scores in
difference-in-differences models to estimate the effects of a policy change"):

* ``family="poisson"``: the Poisson DiD rate ratio with the person-time offset
  (:class:`~impacteval.estimators.did.count.PoissonDiD`);
* ``family="linear"``: the difference of weighted mean changes in the rate per
  ``rate_per`` person-years (:class:`~impacteval.estimators.did.two_by_two.DifferenceInDifferences`).

Matching on pre-period outcomes and then differencing removes remaining time-invariant
differences; it does not rescue a design whose groups would have trended differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from impacteval.estimators.base import register_estimator
from impacteval.estimators.did.count import PoissonDiD
from impacteval.estimators.did.two_by_two import DifferenceInDifferences
from impacteval.estimators.did.validation import WHERE, as_list, check_columns
from impacteval.exceptions import ConfigError
from impacteval.results import EffectEstimate


def stack_windows(
    data: pd.DataFrame,
    *,
    outcome_pre: str,
    outcome_post: str,
    exposure_pre: str,
    exposure_post: str,
    keep: Sequence[str],
) -> pd.DataFrame:
    """Two rows per person (``post`` 0/1) with ``_y`` and ``_exposure`` and the ``keep`` columns."""
    base = data[list(dict.fromkeys(keep))].reset_index(drop=True)
    pre = base.assign(post=0, _y=data[outcome_pre].to_numpy(), _exposure=data[exposure_pre].to_numpy())
    post = base.assign(post=1, _y=data[outcome_post].to_numpy(),
                       _exposure=data[exposure_post].to_numpy())
    return pd.concat([pre, post], ignore_index=True)


@register_estimator("did_matched")
@dataclass(frozen=True, kw_only=True)
class MatchedDiD:
    """DiD on a matched person-level cohort (pre and post windows).

    Parameters
    ----------
    family : {"poisson", "linear"}
        Rate ratio from the Poisson DiD, or difference in rates (per ``rate_per``).
    rate_per
        Person-years per rate unit for the linear family and the crude rates (1,000).
    ci_level
        Confidence level.
    design
        Design name recorded in the estimate.
    """

    family: Literal["poisson", "linear"] = "poisson"
    rate_per: float = 1000.0
    ci_level: float = 0.95
    design: str = "matched_cohort"

    def fit(
        self,
        data: pd.DataFrame,
        *,
        outcome_pre: str,
        outcome_post: str,
        exposure_pre: str,
        exposure_post: str,
        treatment: str,
        weights: str | None = None,
        clusters: str | Sequence[str] | None = None,
        unit: str | None = None,
    ) -> EffectEstimate:
        """Estimate the matched DiD.

        Parameters
        ----------
        data
            One row per matched person; never modified.
        outcome_pre, outcome_post
            Event counts in the pre- and post-index windows.
        exposure_pre, exposure_post
            Person-years at risk in each window (> 0).
        treatment
            0/1 treated column.
        weights
            Matching weights (None = 1).
        clusters
            Matched-set column(s) (and e.g. the care home). Without it the person (``unit``)
            is the cluster; one of the two is required.
        unit
            Person identifier (clusters the two windows of a person when no ``clusters``).
        """
        if self.family not in ("poisson", "linear"):
            raise ConfigError(f"family must be 'poisson' or 'linear', got {self.family!r}",
                              where=f"{WHERE}.family", hint="use 'poisson' for counts")
        cl = as_list(clusters) or as_list(unit)
        if not cl:
            raise ConfigError("matched DiD needs clusters (matched set) or the person id",
                              where=f"{WHERE}.clusters",
                              hint="pass clusters='<matched set column>' or unit='person_id'")
        roles = {"outcome": [outcome_pre, outcome_post], "exposure": [exposure_pre, exposure_post],
                 "treatment": [treatment], "weights": as_list(weights), "clusters": cl,
                 "unit": as_list(unit)}
        check_columns(data, roles)
        keep = [treatment, *cl, *as_list(weights), *as_list(unit)]
        long = stack_windows(data, outcome_pre=outcome_pre, outcome_post=outcome_post,
                             exposure_pre=exposure_pre, exposure_post=exposure_post, keep=keep)
        if self.family == "poisson":
            est = PoissonDiD(ci_level=self.ci_level, rate_per=self.rate_per,
                             design=self.design).fit(
                long, outcome="_y", exposure="_exposure", treated=treatment, post="post",
                clusters=cl, weights=weights, unit=unit)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                rate = long["_y"].to_numpy(dtype=float) / long["_exposure"].to_numpy(dtype=float)
            long = long.assign(_rate=np.where(long["_exposure"] > 0, rate * self.rate_per, np.nan))
            est = DifferenceInDifferences(cov_kind="HC0", ci_level=self.ci_level,
                                          design=self.design).fit(
                long, outcome="_rate", treated=treatment, post="post", clusters=cl,
                weights=weights, unit=unit)
        details = dict(est.details)
        details.update(family=self.family, windows={"pre": [outcome_pre, exposure_pre],
                                                    "post": [outcome_post, exposure_post]})
        if self.family == "linear":
            details["rate_per"] = self.rate_per
        fields = {k: getattr(est, k) for k in est.__dataclass_fields__}
        fields.update(estimator="did_matched", outcome=outcome_post, details=details,
                      label=f"matched DiD ({self.family})")
        return EffectEstimate(**fields)
