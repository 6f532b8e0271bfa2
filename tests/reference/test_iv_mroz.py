"""IV reference tests on the Mroz (1987) data against R AER::ivreg and published values.

Numbers come from ``tests/reference/data/iv_mroz_aer.json``, written by
``tests/reference/scripts/iv_mroz_aer.R`` (see ``tests/reference/data/iv_README.md``); CI does
not need R. Published values are Wooldridge, *Introductory Econometrics*, Examples 15.1, 15.5
and 15.8.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from linearmodels.iv import IV2SLS, IVLIML

from impacteval.estimators.iv import InstrumentalVariables, anderson_rubin
from impacteval.results import EffectEstimate

DATA = Path(__file__).parent / "data"
REL = 1e-6  # the tolerance for coefficients and standard errors
CONTROLS = ["experience", "expersq"]
INSTRUMENTS = {
    "over": ["meducation", "feducation"],
    "just": ["feducation"],
}


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "iv_mroz_aer.json").read_text())


@pytest.fixture(scope="module")
def mroz() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "iv_mroz_psid1976.csv")
    d = raw.loc[raw["participation"] == "yes"].reset_index(drop=True)
    return d.assign(lwage=np.log(d["wage"]), expersq=d["experience"].astype(float) ** 2)


_FITS: dict[tuple, EffectEstimate] = {}


def _fit(
    d: pd.DataFrame, instruments: list[str], controls: list[str] = CONTROLS, **params: object
) -> EffectEstimate:
    """Fit once per specification (fits are pure, so sharing them between tests is safe)."""
    cluster = params.pop("cluster", None)
    key = (tuple(instruments), tuple(controls), tuple(sorted(params.items())), cluster, len(d))
    if key not in _FITS:
        est = InstrumentalVariables(**params)  # type: ignore[arg-type]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the Mroz instruments are strong: no warning
            _FITS[key] = est.fit(
                d,
                outcome="lwage",
                treatment="education",
                instruments=instruments,
                covariates=controls,
                cluster=cluster,  # type: ignore[arg-type]
            )
    return _FITS[key]


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def test_sample_size(mroz: pd.DataFrame, ref: dict) -> None:
    assert len(mroz) == ref["over"]["n"] == 428


@pytest.mark.parametrize("model", ["over", "just"])
def test_estimator_matches_aer_coefficient_and_ses(
    mroz: pd.DataFrame, ref: dict, model: str
) -> None:
    r = ref[model]
    classical = _fit(mroz, INSTRUMENTS[model], cov_type="unadjusted")
    robust = _fit(mroz, INSTRUMENTS[model], cov_type="robust")
    assert _rel(classical.estimate, r["coef"]["education"]) < REL
    assert _rel(classical.std_error, r["se_classical"]["education"]) < REL
    # impacteval's robust covariance is HC1 (linearmodels debiased=True)
    assert _rel(robust.std_error, r["se_hc1"]["education"]) < REL
    assert _rel(robust.estimate, r["coef"]["education"]) < REL


@pytest.mark.parametrize("model", ["over", "just"])
def test_linearmodels_full_coefficient_vector_and_se_variants(
    mroz: pd.DataFrame, ref: dict, model: str
) -> None:
    """Every coefficient, and which linearmodels option gives which R covariance."""
    r = ref[model]
    names = {
        "(Intercept)": "const",
        "education": "education",
        "experience": "experience",
        "expersq": "expersq",
    }
    y = mroz["lwage"]
    w = mroz[CONTROLS].assign(const=1.0)
    x = mroz[["education"]].astype(float)
    z = mroz[INSTRUMENTS[model]].astype(float)
    mod = IV2SLS(y, w, x, z)
    unadj = mod.fit(cov_type="unadjusted", debiased=True)
    hc0 = mod.fit(cov_type="robust", debiased=False)
    hc1 = mod.fit(cov_type="robust", debiased=True)
    for r_name, lm_name in names.items():
        assert _rel(unadj.params[lm_name], r["coef"][r_name]) < REL
        assert _rel(unadj.std_errors[lm_name], r["se_classical"][r_name]) < REL
        assert _rel(hc0.std_errors[lm_name], r["se_hc0"][r_name]) < REL
        assert _rel(hc1.std_errors[lm_name], r["se_hc1"][r_name]) < REL


def test_published_wooldridge_examples(mroz: pd.DataFrame) -> None:
    # Example 15.5: 0.0614 (0.0314); Example 15.8: Sargan nR^2 = 0.378, p = 0.539
    ex155 = _fit(mroz, ["meducation", "feducation"], cov_type="unadjusted")
    assert round(ex155.estimate, 4) == 0.0614
    assert round(ex155.std_error, 4) == 0.0314
    assert round(ex155.details["sargan"]["statistic"], 3) == 0.378
    assert round(ex155.details["sargan"]["p_value"], 3) == 0.539
    # Example 15.1: simple IV regression on father's education, 0.0592 (0.0351)
    ex151 = _fit(mroz, ["feducation"], controls=[], cov_type="unadjusted")
    assert round(ex151.estimate, 4) == 0.0592
    assert round(ex151.std_error, 4) == 0.0351


def test_simple_model_matches_aer(mroz: pd.DataFrame, ref: dict) -> None:
    est = _fit(mroz, ["feducation"], controls=[], cov_type="unadjusted")
    assert _rel(est.estimate, ref["simple"]["coef"]["education"]) < REL
    assert _rel(est.std_error, ref["simple"]["se_classical"]["education"]) < REL


@pytest.mark.parametrize("model", ["over", "just", "simple"])
def test_diagnostics_match_aer(mroz: pd.DataFrame, ref: dict, model: str) -> None:
    instruments = INSTRUMENTS.get(model, ["feducation"])
    controls = [] if model == "simple" else CONTROLS
    classical = _fit(mroz, instruments, controls=controls, cov_type="unadjusted").details
    robust = _fit(mroz, instruments, controls=controls, cov_type="robust").details
    dc = ref[model]["diagnostics_classical"]
    dr = ref[model]["diagnostics_hc1"]

    weak = dc["Weak instruments"]
    assert _rel(classical["first_stage"]["f_statistic"], weak["statistic"]) < REL
    assert classical["first_stage"]["f_df"] == [weak["df1"], weak["df2"]]
    assert _rel(classical["first_stage"]["f_p_value"], weak["p_value"]) < 1e-5
    # AER with vcov = HC1 reports the robust Wald / q: the robust first-stage F and, with one
    # endogenous regressor, the Kleibergen-Paap rk Wald F (independent check of linearmodels'
    # KP implementation)
    assert _rel(robust["first_stage"]["f_statistic"], dr["Weak instruments"]["statistic"]) < REL
    assert (
        _rel(robust["first_stage"]["kleibergen_paap_f"], dr["Weak instruments"]["statistic"]) < REL
    )
    # classical: Cragg-Donald F equals the classical first-stage F (one endogenous regressor)
    assert _rel(classical["first_stage"]["cragg_donald_f"], weak["statistic"]) < REL

    wu = dc["Wu-Hausman"]
    assert _rel(classical["wu_hausman"]["statistic"], wu["statistic"]) < REL
    assert _rel(classical["wu_hausman"]["p_value"], wu["p_value"]) < 1e-5
    # robust endogeneity test: AER's HC1 Wu-Hausman F (df1 = 1) is the Wald chi2(1)
    assert _rel(robust["endogeneity_robust"]["statistic"], dr["Wu-Hausman"]["statistic"]) < REL

    if model == "over":
        sargan = dc["Sargan"]
        assert _rel(classical["sargan"]["statistic"], sargan["statistic"]) < REL
        assert _rel(classical["sargan"]["p_value"], sargan["p_value"]) < 1e-5
        assert classical["sargan"]["df"] == [sargan["df1"]]
    else:
        assert classical["sargan"]["available"] is False
        assert classical["hansen_j"]["available"] is False


def test_first_stage_against_r_lm(mroz: pd.DataFrame, ref: dict) -> None:
    fs_ref = ref["first_stage_over"]
    classical = _fit(mroz, INSTRUMENTS["over"], cov_type="unadjusted").details["first_stage"]
    robust = _fit(mroz, INSTRUMENTS["over"], cov_type="robust").details["first_stage"]
    for z in INSTRUMENTS["over"]:
        assert _rel(classical["coef"][z], fs_ref["coef"][z]) < REL
        assert _rel(classical["se"][z], fs_ref["se_classical"][z]) < REL
        assert _rel(robust["se"][z], fs_ref["se_hc1"][z]) < REL
    assert _rel(classical["f_statistic"], fs_ref["f_classical"]) < REL
    assert _rel(robust["f_statistic"], fs_ref["f_hc1"]) < REL
    assert _rel(classical["partial_r2"], fs_ref["partial_r2"]) < REL


def test_liml_against_r_k_class(mroz: pd.DataFrame, ref: dict) -> None:
    liml = _fit(mroz, INSTRUMENTS["over"], cov_type="unadjusted", method="liml")
    assert _rel(liml.details["kappa"], ref["liml_over"]["kappa"]) < REL
    assert _rel(liml.estimate, ref["liml_over"]["coef"]) < REL
    assert _rel(liml.std_error, ref["liml_over"]["se_classical"]) < REL
    # exactly identified: LIML is 2SLS (kappa = 1), in R and here
    just_liml = _fit(mroz, INSTRUMENTS["just"], cov_type="unadjusted", method="liml")
    assert abs(ref["liml_just"]["kappa"] - 1.0) < 1e-10
    assert _rel(just_liml.estimate, ref["just"]["coef"]["education"]) < REL
    assert _rel(just_liml.estimate, ref["liml_just"]["coef"]) < REL
    assert _rel(just_liml.std_error, ref["just"]["se_classical"]["education"]) < REL


def test_liml_equals_linearmodels_ivliml(mroz: pd.DataFrame) -> None:
    est = _fit(mroz, INSTRUMENTS["over"], cov_type="robust", method="liml")
    direct = IVLIML(
        mroz["lwage"],
        mroz[CONTROLS].assign(const=1.0),
        mroz[["education"]].astype(float),
        mroz[INSTRUMENTS["over"]].astype(float),
    ).fit(cov_type="robust", debiased=True)
    assert est.estimate == pytest.approx(direct.params["education"], rel=1e-12)
    assert est.std_error == pytest.approx(direct.std_errors["education"], rel=1e-12)


def _r_roots(entry: dict) -> list[float]:
    roots = entry["roots"]
    return [float(v) for v in roots] if isinstance(roots, list) else []


@pytest.mark.parametrize(
    ("key", "instruments", "cov_type"),
    [
        ("over_classical", ["meducation", "feducation"], "unadjusted"),
        ("over_hc1", ["meducation", "feducation"], "robust"),
        ("just_classical", ["feducation"], "unadjusted"),
        ("just_hc1", ["feducation"], "robust"),
        ("weak_unemp_classical", ["unemp"], "unadjusted"),
        ("weak_unemp_hc1", ["unemp"], "robust"),
    ],
)
def test_anderson_rubin_bounded_sets_match_r_brute_force(
    mroz: pd.DataFrame, ref: dict, key: str, instruments: list[str], cov_type: str
) -> None:
    entry = ref["anderson_rubin"][key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unemp is weak: a WeakInstrumentWarning is expected
        est = InstrumentalVariables(cov_type=cov_type).fit(  # type: ignore[arg-type]
            mroz,
            outcome="lwage",
            treatment="education",
            instruments=instruments,
            covariates=CONTROLS,
        )
    ar = est.details["anderson_rubin"]
    lo, hi = _r_roots(entry)
    assert not entry["inside_at_grid_min"] and not entry["inside_at_grid_max"]
    assert ar["shape"] == "bounded" and ar["bounded"] is True
    assert ar["ci_lower"] == pytest.approx(lo, rel=REL, abs=1e-9)
    assert ar["ci_upper"] == pytest.approx(hi, rel=REL, abs=1e-9)
    assert ar["critical_value"] == pytest.approx(entry["critical_value"], rel=1e-9)
    assert ar["statistic"] == pytest.approx(entry["statistic_at_zero"], rel=REL)
    assert ar["p_value"] == pytest.approx(entry["p_value_at_zero"], rel=1e-5)


@pytest.mark.parametrize("instrument", ["hours", "age"])
@pytest.mark.parametrize(("suffix", "cov_type"), [("classical", "unadjusted"), ("hc1", "robust")])
def test_anderson_rubin_unbounded_sets_match_r(
    mroz: pd.DataFrame, ref: dict, instrument: str, suffix: str, cov_type: str
) -> None:
    """Very weak instruments: R finds every grid point in [-20, 20] accepted, no crossing."""
    entry = ref["anderson_rubin"][f"weak_{instrument}_{suffix}"]
    assert entry["inside_at_grid_min"] and entry["inside_at_grid_max"]
    assert _r_roots(entry) == []
    d = mroz
    res = anderson_rubin(
        d["lwage"].to_numpy(),
        d["education"].to_numpy(dtype=float),
        d[[instrument]].to_numpy(dtype=float),
        np.column_stack([np.ones(len(d)), d[CONTROLS].to_numpy(dtype=float)]),
        cov_type=cov_type,  # type: ignore[arg-type]
    )
    assert res.shape == "real_line"
    assert res.bounded is False
    assert math.isinf(res.ci_lower) and math.isinf(res.ci_upper)
    assert res.statistic == pytest.approx(entry["statistic_at_zero"], rel=REL)
    if suffix == "classical":
        # the AR statistic tends to the first-stage F as |b| grows
        first_f = ref["anderson_rubin"][f"weak_{instrument}_first_stage_f"]
        assert res.statistic_at_infinity == pytest.approx(first_f, rel=REL)


def test_hansen_j_two_step_gmm_by_hand(mroz: pd.DataFrame) -> None:
    """Hansen J (robust weight, two-step) recomputed with numpy from its definition."""
    est = _fit(mroz, INSTRUMENTS["over"], cov_type="robust")
    y = mroz["lwage"].to_numpy()
    w = np.column_stack([np.ones(len(mroz)), mroz[CONTROLS].to_numpy(dtype=float)])
    xmat = np.column_stack([w, mroz["education"].to_numpy(dtype=float)])
    zmat = np.column_stack([w, mroz[INSTRUMENTS["over"]].to_numpy(dtype=float)])
    n = len(y)

    def gmm(weight: np.ndarray) -> np.ndarray:
        a = xmat.T @ zmat @ weight
        return np.linalg.solve(a @ zmat.T @ xmat, a @ zmat.T @ y)

    b1 = gmm(np.linalg.inv(zmat.T @ zmat / n))
    u1 = y - xmat @ b1
    s = (zmat * u1[:, None]).T @ (zmat * u1[:, None]) / n
    weight = np.linalg.inv(s)
    b2 = gmm(weight)
    g = zmat.T @ (y - xmat @ b2) / n
    j = float(n * g @ weight @ g)
    assert est.details["hansen_j"]["statistic"] == pytest.approx(j, rel=1e-8)
    assert est.details["hansen_j"]["df"] == [1]


@pytest.mark.parametrize("model", ["over", "just"])
def test_clustered_against_sandwich_vcovcl(mroz: pd.DataFrame, ref: dict, model: str) -> None:
    """Cluster-robust SEs, first-stage F and AR set vs sandwich::vcovCL(type = "HC1").

    Clusters are the women's ages (31 groups): not a natural grouping, only a test of the
    cluster-robust formulas (Stata's G/(G-1) (n-1)/(n-k) correction).
    """
    cl = ref["clustered"]
    est = _fit(mroz, INSTRUMENTS[model], cov_type="clustered", cluster="age")
    assert est.details["n_clusters"] == cl["n_clusters"] == 31
    assert _rel(est.std_error, cl[f"se_{model}"]["education"]) < REL
    ar_ref = cl[f"ar_{model}"]
    lo, hi = _r_roots(ar_ref)
    ar = est.details["anderson_rubin"]
    assert ar["shape"] == "bounded"
    assert ar["ci_lower"] == pytest.approx(lo, rel=REL, abs=1e-9)
    assert ar["ci_upper"] == pytest.approx(hi, rel=REL, abs=1e-9)
    assert ar["statistic"] == pytest.approx(ar_ref["statistic_at_zero"], rel=REL)
    if model == "over":
        fs = est.details["first_stage"]
        assert _rel(fs["f_statistic"], cl["first_stage_f_over"]) < REL
        assert _rel(fs["kleibergen_paap_f"], cl["first_stage_f_over"]) < REL
        for z in INSTRUMENTS["over"]:
            assert _rel(fs["se"][z], cl["first_stage_se_over"][z]) < REL
        assert est.details["hansen_j"]["weight"] == "clustered"
