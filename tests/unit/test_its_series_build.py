"""Stage 4 of the series designs (impacteval.pipeline.series_build) on hand-made tables.

Every expected count, population and person-time is worked out next to the rows behind it.
Window: January-March 2023 (monthly); intervention area 04N, comparison area 03W.

persons: a (04N, registered from 2022-12-15), b (04N, registration ends 2023-02-14),
c (03W), d (00L: neither), e (04N, dies 2023-02-10).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from impacteval.config.models import SeriesSpec
from impacteval.exceptions import ConfigError, DesignError
from impacteval.pipeline.design_registry import EpisodeData
from impacteval.pipeline.series_build import build_episode_series

CUT = dt.date(2023, 3, 31)
D = 365.25


def _dates(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values)).dt.date


@pytest.fixture
def episode() -> EpisodeData:
    persons = pd.DataFrame({
        "person_id": ["a", "b", "c", "d", "e"],
        "CCG_CODE": ["04N", "04N", "03W", "00L", "04N"],
        "REG_START": _dates(["2022-12-15", None, None, None, None]),
        "REG_END": _dates([None, "2023-02-14", None, None, None]),
    })
    settings = pd.DataFrame({
        "person_id": ["a", "e", "b"],
        "SETTING_ID": ["s1", "s2", "s3"],
        "SETTING_TYPE": ["residential", "nursing", "residential"],
        "START_DATE": _dates(["2023-01-10", "2022-06-01", "2023-03-05"]),
        "END_DATE": _dates(["2023-02-20", None, None]),
    })
    events = pd.DataFrame({
        "person_id": ["a", "a", "a", "b", "b", "c", "d", "e", "e"],
        "event": ["emergency_admission"] * 8 + ["death"],
        "start_date": _dates(["2023-01-05", "2023-03-31", "2022-12-20", "2023-02-10",
                              "2023-03-01", "2023-01-20", "2023-01-21", "2023-02-05",
                              "2023-02-10"]),
        "end_date": _dates([None] * 9),
        "nights": pd.Series([None] * 9, dtype="Int64"),
    })
    return EpisodeData(con=None, tables={"persons": ibis.memtable(persons),
                                         "settings": ibis.memtable(settings)},
                       events=ibis.memtable(events), diagnoses=None)


def _spec(**kw: object) -> SeriesSpec:
    return SeriesSpec(start=dt.date(2023, 1, 1), end=CUT, **kw)  # type: ignore[arg-type]


def test_registered_residents_with_a_comparison_area(episode: EpisodeData) -> None:
    frame, attrition, _ = build_episode_series(
        _spec(areas=["04N"], comparison_areas=["03W"], denominator="population"),
        ["emergency_admissions", "deaths"], episode, CUT, where="its.series")
    i = frame[frame["group"] == 1].reset_index(drop=True)
    c = frame[frame["group"] == 0].reset_index(drop=True)
    assert list(frame["group"]) == [1, 1, 1, 0, 0, 0]  # intervention series first
    # Jan: a (5th); Feb: b (10th, registered), e (5th); Mar: a (31st); b's 1 March admission
    # is after his registration ended, a's December one before the window, d is in neither area
    assert i["emergency_admissions"].tolist() == [1, 2, 1]
    assert i["deaths"].tolist() == [0, 1, 0]
    # on the first day: Jan a, b, e; Feb a, b, e; Mar a (b left on 14 Feb, e died 10 Feb)
    assert i["population"].tolist() == [3, 3, 1]
    # Jan 3 x 31 days; Feb a 28 + b 14 + e 10; Mar a 31
    assert i["person_years"].tolist() == pytest.approx([93 / D, 52 / D, 31 / D])
    assert c["emergency_admissions"].tolist() == [1, 0, 0]
    assert c["population"].tolist() == [1, 1, 1]
    assert c["person_years"].tolist() == pytest.approx([31 / D, 28 / D, 31 / D])
    assert i["emergency_admissions_rate"].tolist() == pytest.approx([1000 / 3, 2000 / 3, 1000])
    assert (attrition["n_treated"].iloc[0], attrition["n_control"].iloc[0]) == (3, 1)


def test_care_home_residents_count_only_while_resident(episode: EpisodeData) -> None:
    frame, attrition, _ = build_episode_series(
        _spec(population="care_home_residents"), ["emergency_admissions"], episode, CUT,
        where="its.series")
    assert "group" not in frame.columns
    # a lives in s1 10 Jan - 20 Feb (admissions on 5 Jan and 31 Mar are outside), e in s2
    # until death on 10 Feb (admission 5 Feb counts), b in s3 from 5 March (admissions on
    # 10 Feb and 1 Mar are before)
    assert frame["emergency_admissions"].tolist() == [0, 1, 0]
    # Jan e 31 + a 22; Feb a 20 + e 10; Mar b 27
    assert frame["person_years"].tolist() == pytest.approx([53 / D, 30 / D, 27 / D])
    assert frame["population"].tolist() == [1, 2, 0]
    assert attrition["n_treated"].iloc[0] == 3


def test_a_period_without_population_is_an_error(episode: EpisodeData) -> None:
    with pytest.raises(DesignError, match="1 period"):
        build_episode_series(_spec(population="care_home_residents", denominator="population"),
                             ["emergency_admissions"], episode, CUT, where="spc.series")


@pytest.mark.parametrize("kw", [{"start": dt.date(2023, 1, 2)}, {"end": dt.date(2023, 3, 30)},
                                {"frequency": "week"}])
def test_partial_periods_are_config_errors(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="whole"):
        SeriesSpec(**{"start": dt.date(2023, 1, 1), "end": CUT, **kw})  # type: ignore[arg-type]


def test_a_window_past_the_cut_is_an_error(episode: EpisodeData) -> None:
    spec = SeriesSpec(start=dt.date(2023, 1, 1), end=dt.date(2023, 4, 30))
    with pytest.raises(ConfigError) as err:
        build_episode_series(spec, ["emergency_admissions"], episode, CUT, where="its.series")
    assert err.value.where == "its.series.end"
