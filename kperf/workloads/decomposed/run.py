"""``simulate_decomposed``: one run by the decomposed method (steps 1-4 of the package).

Same signature and result type as :func:`kperf.workloads.simulate.simulate`, so the
experiment runner calls either. The summary has the usual columns, computed as below,
plus ``method`` (``decomposed``), ``decomposed_resources`` (contended resources the
traffic touches), ``decomposed_groups`` (representatives modelled),
``decomposed_path_classes``, ``decomposed_grouping_error_us`` (the largest difference
between a resource's analytic mean wait and its representative's, µs) and
``decomposed_max_error_bound`` (NaN: no bound on the end-to-end error can be stated,
since arrivals behind another queue are not Poisson and hops are not independent;
docs/decomposed.md has the measured errors instead).

* latency percentiles, mean and max: over :data:`~.combine.LATENCY_SAMPLES` sampled
  requests (:mod:`.combine`);
* ``requests_per_s``: the offered rate (every resource is below saturation, else the run
  fails naming the saturated one); ``completed``: that rate times the window, rounded
  (an expected count); ``throughput_gbps``: the offered payload rate (mean request plus
  response bytes as the workloads send them); ``failed`` 0;
* ``cpu_cores_busy_max``: the busiest node's packet-processing cores busy (sum of its
  cores' utilisations); ``link_utilisation_max``: the busiest NIC queue or switch port;
* ``drops``, ``drops_sender``, ``retransmits``: NaN (finite buffers are not modelled).

The resources table has one row per contended resource, with ``group`` (its group) and
``representative`` (whether it is its group's model).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from kperf.metrics.latency import PERCENTILES
from kperf.workloads.decomposed.combine import LATENCY_SAMPLES, latencies_s, path_classes
from kperf.workloads.decomposed.groups import group, grouping_error_us
from kperf.workloads.decomposed.queueing import check_stable, trace_model
from kperf.workloads.decomposed.traffic import DECOMPOSED_SEED_KEY, Traffic, build_traffic
from kperf.workloads.result import SUMMARY_METRICS, RunResult

METHODS = ("full", "decomposed")
"""The ways a run can be computed (``method:`` in an experiment file, ``--method``)."""

NET_KINDS = ("nic", "port", "uplink", "spine", "router", "lb")


def _rng(seed: int, key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(seed, spawn_key=(DECOMPOSED_SEED_KEY, key))))


def simulate_decomposed(testbed: Any, cluster: Any, workloads: Any, seed: int,
                        keep_samples: bool = False, max_samples: int = 1_000_000,
                        group_map: Callable[..., list[Any]] | None = None,
                        **_engine: Any) -> RunResult:
    """Estimate the run's summary by the decomposed method (see the module doc).
    ``keep_samples``: the sampled latencies as the samples table (start_s NaN).
    ``group_map``: ``group_map(fn, payloads) -> list`` (results in payload order)
    computes the representatives, e.g. an executor's ``map`` (:mod:`.parallel`; the
    same numbers); None: in this process."""
    traffic = build_traffic(testbed, cluster, list(workloads), seed)
    for res in traffic.resources:
        check_stable(res)
    grouping = group(traffic.resources)
    if group_map is None:
        models = [trace_model(traffic.resources[r], traffic, _rng(seed, 1 + g))
                  for g, r in enumerate(grouping.representatives)]
    else:
        from kperf.workloads.decomposed.parallel import group_payloads, model_group

        models = group_map(model_group, group_payloads(traffic, grouping, seed))
    waits = [w for w, _ in models]
    joint = [j for _, j in models]
    lat = latencies_s(traffic, grouping, waits, joint, _rng(seed, 0),
                      min(LATENCY_SAMPLES, max_samples))
    summary: dict[str, Any] = {"latency_mean_us": float(lat.mean()) * 1e6}
    values = np.percentile(lat, [p for _, p in PERCENTILES])
    for (name, _p), v in zip(PERCENTILES, values, strict=True):
        summary[name] = float(v) * 1e6
    summary["latency_max_us"] = float(lat.max()) * 1e6
    rate = traffic.request_rate_per_s
    summary["throughput_gbps"] = rate * traffic.payload_bytes_per_request * 8 / 1e9
    summary["requests_per_s"] = rate
    summary["completed"] = round(rate * traffic.window_s)
    summary["failed"] = 0
    summary["drops"] = math.nan
    summary["drops_sender"] = math.nan
    summary["retransmits"] = math.nan
    resources = _resources(traffic, grouping.group_of, set(grouping.representatives))
    cpu = resources[resources.resource == "cpu"]
    summary["cpu_cores_busy_max"] = (float(cpu.groupby("index").utilisation.sum().max())
                                     if len(cpu) else 0.0)
    net = resources[resources.resource.isin(NET_KINDS)]
    summary["link_utilisation_max"] = float(net.utilisation.max()) if len(net) else 0.0
    summary["method"] = "decomposed"
    summary["decomposed_resources"] = len(traffic.resources)
    summary["decomposed_groups"] = grouping.groups
    summary["decomposed_path_classes"] = len(path_classes(traffic, grouping))
    summary["decomposed_grouping_error_us"] = grouping_error_us(traffic.resources, grouping)
    summary["decomposed_max_error_bound"] = math.nan
    for key in SUMMARY_METRICS:
        summary.setdefault(key, math.nan)
    samples = None
    if keep_samples:
        samples = pd.DataFrame({"workload": workloads[0].kind, "start_s": math.nan,
                                "latency_us": lat * 1e6, "failed": False, "reason": ""})
    return RunResult(summary=summary, samples=samples, resources=resources)


def _resources(traffic: Traffic, group_of: list[int], reps: set[int]) -> pd.DataFrame:
    """One row per contended resource: offered load over the sending time."""
    t = traffic.active_s
    rows = []
    for r, res in enumerate(traffic.resources):
        rho = res.utilisation
        rows.append({"resource": res.kind, "index": res.index, "unit": 0, "name": res.name,
                     "busy_s": rho * res.servers * t, "utilisation": rho,
                     "served": round(res.rate_per_s * t), "dropped": math.nan,
                     "group": group_of[r], "representative": r in reps})
    return pd.DataFrame(rows)
