"""Properties of nearest-neighbour matching, checked against a brute-force O(n_t * n_c) matcher.

The brute-force matcher below states MatchIt's rule directly (no sorting tricks): each treated
unit, in the given order, takes the available control with the smallest |distance difference|
within the caliper; ties go to the control *below* it in (distance, data order), and among
those the nearest in that order. Calipers are checked here, not against Debian's MatchIt
(see tests/reference/scripts/build_matchit_fixed.sh).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from impacteval.matching import balance_table, nearest_neighbour_match


def _key(d: np.ndarray, c: int, t: int) -> tuple:
    diff = abs(d[c] - d[t])
    below = (d[c], c) < (d[t], t)
    # below: nearest = largest (distance, index); above: smallest (distance, index)
    return (diff, 0, -d[c], -c) if below else (diff, 1, d[c], c)


def brute_force(d, treated, ratio, replace, width, visit):
    treated_idx = [i for i in range(len(d)) if treated[i]]
    controls = [i for i in range(len(d)) if not treated[i]]
    matches: dict[int, list[int]] = {t: [] for t in treated_idx}
    if replace:
        for t in treated_idx:
            ok = sorted(
                (c for c in controls if abs(d[c] - d[t]) <= width), key=lambda c: _key(d, c, t)
            )
            matches[t] = ok[:ratio]
        return matches
    available = set(controls)
    active = set(treated_idx)
    for _ in range(ratio):
        for i in visit:
            t = treated_idx[i]
            if t not in active or not available:
                continue
            ok = [c for c in available if abs(d[c] - d[t]) <= width]
            if not ok:
                active.discard(t)
                continue
            best = min(ok, key=lambda c: _key(d, c, t))
            matches[t].append(best)
            available.remove(best)
    return matches


def _visit(d, treated, order, seed):
    dt = [d[i] for i in range(len(d)) if treated[i]]
    n1 = len(dt)
    if order == "largest":
        return sorted(range(n1), key=lambda i: (-dt[i], i))
    if order == "smallest":
        return sorted(range(n1), key=lambda i: (dt[i], i))
    if order == "random":
        return list(np.random.default_rng(seed).permutation(n1))
    return list(range(n1))


@st.composite
def problems(draw):
    n = draw(st.integers(2, 40))
    treated = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if all(treated) or not any(treated):
        treated[0] = not treated[0]
    tied = draw(st.booleans())
    if tied:  # few distinct values: exercises the tie rule
        d = [float(v) / 4 for v in draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))]
    else:
        d = draw(st.lists(st.floats(-4, 4, allow_nan=False, width=32), min_size=n, max_size=n))
    caliper = draw(st.one_of(st.none(), st.floats(0.05, 3.0)))
    return (
        np.array(d, dtype=float),
        np.array(treated),
        draw(st.integers(1, 3)),
        draw(st.booleans()),
        caliper,
        draw(st.sampled_from(["largest", "smallest", "data", "random"])),
        draw(st.integers(0, 2**16)),
    )


def _as_dict(result) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {int(t): [] for t in np.flatnonzero(result.treated)}
    for t, c in zip(result.pairs["treated_index"], result.pairs["control_index"], strict=True):
        out[int(t)].append(int(c))
    return out


@settings(max_examples=300, deadline=None)
@given(problems())
def test_same_matches_as_brute_force(problem) -> None:
    d, treated, ratio, replace, caliper, order, seed = problem
    width = np.inf if caliper is None else caliper
    expected = brute_force(d, treated, ratio, replace, width, _visit(d, treated, order, seed))
    if not any(expected.values()):
        return  # nothing matchable: covered by the DesignError unit test
    result = nearest_neighbour_match(
        d,
        treated,
        ratio=ratio,
        replace=replace,
        caliper=caliper,
        caliper_scale="raw",
        order=order,
        rng=np.random.default_rng(seed),
    )
    got = _as_dict(result)
    if replace:  # order within a matched set is the nearest-first order in both
        assert got == expected
    else:
        assert {t: sorted(c) for t, c in got.items()} == {t: sorted(c) for t, c in expected.items()}


@settings(max_examples=150, deadline=None)
@given(problems())
def test_weights_and_structure(problem) -> None:
    d, treated, ratio, replace, caliper, order, seed = problem
    try:
        result = nearest_neighbour_match(
            d,
            treated,
            ratio=ratio,
            replace=replace,
            caliper=caliper,
            order=order,
            rng=np.random.default_rng(seed),
        )
    except Exception as exc:  # only the documented no-overlap error is allowed
        assert type(exc).__name__ == "DesignError"
        return
    p = result.pairs
    w = result.weights
    # every pair within the caliper (caliper in pooled SDs of the distance)
    assert np.all(np.abs(d[p["treated_index"]] - d[p["control_index"]]) <= result.caliper_width)
    assert result.caliper_width == (np.inf if caliper is None else caliper * np.std(d, ddof=1))
    assert np.all(treated[p["treated_index"]]) and not np.any(treated[p["control_index"]])
    assert p.groupby("treated_index").size().max() <= ratio
    if not replace:
        assert p["control_index"].is_unique
    # MatchIt's weights: matched treated 1, control weights sum to the number of matched controls
    matched_t = np.unique(p["treated_index"])
    np.testing.assert_array_equal(w[matched_t], 1.0)
    assert np.isclose(w[~treated].sum(), np.unique(p["control_index"]).size)
    assert np.array_equal(result.matched, w > 0)
    np.testing.assert_array_equal(result.discarded, treated & (w == 0))
    # one subclass per matched treated unit, numbered 1.. in data order
    first = p.drop_duplicates("subclass")
    assert list(first["subclass"]) == list(range(1, len(first) + 1))
    assert list(first["treated_index"]) == sorted(first["treated_index"])


@settings(max_examples=50, deadline=None)
@given(problems())
def test_inputs_not_mutated(problem) -> None:
    d, treated, ratio, replace, caliper, order, seed = problem
    d0, t0 = d.copy(), treated.copy()
    try:
        nearest_neighbour_match(
            d,
            treated,
            ratio=ratio,
            replace=replace,
            caliper=caliper,
            order=order,
            rng=np.random.default_rng(seed),
        )
    except Exception:
        pass
    np.testing.assert_array_equal(d, d0)
    np.testing.assert_array_equal(treated, t0)
    X = pd.DataFrame({"d": d, "g": np.where(d > 0, "a", "b")})
    X0 = X.copy()
    balance_table(X, treated)
    pd.testing.assert_frame_equal(X, X0)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_balance_weights_one_equals_unweighted(problem) -> None:
    d, treated, *_ = problem
    X = pd.DataFrame({"d": d, "b": (d > np.median(d)).astype(int)})
    pd.testing.assert_frame_equal(
        balance_table(X, treated), balance_table(X, treated, np.ones(len(d)))
    )


@settings(max_examples=150, deadline=None)
@given(problems(), st.data())
def test_exact_matching_is_brute_force_within_strata(problem, data) -> None:
    d, treated, ratio, replace, caliper, order, seed = problem
    strata = np.array(data.draw(st.lists(st.sampled_from("ab"), min_size=len(d), max_size=len(d))))
    width = np.inf if caliper is None else caliper
    rng = np.random.default_rng(seed)
    expected: dict[int, list[int]] = {}
    for level in sorted(set(strata)):  # strata in sorted label order, as the matcher
        units = np.flatnonzero(strata == level)
        sub_t = treated[units]
        if sub_t.all() or not sub_t.any():
            expected.update({int(u): [] for u in units[sub_t]})
            continue
        if order == "random" and not replace:
            visit = list(rng.permutation(int(sub_t.sum())))
        else:
            visit = _visit(d[units], sub_t, order, seed)
        local = brute_force(d[units], sub_t, ratio, replace, width, visit)
        expected.update({int(units[t]): [int(units[c]) for c in cs] for t, cs in local.items()})
    if not any(expected.values()):
        return
    result = nearest_neighbour_match(
        d,
        treated,
        ratio=ratio,
        replace=replace,
        caliper=caliper,
        caliper_scale="raw",
        order=order,
        rng=np.random.default_rng(seed),
        exact=strata,
    )
    got = _as_dict(result)
    assert {t: sorted(c) for t, c in got.items()} == {t: sorted(c) for t, c in expected.items()}
    p = result.pairs
    assert np.array_equal(strata[p["treated_index"]], strata[p["control_index"]])
