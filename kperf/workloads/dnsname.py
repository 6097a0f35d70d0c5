"""Which name a workload's clients resolve, and where the answer sends them.

A workload resolves (``resolve_dns``) its target Service's short name, or the name
``dns_name`` gives. The name is planned once per workload, as the run will resolve it
(:func:`kperf.services.resolvconf.plan` with the client pods' resolv.conf, from their
deployment's ``dns_policy``/``dns_config`` and the cluster's ``host_search``), and the
answer decides the connection's target:

* a ClusterIP Service ``<svc>.<ns>.svc.cluster.local``: through that Service (the one
  in that namespace); ``target`` must be ``svc/<svc>``;
* a headless Service (``cluster_ip: None``): DNS answers with its ready pods' IPs and
  the client connects straight to one of them, no ClusterIP, no proxy (CoreDNS's
  ``loadbalance`` plugin, in kubeadm's default Corefile, rotates the answer, so each
  connection may pick any pod: the workload's placement becomes all-to-all);
  ``target`` must be ``svc/<svc>``;
* a name outside the cluster (``api.example.com``): forwarded upstream by CoreDNS (or
  answered by the pod's own resolver); kperf has no server outside the cluster, so the
  connection goes to ``target`` as given, which stands in for it.

A name that does not resolve, or that names a Service the cluster does not have (its
second label a namespace of the cluster: ``web.other``, ``web.other.svc``), is a
SpecError at spec time naming ``dns_name``.
"""

from __future__ import annotations

from typing import Any

from kperf.errors import SpecError
from kperf.services.dns import NODELOCAL_IP, cluster_dns_ip, resolv_conf_of, zone_of
from kperf.services.resolvconf import plan

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
"""Namespaces every cluster has (kubeadm creates them)."""


def headless_target(cluster: Any, target: str) -> Any | None:
    """The headless Service a ``svc/NAME`` target names (None: not headless)."""
    if not target.startswith("svc/"):
        return None
    name = target[4:]
    if any(s.name == name for s in cluster.services):
        return None
    return next((s for s in getattr(cluster, "headless_services", ()) if s.name == name),
                None)


def lookup_name(cluster: Any, spec: Any) -> str | None:
    """The name the workload's clients resolve when it is not the target Service's
    short name: ``dns_name``, or a headless target's name (None: the Service's name)."""
    name: str | None = getattr(spec, "dns_name", None)
    if name is not None:
        return name
    svc = headless_target(cluster, str(getattr(spec, "target", "")))
    return None if svc is None else str(svc.name)


def namespaces(cluster: Any) -> set[str]:
    """The namespaces of the cluster: those of its objects and the system ones."""
    out = set(SYSTEM_NAMESPACES)
    out.update(p.namespace for p in cluster.pods)
    out.update(s.namespace for s in cluster.services)
    out.update(s.namespace for s in getattr(cluster, "headless_services", ()))
    return out


def dns_target(cluster: Any, spec: Any, clients: list[Any], path: str
               ) -> tuple[Any | None, list[Any], bool] | None:
    """(Service or None, backend pods, all-to-all) for a workload whose clients resolve
    a name other than the target Service's (``dns_name`` or a headless target), or
    None when the answer is outside the cluster (the target as given serves)."""
    name = lookup_name(cluster, spec)
    if name is None:
        return None
    headless = headless_target(cluster, str(spec.target))
    field = f"{path}.dns_name" if spec.dns_name is not None else f"{path}.target"
    if spec.dns_name is None and not spec.resolve_dns:
        raise SpecError(f"{path}.target", spec.target,
                        "is a headless Service (no ClusterIP); allowed with resolve_dns: "
                        "true or dns_name (the client connects to the pods DNS returns)")
    client = clients[0]
    dns_ip = cluster_dns_ip(cluster)
    rc = resolv_conf_of(cluster, client, dns_ip)
    zone = zone_of(cluster)
    first = rc.nameservers[0] if rc.nameservers else ""
    p = plan(name, client.namespace, zone, ndots=rc.ndots, search=rc.search,
             cluster_dns=first in (dns_ip, NODELOCAL_IP))
    where = f"from {client.namespace} pods of {spec.clients}"
    if p.answer is None:
        raise SpecError(field, name, f"does not resolve {where} (tried "
                        f"{', '.join(p.tried[:4])}{' ...' if len(p.tried) > 4 else ''}); "
                        "allowed: a Service of the cluster (web, web.other, "
                        "web.other.svc.cluster.local.) or an external name (api.example.com)")
    if not zone.in_zone(p.answer):
        labels = name.removesuffix(".").split(".")
        if (len(labels) in (2, 3) and labels[1] in namespaces(cluster)
                and (len(labels) == 2 or labels[2] == "svc")):
            raise SpecError(field, name, f"names Service {labels[0]} in namespace "
                            f"{labels[1]}, which does not resolve {where} (dns_policy "
                            "Default or a nameserver outside the cluster knows no cluster "
                            "names, or no such Service); allowed: a Service of the "
                            "cluster, or an external name")
        if headless is not None:
            raise SpecError(field, name, f"resolves outside the cluster ({p.answer}), "
                            f"not to the headless Service of target {spec.target}; "
                            "allowed: a name of that Service")
        return None
    labels = p.answer[: -len(zone.cluster_domain) - 2].split(".")
    svc: Any = None
    if len(labels) == 3 and labels[2] == "svc":
        ns, svc_name = labels[1], labels[0]
        svc = next((s for s in cluster.services
                    if s.name == svc_name and s.namespace == ns), None)
        if svc is None:
            svc = next((s for s in getattr(cluster, "headless_services", ())
                        if s.name == svc_name and s.namespace == ns), None)
    if svc is None:
        raise SpecError(field, name, f"resolves to {p.answer.rstrip('.')}, not a Service of "
                        "the cluster's spec; allowed: a Service of the cluster or an "
                        "external name")
    if spec.target != f"svc/{svc.name}":
        raise SpecError(f"{path}.target", spec.target,
                        f"dns_name {name} resolves to Service {svc.namespace}/{svc.name}; "
                        f"allowed: svc/{svc.name}")
    by_uid = {q.uid: q for q in cluster.pods}
    backends = [by_uid[u] for u in svc.endpoints if u in by_uid]
    if svc.index < 0:  # headless: straight to the pods
        return None, backends, True
    return svc, backends, False
