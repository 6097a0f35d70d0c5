#!/usr/bin/env python
"""Refit kperf's profile costs to the calibration cases and print the proposed values.

    .venv/bin/python scripts/fit_calibration.py                 # all parameters, all cases
    .venv/bin/python scripts/fit_calibration.py --cases my.yaml # your measurements
    .venv/bin/python scripts/fit_calibration.py --param VXLAN_DECAP --param TESTBED_B

It never writes a file. It prints (1) each parameter with its current and proposed
value, the change, the file and line where the number lives and the rows it is fitted
to, and (2) each case's error before and after. Copy the values you accept into
kperf/profiles/*.py and name the rows in the number's ``source``; then run
``kperf validate``. See kperf/calibration/fit.py for the method and docs/validation.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from kperf.calibration.cases import load_cases
from kperf.calibration.fit import FIT_PARAMETERS, fit, locate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=None, help="cases file (default: kperf's own)")
    ap.add_argument("--param", action="append", default=[],
                    help="fit only parameters whose name contains this (repeatable)")
    ap.add_argument("--case", action="append", default=[],
                    help="fit only to cases whose name contains this (repeatable)")
    ap.add_argument("--prior-weight", type=float, default=0.1,
                    help="pull towards the current values (default 0.1)")
    ap.add_argument("--max-nfev", type=int, default=60, help="least-squares iterations cap")
    args = ap.parse_args(argv)

    cases = load_cases(args.cases)
    if args.case:
        cases = [c for c in cases if any(s in c.name for s in args.case)]
    params = [p for p in FIT_PARAMETERS
              if not args.param or any(s in p.name for s in args.param)]
    if not cases or not params:
        print("fit_calibration: nothing to fit (check --case / --param)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    res = fit(cases, params, prior_weight=args.prior_weight, max_nfev=args.max_nfev,
              progress=lambda msg: print(msg, flush=True))
    print(f"done in {time.perf_counter() - t0:.1f} s, {res.evaluations} case simulations; "
          f"cost {res.cost_before:.3f} -> {res.cost_after:.3f}\n")

    print("Proposed parameter values (nothing is written; edit the profiles by hand):")
    w = max(len(t) for p in res.params for t in p.targets)
    for p in res.params:
        for t in p.targets:
            old, new = res.before[t], res.after[t]
            change = (new / old - 1) * 100 if old else float("inf")
            mark = " " if abs(change) < 0.5 else "*"
            print(f"{mark} {t:<{w}}  {old:9.4g} -> {new:9.4g}  ({change:+6.1f} %)  "
                  f"{locate(t)}")
        print(f"    fitted to: {', '.join(p.rows)}" + (f"  ({p.why})" if p.why else ""))
    print("\nCases (error = simulated / published - 1):")
    wc = max(len(c.name) for c in res.cases)
    for c in res.cases:
        b, a = res.simulated_before[c.name], res.simulated_after[c.name]
        eb, ea = b / c.published - 1, a / c.published - 1
        ok = "ok " if abs(ea) <= c.effective_tolerance else "OUT"
        print(f"  {c.name:<{wc}}  published {c.published:>10.4g}  before {eb * 100:+6.1f} %  "
              f"after {ea * 100:+6.1f} %  {ok} (tolerance {c.effective_tolerance * 100:.0f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
