"""Released tables and rendering: Table 1 SDC, plain-English wording, escaping."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from report_fixtures import FAKE_MANIFEST, fake_result

from impacteval.exceptions import DisclosureError
from impacteval.report import REGIMES
from impacteval.report.render import (
    build_context,
    fmt_count,
    fmt_p,
    plain_summary,
    render_html,
    render_markdown,
)
from impacteval.report.tables import (
    estimate_rows,
    is_naive,
    release_estimate_details,
    release_figure_data,
    release_mapping,
    release_table_one,
    release_tables,
)
from impacteval.results import EffectEstimate

REGIME = REGIMES["nhse_sde"]


def _rr(estimate: float, lo: float, hi: float, **details: float) -> EffectEstimate:
    return EffectEstimate(
        design="matched_cohort", estimator="matched_rate_ratio",
        outcome="emergency_admissions", estimand="ATT", scale="rate_ratio",
        estimate=estimate, std_error=0.1, ci_lower=lo, ci_upper=hi, p_value=0.01,
        n_treated=400, n_control=400, details=details,
    )


def test_summary_reduction_excluding_null() -> None:
    s = plain_summary(_rr(0.75, 0.64, 0.88, absolute_difference_per_1000=-284.4,
                          absolute_difference_per_1000_ci_lower=-404.2,
                          absolute_difference_per_1000_ci_upper=-174.0))
    assert s["headline"] == "an estimated 25% fewer emergency admissions (95% CI 12% to 36% fewer)"
    assert s["absolute"] == (
        "about 284 fewer emergency admissions per 1,000 person-years (95% CI 174 to 404 fewer)"
    )
    assert s["excludes_null"] is True
    assert "observational" in s["interpretation"]


def test_summary_interval_including_null_and_increase() -> None:
    s = plain_summary(_rr(1.02, 0.86, 1.22))
    assert s["headline"].endswith("(95% CI from 14% fewer to 22% more)")
    assert s["excludes_null"] is False and "consistent with no change" in s["interpretation"]
    assert s["absolute"] is None
    up = plain_summary(_rr(1.31, 1.16, 1.47))
    assert up["headline"] == "an estimated 31% more emergency admissions (95% CI 16% to 47% more)"


def test_summary_difference_scale() -> None:
    e = dataclasses.replace(_rr(0.0, 0.0, 0.0), scale="difference", estimate=-1.5,
                            ci_lower=-2.0, ci_upper=-1.0)
    s = plain_summary(e)
    assert "difference of -1.50" in s["headline"] and s["excludes_null"] is True


def test_formatters() -> None:
    assert fmt_count(5210) == "5,210" and fmt_count("<10") == "<10" and fmt_count(None) == "-"
    assert fmt_p(0.0004) == "<0.001" and fmt_p(0.0123) == "0.012"


def test_table_one_percentages_from_rounded_counts() -> None:
    t = release_table_one(fake_result().table_one, REGIME)
    f = t.frame.set_index("covariate")
    assert f.at["n", "treated_before"] == 400  # 402 rounded to 5
    # female 68.2% of 402 = 274 people -> 275 of 400 -> 68.75% shown to one decimal
    assert f.at["female", "treated_before"] == round(275 / 400 * 100, 1)
    # 1.2% of 402 = 5 people: suppressed
    assert f.at["ethnicity_other", "treated_before"] == "<10"
    assert f.at["age", "treated_before"] == 86.4  # means kept when n is released
    assert t.count_rows == {"statistic": ("n",)}


def test_table_one_means_hidden_when_n_suppressed_and_n_required() -> None:
    t1 = pd.DataFrame({"covariate": ["n", "age"], "statistic": ["n", "mean"],
                       "treated_before": [6, 81.0], "control_before": [300, 80.0]})
    out = release_table_one(t1, REGIME).frame
    assert out["treated_before"].tolist() == ["<10", "<10"]
    assert out["control_before"].tolist() == [300, 80.0]
    with pytest.raises(DisclosureError, match="no 'n' row"):
        release_table_one(t1.iloc[1:], REGIME)


def test_table_one_n_row_found_by_covariate_name() -> None:
    t1 = pd.DataFrame({"covariate": ["n", "female"], "statistic": ["count", "percent"],
                       "treated_before": [402, 50.0]})
    t = release_table_one(t1, REGIME)
    assert t.frame["statistic"].tolist() == ["n", "percent"]
    assert t.frame["treated_before"].tolist() == [400, 50.0]  # 201 of 402 -> 200 of 400


def test_table_one_means_of_indicators_are_controlled_as_proportions() -> None:
    # The pipeline reports every covariate as a mean; the mean of a 0/1 indicator is a
    # proportion: 0.01 of 402 = 4 people must not be released.
    t1 = pd.DataFrame({"covariate": ["n", "female", "rare", "age"],
                       "label": ["Number of people", "Female", "Rare", "Age"],
                       "statistic": ["count", "mean", "mean", "mean"],
                       "treated_before": [402, 0.682, 0.01, 86.4]})
    f = release_table_one(t1, REGIME).frame
    assert f["treated_before"].tolist() == [400, round(275 / 400, 3), "<10", 86.4]
    assert f["statistic"].tolist() == ["n", "proportion", "proportion", "mean"]
    assert f["label"].tolist() == t1["label"].tolist()


def test_balance_drops_group_means() -> None:
    bal = fake_result().balance.assign(mean_treated_before=0.5, mean_control_before=0.4)
    out = release_tables(dataclasses.replace(fake_result(), balance=bal), REGIME)["balance"]
    assert not [c for c in out.frame.columns if c.startswith("mean_")]
    assert {"smd_ok", "variance_ratio_ok"} <= set(out.frame.columns)


def test_check_outputs_reexported_from_sdc() -> None:
    from impacteval.report import check_outputs, sdc

    assert sdc.check_outputs is check_outputs


def test_release_mapping_controls_count_keys_only() -> None:
    out, log = release_mapping(
        {"n_discarded": 4, "max_abs_smd_after": 0.12, "nested": {"events_treated": 123},
         "flag": True}, REGIME)
    assert out == {"n_discarded": "<10", "max_abs_smd_after": 0.12,
                   "nested": {"events_treated": 125}, "flag": True}
    assert {e["action"] for e in log} == {"primary_suppression", "rounded"}


def test_estimate_details_crude_rates_follow_released_counts() -> None:
    details = {"rate_treated": 5 / 400.0 * 1000, "n_events_treated": 5, "person_years_treated": 400.0,
               "rate_control": 123 / 410.0 * 1000, "n_events_control": 123,
               "person_years_control": 410.0, "absolute_difference_per_1000_py": -150.0}
    out, _ = release_estimate_details(details, REGIME)
    assert out["n_events_treated"] == "<10" and out["rate_treated"] == "<10"
    assert out["n_events_control"] == 125
    assert out["rate_control"] == round(125 / 410.0 * 1000, 1)
    assert out["absolute_difference_per_1000_py"] == -150.0  # model output: exempt


def test_row_level_scores_are_binned_with_coarse_edges() -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"propensity": rng.uniform(0.013, 0.977, 500),
                       "treated": rng.integers(0, 2, 500)})
    t = release_figure_data("propensity_overlap", df, REGIME)
    assert len(t.frame) == 20 and t.count_columns == ("n_treated", "n_control")
    assert t.frame["bin_lower"].iloc[0] == 0.0 and t.frame["bin_upper"].iloc[-1] == 1.0


def test_naive_detection_and_abs_ci_forms() -> None:
    e = _rr(0.9, 0.8, 1.0, absolute_difference_per_1000=-10.0)
    naive = dataclasses.replace(e, details={"sample": "unmatched",
                                            "absolute_difference_per_1000_ci": [-20.0, 1.0]})
    assert not is_naive(e) and is_naive(naive)
    assert is_naive(dataclasses.replace(e, label="Naive comparison"))
    rows = estimate_rows([e, naive])
    assert rows["method"].tolist() == ["matched", "naive (unmatched)"]
    assert rows["absolute_difference_per_1000_ci_lower"].tolist()[1] == -20.0


def _context(result):  # type: ignore[no-untyped-def]
    tables = release_tables(result, REGIME)
    return build_context(result, tables, REGIME, manifest=FAKE_MANIFEST, figures={},
                         diagnostics={"n_discarded": "<10"}, sdc_log=[])


def test_text_is_escaped_in_html_and_markdown() -> None:
    r = fake_result()
    t1 = r.table_one.copy()
    t1.loc[1, "covariate"] = "age | years"
    evil = dataclasses.replace(r, title="<script>alert(1)</script> & Co", table_one=t1)
    ctx = _context(evil)
    html = render_html(ctx)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    md = render_markdown(ctx)
    assert md.startswith("# &lt;script>alert(1)&lt;/script> &amp; Co\n")
    assert "| age \\| years |" in md
    assert "| <10 |" in md  # labels stay readable in Markdown


def test_markdown_tables_are_well_formed() -> None:
    md = render_markdown(_context(fake_result()))
    lines = md.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Outcome | Method |"))
    n_cols = lines[header].count(" |")
    for line in lines[header: header + 8]:
        assert line.startswith("|") and line.count("|") - line.count("\\|") == n_cols + 1
    assert "Synthetic data: true effect" in lines[header]
    for heading in ["## Summary for commissioners", "## Methods", "## Participants",
                    "## Descriptive data", "## Balance", "## Outcomes", "## Main results",
                    "## Limitations", "## Reproducibility"]:
        assert heading in lines


def test_methods_and_limitations_come_from_config_and_diagnostics() -> None:
    ctx = _context(fake_result())
    m = ctx["methods"]
    assert m["caliper"] == "0.2 standard deviations of the distance"
    assert m["replace"] is False and m["ratio"] == 1 and m["family"] == "Poisson"
    assert m["regime"]["name"] == "nhse_sde"
    assert {"table": "apc_episodes", "rows_read": "611,205"} in m["sources"]
    limits = " ".join(ctx["limitations"])
    assert "(hfrs)" in limits and "(ethnicity other)" in limits
    assert "A small number (<10) of treated people" in limits
    assert "unmeasured confounding" in limits and "Regression to the mean" in limits
    assert ctx["summaries"][0]["outcome"] == "emergency_admissions"


def test_html_is_well_formed_and_strobe_links_resolve() -> None:
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        void = {"meta", "img", "br", "hr", "link", "input"}

        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.ids: set[str] = set()
            self.links: list[str] = []
            self.errors: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if a.get("id"):
                self.ids.add(str(a["id"]))
            if tag == "a" and a.get("href"):
                self.links.append(str(a["href"]))
            if tag not in self.void:
                self.stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if not self.stack or self.stack[-1] != tag:
                self.errors.append(f"unexpected </{tag}>")
            else:
                self.stack.pop()

    p = Tags()
    p.feed(render_html(_context(fake_result())))
    assert p.errors == [] and p.stack == []
    internal = [h[1:] for h in p.links if h.startswith("#")]
    assert internal and set(internal) <= p.ids
    assert not [h for h in p.links if not h.startswith("#")]


def test_methods_paragraph_follows_the_design() -> None:
    other = dataclasses.replace(fake_result(), design="difference_in_differences")
    html, md = render_html(_context(other)), render_markdown(_context(other))
    assert "Propensity-model covariates" not in html and "Propensity-model covariates" not in md
    assert "Design: difference in differences; estimand ATT." in html
    assert "Design: difference in differences; estimand ATT." in md
    matched_md = render_markdown(_context(fake_result()))
    assert "Matching: nearest-neighbour on the logit propensity" in matched_md


def test_table_one_categories_of_a_variable_are_protected_together() -> None:
    # 400 people: 385 white, 10 Asian, 5 unknown. Without the grouping, 5 = 400 - 385 - 10
    # would be recoverable; with it, the next smallest category (10) is suppressed too.
    t1 = pd.DataFrame({
        "covariate": ["n", "white", "asian", "unknown", "age"],
        "variable": [None, "ethnicity", "ethnicity", "ethnicity", None],
        "statistic": ["n", "percent", "percent", "percent", "mean"],
        "treated_before": [400, 96.25, 2.5, 1.25, 85.0],
    })
    grouped = release_table_one(t1, REGIME).frame["treated_before"].tolist()
    assert grouped == [400, round(385 / 400 * 100, 1), "<10", "<10", 85.0]
    ungrouped = release_table_one(t1.drop(columns="variable"), REGIME).frame
    assert ungrouped["treated_before"].tolist()[2] == 2.5


def test_group_total_hidden_hides_n_and_means_of_that_column() -> None:
    # A variable with one listed category (3 of 400): the group equation 400 = 3 can only be
    # protected by hiding its total, i.e. n of that column (and the means that rest on it).
    t1 = pd.DataFrame({
        "covariate": ["n", "rare", "age"], "variable": [None, "v", None],
        "statistic": ["n", "percent", "mean"],
        "treated_before": [400, 0.75, 85.0], "control_before": [400, 50.0, 84.0],
    })
    f = release_table_one(t1, REGIME).frame
    assert f["treated_before"].tolist() == ["<10", "<10", "<10"]
    assert f["control_before"].tolist() == [400, 50.0, 84.0]
