"""Benchmark: impacteval's Callaway-Sant'Anna against the PyPI package ``differences``.

Balanced panel of N units (default 1,000,000) x 10 periods, three adoption cohorts (periods
4, 6 and 8) and never-treated units; both estimators in one process, outcome regression,
never-treated comparison group, no covariates: every ATT(g,t) with analytic standard errors
and the simple aggregation. Prints wall time and peak traced memory (tracemalloc) of each,
the ratios and the largest absolute difference of the ATT(g,t). ``differences`` is imported
only here; without it the script says so and exits.

    python benchmarks/did_vs_differences.py [--units 1000000] [--periods 10] [--seed 20261130]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

from impacteval.estimators.did import CallawaySantAnna


def simulate(units: int, periods: int, seed: int) -> pd.DataFrame:
    """Long panel: unit and period effects, cohort-specific effects growing with exposure."""
    rng = np.random.default_rng(seed)
    cohort = rng.choice(np.array([4, 6, 8, 0]), size=units)
    t = np.arange(1, periods + 1)
    e = t[None, :] - cohort[:, None]
    effect = np.where((cohort[:, None] > 0) & (e >= 0), 0.5 + 0.1 * e, 0.0)
    y = rng.normal(size=units)[:, None] + 0.1 * t[None, :] + effect + rng.normal(size=(units, periods))
    return pd.DataFrame({"unit": np.repeat(np.arange(units), periods),
                         "period": np.tile(t, units), "y": y.ravel(),
                         "cohort": np.repeat(cohort, periods)})


def _measure(fn):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, elapsed, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    try:
        from differences import ATTgt
    except ImportError:
        print("differences is not installed: `pip install differences` to run this benchmark.")
        return 0
    data = simulate(args.units, args.periods, args.seed)
    print(f"panel: {args.units:,} units x {args.periods} periods ({len(data):,} rows)")

    def ours() -> tuple[pd.DataFrame, float]:
        gt = CallawaySantAnna(est_method="reg").estimate_cells(
            data, outcome="y", unit="unit", time="period", cohort="cohort")
        return gt.cells, gt.aggregate("simple").estimate

    def peer() -> tuple[pd.DataFrame, float]:
        panel = data.assign(cohort=data["cohort"].where(data["cohort"] > 0)).set_index(
            ["unit", "period"])
        att = ATTgt(data=panel, cohort_column="cohort")
        att.fit(formula="y", est_method="reg", control_group="never_treated", progress_bar=False)
        res = att.results()
        res.columns = [c[-1] for c in res.columns]
        simple = att.aggregate("simple")
        return res.reset_index(), float(simple.iloc[0, 0])

    (cells, simple_ours), t_ours, m_ours = _measure(ours)
    print(f"impacteval : {t_ours:8.2f} s, peak {m_ours / 2**20:9.1f} MiB, simple ATT {simple_ours:.6f}")
    (ref, simple_ref), t_ref, m_ref = _measure(peer)
    print(f"differences: {t_ref:8.2f} s, peak {m_ref / 2**20:9.1f} MiB, simple ATT {simple_ref:.6f}")
    merged = cells.merge(ref, on=["cohort", "time"], suffixes=("_ours", "_peer"))
    att_diff = np.max(np.abs(merged["att"] - merged["ATT"]))
    se_diff = np.max(np.abs(merged["std_error_ours"] / merged["std_error_peer"] - 1))
    print(f"cells compared: {len(merged)}; max |ATT difference| {att_diff:.2e}; "
          f"max relative SE difference {se_diff:.2e}")
    print(f"speed ratio (differences / impacteval): {t_ref / t_ours:.1f}x; "
          f"memory ratio: {m_ref / m_ours:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
