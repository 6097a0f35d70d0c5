"""Print docs/mesh.md's experiments/service_mesh.yaml table from a run's summary.

Means over the replications, per mesh mode and response size: p50 and p99 latency at
each swept rate, and the proxy cores per 1,000 req/s at the lightest rate.

    .venv/bin/python scripts/mesh_sweep_table.py [RESULTS]   # default results/service_mesh

Run ``kperf run experiments/service_mesh.yaml`` first (or pass its ``--out`` folder).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

MODE, RATE, SIZE = "cluster.mesh.mode", "workload.rate_per_s", "workload.response_bytes.mean"
CORES = "mesh_proxy_cores_per_krps"


def _us(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.1f}"


def table(summary: pd.DataFrame) -> str:
    """The Markdown table (module doc) of an ``ok``-filtered summary."""
    ok = summary[summary["status"] == "ok"].copy()
    ok[CORES] = pd.to_numeric(ok.get(CORES), errors="coerce")
    means = ok.groupby([MODE, SIZE, RATE], sort=False).mean(numeric_only=True)
    rates = sorted(ok[RATE].unique())
    lines = ["| mode | response B | p50 µs | p99 µs | proxy cores per 1k req/s |",
             "|---|---:|---|---|---:|"]
    for mode in dict.fromkeys(ok[MODE]):
        for size in sorted(ok[SIZE].unique()):
            rows = [means.loc[(mode, size, r)] for r in rates if (mode, size, r) in means.index]
            p50 = " / ".join(_us(r.latency_p50_us) for r in rows)
            p99 = " / ".join(_us(r.latency_p99_us) for r in rows)
            value = rows[0].get(CORES, None)
            cores = math.nan if value is None or pd.isna(value) else float(value)
            cores_text = f"{cores:.2f}" if math.isfinite(cores) else "-"
            lines.append(f"| {mode} | {int(size):,} | {p50} | {p99} | {cores_text} |")
    head = " / ".join(f"{int(r):,}" for r in rates)
    return f"Rates (req/s): {head}\n\n" + "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", default="results/service_mesh", type=Path)
    args = ap.parse_args()
    print(table(pd.read_parquet(args.results / "summary.parquet")))


if __name__ == "__main__":
    main()
