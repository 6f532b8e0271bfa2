"""Benchmark: nearest-neighbour matching of 1M treated against 10M controls, no distance matrix.

    .venv/bin/python benchmarks/nearest_scale.py --treated 1000000 --controls 10000000 \\
        --strata 0 50

Simulates a logit propensity (controls N(0, 1), treated N(0.5, 1)) and, for each ``--strata``
value, runs :func:`impacteval.matching.nearest_neighbour_match` (1:1, no replacement, largest
distance first, caliper 0.2 SD: MatchIt's defaults plus the usual caliper) in a fresh process,
with that many exact-matching strata (0 = none; labels drawn at random, like area x sex x age
band). Reports wall time, CPU time, peak resident memory of the process, the memory of the inputs alone,
pairs formed and the largest matched distance. A dense treated x control matrix of float64
would need ``n_t * n_c * 8`` bytes (80 TB at 1M x 10M); sorted search needs O(n) memory and
O(n log n) time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

WORKER = r"""
import json, resource, sys, time
import numpy as np
from impacteval.matching import nearest_neighbour_match
n_t, n_c, strata, seed = (int(a) for a in sys.argv[1:5])
rng = np.random.default_rng(seed)
d = np.concatenate([rng.normal(0.5, 1.0, n_t), rng.normal(0.0, 1.0, n_c)])
t = np.zeros(n_t + n_c, dtype=bool)
t[:n_t] = True
exact = rng.integers(0, strata, n_t + n_c) if strata else None
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0, c0 = time.perf_counter(), time.process_time()
m = nearest_neighbour_match(d, t, caliper=0.2, exact=exact)
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
gap = np.abs(d[m.pairs["treated_index"].to_numpy()] - d[m.pairs["control_index"].to_numpy()])
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "inputs_mb": base, "pairs": len(m.pairs), "max_gap": float(gap.max()),
                  "width": m.caliper_width}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--treated", type=int, default=1_000_000)
    ap.add_argument("--controls", type=int, default=10_000_000)
    ap.add_argument("--strata", type=int, nargs="+", default=[0, 50])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    dense_tb = args.treated * args.controls * 8 / 1e12
    print(f"{args.treated:,} treated x {args.controls:,} controls; a dense float64 distance "
          f"matrix would need {dense_tb:,.1f} TB")
    head = f"{'strata':>7}{'seconds':>10}{'CPU s':>8}{'peak MB':>10}{'inputs MB':>11}{'pairs':>12}{'max gap':>10}"
    print(head)
    print("-" * len(head))
    for strata in args.strata:
        proc = subprocess.run(
            [sys.executable, "-c", WORKER, str(args.treated), str(args.controls), str(strata),
             str(args.seed)], stdout=subprocess.PIPE, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{strata or 'none':>7}{r['seconds']:>10.1f}{r['cpu']:>8.1f}{r['peak_mb']:>10.0f}{r['inputs_mb']:>11.0f}"
              f"{r['pairs']:>12,}{r['max_gap']:>10.4f}   (caliper {r['width']:.4f})")


if __name__ == "__main__":
    main()
