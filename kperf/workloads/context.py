"""What every workload driver shares: the simulation, its window, its records.

A request counts when it *starts* inside the measurement window ``[start_s, end_s)``
(after warm-up); no new request starts at or after ``end_s``, and requests in flight
then are allowed to finish (the simulation drains), so slow requests are not censored.
Goodput counts payload bytes delivered inside the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kperf.engine.plans import ClassStats
from kperf.engine.sim import Simulation
from kperf.engine.transit import FlowHooks
from kperf.errors import SpecError
from kperf.metrics.latency import LatencyRecorder
from kperf.workloads.dnsname import dns_target
from kperf.workloads.external import (
    ExternalStats,
    check_entry_node,
    external_hosts,
    external_targets,
    is_external_target,
)


@dataclass
class WorkloadContext:
    """Shared state of one workload in one run."""

    sim: Simulation
    index: int
    label: str
    start_s: float
    end_s: float
    request_limit: int | None
    recorder: LatencyRecorder
    services: Any = None  # a kperf.services ServiceLayer when Services are modelled
    stats: ClassStats = field(default_factory=ClassStats)
    resolve_dns: bool = False  # resolve a Service's name before each new connection
    dns_name: str | None = None  # the name resolved instead of the Service's (dnsname.py)
    bytes_in_window: float = 0
    issued: int = 0
    retransmits: int = 0
    flow_rows: list[Any] = field(default_factory=list)  # streams' rows (.row(), .retransmits)
    external: ExternalStats | None = None  # requests of external clients, per node
    hooks: FlowHooks = field(init=False)  # what its flows' messages feed: its stats

    def __post_init__(self) -> None:
        self.hooks = FlowHooks(self.stats)

    def rng(self, source: int) -> np.random.Generator:
        """The random stream of traffic source ``source`` of this workload."""
        return self.sim.rng(self.index, source)

    def open(self, now: float) -> bool:
        """May a new request start now?"""
        if now >= self.end_s:
            return False
        return self.request_limit is None or self.issued < self.request_limit

    def measuring(self, t: float) -> bool:
        return self.start_s <= t < self.end_s

    def delivered(self, t: float, nbytes: int) -> bool:
        """Count ``nbytes`` arriving at ``t`` as goodput if inside the window (and say
        whether they were)."""
        if self.start_s <= t < self.end_s:
            self.bytes_in_window += nbytes
            return True
        return False

    def delivered_over(self, t: float, span_s: float, nbytes: int) -> float:
        """Count as goodput the share of ``nbytes`` that arrived inside the window,
        given that they arrived evenly over ``[t - span_s, t]`` (the last hop
        serialises a chunk's packets back to back); return that share.

        A bulk stream delivers chunks of up to 64 KiB; counting a chunk whole at its
        last byte would let the one that straddles the window's start add bytes sent
        before it, up to one chunk too many per window (1.3 % of 10 Gbit/s over a 4 ms
        window) and a figure above line rate x header efficiency."""
        if span_s <= 0.0:
            return float(nbytes) if self.delivered(t, nbytes) else 0.0
        lo = max(t - span_s, self.start_s)
        hi = min(t, self.end_s)
        if hi <= lo:
            return 0.0
        share = nbytes * (hi - lo) / span_s
        self.bytes_in_window += share
        return share


def pods_of(cluster: Any, deployment: str, field_path: str) -> list[Any]:
    """The pods of a deployment, or a SpecError naming the workload field."""
    pods = [p for p in cluster.pods if p.deployment == deployment]
    if not pods:
        if external_hosts(cluster, deployment):
            raise SpecError(field_path, deployment,
                            "is placement: external (hosts outside the cluster, not pods); "
                            "allowed here: a deployment of pods")
        names = sorted({p.deployment for p in cluster.pods if p.deployment})
        raise SpecError(field_path, deployment,
                        f"allowed: a deployment of the cluster ({', '.join(names) or 'none'})")
    return pods


def resolve_target(cluster: Any, target: str, field_path: str) -> tuple[Any | None, list[Any]]:
    """(Service or None, backend pods) for ``svc/NAME`` or a deployment name."""
    if target.startswith("svc/"):
        name = target[4:]
        svc = next((s for s in cluster.services if s.name == name), None)
        if svc is None:
            names = sorted(s.name for s in cluster.services)
            raise SpecError(field_path, target,
                            f"allowed: svc/ and a Service of the cluster ({', '.join(names)})")
        by_uid = {p.uid: p for p in cluster.pods}
        return svc, [by_uid[u] for u in svc.endpoints if u in by_uid]
    return None, pods_of(cluster, target, field_path)


def pair_targets(
    clients: list[Any], targets: list[Any], placement: str, locality: str, field_path: str
) -> list[list[Any]]:
    """For each client, the targets it may talk to, honouring placement and locality."""

    def ok(c: Any, t: Any) -> bool:
        if locality == "cross-node":
            return bool(c.node != t.node)
        if locality == "same-node":
            return bool(c.node == t.node and c.uid != t.uid)
        return True

    out: list[list[Any]] = []
    for i, c in enumerate(clients):
        allowed = targets if locality == "any" else [t for t in targets if ok(c, t)]
        if not allowed:
            raise SpecError(field_path, locality,
                            f"no target pod is {locality} for client {c.name}; allowed: a "
                            "locality the placement of the deployments can satisfy")
        if placement == "pairs":
            out.append([allowed[i % len(allowed)]])
        else:
            out.append(allowed)
    return out


def workload_path(index: int, count: int) -> str:
    """The field path of workload ``index`` of ``count`` in an experiment file."""
    return "workload" if count == 1 else f"workload.{index}"


def targets_of(cluster: Any, spec: Any, path: str
               ) -> tuple[list[Any], Any | None, list[list[Any]]]:
    """An rr, crr, stream or http workload's client pods, its Service (None when it
    targets a deployment) and, per client, the pods it may talk to; a SpecError names
    the field under ``path``. Clients placed external: their hosts, an
    :class:`~kperf.workloads.external.ExternalTarget` for the Service, and ``[None]``
    each (the Service picks the pod)."""
    if is_external_target(spec.target) or external_hosts(cluster, spec.clients):
        return external_targets(cluster, spec, path)
    check_entry_node(spec, path)
    clients = pods_of(cluster, spec.clients, f"{path}.clients")
    placement = spec.placement
    # the name the clients resolve may pick the Service (its namespace) or, headless,
    # send them straight to its pods (kperf.workloads.dnsname)
    answer = dns_target(cluster, spec, clients, path)
    if answer is not None:
        service, backends, headless = answer
        placement = "all-to-all" if headless else placement
    else:
        service, backends = resolve_target(cluster, spec.target, f"{path}.target")
    return clients, service, pair_targets(clients, backends, placement, spec.locality,
                                          f"{path}.locality")


def callgraph_targets(cluster: Any, spec: Any, frontend: Any, path: str
                      ) -> list[tuple[Any | None, list[Any]]]:
    """Per backend of a callgraph workload: its Service and the pods ``frontend`` may
    call there."""
    out: list[tuple[Any | None, list[Any]]] = []
    for bi, name in enumerate(spec.backends):
        service, backends = resolve_target(
            cluster, name if name.startswith("svc/") else f"svc/{name}",
            f"{path}.backends.{bi}")
        out.append((service, pair_targets([frontend], backends, "all-to-all", spec.locality,
                                          f"{path}.locality")[0]))
    return out


def check_targets(cluster: Any, workloads: Sequence[Any]) -> None:
    """Resolve every workload's clients and targets on ``cluster`` as starting the run
    does (the same functions), without starting anything; the first problem is a
    SpecError naming the workload field."""
    for i, wl in enumerate(workloads):
        path = workload_path(i, len(workloads))
        if wl.kind == "callgraph":
            check_entry_node(wl, path)
            for frontend in pods_of(cluster, wl.clients, f"{path}.clients"):
                callgraph_targets(cluster, wl, frontend, path)
        else:
            targets_of(cluster, wl, path)
