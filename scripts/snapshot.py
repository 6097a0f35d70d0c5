"""Snapshot every result a change to the engine must not move, and compare snapshots.

For every run of every experiment file (``experiments/*.yaml``, seeds as the sweep
gives them) and for the bench's large runs (10 and 1,000 nodes, the same-load run,
and the 1,000,000-request run), keep the summary, the breakdown and the resource
table; then compare two snapshots field by field. Busy-time sums may differ by
float summation order (``--rtol``, default 1e-12 relative); everything else must be
equal (NaN equals NaN).

    python scripts/snapshot.py take before.pkl          # on the old code
    python scripts/snapshot.py take after.pkl           # on the new code
    python scripts/snapshot.py compare before.pkl after.pkl

``take --quick`` leaves out the 1,000,000-request run (the slowest, about 10 s).
Runs go to a pool of processes (``--workers``, default 2); results do not depend on it.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _experiment_runs() -> list[tuple[str, dict[str, Any]]]:
    from kperf.experiments.expand import expand
    from kperf.spec.experiment import load_experiment

    out = []
    for f in sorted((ROOT / "experiments").glob("*.yaml")):
        for run in expand(load_experiment(f)):
            out.append((f"{f.stem}/{run.index}", run.spec))
    return out


def _simulate_spec(spec: dict[str, Any]) -> dict[str, Any]:
    from kperf.experiments.expand import models_from_spec
    from kperf.workloads.simulate import simulate

    testbed, cluster, workloads, seed = models_from_spec(spec)
    try:
        res = simulate(testbed, cluster, workloads, seed)
    except Exception as exc:  # a run that fails must fail the same way
        return {"error": f"{type(exc).__name__}: {exc}"}
    return _tables(res)


def _tables(res: Any) -> dict[str, Any]:
    return {"summary": dict(res.summary), "breakdown": res.breakdown.to_dict("list"),
            "resources": res.resources.to_dict("list")}


def _bench_run(args: tuple[int, int, float]) -> dict[str, Any]:
    from kperf.bench.scenarios import large_sim

    return _tables(large_sim(*args))


def _job(job: tuple[str, Any]) -> dict[str, Any]:
    kind, arg = job
    return _simulate_spec(arg) if kind == "spec" else _bench_run(arg)


def take(out: str, quick: bool, workers: int) -> None:
    jobs: list[tuple[str, tuple[str, Any]]] = [
        (name, ("spec", spec)) for name, spec in _experiment_runs()]
    bench = [(10, 100_000, 2_000.0), (1000, 100_000, 2_000.0), (1000, 100_000, 20.0)]
    if not quick:
        bench.append((100, 1_000_000, 2_000.0))
    jobs += [(f"bench/{n}-{r}-{rate:g}", ("bench", (n, r, rate))) for n, r, rate in bench]
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_job, [j for _, j in jobs]))
    snap = {name: res for (name, _), res in zip(jobs, results, strict=True)}
    with open(out, "wb") as fh:
        pickle.dump(snap, fh)
    print(f"{len(snap)} runs -> {out}")


def _equal(a: Any, b: Any, rtol: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b or abs(a - b) <= rtol * max(abs(a), abs(b))
    return bool(a == b)


def _diff(name: str, a: Any, b: Any, rtol: float, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{name}{where}: keys differ: {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _diff(name, a[k], b[k], rtol, f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{name}{where}: {len(a)} vs {len(b)} rows"]
        return [f"{name}{where}[{i}]: {x!r} vs {y!r}"
                for i, (x, y) in enumerate(zip(a, b, strict=True)) if not _equal(x, y, rtol)]
    return [] if _equal(a, b, rtol) else [f"{name}{where}: {a!r} vs {b!r}"]


def compare(before: str, after: str, rtol: float) -> int:
    with open(before, "rb") as fh:
        a = pickle.load(fh)
    with open(after, "rb") as fh:
        b = pickle.load(fh)
    diffs = []
    if set(a) != set(b):
        diffs.append(f"runs differ: {sorted(set(a) ^ set(b))}")
    for name in sorted(set(a) & set(b)):
        diffs += _diff(name, a[name], b[name], rtol)
    for line in diffs[:50]:
        print(line)
    print(f"{len(set(a) & set(b))} runs compared, {len(diffs)} differences (rtol {rtol:g})")
    return 1 if diffs else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("take")
    t.add_argument("out")
    t.add_argument("--quick", action="store_true")
    t.add_argument("--workers", type=int, default=2)
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("--rtol", type=float, default=1e-12)
    args = p.parse_args()
    if args.cmd == "take":
        take(args.out, args.quick, args.workers)
        return 0
    return compare(args.before, args.after, args.rtol)


if __name__ == "__main__":
    sys.exit(main())
