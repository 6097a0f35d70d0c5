"""A pod's DNS settings as Kubernetes takes them: ``dnsPolicy`` and ``dnsConfig``.

A deployment (or an imported pod) says how kubelet writes its pods' ``resolv.conf``::

    deployments:
      - name: client
        dns_policy: None    # ClusterFirst (default) | ClusterFirstWithHostNet | Default | None
        dns_config:
          nameservers: [10.96.0.10]
          searches: [default.svc.cluster.local]
          options: [{name: ndots, value: "2"}, {name: edns0}]

The cluster says what the nodes' own ``resolv.conf`` searches (``host_search``: a cloud
VM's DHCP domains); kubelet appends it to ClusterFirst pods' search list, and
Default-policy pods use it alone (:mod:`kperf.services.resolvconf` composes the lines).

Validation is the API server's (k8s.io/kubernetes pkg/apis/core/validation,
``validateDNSPolicy`` and ``validatePodDNSConfig``), with the limits of Kubernetes
>= 1.28 (``ExpandedDNSConfig`` GA, KEP-2595; kubernetes.io "DNS for Services and
Pods", "DNS search domain list limits")::

    dnsPolicy None needs dnsConfig with at least one nameserver
    nameservers: at most 3 (MaxDNSNameservers), each an IP address
    searches: at most 32 (MaxDNSSearchPaths; 6 before 1.28), at most 2048 characters
              joined with spaces (MaxDNSSearchListChars; 256 before), each a DNS-1123
              subdomain (a trailing dot allowed)
    options: each with a non-empty name

kperf also refuses an ``ndots`` value glibc would not take as given: resolv.conf(5),
"ndots:n ... The value for this option is silently capped to 15" (the API server
accepts any string; kperf wants the number its model uses).
"""

from __future__ import annotations

import re
from ipaddress import ip_address
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from kperf.spec.base import FieldProblem, StrictModel

DnsPolicy = Literal["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]
"""A pod's ``dnsPolicy`` (Kubernetes ``v1.DNSPolicy``)."""

MAX_DNS_NAMESERVERS = 3
"""``MaxDNSNameservers`` (pkg/apis/core/validation): glibc's MAXNS."""
MAX_DNS_SEARCH_PATHS = 32
"""``MaxDNSSearchPathsExpanded`` (Kubernetes >= 1.28; 6 before)."""
MAX_DNS_SEARCH_LIST_CHARS = 2048
"""``MaxDNSSearchListCharsExpanded`` (Kubernetes >= 1.28; 256 before)."""
MAX_NDOTS = 15
"""glibc ``RES_MAXNDOTS``: resolv.conf(5) caps ndots at 15."""

_LABEL_1123 = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = re.compile(rf"^{_LABEL_1123}(\.{_LABEL_1123})*$")
_HOST_LABEL = re.compile(r"^[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?$")

SEARCH_RULE = ("a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' and '.', "
               "parts starting and ending with a letter or digit (a trailing dot allowed)")


def check_searches(searches: list[str], what: str = "searches") -> list[str]:
    """Search domains as the API server takes them (count, joined length, each a
    DNS-1123 subdomain); a :class:`FieldProblem` naming the entry otherwise."""
    if len(searches) > MAX_DNS_SEARCH_PATHS:
        raise FieldProblem("", f"{len(searches)} {what}",
                           f"allowed: at most {MAX_DNS_SEARCH_PATHS} search domains "
                           "(Kubernetes >= 1.28)")
    joined = len(" ".join(searches))
    if joined > MAX_DNS_SEARCH_LIST_CHARS:
        raise FieldProblem("", f"{joined} characters",
                           f"allowed: at most {MAX_DNS_SEARCH_LIST_CHARS} characters, "
                           "spaces included (Kubernetes >= 1.28)")
    for i, s in enumerate(searches):
        bare = s.removesuffix(".")
        if len(bare) > 253 or not _SUBDOMAIN.fullmatch(bare):
            raise FieldProblem(str(i), s, f"allowed: {SEARCH_RULE}")
    return searches


def _option_value(v: Any) -> Any:
    """YAML ``value: 2`` is a number; Kubernetes' value is a string."""
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class DnsOption(StrictModel):
    """One resolver option (Kubernetes ``PodDNSConfigOption``): ``{name: ndots,
    value: "2"}``, ``{name: edns0}``."""

    name: str = Field(min_length=1, description="the option's name (ndots, edns0, ...)")
    value: Annotated[str | None, BeforeValidator(_option_value)] = None

    @model_validator(mode="after")
    def _ndots(self) -> DnsOption:
        if self.name == "ndots":
            v = self.value
            if v is None or not v.isdigit() or int(v) > MAX_NDOTS:
                raise FieldProblem("value", v, f"allowed: ndots a whole number from 0 to "
                                   f"{MAX_NDOTS} (glibc caps it at {MAX_NDOTS}, "
                                   "resolv.conf(5))")
        return self


class DnsConfig(StrictModel):
    """A pod's ``dnsConfig``: merged into what its ``dnsPolicy`` gives (nameservers and
    searches appended without duplicates, options merged with these winning)."""

    nameservers: list[str] = Field(
        default_factory=list, description=f"at most {MAX_DNS_NAMESERVERS} IP addresses")
    searches: list[str] = Field(default_factory=list, description="search domains")
    options: list[DnsOption] = Field(default_factory=list, description="resolver options")

    @model_validator(mode="after")
    def _limits(self) -> DnsConfig:
        for i, ns in enumerate(self.nameservers):
            try:
                ip_address(ns)
            except ValueError:
                raise FieldProblem(f"nameservers.{i}", ns,
                                   "allowed: an IP address (IPv4 or IPv6)") from None
        if len(self.nameservers) > MAX_DNS_NAMESERVERS:
            raise FieldProblem("nameservers", f"{len(self.nameservers)} nameservers",
                               f"allowed: at most {MAX_DNS_NAMESERVERS} nameservers")
        try:
            check_searches(self.searches)
        except FieldProblem as p:
            raise FieldProblem(f"searches.{p.path}".rstrip("."), p.value, p.allowed) from None
        return self

    @property
    def ndots(self) -> int | None:
        """The last ``ndots`` option's value (None: not given)."""
        out = None
        for o in self.options:
            if o.name == "ndots" and o.value is not None:
                out = int(o.value)
        return out


def check_pod_dns(policy: str, config: DnsConfig | None, host_network: bool) -> None:
    """What the API server refuses about a pod's DNS fields together (dnsPolicy None
    without nameservers); a :class:`FieldProblem` naming the field."""
    if policy == "None":
        if config is None:
            raise FieldProblem("dns_config", None, "allowed: a dns_config with at least one "
                               "nameserver when dns_policy is None (the API server requires it)")
        if not config.nameservers:
            raise FieldProblem("dns_config.nameservers", [],
                               "allowed: at least one nameserver when dns_policy is None "
                               "(the API server requires it)")


def check_dns_name(value: str) -> str:
    """A name a workload resolves: host-name labels of 1-63 characters (letters, digits,
    '-', '_'), at most 253 characters, an optional trailing dot; lower-cased (DNS
    compares names without case)."""
    name = value.lower()
    bare = name.removesuffix(".")
    if (not bare or len(bare) > 253
            or not all(_HOST_LABEL.fullmatch(lab) and len(lab) <= 63 for lab in bare.split("."))):
        raise ValueError("allowed: a DNS name such as web, web.other, "
                         "web.other.svc.cluster.local. or api.example.com (labels of 1-63 "
                         "letters, digits, '-' or '_', at most 253 characters, an optional "
                         "trailing dot)")
    return name
