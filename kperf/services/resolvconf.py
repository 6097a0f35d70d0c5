"""Which DNS queries a pod's resolver sends for a name: resolv.conf semantics.

A pod with ``dnsPolicy: ClusterFirst`` gets (kubelet; CALIBRATION.md, "Cluster DNS")::

    nameserver 10.96.0.10
    search <ns>.svc.cluster.local svc.cluster.local cluster.local
    options ndots:5

and glibc's stub resolver (``resolv/res_query.c``, ``__res_context_search``) tries
candidate names in this order:

* a name with a trailing dot is absolute: only itself;
* a name with at least ``ndots`` dots: itself first, then each search suffix;
* otherwise: each search suffix first, then the name itself.

It stops at the first candidate that has an answer (an address of either family),
continues past NXDOMAIN and NODATA, and gives up when a candidate times out (after
its retries) — TRY_AGAIN ends the search. ``getaddrinfo(AF_UNSPEC)`` sends the A and
AAAA queries of each candidate in parallel on one socket and waits for both, so each
candidate costs two queries and the round takes as long as the slower answer.

Which names exist, as CoreDNS's ``kubernetes`` plugin answers the cluster zone:
``<svc>.<ns>.svc.<zone>`` for each Service, ``<a-b-c-d>.<ns>.pod.<zone>`` for any
dashed IPv4 address (``pods insecure``, the kubeadm default); any other name in the
zone is NXDOMAIN. Names outside the zone are forwarded upstream; kperf assumes a name
with at least two labels exists there and a single-label name does not (override with
``external_exists``).

Resulting query counts per record type: a short name of a Service in the pod's own
namespace (``web``): 1; ``web.other``: 2; a name with a trailing dot: 1; an external
name such as ``example.com``: 4 (three search suffixes fail, then the name itself).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

CLUSTER_DOMAIN = "cluster.local"
NDOTS = 5
RECORD_TYPES: tuple[str, ...] = ("A", "AAAA")
RESOLVER_TIMEOUT_S = 5.0
"""glibc ``RES_TIMEOUT``: seconds to wait for an answer before retrying."""
RESOLVER_ATTEMPTS = 2
"""glibc ``RES_DFLRETRY``: tries per candidate name and nameserver."""


def search_list(namespace: str, cluster_domain: str = CLUSTER_DOMAIN) -> tuple[str, ...]:
    """The ``search`` line kubelet writes for a pod in ``namespace``."""
    return (f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain)


def candidates(
    name: str,
    namespace: str,
    *,
    ndots: int = NDOTS,
    search: tuple[str, ...] | None = None,
    cluster_domain: str = CLUSTER_DOMAIN,
) -> list[str]:
    """Absolute names (with trailing dot) the resolver tries for ``name``, in order."""
    if not name or name == ".":
        raise ValueError("empty name")
    if name.endswith("."):
        return [name]
    suffixes = search_list(namespace, cluster_domain) if search is None else search
    searched = [f"{name}.{s}." for s in suffixes]
    if name.count(".") >= ndots:
        return [f"{name}.", *searched]
    return [*searched, f"{name}."]


def _default_external(fqdn: str) -> bool:
    return fqdn.rstrip(".").count(".") >= 1


@dataclass(frozen=True, slots=True)
class Zone:
    """What the cluster's DNS answers: Service names per namespace, and the rest.

    ``services`` holds ``(namespace, name)`` pairs.
    """

    services: Collection[tuple[str, str]]
    cluster_domain: str = CLUSTER_DOMAIN
    external_exists: Callable[[str], bool] = _default_external

    def in_zone(self, fqdn: str) -> bool:
        d = self.cluster_domain
        return fqdn == f"{d}." or fqdn.endswith(f".{d}.")

    def exists(self, fqdn: str) -> bool:
        """True when ``fqdn`` (absolute) has an address record."""
        if not self.in_zone(fqdn):
            return self.external_exists(fqdn)
        labels = fqdn[: -len(self.cluster_domain) - 2].split(".")
        if len(labels) == 3 and labels[2] == "svc":
            return (labels[1], labels[0]) in self.services
        if len(labels) == 3 and labels[2] == "pod":
            parts = labels[0].split("-")
            return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)
        return False

    def ttl_s(self, fqdn: str) -> float:
        """TTL of the answer: 5 s in the cluster zone (the ``kubernetes`` plugin's
        ``ttl`` default), 30 s outside (CoreDNS ``cache 30`` caps what it forwards)."""
        return KUBERNETES_TTL_S if self.in_zone(fqdn) else COREDNS_CACHE_S


KUBERNETES_TTL_S = 5.0
"""CoreDNS ``kubernetes`` plugin default ``ttl`` (seconds), also its negative TTL."""
COREDNS_CACHE_S = 30.0
"""``cache 30`` in the default Corefile: the longest CoreDNS keeps a forwarded answer."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The candidates a resolution tries and where it stops (no losses).

    ``tried`` are the candidates queried, in order; ``answer`` is the one that answered
    (None: every candidate failed, the name does not resolve).
    """

    name: str
    tried: tuple[str, ...]
    answer: str | None

    @property
    def ok(self) -> bool:
        return self.answer is not None

    @property
    def queries(self) -> int:
        """Queries sent: one per record type (A and AAAA) per candidate tried."""
        return len(RECORD_TYPES) * len(self.tried)


def plan(name: str, namespace: str, zone: Zone, *, ndots: int = NDOTS) -> Plan:
    """The candidates ``name`` needs from a pod in ``namespace`` when nothing is lost."""
    tried: list[str] = []
    for fqdn in candidates(name, namespace, ndots=ndots, cluster_domain=zone.cluster_domain):
        tried.append(fqdn)
        if zone.exists(fqdn):
            return Plan(name, tuple(tried), fqdn)
    return Plan(name, tuple(tried), None)
