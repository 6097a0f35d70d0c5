"""Import a real cluster from ``kubectl get nodes,pods,services -A -o json``.

kubectl prints a ``List`` whose ``items`` are Node, Pod and Service objects
(kubernetes.io/docs/reference/kubernetes-api/). From them kperf writes a cluster
spec that reproduces, when built:

- nodes: ``metadata.name``, the ``InternalIP`` of ``status.addresses``,
  ``spec.podCIDR`` (or the first IPv4 ``spec.podCIDRs``) and ``metadata.labels``;
- pods: every pod bound to a node (``spec.nodeName``) that is not finished
  (``status.phase`` Succeeded/Failed pods hold no address), as an explicit ``pods:``
  entry with its ``status.podIP``, labels, containers and ``spec.hostNetwork``. A
  container keeps its name and its ``ports``: the first as ``port`` (with
  ``protocol`` and ``host_port`` when not TCP and none), the others as ``ports:``
  (``containerPort``, ``protocol``, ``hostPort``), so ``kperf inspect`` shows the
  real cluster's port clashes. A ``hostIP`` is dropped with a warning (kperf takes
  a host port to be bound on every address of the node); in a host-network pod the
  ``hostPort`` kubectl shows is the container port and is not written;
- Services: ``spec.clusterIP``, ``selector``, the first of ``ports`` (kperf models
  one port per Service; the others are listed in a warning), ``type``
  (LoadBalancer → NodePort, its node-port part), ``sessionAffinity``,
  ``externalTrafficPolicy``. A named ``targetPort`` is resolved through the selected
  pods' container ports. A headless Service (``clusterIP: None``) is written with
  ``cluster_ip: None`` (DNS names only, no proxy rules); ExternalName Services have
  no ClusterIP and no pods to model and are skipped; ``default/kubernetes`` is
  recreated by the builder;
- a pod's ``spec.dnsPolicy`` (when not the default ClusterFirst) and ``spec.dnsConfig``
  as ``dns_policy`` and ``dns_config`` (nameservers, searches, options).

The CIDRs are guessed: the usual default (192.168.1.0/24, 10.244.0.0/16,
10.96.0.0/12) when it contains every address seen, otherwise the smallest network
covering them, widened to at least a /24 for nodes, a /16 for pods and the per-node
pod ranges, and a /16 for Services. The CNI is guessed from the pods that run it
(``kube-flannel``, ``canal``, ``calico-node`` → calico-ipip, the manifest default,
``cilium``, ``weave-net``, ``antrea-agent``, ``kube-ovn-cni``, ``kube-router``) and the
proxy mode from whether kube-proxy runs (Cilium without kube-proxy → ebpf); both can
be given instead (``--cni``, ``--proxy``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from pathlib import Path
from typing import Any

import yaml

from kperf.errors import SpecError
from kperf.profiles import CNI_PROFILES
from kperf.spec import ClusterSpec, parse
from kperf.spec.loader import read_text

DEFAULT_NODE_CIDR = IPv4Network("192.168.1.0/24")
DEFAULT_POD_CIDR = IPv4Network("10.244.0.0/16")
DEFAULT_SERVICE_CIDR = IPv4Network("10.96.0.0/12")

_CNI_HINTS = (  # pod name prefix -> CNI profile name (the plugin's default mode)
    ("canal", "canal"),
    ("kube-flannel", "flannel-vxlan"),
    ("calico-node", "calico-ipip"),
    ("cilium", "cilium-vxlan"),
    ("weave-net", "weave-fastdp"),
    ("antrea-agent", "antrea-geneve"),
    ("kube-ovn-cni", "kube-ovn-geneve"),
    ("kube-router", "kube-router"),
)


@dataclass
class ImportResult:
    """The cluster spec (as a plain mapping, ready for YAML) and what was dropped."""

    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    source: str = ""

    def spec(self) -> ClusterSpec:
        """The mapping validated as a :class:`ClusterSpec`."""
        return parse(ClusterSpec, self.data)

    def to_yaml(self) -> str:
        """YAML text with a header comment saying where it came from."""
        counts = (f"{len(self.data['nodes'])} nodes, {len(self.data.get('pods', []))} pods, "
                  f"{len(self.data.get('services', []))} Services")
        head = [f"# Imported by `kperf import` from {self.source or 'kubectl output'}: {counts}.",
                "# Rebuild and check it with `kperf inspect` on this file."]
        head += [f"# note: {w}" for w in self.warnings]
        body = yaml.safe_dump(self.data, sort_keys=False, default_flow_style=None, width=100)
        return "\n".join(head) + "\n" + body


def _v4(text: Any) -> IPv4Address | None:
    try:
        addr = ip_address(str(text))
    except ValueError:
        return None
    return addr if isinstance(addr, IPv4Address) else None


def _net4(text: Any) -> IPv4Network | None:
    try:
        net = ip_network(str(text), strict=False)
    except ValueError:
        return None
    return net if isinstance(net, IPv4Network) else None


def covering(addrs: Iterable[IPv4Address | IPv4Network], widest_prefix: int,
             hosts_only: bool = False) -> IPv4Network | None:
    """The smallest network containing every address/network, with a prefix no longer
    than ``widest_prefix``; with ``hosts_only`` no address may be its network or
    broadcast address."""
    lo_hi = []
    for a in addrs:
        if isinstance(a, IPv4Network):
            lo_hi.append((int(a.network_address), int(a.broadcast_address)))
        else:
            lo_hi.append((int(a), int(a)))
    if not lo_hi:
        return None
    lo = min(x for x, _ in lo_hi)
    hi = max(y for _, y in lo_hi)
    prefix = min(32 - (lo ^ hi).bit_length(), widest_prefix)
    while prefix > 0:
        net = IPv4Network((lo, prefix), strict=False)
        if not hosts_only or all(
            x not in (int(net.network_address), int(net.broadcast_address))
            for x, y in lo_hi if x == y
        ):
            return net
        prefix -= 1
    return IPv4Network("0.0.0.0/0")


def _guess_cidr(default: IPv4Network, items: list[IPv4Address | IPv4Network],
                widest_prefix: int, hosts_only: bool = False) -> IPv4Network:
    def inside(x: IPv4Address | IPv4Network) -> bool:
        return x.subnet_of(default) if isinstance(x, IPv4Network) else x in default

    if all(inside(x) for x in items):
        return default
    net = covering(items, widest_prefix, hosts_only)
    return net if net is not None else default


def _items(doc: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise SpecError(source, type(doc).__name__,
                        "allowed: the JSON object `kubectl get nodes,pods,services -A -o json` "
                        "prints (kind: List)")
    if doc.get("kind") != "List" and "items" not in doc:
        if doc.get("kind") in ("Node", "Pod", "Service"):
            return [doc]
        raise SpecError(f"{source}: kind", doc.get("kind"),
                        "allowed: List (from `kubectl get nodes,pods,services -A -o json`)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise SpecError(f"{source}: items", items,
                        "allowed: a list of Node, Pod and Service objects")
    return [i for i in items if isinstance(i, dict)]


def _meta(obj: Mapping[str, Any]) -> tuple[str, str, dict[str, str]]:
    meta = obj.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    return str(meta.get("name", "")), str(meta.get("namespace") or "default"), labels


def import_kubectl(doc: Any, source: str = "", cni: str | None = None,
                   proxy: str | None = None) -> ImportResult:
    """Turn a parsed kubectl ``List`` document into a cluster spec mapping."""
    items = _items(doc, source or "input")
    warnings: list[str] = []
    kinds: dict[str, list[dict[str, Any]]] = {"Node": [], "Pod": [], "Service": []}
    skipped_kinds: dict[str, int] = {}
    for it in items:
        kind = str(it.get("kind", ""))
        if kind in kinds:
            kinds[kind].append(it)
        else:
            skipped_kinds[kind] = skipped_kinds.get(kind, 0) + 1
    for kind, n in sorted(skipped_kinds.items()):
        warnings.append(f"skipped {n} item(s) of kind {kind or '?'}")
    if not kinds["Node"]:
        raise SpecError(f"{source or 'input'}: items", "no Node",
                        "allowed: a List with at least one Node "
                        "(`kubectl get nodes,pods,services -A -o json`)")

    # ---- nodes
    nodes: list[dict[str, Any]] = []
    node_names: set[str] = set()
    node_ips: list[IPv4Address] = []
    node_ranges: list[IPv4Network] = []
    max_pods = 110
    for i, obj in enumerate(kinds["Node"]):
        name, _, labels = _meta(obj)
        status = obj.get("status") or {}
        spec = obj.get("spec") or {}
        ip = next((_v4(a.get("address")) for a in status.get("addresses") or []
                   if a.get("type") == "InternalIP" and _v4(a.get("address"))), None)
        if ip is None:
            raise SpecError(f"items.Node.{i}.status.addresses", name,
                            "allowed: a node with an IPv4 InternalIP address")
        cidrs = [spec.get("podCIDR"), *(spec.get("podCIDRs") or [])]
        pod_range = next((n for n in (_net4(c) for c in cidrs if c) if n is not None), None)
        entry: dict[str, Any] = {"name": name, "ip": str(ip)}
        if pod_range is not None:
            entry["pod_cidr"] = str(pod_range)
            node_ranges.append(pod_range)
        if labels:
            entry["labels"] = labels
        nodes.append(entry)
        node_names.add(name)
        node_ips.append(ip)
        cap = (status.get("capacity") or {}).get("pods")
        if cap is not None and str(cap).isdigit():
            max_pods = max(max_pods, int(cap))

    # ---- pods
    pods: list[dict[str, Any]] = []
    raw_pods: list[tuple[str, dict[str, str], dict[str, Any]]] = []
    pod_ips: list[IPv4Address] = []
    per_node: dict[str, int] = {}
    skipped: list[str] = []
    pod_names_seen: list[str] = []
    for obj in kinds["Pod"]:
        name, ns, labels = _meta(obj)
        pod_names_seen.append(name)
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        node = spec.get("nodeName")
        phase = status.get("phase")
        if phase in ("Succeeded", "Failed"):
            skipped.append(f"{ns}/{name} ({phase})")
            continue
        if not node or node not in node_names:
            skipped.append(f"{ns}/{name} (not on a listed node)")
            continue
        host = bool(spec.get("hostNetwork", False))
        entry = {"name": name, "namespace": ns, "node": node}
        ip = _v4(status.get("podIP"))
        if not host:
            if ip is None:
                skipped.append(f"{ns}/{name} (no pod IP yet)")
                continue
            entry["ip"] = str(ip)
            pod_ips.append(ip)
        if labels:
            entry["labels"] = labels
        containers = [_container(c, host, f"{ns}/{name}", warnings)
                      for c in spec.get("containers") or []]
        if containers:
            entry["containers"] = containers
        if host:
            entry["host_network"] = True
        entry.update(_pod_dns(spec))
        pods.append(entry)
        raw_pods.append((ns, labels, spec))
        per_node[node] = per_node.get(node, 0) + 1
    if skipped:
        warnings.append(f"skipped {len(skipped)} pod(s): {', '.join(skipped[:5])}"
                        + (" ..." if len(skipped) > 5 else ""))
    max_pods = max(max_pods, *per_node.values()) if per_node else max_pods

    # ---- services
    services: list[dict[str, Any]] = []
    cluster_ips: list[IPv4Address] = []
    api_ip: IPv4Address | None = None
    for obj in kinds["Service"]:
        name, ns, _ = _meta(obj)
        spec = obj.get("spec") or {}
        cip_text = spec.get("clusterIP")
        if (ns, name) == ("default", "kubernetes"):
            api_ip = _v4(cip_text)
            continue
        stype = spec.get("type", "ClusterIP")
        headless = cip_text == "None" and stype == "ClusterIP"
        if stype == "ExternalName" or (cip_text in (None, "", "None") and not headless):
            warnings.append(f"skipped Service {ns}/{name} (ExternalName or no ClusterIP)")
            continue
        cip = None if headless else _v4(cip_text)
        if cip is None and not headless:
            warnings.append(f"skipped Service {ns}/{name} (no IPv4 ClusterIP)")
            continue
        ports = spec.get("ports") or []
        first = ports[0] if ports else {}
        selector = {str(k): str(v) for k, v in (spec.get("selector") or {}).items()}
        entry = {"name": name, "namespace": ns, "cluster_ip": "None" if cip is None else str(cip)}
        if selector:
            entry["selector"] = selector
        if first:
            entry["port"] = int(first.get("port", 80))
            target = first.get("targetPort")
            if isinstance(target, str) and not target.isdigit():
                target = _named_port(target, ns, selector, raw_pods)
            if target is not None and int(target) != entry["port"]:
                entry["target_port"] = int(target)
            proto = first.get("protocol", "TCP")
            if proto in ("TCP", "UDP"):
                if proto != "TCP":
                    entry["protocol"] = proto
            else:
                warnings.append(f"Service {ns}/{name}: protocol {proto} modelled as TCP")
        if len(ports) > 1:
            extra = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports[1:])
            warnings.append(f"Service {ns}/{name}: kperf models its first port only "
                            f"(also has {extra})")
        if stype in ("NodePort", "LoadBalancer"):
            entry["type"] = "NodePort"
            if stype == "LoadBalancer":
                warnings.append(f"Service {ns}/{name}: LoadBalancer modelled as its NodePort")
            if isinstance(first.get("nodePort"), int):
                entry["node_port"] = first["nodePort"]
            etp = spec.get("externalTrafficPolicy")
            if etp in ("Cluster", "Local") and etp != "Cluster":
                entry["external_traffic_policy"] = etp
        if spec.get("sessionAffinity") == "ClientIP":
            entry["session_affinity"] = "ClientIP"
        services.append(entry)
        if cip is not None:
            cluster_ips.append(cip)

    # ---- CNI, proxy, CIDRs
    guessed_cni = "flannel-vxlan"
    for prefix, name in _CNI_HINTS:
        if any(n.startswith(prefix) for n in pod_names_seen):
            guessed_cni = name
            break
    else:
        if cni is None:
            warnings.append("no CNI pods recognised; assuming flannel-vxlan (use --cni)")
    has_kube_proxy = any(n.startswith("kube-proxy") for n in pod_names_seen)
    guessed_proxy = "ebpf" if guessed_cni.startswith("cilium") and not has_kube_proxy else (
        "iptables")

    chosen_cni = cni or guessed_cni
    profile = CNI_PROFILES.get(chosen_cni)
    if profile is not None and profile.ipam == "calico-blocks" and node_ranges:
        # Calico IPAM ignores the node podCIDR kube-controller-manager assigns; the
        # pods' addresses claim their /26 blocks when the spec is built.
        for entry in nodes:
            entry.pop("pod_cidr", None)
        node_ranges = []
        warnings.append(f"{chosen_cni} uses Calico IPAM: node podCIDRs dropped, blocks "
                        "follow the pods' addresses")

    node_cidr = _guess_cidr(DEFAULT_NODE_CIDR, list(node_ips), 24, hosts_only=True)
    prefixes = {r.prefixlen for r in node_ranges}
    node_pod_prefix = prefixes.pop() if len(prefixes) == 1 else 24
    pod_items: list[IPv4Address | IPv4Network] = [*node_ranges, *pod_ips]
    pod_cidr = _guess_cidr(DEFAULT_POD_CIDR, pod_items, min(16, node_pod_prefix))
    need = max(len(nodes) - 1, 0).bit_length()
    if node_pod_prefix - pod_cidr.prefixlen < need:
        pod_cidr = pod_cidr.supernet(new_prefix=max(node_pod_prefix - need, 0))
    svc_items: list[IPv4Address | IPv4Network] = list(cluster_ips)
    if api_ip is not None:
        svc_items.append(api_ip)
    service_cidr = _guess_cidr(DEFAULT_SERVICE_CIDR, svc_items, 16)
    if api_ip is not None and int(api_ip) != int(service_cidr.network_address) + 1:
        warnings.append(f"the kubernetes Service has {api_ip}, not the first address of the "
                        f"guessed service CIDR {service_cidr}; kperf gives it "
                        f"{service_cidr.network_address + 1}")

    data: dict[str, Any] = {
        "nodes": nodes,
        "cni": chosen_cni,
        "proxy": proxy or guessed_proxy,
        "node_cidr": str(node_cidr),
        "pod_cidr": str(pod_cidr),
        "node_pod_prefix": node_pod_prefix,
        "service_cidr": str(service_cidr),
        "max_pods_per_node": max_pods,
        "pods": pods,
        "services": services,
    }
    result = ImportResult(data, warnings, source)
    result.spec()  # the result must be a valid spec; raises a one-line SpecError if not
    return result


_PORT_PROTOCOLS = ("TCP", "UDP", "SCTP")


def _container(c: Mapping[str, Any], host_network: bool, pod: str,
               warnings: list[str]) -> dict[str, Any]:
    """A container entry: its name, its first port as ``port`` (``protocol``,
    ``host_port``), the others as ``ports``."""
    entry: dict[str, Any] = {"name": str(c.get("name"))}
    ports: list[dict[str, Any]] = []
    for p in c.get("ports") or []:
        port = p.get("containerPort") if isinstance(p, Mapping) else None
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            continue
        proto = p.get("protocol") or "TCP"
        if proto not in _PORT_PROTOCOLS:
            warnings.append(f"pod {pod}: container {entry['name']} port {port} has protocol "
                            f"{proto!r}; skipped (allowed: TCP, UDP, SCTP)")
            continue
        one: dict[str, Any] = {"port": port}
        if proto != "TCP":
            one["protocol"] = proto
        host_port = p.get("hostPort")
        if (isinstance(host_port, int) and not isinstance(host_port, bool)
                and 1 <= host_port <= 65535 and not (host_network and host_port == port)):
            one["host_port"] = host_port
            host_ip = p.get("hostIP")
            if host_ip not in (None, "", "0.0.0.0", "::"):
                warnings.append(f"pod {pod}: container {entry['name']} hostPort {host_port} "
                                f"is bound to hostIP {host_ip} only; kperf takes host "
                                "ports to be bound on every node address")
        ports.append(one)
    if ports:
        entry.update(ports[0])
        if len(ports) > 1:
            entry["ports"] = ports[1:]
    return entry


def _pod_dns(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``dns_policy`` (unless ClusterFirst, the default) and ``dns_config`` of a pod's
    ``spec.dnsPolicy`` and ``spec.dnsConfig`` (validated with the cluster spec)."""
    out: dict[str, Any] = {}
    policy = spec.get("dnsPolicy")
    if policy not in (None, "", "ClusterFirst"):
        out["dns_policy"] = policy
    cfg = spec.get("dnsConfig")
    if isinstance(cfg, Mapping):
        conf: dict[str, Any] = {}
        for key in ("nameservers", "searches"):
            if cfg.get(key):
                conf[key] = [str(v) for v in cfg[key]]
        opts = [{"name": str(o.get("name", ""))}
                | ({"value": str(o["value"])} if o.get("value") is not None else {})
                for o in cfg.get("options") or [] if isinstance(o, Mapping)]
        if opts:
            conf["options"] = opts
        out["dns_config"] = conf
    return out


def _named_port(name: str, ns: str, selector: Mapping[str, str],
                raw_pods: list[tuple[str, dict[str, str], dict[str, Any]]]) -> int | None:
    for pns, labels, spec in raw_pods:
        if pns != ns or not selector or any(labels.get(k) != v for k, v in selector.items()):
            continue
        for c in spec.get("containers") or []:
            for p in c.get("ports") or []:
                if p.get("name") == name and isinstance(p.get("containerPort"), int):
                    return int(p["containerPort"])
    return None


def import_file(path: str | Path, cni: str | None = None, proxy: str | None = None
                ) -> ImportResult:
    """Read kubectl JSON from ``path``; malformed input is a one-line SpecError."""
    p = Path(path)
    text = read_text(p)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{p}:{exc.lineno}:{exc.colno}", exc.doc.splitlines()[exc.lineno - 1][:60]
                        if exc.doc.splitlines() else "",
                        f"malformed JSON: {exc.msg}; allowed: the output of "
                        "`kubectl get nodes,pods,services -A -o json`") from None
    return import_kubectl(doc, str(p), cni, proxy)
