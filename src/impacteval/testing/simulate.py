"""Simulated data with known effects, one generator per design family.

Every simulator takes an explicit ``seed`` (a fresh :func:`numpy.random.default_rng` is made
from it; global random state is never touched) and returns a :class:`SimulatedStudy`: the
data, the roles to pass to an estimator's ``fit`` and the true effect on the scale the
design's estimators report. The data are small enough to fit in well under a second and
carry no real person: identifiers are generated strings (``"P000001"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from impacteval.exceptions import ConfigError


@dataclass(frozen=True, kw_only=True)
class SimulatedStudy:
    """Simulated data, the roles that describe them, and the true effect.

    Attributes
    ----------
    data
        The simulated table (one row per person, or per unit and period).
    roles
        Keyword arguments for an estimator's ``fit`` (column names and other roles), e.g.
        ``{"outcome": "y", "treatment": "treated", "exposure": "person_years"}``.
    truth
        The true effect, on ``scale``, for ``estimand``.
    scale, estimand
        What ``truth`` measures (``"rate_ratio"``/``"difference"``; ``"ATT"``, ``"LATE"``...).
    notes
        How the data were generated (parameters), for printing in notebooks.
    """

    data: pd.DataFrame
    roles: Mapping[str, Any]
    truth: float
    scale: str
    estimand: str
    notes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", MappingProxyType(dict(self.roles)))
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))


def _positive_int(value: int, name: str, minimum: int) -> int:
    if not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer of at least {minimum}", where=name)
    return int(value)


def _ids(prefix: str, n: int) -> np.ndarray:
    width = max(4, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def simulate_matched_cohort(
    n: int = 2000,
    *,
    rate_ratio: float = 0.75,
    confounding: float = 1.0,
    base_rate: float = 1.2,
    seed: int = 0,
) -> SimulatedStudy:
    """A confounded cohort of care-home residents with a known rate ratio (ATT).

    Older and frailer residents are both more likely to be treated (logistic model) and to
    have more emergency admissions (Poisson with a person-time offset), so the crude rate
    ratio is biased away from ``rate_ratio`` and matching or adjustment on ``age`` and
    ``frailty`` (and ``female``) removes the bias. The treatment multiplies every resident's
    rate by ``rate_ratio``, so the marginal rate ratio among the treated (ATT) equals it.

    Parameters
    ----------
    n
        Number of persons (at least 200).
    rate_ratio
        True rate ratio of treated versus untreated (> 0).
    confounding
        Strength of confounding (0: treatment is random; 1: default; larger: stronger).
    base_rate
        Emergency admissions per person-year of a typical untreated resident.
    seed
        Seed of the ``numpy.random.Generator``.

    Returns
    -------
    SimulatedStudy
        ``data`` columns: ``person_id, treated, age, female, frailty, person_years,
        emergency_admissions`` (in follow-up), ``person_years_pre`` (2 years before the
        index date) and ``emergency_admissions_pre`` (untreated rates: the same model without
        the treatment effect, so a pre/post DiD rate ratio also estimates ``rate_ratio``); roles for :class:`~impacteval.estimators.regression.MatchedRateRatio`
        (``outcome, treatment, exposure, covariates``); truth on the ``rate_ratio`` scale.

    Examples
    --------
    >>> study = simulate_matched_cohort(500, seed=1)
    >>> sorted(study.roles)
    ['covariates', 'exposure', 'outcome', 'treatment']
    >>> study.truth
    0.75
    """
    n = _positive_int(n, "n", 200)
    if not (np.isfinite(rate_ratio) and rate_ratio > 0):
        raise ConfigError("rate_ratio must be a positive number", where="rate_ratio")
    if not (np.isfinite(confounding) and confounding >= 0):
        raise ConfigError("confounding must be zero or positive", where="confounding")
    if not (np.isfinite(base_rate) and base_rate > 0):
        raise ConfigError("base_rate must be a positive number", where="base_rate")
    rng = np.random.default_rng(seed)
    age = np.clip(rng.normal(84.0, 7.0, n), 65.0, 105.0).round(0)
    female = rng.binomial(1, 0.68, n)
    frailty = np.clip(rng.gamma(3.0, 3.0, n), 0.0, 40.0).round(1)
    za, zf = (age - 84.0) / 7.0, (frailty - 9.0) / 5.2
    logit = -0.9 + confounding * (0.6 * za + 0.8 * zf - 0.2 * female)
    treated = rng.binomial(1, 1.0 / (1.0 + np.exp(-logit)))
    person_years = np.clip(rng.uniform(0.2, 2.0, n), 0.05, None).round(3)
    log_rate = np.log(base_rate) + 0.25 * za + 0.35 * zf - 0.1 * female
    mu = person_years * np.exp(log_rate) * np.where(treated == 1, rate_ratio, 1.0)
    events = rng.poisson(mu)
    # two years before the index date, nobody treated yet (drawn last: the columns above do
    # not depend on it)
    person_years_pre = np.full(n, 2.0)
    events_pre = rng.poisson(person_years_pre * np.exp(log_rate))
    data = pd.DataFrame(
        {
            "person_id": _ids("P", n),
            "treated": treated.astype("int64"),
            "age": age,
            "female": female.astype("int64"),
            "frailty": frailty,
            "person_years": person_years,
            "emergency_admissions": events.astype("int64"),
            "person_years_pre": person_years_pre,
            "emergency_admissions_pre": events_pre.astype("int64"),
        }
    )
    roles = {
        "outcome": "emergency_admissions",
        "treatment": "treated",
        "exposure": "person_years",
        "covariates": ["age", "female", "frailty"],
    }
    notes = {"n": n, "rate_ratio": rate_ratio, "confounding": confounding,
             "base_rate": base_rate, "seed": seed}
    return SimulatedStudy(data=data, roles=roles, truth=float(rate_ratio), scale="rate_ratio",
                          estimand="ATT", notes=notes)


def simulate_regression_discontinuity(
    n: int = 2000, *, effect: float = 0.5, cutoff: float = 0.0, seed: int = 0
) -> SimulatedStudy:
    """A sharp regression discontinuity: the outcome jumps by ``effect`` at ``cutoff``.

    The running variable (``score``) is uniform on ``cutoff +/- 1``; the outcome is a smooth
    cubic in the score plus ``effect`` at or above the cutoff plus normal noise (SD 0.3).

    Returns
    -------
    SimulatedStudy
        ``data`` columns ``unit_id, score, y``; roles ``outcome, running``; truth on the
        ``difference`` scale (the effect at the cutoff).
    """
    n = _positive_int(n, "n", 200)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    y = 1.0 + 0.8 * x - 0.5 * x**2 + 0.3 * x**3 + effect * (x >= 0) + rng.normal(0.0, 0.3, n)
    data = pd.DataFrame({"unit_id": _ids("U", n), "score": x + cutoff, "y": y})
    return SimulatedStudy(data=data, roles={"outcome": "y", "running": "score"},
                          truth=float(effect), scale="difference", estimand="effect at the cutoff",
                          notes={"n": n, "effect": effect, "cutoff": cutoff, "seed": seed})


def simulate_instrumental_variables(
    n: int = 3000, *, effect: float = 2.0, seed: int = 0
) -> SimulatedStudy:
    """An encouragement design: a random binary instrument shifts a confounded treatment.

    An unobserved ``u`` raises both the chance of treatment and the outcome, so OLS is biased;
    the instrument ``z`` (e.g. a randomised invitation) raises the chance of treatment and has
    no direct effect. The effect of treatment is the same for everybody, so the LATE equals
    ``effect``. ``age`` is an observed covariate of the outcome.

    Returns
    -------
    SimulatedStudy
        ``data`` columns ``unit_id, z, d, age, y``; roles ``outcome, treatment, instruments,
        covariates``; truth on the ``difference`` scale (LATE).
    """
    n = _positive_int(n, "n", 200)
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)
    u = rng.normal(size=n)
    age = rng.normal(75.0, 8.0, n).round(0)
    d = (-0.4 + 0.9 * z + 0.6 * u + rng.normal(size=n) > 0).astype("int64")
    y = 1.0 + effect * d + 0.03 * (age - 75.0) + u + rng.normal(0.0, 0.5, n)
    data = pd.DataFrame({"unit_id": _ids("U", n), "z": z.astype("int64"), "d": d,
                         "age": age, "y": y})
    roles = {"outcome": "y", "treatment": "d", "instruments": ["z"], "covariates": ["age"]}
    return SimulatedStudy(data=data, roles=roles, truth=float(effect), scale="difference",
                          estimand="LATE", notes={"n": n, "effect": effect, "seed": seed})


def simulate_panel(
    n_units: int = 40,
    n_periods: int = 12,
    *,
    effect: float = 5.0,
    treated_share: float = 0.5,
    adoption: tuple[int, ...] = (7,),
    loading_sd: float = 0.0,
    seed: int = 0,
) -> SimulatedStudy:
    """Area-by-period panel with a constant effect from adoption on.

    Outcome (e.g. admissions per 10,000) = area level + common period shock + an
    area-specific loading (mean 1, SD ``loading_sd``) times a common cyclical factor +
    ``effect`` while treated + noise (SD 1). With ``loading_sd = 0`` (default) trends are
    exactly parallel in expectation (the DiD assumption); with ``loading_sd > 0`` areas
    follow the factor to different degrees, which a synthetic control can match and a DiD
    cannot.
    Treated areas adopt at one of the ``adoption`` periods (1-based, cycled over treated
    areas); the rest are never treated. Counts for rate models are ``events`` (Poisson, with
    ``population`` as exposure, true rate ratio ``exp(effect / 100)``).

    Returns
    -------
    SimulatedStudy
        ``data`` columns ``area, period, cohort`` (first treated period, 0 = never),
        ``treated_group`` (0/1), ``post`` (period >= first adoption), ``treatment``
        (0/1 in effect), ``y``, ``events``, ``population``; roles for the TWFE form
        (``outcome, treatment, unit, time``); truth ``effect`` on the ``difference`` scale.
        Other designs' roles are built from the same columns (see ``notes``).
    """
    n_units = _positive_int(n_units, "n_units", 4)
    n_periods = _positive_int(n_periods, "n_periods", 4)
    if not 0 < treated_share < 1:
        raise ConfigError("treated_share must be between 0 and 1", where="treated_share")
    if not adoption or any(not 2 <= a <= n_periods for a in adoption):
        raise ConfigError("adoption periods must lie in 2..n_periods", where="adoption")
    rng = np.random.default_rng(seed)
    n_treated = max(1, round(n_units * treated_share))
    cohort = np.zeros(n_units, dtype="int64")
    cohort[:n_treated] = [adoption[i % len(adoption)] for i in range(n_treated)]
    level = rng.normal(100.0, 10.0, n_units)
    if not (np.isfinite(loading_sd) and loading_sd >= 0):
        raise ConfigError("loading_sd must be zero or positive", where="loading_sd")
    loading = 1.0 + loading_sd * rng.standard_normal(n_units)
    shock = rng.normal(0.0, 3.0, n_periods).cumsum()
    factor = np.sin(np.arange(n_periods) / 2.0) * 2.0
    periods = np.arange(1, n_periods + 1)
    unit_idx = np.repeat(np.arange(n_units), n_periods)
    t = np.tile(periods, n_units)
    g = cohort[unit_idx]
    on = (g > 0) & (t >= g)
    y = (level[unit_idx] + shock[t - 1] + loading[unit_idx] * factor[t - 1]
         + effect * on + rng.normal(0.0, 1.0, unit_idx.size))
    population = rng.integers(8000, 12000, n_units)[unit_idx].astype("float64")
    rate = np.exp(np.log(level[unit_idx] / 1e4) + 0.01 * shock[t - 1] + (effect / 100.0) * on)
    events = rng.poisson(rate * population)
    data = pd.DataFrame(
        {
            "area": _ids("A", n_units)[unit_idx],
            "period": t.astype("int64"),
            "cohort": g,
            "treated_group": (g > 0).astype("int64"),
            "post": (t >= min(adoption)).astype("int64"),
            "treatment": on.astype("int64"),
            "y": y,
            "events": events.astype("int64"),
            "population": population,
        }
    )
    roles = {"outcome": "y", "treatment": "treatment", "unit": "area", "time": "period"}
    notes = {"n_units": n_units, "n_periods": n_periods, "effect": effect,
             "adoption": adoption, "loading_sd": loading_sd, "seed": seed, "rate_ratio": float(np.exp(effect / 100.0))}
    return SimulatedStudy(data=data, roles=roles, truth=float(effect), scale="difference",
                          estimand="ATT", notes=notes)


def simulate_time_series(
    n_periods: int = 72,
    *,
    interruption: int = 48,
    rate_ratio: float = 0.8,
    seed: int = 0,
) -> SimulatedStudy:
    """Monthly counts with a seasonal pattern, a trend and a level change at an interruption.

    Events are Poisson with mean ``population * rate``, where the log rate has a linear trend
    and an annual cycle and drops by ``log(rate_ratio)`` from period ``interruption`` on.

    Returns
    -------
    SimulatedStudy
        ``data`` columns ``period`` (1..n), ``month`` (1..12), ``events``, ``population``;
        roles ``outcome, time, interruptions, population``; truth ``rate_ratio`` (the level
        change) on the ``rate_ratio`` scale.
    """
    n_periods = _positive_int(n_periods, "n_periods", 24)
    if not 6 < interruption <= n_periods - 6:
        raise ConfigError("interruption must leave at least 6 periods on each side",
                          where="interruption")
    rng = np.random.default_rng(seed)
    t = np.arange(1, n_periods + 1)
    month = (t - 1) % 12 + 1
    population = np.full(n_periods, 250_000.0)
    log_rate = (np.log(12e-4) + 0.002 * t + 0.08 * np.cos(2 * np.pi * (month - 1) / 12)
                + np.log(rate_ratio) * (t >= interruption))
    events = rng.poisson(population * np.exp(log_rate))
    data = pd.DataFrame({"period": t.astype("int64"), "month": month.astype("int64"),
                         "events": events.astype("int64"), "population": population})
    roles = {"outcome": "events", "time": "period", "interruptions": [interruption],
             "population": "population"}
    return SimulatedStudy(data=data, roles=roles, truth=float(rate_ratio), scale="rate_ratio",
                          estimand="level change",
                          notes={"n_periods": n_periods, "interruption": interruption,
                                 "rate_ratio": rate_ratio, "seed": seed})
