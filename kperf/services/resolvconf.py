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

What kubelet writes (:func:`pod_resolv_conf`, after k8s.io/kubernetes
``pkg/kubelet/network/dns/dns.go``, ``GetPodDNS``): ``ClusterFirst`` (and
``ClusterFirstWithHostNet``) gives the cluster DNS as the only nameserver, the three
cluster domains followed by the node's own search domains
(``generateSearchesForDNSClusterFirst``) and ``options ndots:5`` (the node's options
are dropped); ``ClusterFirst`` in a host-network pod falls back to ``Default``
(``getPodDNSType``); ``Default`` is the node's resolv.conf (kperf models its search
line, ``host_search``; no options, so glibc's ``ndots:1``); ``None`` starts empty.
A ``dnsConfig`` is then appended (``appendDNSConfig``: nameservers and searches
without duplicates, options merged by name with the pod's winning), and the result cut
to the limits (``formDNSConfigFitsLimits``: 3 nameservers; 32 search domains, each at
most 253 characters, 2048 characters in all, dropping from the end).

Names under the node's search domains (a cloud's internal zone, ``ec2.internal``) are
taken not to exist: the zone holds the VMs' own names, which no workload looks up, so
a candidate there is one more NXDOMAIN. An external name from a ClusterFirst pod on a
GCE node (two host domains, ndots 5) therefore costs (3 + 2 + 1) x 2 = 12 queries.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

CLUSTER_DOMAIN = "cluster.local"
NDOTS = 5
RECORD_TYPES: tuple[str, ...] = ("A", "AAAA")
RESOLVER_TIMEOUT_S = 5.0
"""glibc ``RES_TIMEOUT``: seconds to wait for an answer before retrying."""
RESOLVER_ATTEMPTS = 2
"""glibc ``RES_DFLRETRY``: tries per candidate name and nameserver."""


GLIBC_NDOTS = 1
"""glibc's ``ndots`` without an ``options ndots:`` line (resolv.conf(5))."""
MAX_NAMESERVERS = 3
"""kubelet keeps the first 3 nameservers (``MaxDNSNameservers``; glibc's MAXNS)."""
MAX_SEARCH_PATHS = 32
"""kubelet keeps at most 32 search domains (``MaxDNSSearchPathsExpanded``, >= 1.28)."""
MAX_SEARCH_LIST_CHARS = 2048
"""... and at most 2048 characters of them (``MaxDNSSearchListCharsExpanded``)."""
MAX_SEARCH_DOMAIN_CHARS = 253
"""kubelet drops a search domain longer than a DNS-1123 subdomain (glibc 2.28 aborts)."""
HOST_NAMESERVER = "node-resolver"
"""The node's own nameserver(s) (Default policy): kperf does not model their addresses,
only that they are not the cluster DNS."""


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
    searched = [f"{name}.{s.removesuffix('.')}." for s in suffixes]
    if name.count(".") >= ndots:
        return [f"{name}.", *searched]
    return [*searched, f"{name}."]


def _default_external(fqdn: str) -> bool:
    return fqdn.rstrip(".").count(".") >= 1


@dataclass(frozen=True, slots=True)
class Zone:
    """What the cluster's DNS answers: Service names per namespace, and the rest.

    ``services`` holds ``(namespace, name)`` pairs (headless Services too: their name
    answers with the pods' addresses). ``private_domains``: domains outside the cluster
    whose names kperf takes not to exist (the nodes' search domains).
    """

    services: Collection[tuple[str, str]]
    cluster_domain: str = CLUSTER_DOMAIN
    external_exists: Callable[[str], bool] = _default_external
    private_domains: tuple[str, ...] = ()

    def in_zone(self, fqdn: str) -> bool:
        d = self.cluster_domain
        return fqdn == f"{d}." or fqdn.endswith(f".{d}.")

    def exists(self, fqdn: str) -> bool:
        """True when ``fqdn`` (absolute) has an address record."""
        if not self.in_zone(fqdn):
            if any(fqdn.endswith(f".{d}.") or fqdn == f"{d}." for d in self.private_domains):
                return False
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


