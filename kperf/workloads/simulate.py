"""Run one simulation: build the cluster, start the workloads, summarise.

``simulate`` is the unit of work the experiment runner schedules; it is a pure function
of its inputs (same inputs and seed, bit-identical summary).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from kperf.engine.sim import EngineOptions, Simulation
from kperf.errors import SpecError
from kperf.gctools import freeze_survivors, paused_gc
from kperf.metrics.fairness import jain_index, stream_shares
from kperf.metrics.latency import LatencyRecorder
from kperf.profiles.base import Testbed
from kperf.spec.base import FieldProblem
from kperf.spec.cluster import ClusterSpec, with_host_network
from kperf.workloads import http, rr, stream
from kperf.workloads.context import WorkloadContext, workload_path
from kperf.workloads.dnsname import lookup_name
from kperf.workloads.external import ExternalStats, external_summary
from kperf.workloads.result import FLOW_COLUMNS, SUMMARY_METRICS, RunResult

_STARTERS: dict[str, Any] = {
    "rr": rr.start,
    "crr": rr.start,
    "stream": stream.start,
    "http": http.start_http,
    "callgraph": http.start_callgraph,
}

MESH_CORES_COLUMN = "mesh_proxy_cores_per_krps"
MESH_PROXY_UTIL_COLUMN = "mesh_proxy_util_max"
MESH_APP_UTIL_COLUMN = "mesh_app_util_max"
MESH_CATEGORIES = ("sidecar", "ztunnel", "waypoint", "envoy")
"""The stage categories of a service mesh's proxies (:mod:`kperf.profiles.mesh`)."""

SERVICES_SEED_KEY = 10_000  # rng key of the Services layer (workloads use 0..)


def _build_cluster(spec: ClusterSpec) -> Any:
    from kperf.cluster import Cluster

    return Cluster.build(spec)


def _service_layer(sim: Simulation) -> Any:
    try:
        from kperf.services import ServiceLayer
    except ImportError:  # pragma: no cover - the Services layer is optional
        return None
    return ServiceLayer(sim, rng=sim.rng(SERVICES_SEED_KEY))


def simulate(
    testbed: Testbed,
    cluster: ClusterSpec | Any,
    workloads: Sequence[Any],
    seed: int,
    keep_samples: bool = False,
    max_samples: int = 1_000_000,
    *,
    engine: EngineOptions | None = None,
) -> RunResult:
    """Simulate ``workloads`` on ``cluster`` (a spec or a built Cluster) on ``testbed``.

    ``engine``: options of the engine that never change a result (its reference mode,
    the route cache's bound); see :class:`~kperf.engine.sim.EngineOptions`.
    Building, setting up and summarising run with the garbage collector paused (their
    objects stay alive), the run itself with the engine's tuning (:mod:`kperf.gctools`).
    """
    with paused_gc():
        sim, contexts, services = _set_up(testbed, cluster, workloads, seed, keep_samples,
                                          max_samples, engine or EngineOptions())
        freeze_survivors()  # the run would freeze them, after a collection walked them
    sim.run()  # sources stop at their end time; in-flight work drains
    with paused_gc():
        result = _result(sim, contexts, keep_samples)
        if services is not None:  # conntrack, SYN retries, stale endpoints, DNS
            for key, value in sorted(services.counters.items()):
                result.summary[f"svc_{key}"] = value
            lookups = services.counters.get("dns_lookups", 0)
            if lookups:  # mean queries per lookup (cache hits count 0)
                result.summary["dns_queries_per_lookup"] = (
                    services.counters["dns_queries"] / lookups)
            peaks = services.conntrack_peaks().values()
            result.summary["conntrack_peak_entries_max"] = max(peaks, default=0)
        external = [ctx.external for ctx in contexts if ctx.external is not None]
        if external:  # clients outside the cluster: per-node counts, imbalance
            _external_summary(result, sim, external, services)
    return result


def _external_summary(result: RunResult, sim: Simulation, stats: list[ExternalStats],
                      services: Any) -> None:
    """Summary columns and per-node resource rows of external clients' requests
    (:func:`kperf.workloads.external.external_summary`)."""
    total = ExternalStats(len(sim.cluster.nodes))
    for s in stats:
        total.merge(s)
    rows = external_summary(result.summary, total, sim.cluster, services)
    extra = pd.DataFrame(rows, columns=list(result.resources.columns))
    result.resources = pd.concat([result.resources, extra], ignore_index=True)


def _check_host_network(built: Any, workloads: Sequence[Any]) -> None:
    """A built cluster cannot be rebuilt: a ``network: host`` workload needs its
    deployments built with ``host_network: true`` already."""
    want = with_host_network(built.spec, workloads)
    if want is not built.spec and want != built.spec:
        names = sorted(d.name for d, was in zip(want.deployments, built.spec.deployments,
                                                 strict=True)
                       if d.host_network and not was.host_network)
        if names:
            raise SpecError("workload.network", "host", "allowed: pod on a built cluster "
                            f"whose deployments {', '.join(names)} do not use the host "
                            "network (pass the cluster spec instead, or build it with "
                            "host_network: true)")


