"""Wall and CPU time of one decomposed run with its groups in process and on workers.

Measures, on one run of :func:`kperf.bench.decomposed._run` (``NODES`` nodes,
``CLIENTS`` client pods per node at ``RATE`` requests/s each for ``DURATION``
simulated seconds), what docs/decomposed.md ("Groups on the executors") reports:

* the payloads' and the returned waits' pickled size and pickling time;
* the executor's start (its first ``map``: spawning the pool or the LocalCluster);
* step 3 alone, ``REPS`` times: in process (CPU and wall) and on the executor (wall,
  this process's CPU, the workers' CPU summed);
* the whole run, ``REPS`` times each: ``simulate_decomposed`` serial and with
  ``group_map=executor.map`` (the same p99 is asserted).

    PYTHONPATH=. python scripts/decomposed_groups_timing.py NODES CLIENTS RATE DURATION \\
        [--reps N] [--dask]

e.g. ``200 1 35000 0.05`` (the bench's 200-node run) or ``1000 15 2000 1``. Spawned
workers import this file, hence the ``__main__`` guard.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from kperf.bench.decomposed import _run
from kperf.experiments.executors import DaskExecutor, Executor, ProcessExecutor
from kperf.workloads.decomposed import simulate_decomposed
from kperf.workloads.decomposed.groups import group
from kperf.workloads.decomposed.parallel import GroupPayload, group_payloads, model_group
from kperf.workloads.decomposed.traffic import build_traffic


def cpu_model(payload: GroupPayload) -> tuple[tuple[np.ndarray, np.ndarray], float]:
    """:func:`model_group` and the CPU seconds it took in its process."""
    t = time.process_time()
    out = model_group(payload)
    return out, time.process_time() - t


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _span(xs: list[float]) -> str:
    return (f"{min(xs):.3f}-{max(xs):.3f} s (median {statistics.median(xs):.3f}, "
            f"n={len(xs)})")


def _step3(run: Any, ex: Executor, reps: int) -> None:
    """Payload and waits sizes, the executor's start, and step 3 alone."""
    traffic = build_traffic(run.testbed, run.cluster, list(run.workloads), run.seed)
    grouping = group(traffic.resources)
    t = time.perf_counter()
    payloads = group_payloads(traffic, grouping, run.seed)
    t_pl = time.perf_counter() - t
    t = time.perf_counter()
    out_mb = sum(len(pickle.dumps(p, protocol=5)) for p in payloads) / 1e6
    t_out = time.perf_counter() - t
    results = [model_group(p) for p in payloads]
    t = time.perf_counter()
    back_mb = sum(len(pickle.dumps(r, protocol=5)) for r in results) / 1e6
    t_back = time.perf_counter() - t
    print(f"groups {grouping.groups}; payloads built in {t_pl:.3f} s, {out_mb:.2f} MB "
          f"pickled in {t_out:.3f} s; waits back {back_mb:.1f} MB pickled in {t_back:.3f} s")
    t = time.perf_counter()
    ex.map(abs, [1, 2, 3, 4])
    print(f"{ex.name}: first map (start) {time.perf_counter() - t:.2f} s")
    in_cpu, in_wall, on_wall, on_main, on_workers = [], [], [], [], []
    for _ in range(reps):
        c, w = time.process_time(), time.perf_counter()
        for p in payloads:
            model_group(p)
        in_cpu.append(time.process_time() - c)
        in_wall.append(time.perf_counter() - w)
        c, w = time.process_time(), time.perf_counter()
        got = ex.map(cpu_model, payloads)
        on_main.append(time.process_time() - c)
        on_wall.append(time.perf_counter() - w)
        on_workers.append(sum(s for _, s in got))
    print(f"step 3 in process: cpu {_span(in_cpu)}, wall {_span(in_wall)}")
    print(f"step 3 on {ex.name}: wall {_span(on_wall)}, this process's cpu {_span(on_main)}, "
          f"workers' cpu {_span(on_workers)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nodes", type=int)
    ap.add_argument("clients", type=int)
    ap.add_argument("rate", type=float)
    ap.add_argument("duration", type=float)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dask", action="store_true", help="a Dask LocalCluster (2 workers)")
    a = ap.parse_args()
    run = _run(a.nodes, a.clients, a.rate, a.duration)
    args = (run.testbed, run.cluster, run.workloads, run.seed)

    ex: Executor = DaskExecutor("local") if a.dask else ProcessExecutor(2)
    _step3(run, ex, a.reps)
    serial, mapped = [], []
    for _ in range(a.reps):
        s, one = _timed(lambda: simulate_decomposed(*args))
        m, two = _timed(lambda: simulate_decomposed(*args, group_map=ex.map))
        assert one.summary["latency_p99_us"] == two.summary["latency_p99_us"]
        serial.append(s)
        mapped.append(m)
    print(f"whole run serial: {_span(serial)}")
    print(f"whole run, groups on {ex.name}: {_span(mapped)}")
    ex.close()


if __name__ == "__main__":
    main()