def plan(name: str, namespace: str, zone: Zone, *, ndots: int = NDOTS,
         search: tuple[str, ...] | None = None, cluster_dns: bool = True) -> Plan:
    """The candidates ``name`` needs from a pod in ``namespace`` when nothing is lost.

    ``search``: the pod's search list (None: kubelet's ClusterFirst list without node
    domains); ``cluster_dns``: False when the pod's nameserver is not the cluster DNS
    (a Default-policy pod asks the node's resolver, which knows no cluster names)."""
    tried: list[str] = []
    for fqdn in candidates(name, namespace, ndots=ndots, search=search,
                           cluster_domain=zone.cluster_domain):
        tried.append(fqdn)
        if answers(zone, fqdn, cluster_dns):
            return Plan(name, tuple(tried), fqdn)
    return Plan(name, tuple(tried), None)


def answers(zone: Zone, fqdn: str, cluster_dns: bool) -> bool:
    """Whether the pod's nameserver has an address for ``fqdn``: the cluster DNS knows
    the zone and forwards the rest; a resolver outside the cluster (the node's, or a
    ``dnsConfig`` nameserver) knows no cluster names."""
    if not cluster_dns and zone.in_zone(fqdn):
        return False
    return zone.exists(fqdn)


@dataclass(frozen=True, slots=True)
class ResolvConf:
    """A pod's ``/etc/resolv.conf`` as kubelet writes it: nameservers, search domains
    and options (``name`` or ``name:value``), plus the ``ndots`` glibc takes from them."""

    nameservers: tuple[str, ...]
    search: tuple[str, ...]
    options: tuple[str, ...]

    @property
    def ndots(self) -> int:
        """The last ``ndots:n`` option (glibc reads options in order), capped at 15;
        glibc's default 1 without one."""
        out = GLIBC_NDOTS
        for opt in self.options:
            name, _, value = opt.partition(":")
            if name == "ndots" and value.isdigit():
                out = min(int(value), 15)
        return out


def _unique(items: list[str]) -> list[str]:
    """``omitDuplicates``: the first of each, in order."""
    return list(dict.fromkeys(items))


def _fit_search(search: list[str]) -> list[str]:
    """kubelet's ``formDNSSearchFitsLimits``: at most 32 domains, none longer than 253
    characters, at most 2048 characters joined (dropping domains from the end)."""
    search = search[:MAX_SEARCH_PATHS]
    search = [s for s in search if len(s) <= MAX_SEARCH_DOMAIN_CHARS]
    while search and len(" ".join(search)) > MAX_SEARCH_LIST_CHARS:
        search.pop()
    return search


def pod_resolv_conf(namespace: str, policy: str, host_network: bool, config: Any,
                    *, cluster_dns_ip: str, host_search: tuple[str, ...] = (),
                    cluster_domain: str = CLUSTER_DOMAIN) -> ResolvConf:
    """What kubelet writes for a pod (``GetPodDNS``): ``policy`` is its ``dnsPolicy``,
    ``config`` its ``dnsConfig`` (anything with ``nameservers``, ``searches`` and
    ``options`` of ``name``/``value``, or None), ``host_search`` the node's search line."""
    host = [s.removesuffix(".") for s in host_search]
    kind = policy
    if policy == "ClusterFirst" and host_network:
        kind = "Default"  # getPodDNSType: ClusterFirst on the host network falls back
    if kind == "None":
        servers: list[str] = []
        search: list[str] = []
        options: list[str] = []
    elif kind in ("ClusterFirst", "ClusterFirstWithHostNet"):
        servers = [cluster_dns_ip]
        search = _unique([*search_list(namespace, cluster_domain), *host])
        options = [f"ndots:{NDOTS}"]
    else:  # Default: the node's resolv.conf
        servers = [HOST_NAMESERVER]
        search = host
        options = []
    if config is not None:
        servers = _unique([*servers, *(str(ns) for ns in config.nameservers)])
        search = _unique([*search, *config.searches])
        merged: dict[str, str] = {}
        for opt in options:
            name, _, value = opt.partition(":")
            merged[name] = value
        for o in config.options:
            merged[o.name] = o.value or ""
        options = [f"{k}:{v}" if v else k for k, v in merged.items()]
    return ResolvConf(tuple(servers[:MAX_NAMESERVERS]), tuple(_fit_search(search)),
                      tuple(options))
