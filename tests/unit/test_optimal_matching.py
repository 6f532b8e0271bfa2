"""Optimal pair and k:1 matching: the total distance equals a brute-force optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from impacteval.exceptions import DesignError
from impacteval.matching import nearest_neighbour_match
from impacteval.matching.optimal import optimal_match


def _brute(P: np.ndarray, n1: int, k: int, caliper: float | None) -> tuple[int, float]:
    """Most matched treated copies, then the smallest total distance, by enumeration."""
    n0 = P.shape[0] - n1
    slots = [i for i in range(n1) for _ in range(k)]
    best = (0, 0.0)
    for combo in itertools.product([None, *range(n1, n1 + n0)], repeat=len(slots)):
        used = [c for c in combo if c is not None]
        if len(used) != len(set(used)):
            continue
        dist = [float(np.linalg.norm(P[i] - P[c])) for i, c in zip(slots, combo, strict=True)
                if c is not None]
        if caliper is not None and any(x > caliper for x in dist):
            continue
        if len(used) > best[0] or (len(used) == best[0] and sum(dist) < best[1] - 1e-12):
            best = (len(used), sum(dist))
    return best


@pytest.mark.parametrize("seed", range(40))
def test_total_distance_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n1, n0 = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    k = int(rng.integers(1, 3))
    P = rng.normal(size=(n1 + n0, int(rng.integers(1, 3)))).round(1)
    t = np.r_[np.ones(n1, int), np.zeros(n0, int)]
    caliper = None if seed % 2 else float(rng.uniform(0.3, 2.0))
    count, total = _brute(P, n1, k, caliper)
    if count == 0:
        with pytest.raises(DesignError, match="caliper"):
            optimal_match(P, t, ratio=k, caliper=caliper)
        return
    m = optimal_match(P, t, ratio=k, caliper=caliper)
    p = m.pairs
    got = np.linalg.norm(P[p["treated_index"]] - P[p["control_index"]], axis=1)
    assert len(p) == count
    assert got.sum() == pytest.approx(total, abs=1e-9)
    assert p["control_index"].is_unique  # without replacement
    assert (p.groupby("treated_index").size() <= k).all()


def test_never_worse_than_greedy_and_records_the_method() -> None:
    rng = np.random.default_rng(7)
    d = rng.normal(size=400) + np.r_[np.full(100, 0.8), np.zeros(300)]
    t = np.r_[np.ones(100, int), np.zeros(300, int)]
    opt = optimal_match(d, t, distance_name="logit_propensity")
    greedy = nearest_neighbour_match(d, t)
    total = {name: np.abs(d[m.pairs["treated_index"]] - d[m.pairs["control_index"]]).sum()
             for name, m in (("opt", opt), ("greedy", greedy))}
    assert total["opt"] <= total["greedy"] + 1e-12
    assert opt.method == "optimal" and opt.distance == "logit_propensity"
    assert opt.weights[t == 1].sum() == 100


def test_exact_strata_and_size_guard() -> None:
    rng = np.random.default_rng(3)
    d = rng.normal(size=60)
    t = np.r_[np.ones(20, int), np.zeros(40, int)]
    sex = rng.integers(0, 2, 60)
    m = optimal_match(d, t, exact=sex)
    p = m.pairs
    assert (sex[p["treated_index"]] == sex[p["control_index"]]).all()
    with pytest.raises(DesignError, match="candidate pairs") as info:
        optimal_match(d, t, max_edges=100)
    assert info.value.where == "matching.method"
