"""Endpoint churn: pods recreated with new IPs, and nodes that learn of it late.

When a pod behind a Service is recreated (rolling update, crash loop, node drain) its
old IP disappears at once and a new one appears. The EndpointSlice changes, and each
node's proxy reprograms its rules after a *programming delay*. Until then the node
still sends part of its new connections to the old IP, where nothing listens: the
connection is refused (an ICMP unreachable or RST comes back) or times out (the
packets vanish), and the client sees an error. kperf counts those errors; they can
only happen inside a node's stale window ``[change, change + delay)``.

Programming delay (scaling law chosen for kperf)
    Each node's delay for each change is drawn from a log-normal distribution with
    median ``max(floor, resync time of this cluster's rules)``:

    * the resync time comes from :func:`kperf.services.proxycost.resync_times` on the
      cluster's own data-plane counts, so it is proportional to the rules kube-proxy
      restores: iptables full restore ∝ all rules, partial restore ∝ 13/27 of all
      rules + KUBE-SERVICES, hash modes ∝ the changed entries only. With the
      profile's 50 µs per rule this gives ≈ 23.5 s (full) and ≈ 12.3 s (partial) for a
      cluster at the Kubernetes tested limits (10,000 Services, 150,000 endpoints,
      5,000 nodes), against KEP-3453's p50 27 s and 13 s (CALIBRATION.md). In
      Kubernetes' scale tests Services and endpoints grow with the node count, so the
      delay scales with cluster size through them; nodes themselves add nothing;
    * the floor is kube-proxy's ``minSyncPeriod`` (1 s for iptables and nftables:
      changes are batched into at most one sync per second), 0.5 s estimated for IPVS
      and eBPF agents (watch latency; their ``minSyncPeriod`` is 0);
    * the spread, σ = 0.5 in log space (p99 ≈ 3.2 × p50), is estimated: CALIBRATION.md
      gives only the KEP's p50.

    Delays are drawn by hashing (seed, Service, change, node), so a node's delay for a
    change does not depend on the order in which the simulation asks for it.

Views
    :class:`EndpointViews` keeps each Service's history of endpoint sets (as
    ``(uid, ip)`` pairs) and answers what a node believes at time *t*: the newest
    version whose change time plus that node's delay has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from kperf.profiles.base import ProxyMode
from kperf.services.balancer import mix64
from kperf.services.proxycost import ResyncTimes

EpKey = tuple[int, int]
"""An endpoint as a node's rules know it: (pod uid, pod IP)."""

MIN_SYNC_PERIOD_S = {"iptables": 1.0, "nftables": 1.0, "ipvs": 0.5, "ebpf": 0.5}
"""Floor of the median programming delay per mode (see module docstring)."""
DELAY_SIGMA = 0.5
"""Log-space standard deviation of the programming delay (estimated)."""

_NORMAL = NormalDist()


def default_restore(mode: ProxyMode) -> str:
    """How a mode applies one change: iptables partial restore (KEP-3453, on by
    default since Kubernetes 1.27), everything else incremental."""
    return "partial" if mode.lookup == "linear" else "incremental"


@dataclass(frozen=True, slots=True)
class ProgrammingDelay:
    """Log-normal programming delay with a given median (seconds)."""

    median_s: float
    sigma: float = DELAY_SIGMA
    seed: int = 0

    @classmethod
    def for_mode(cls, mode: ProxyMode, resync: ResyncTimes, *, restore: str | None = None,
                 seed: int = 0, sigma: float = DELAY_SIGMA) -> ProgrammingDelay:
        """The default law: median = max(floor, resync time of the restore style)."""
        style = restore or default_restore(mode)
        floor = MIN_SYNC_PERIOD_S.get(mode.name, 1.0)
        return cls(max(floor, resync.for_restore(style)), sigma, seed)

    def quantile(self, u: float) -> float:
        """The delay at probability ``u`` in (0, 1)."""
        if self.sigma <= 0:
            return self.median_s
        u = min(max(u, 1e-12), 1 - 1e-12)
        return self.median_s * float(pow(2.718281828459045, self.sigma * _NORMAL.inv_cdf(u)))

    def draw(self, *key: int) -> float:
        """A deterministic draw for ``key`` (e.g. Service, change, node)."""
        h = mix64(self.seed, *key)
        return self.quantile((h >> 11) * (1.0 / (1 << 53)) + 0.5 / (1 << 53))