def _set_up(
    testbed: Testbed,
    cluster: ClusterSpec | Any,
    workloads: Sequence[Any],
    seed: int,
    keep_samples: bool,
    max_samples: int,
    engine: EngineOptions,
) -> tuple[Simulation, list[WorkloadContext], Any]:
    """The simulation with every workload started: (sim, contexts, Services layer)."""
    if isinstance(cluster, ClusterSpec):  # network: host workloads' deployments
        try:
            cluster = with_host_network(cluster, workloads)
        except FieldProblem as exc:
            raise SpecError(exc.path, exc.value, exc.allowed) from None
    else:
        _check_host_network(cluster, workloads)
    built = _build_cluster(cluster) if isinstance(cluster, ClusterSpec) else cluster
    sim = Simulation(built, testbed, seed, reference=engine.reference,
                     max_routes=engine.max_routes)
    spec = built.spec
    names = [lookup_name(built, wl) for wl in workloads]  # kperf.workloads.dnsname
    needs_layer = (any(s.index > 0 for s in built.services) or spec.rolling_updates
                   or any(n is not None for n in names))
    services = _service_layer(sim) if needs_layer else None
    for ru in spec.rolling_updates:
        assert services is not None
        services.rolling_update(ru.deployment, ru.start_s, ru.interval_s)
    contexts: list[WorkloadContext] = []
    for i, wl in enumerate(workloads):
        start = wl.warmup_s
        ctx = WorkloadContext(
            sim=sim, index=i, label=wl.name or f"{wl.kind}{i if len(workloads) > 1 else ''}",
            start_s=start, end_s=start + wl.duration_s, request_limit=wl.requests,
            recorder=LatencyRecorder(max_samples, keep_times=keep_samples), services=services,
            resolve_dns=wl.resolves, dns_name=names[i],
        )
        path = workload_path(i, len(workloads))
        _STARTERS[wl.kind](ctx, wl, path)
        contexts.append(ctx)
    return sim, contexts, services


def _result(sim: Simulation, contexts: list[WorkloadContext], keep_samples: bool) -> RunResult:
    total = LatencyRecorder()
    for ctx in contexts:
        ctx.recorder.merge_into(total)
    summary: dict[str, Any] = dict(total.summary())
    window = max(ctx.end_s - ctx.start_s for ctx in contexts)
    payload = sum(ctx.bytes_in_window for ctx in contexts)
    summary["throughput_gbps"] = payload * 8 / window / 1e9
    summary["requests_per_s"] = total.count / window
    summary["completed"] = total.count
    summary["failed"] = total.n_failed
    counters = sim.transit.counters
    resources = sim.resources_df()
    summary["drops"] = counters.chunks_dropped
    cpu = resources[resources.resource == "cpu"]
    busy_by_node = cpu.groupby("index")["busy_s"].sum() / max(sim.now, 1e-12)
    summary["cpu_cores_busy_max"] = float(busy_by_node.max()) if len(busy_by_node) else 0.0
    net = resources[resources.resource.isin(["nic", "port", "uplink", "spine", "router", "lb"])]
    summary["link_utilisation_max"] = float(net.utilisation.max()) if len(net) else 0.0
    # drops at hosts' own NIC queues: UDP senders only (a TCP socket waits instead)
    nic = resources[resources.resource == "nic"]
    summary["drops_sender"] = int(nic.dropped.sum()) if len(nic) else 0
    summary["retransmits"] = sum(
        ctx.retransmits + sum(f.retransmits for f in ctx.flow_rows) for ctx in contexts)
    for ctx in contexts:
        for f in ctx.flow_rows:
            f.check_progress()
    flows = _flows(contexts)
    if len(flows):
        bulk = flows[flows.size_bytes == 0]
        summary["fairness_jain"] = jain_index(bulk.goodput_gbps) if len(bulk) else math.nan
        summary.update(stream_shares(bulk.client, bulk.goodput_gbps))
        summary["flows"] = len(flows)
        summary["timeouts"] = int(flows.timeouts.sum())
        fct = flows.fct_us[flows.finished]
        if len(fct):
            summary["flows_finished"] = len(fct)
            summary["fct_mean_us"] = float(fct.mean())
            for q in (50, 90, 99):
                summary[f"fct_p{q}_us"] = float(np.percentile(fct, q))
    summary["unreachable"] = counters.unreachable
    summary["packets_sent"] = counters.packets_sent
    summary["packets_delivered"] = counters.packets_delivered
    summary["packets_dropped"] = counters.packets_dropped
    summary["sim_time_s"] = sim.now
    for reason, n in sorted(total.failed.items()):
        summary[f"failed_{reason.replace('-', '_')}"] = n
    if len(contexts) > 1:
        for ctx in contexts:
            w = ctx.end_s - ctx.start_s
            for k, v in ctx.recorder.summary().items():
                summary[f"{ctx.label}.{k}"] = v
            summary[f"{ctx.label}.throughput_gbps"] = ctx.bytes_in_window * 8 / w / 1e9
            summary[f"{ctx.label}.requests_per_s"] = ctx.recorder.count / w
    if sim.paths.meshed_cluster:
        summary[MESH_CORES_COLUMN] = _mesh_cores_per_krps(contexts)
        summary.update(_mesh_utilisation(resources))
    for key in SUMMARY_METRICS:
        summary.setdefault(key, math.nan)
    return RunResult(summary=summary, samples=_samples(contexts) if keep_samples else None,
                     breakdown=_breakdown(contexts), resources=resources, flows=flows)


