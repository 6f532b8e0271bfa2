"""Recovery of subgroup effects by the config's ``subgroups:`` (matching within each level).

Simulated world (numbers chosen here, the truth is by construction): two confounders raise both
the chance of treatment and the event rate, in two groups of equal size; events are
over-dispersed counts over person-time. Under the null of no heterogeneity the treatment
multiplies every rate by 0.75 in both groups: each level's 95% CI should cover 0.75 about 95% of
the time and the interaction test (Cochran's Q across the independently matched levels) should
reject at about its nominal 5%. With rate ratios 0.5 and 1.0 it should detect the difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from impacteval.config import parse_config
from impacteval.pipeline.design_registry import get_design, prepare_ready_table
from impacteval.pipeline.extras import run_extras

N_REPS = 100
N_UNITS = 2400

RAW = {
    "evaluation": {"id": "sub"},
    "data": {"table": "t.csv"},
    "roles": {"unit_id": "id", "treatment": "t", "outcomes": ["y"],
              "covariates": ["age", "frail"], "exposure": "py"},
    "analysis": {"naive_comparison": False},
    "subgroups": [{"variable": "g", "min_per_arm": 20}],
}


def simulate(rng: np.random.Generator, rr: tuple[float, float]) -> pd.DataFrame:
    n = N_UNITS
    age = rng.normal(0.0, 1.0, n)
    frail = rng.binomial(1, 0.4, n)
    g = rng.binomial(1, 0.5, n)
    treated = rng.binomial(1, 1 / (1 + np.exp(-(-1.6 + 0.7 * age + 0.7 * frail))))
    py = rng.uniform(0.2, 2.0, n)
    effect = np.where(treated == 1, np.where(g == 1, rr[1], rr[0]), 1.0)
    rate = np.exp(-0.6 + 0.45 * age + 0.5 * frail) * effect
    y = rng.poisson(py * rate * rng.gamma(4.0, 0.25, n))
    return pd.DataFrame({"id": np.arange(n), "t": treated, "age": age, "frail": frail,
                         "g": g, "py": py, "y": y})


def replicate(rng: np.random.Generator, rr: tuple[float, float]) -> dict:
    cfg = parse_config(RAW)
    prepared = prepare_ready_table(cfg, simulate(rng, rr))
    out = run_extras(cfg, get_design("matched_cohort"), prepared)
    (record,) = out.diagnostics["subgroups"]
    return record


@pytest.mark.slow
def test_level_cis_cover_and_the_interaction_test_holds_its_size() -> None:
    rng = np.random.default_rng(20261130)
    covered, rejected, n = 0, 0, 0
    for _ in range(N_REPS):
        record = replicate(rng, (0.75, 0.75))
        for lv in record["levels"]:
            n += 1
            covered += lv["ci_lower"] <= 0.75 <= lv["ci_upper"]
        rejected += record["interaction_p"] < 0.05
    coverage, size = covered / n, rejected / N_REPS
    # 200 level CIs: a binomial(200, 0.95) share lies in [0.91, 0.99] with probability > 0.99
    assert 0.91 <= coverage <= 0.99, coverage
    # 100 tests at 5%: 12 or more rejections have probability < 0.01 under the null
    assert size <= 11 / N_REPS, size


@pytest.mark.slow
def test_interaction_test_detects_a_difference_between_groups() -> None:
    rng = np.random.default_rng(7)
    p = [replicate(rng, (0.5, 1.0))["interaction_p"] for _ in range(20)]
    assert np.mean(np.array(p) < 0.05) >= 0.8