@dataclass(slots=True)
class Version:
    """One endpoint set of a Service, current from ``t`` on."""

    t: float
    endpoints: tuple[EpKey, ...]


@dataclass(slots=True)
class _History:
    versions: list[Version] = field(default_factory=list)
    seen_version: int = -1


class EndpointViews:
    """Per-Service endpoint history and per-node (lagging) views of it."""

    def __init__(self, delay: ProgrammingDelay, pod_ip: Callable[[int], int | None]) -> None:
        self.delay = delay
        self._pod_ip = pod_ip
        self._hist: dict[int, _History] = {}
        self._delays: dict[tuple[int, int, int], float] = {}
        self._programmed: dict[tuple[int, int], int] = {}

    def history(self, service: int) -> list[Version]:
        h = self._hist.get(service)
        return [] if h is None else list(h.versions)

    def sync(self, service: Any, now: float) -> None:
        """Record the Service's current endpoint set if it changed since last seen."""
        h = self._hist.get(service.index)
        if h is None:
            h = _History()
            self._hist[service.index] = h
        version = int(getattr(service, "endpoints_version", 0))
        if h.versions and version == h.seen_version:
            return
        eps = tuple((u, ip) for u in service.endpoints
                    if (ip := self._pod_ip(u)) is not None)
        if h.versions and h.versions[-1].endpoints == eps:
            h.seen_version = version
            return
        # the first version a layer sees is already programmed everywhere (t = -inf)
        t = now if h.versions else float("-inf")
        h.versions.append(Version(t, eps))
        h.seen_version = version

    def node_delay(self, service: int, change: int, node: int) -> float:
        """Programming delay of change ``change`` (version index >= 1) on ``node``."""
        key = (service, change, node)
        d = self._delays.get(key)
        if d is None:
            d = self.delay.draw(service, change, node)
            self._delays[key] = d
        return d

    def view(self, service: int, node: int, now: float) -> tuple[EpKey, ...]:
        """The endpoints ``node`` has programmed for ``service`` at ``now`` (the newest
        version whose change time plus this node's delay has passed).

        ``now`` must not decrease between calls for one (service, node): a version once
        programmed stays programmed, so only newer ones are examined.
        """
        h = self._hist.get(service)
        if h is None or not h.versions:
            return ()
        vs = h.versions
        known = self._programmed.get((service, node), 0)
        for i in range(len(vs) - 1, known, -1):
            if vs[i].t + self.node_delay(service, i, node) <= now:
                self._programmed[(service, node)] = i
                return vs[i].endpoints
        return vs[known].endpoints

    def stale_windows(self, service: int, node: int) -> list[tuple[float, float]]:
        """``[change, programmed)`` intervals of ``node`` for each change of ``service``."""
        vs = self._hist.get(service, _History()).versions
        return [(vs[i].t, vs[i].t + self.node_delay(service, i, node))
                for i in range(1, len(vs))]

    def is_live(self, ep: EpKey) -> bool:
        """Does a pod still answer at this endpoint's address?"""
        return self._pod_ip(ep[0]) == ep[1]


def rolling_update_times(n_pods: int, start_s: float, interval_s: float) -> list[float]:
    """When each of ``n_pods`` replicas is recreated: one at a time, ``interval_s``
    apart (kperf replaces a pod in place; Kubernetes' default maxSurge/maxUnavailable
    25 % would overlap a few, which only shifts the same changes in time)."""
    return [start_s + i * interval_s for i in range(n_pods)]


def schedule_recreations(
    at: Callable[[float, Callable[[], None]], None],
    pods: Sequence[Any],
    times: Sequence[float],
    recreate: Callable[[Any], None],
) -> None:
    """Ask ``at(t, callback)`` to recreate ``pods[i]`` at ``times[i]``."""
    for pod, t in zip(pods, times, strict=True):
        at(t, _bind(recreate, pod))


def _bind(fn: Callable[[Any], None], arg: Any) -> Callable[[], None]:
    return lambda: fn(arg)