def _mesh_utilisation(resources: pd.DataFrame) -> dict[str, float]:
    """The busiest mesh proxy pool's utilisation (its workers' busy share, resources rows
    :data:`MESH_CATEGORIES`, or for a proxy that pins connections to workers its busiest
    worker's, rows ``<kind>-worker``; 0 when no proxy served, e.g. cilium-mesh at L4) and the
    busiest application pool's (``app`` rows, the same measure), for the report's
    bottleneck sentence (docs/reports.md)."""
    util = resources.utilisation
    # a proxy that pins connections (Envoy) is as busy as its busiest worker: its
    # per-worker rows (<kind>-worker) count too
    kinds = (*MESH_CATEGORIES, *(f"{c}-worker" for c in MESH_CATEGORIES))
    proxies = util[resources.resource.isin(kinds)]
    apps = util[resources.resource == "app"]
    return {MESH_PROXY_UTIL_COLUMN: float(proxies.max()) if len(proxies) else 0.0,
            MESH_APP_UTIL_COLUMN: float(apps.max()) if len(apps) else 0.0}


def _mesh_cores_per_krps(contexts: list[WorkloadContext]) -> float:
    """Service mesh proxy cores busy per 1,000 requests/s, cluster-wide: the proxies' CPU
    seconds (categories :data:`MESH_CATEGORIES`) spent on the measured requests'
    messages, per completed request, times 1,000 (NaN when none completed). Only a
    cluster with a mesh has the column. Messages sent unmeasured are not in it (crr's
    FINs, which carry half of a connection's per-connection proxy cost); the per-node
    ``cpu:<category>`` rows have every message's."""
    cpu_s = 0.0
    count = 0
    for ctx in contexts:
        by_cat = ctx.stats.by_category()
        cpu_s += sum(by_cat.get(c, 0.0) for c in MESH_CATEGORIES)
        count += ctx.recorder.count
    return cpu_s / count * 1000.0 if count else math.nan


def _flows(contexts: list[WorkloadContext]) -> pd.DataFrame:
    """The per-flow table (:data:`FLOW_COLUMNS`) of every stream and transfer."""
    rows = [f.row() for ctx in contexts for f in ctx.flow_rows]
    # no streams: no table (the run writes no flows file)
    return pd.DataFrame(rows, columns=list(FLOW_COLUMNS)) if rows else pd.DataFrame()


def _samples(contexts: list[WorkloadContext]) -> pd.DataFrame:
    frames = []
    for ctx in contexts:
        r = ctx.recorder
        ok = pd.DataFrame({"workload": ctx.label, "start_s": r.starts[: len(r.samples)],
                           "latency_us": [s * 1e6 for s in r.samples[: len(r.starts)]],
                           "failed": False, "reason": ""})
        bad = pd.DataFrame({"workload": ctx.label,
                            "start_s": [s for s, _ in r.failed_starts],
                            "latency_us": math.nan, "failed": True,
                            "reason": [why for _, why in r.failed_starts]})
        frames += [f for f in (ok, bad) if len(f)]
    cols = ["workload", "start_s", "latency_us", "failed", "reason"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def _breakdown(contexts: list[WorkloadContext]) -> pd.DataFrame:
    """Mean µs per completed request spent in each stage category, and queueing."""
    rows = []
    for ctx in contexts:
        n = max(ctx.recorder.count, 1)
        for cat, sec in sorted(ctx.stats.by_category().items()):
            rows.append({"workload": ctx.label, "category": cat, "time_us": sec / n * 1e6})
        rows.append({"workload": ctx.label, "category": "queueing",
                     "time_us": ctx.stats.queue_s / n * 1e6})
    return pd.DataFrame(rows, columns=["workload", "category", "time_us"])
