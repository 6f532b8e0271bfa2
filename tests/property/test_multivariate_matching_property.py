"""Property: KD-tree matching equals a dense brute-force greedy matcher on any small data.

Integer-valued points make exact distance ties common, so the tie rule (earliest control)
is exercised; calipers and per-covariate calipers are drawn too.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from impacteval.exceptions import DesignError
from impacteval.matching.multivariate import match_points


def _brute(P, t, ratio, replace, caliper, C, widths):
    tu, cu = np.flatnonzero(t), np.flatnonzero(~t)
    D = cdist(P[tu], P[cu])
    ok = D <= caliper
    if C is not None:
        ok &= np.all(np.abs(C[tu][:, None, :] - C[cu][None, :, :]) <= widths, axis=2)
    D = np.where(ok, D, np.inf)
    out = set()
    if replace:
        for i in range(len(tu)):
            cand = [j for j in np.lexsort((np.arange(len(cu)), D[i])) if np.isfinite(D[i, j])]
            out |= {(int(tu[i]), int(cu[j])) for j in cand[:ratio]}
        return out
    taken = np.zeros(len(cu), bool)
    active = np.ones(len(tu), bool)
    for _ in range(ratio):
        for i in range(len(tu)):
            if not active[i]:
                continue
            d = np.where(taken, np.inf, D[i])
            if not np.isfinite(d).any():
                active[i] = False
                continue
            j = int(np.argmin(d))
            taken[j] = True
            out.add((int(tu[i]), int(cu[j])))
    return out


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n=st.integers(4, 40),
    p=st.integers(1, 3),
    ratio=st.integers(1, 3),
    replace=st.booleans(),
    caliper=st.sampled_from([np.inf, 1.0, 2.5]),
    use_cov_caliper=st.booleans(),
)
def test_kdtree_equals_brute_force(data, n, p, ratio, replace, caliper, use_cov_caliper) -> None:
    P = np.array(
        data.draw(
            st.lists(st.lists(st.integers(-3, 3), min_size=p, max_size=p), min_size=n, max_size=n)
        ),
        dtype=float,
    )
    t = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if t.all() or not t.any():
        t[0], t[-1] = True, False
    C = P[:, :1] if use_cov_caliper else None
    widths = np.array([1.0]) if use_cov_caliper else None
    expected = _brute(P, t, ratio, replace, caliper, C, widths)
    try:
        m = match_points(
            P,
            t,
            ratio=ratio,
            replace=replace,
            caliper=None if np.isinf(caliper) else caliper,
            caliper_covariates=C,
            caliper_widths=widths,
        )
    except DesignError as exc:  # nothing matched: the brute force must agree
        assert not expected, exc
        return
    got = set(
        zip(m.pairs["treated_index"].tolist(), m.pairs["control_index"].tolist(), strict=True)
    )
    assert got == expected
