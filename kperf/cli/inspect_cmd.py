"""``kperf inspect``: build a cluster and show its addressing, data plane and conformance.

Exit codes: 0 the cluster conforms to the Kubernetes network model, 3 it builds but
violates it, 2 invalid input (one line on stderr naming the field).

The cluster, spec and service modules (numpy, pandas, pydantic) are imported inside
the functions: every ``kperf`` command imports this module to register ``inspect``,
and ``kperf --help`` should not pay for them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kperf.cli.app import EXIT_NONCONFORMANT, EXIT_OK, app, handles_errors
from kperf.errors import SpecError

if TYPE_CHECKING:
    from kperf.cluster import Cluster, Pod

_PROXY_METRICS = {"iptables_rules", "kube_services_rules", "ipvs_virtual_servers",
                  "ipvs_real_servers", "nft_elements", "ebpf_map_entries"}


def _resync(cluster: Any) -> dict[str, Any]:
    """How long kube-proxy takes to reprogram the slowest node (kperf.services model)."""
    from kperf.services.proxycost import resync_table

    table = resync_table(cluster)
    if not len(table):
        return {}
    row = table.sort_values("full_resync_s").iloc[-1]
    return {"proxy": str(row["proxy"]), "entries": int(row["entries"]),
            "full_resync_s": float(row["full_resync_s"]),
            "partial_resync_s": float(row["partial_resync_s"]),
            "incremental_resync_s": float(row["incremental_resync_s"])}


def _elide(items: list[Any], limit: int) -> tuple[list[Any], int]:
    if limit <= 0 or len(items) <= limit:
        return items, 0
    return items[:limit], len(items) - limit


def _show_ips(ips: list[str], limit: int = 4) -> str:
    if len(ips) <= limit:
        return ", ".join(ips)
    return ", ".join(ips[:limit]) + f", ... (+{len(ips) - limit})"


def _display(namespace: str, name: str) -> str:
    return name if namespace == "default" else f"{namespace}/{name}"


def _recreate(cluster: Cluster, names: list[str]) -> list[dict[str, Any]]:
    """Recreate the named pods (``--recreate``), returning old → new for each."""
    from kperf.cluster.addr import ip_str

    out = []
    for raw in names:
        for name in (n for n in raw.split(",") if n):
            try:
                old: Pod = cluster.pod(name)
            except KeyError:
                sample = ", ".join(p.name for p in cluster.pods[:3]) or "none"
                raise SpecError(
                    "--recreate", name,
                    f"unknown pod; allowed: a pod of this cluster (e.g. {sample}; "
                    "namespace/name outside default)",
                ) from None
            old_ip = old.ip
            new = cluster.recreate_pod(old)
            services = [
                {"name": _display(s.namespace, s.name), "cluster_ip": s.cluster_ip_str,
                 "endpoints_version": s.endpoints_version}
                for s in cluster.services
                if new.uid in s.endpoints
            ]
            out.append({
                "pod": _display(new.namespace, new.name),
                "node": cluster.nodes[new.node].name,
                "old_ip": ip_str(old_ip), "new_ip": new.ip_str, "generation": new.generation,
                "services": services,
            })
    return out


def inspect_data(cluster: Cluster, recreated: list[dict[str, Any]], max_rows: int
                 ) -> dict[str, Any]:
    """Everything ``kperf inspect`` shows, as one JSON-ready mapping."""
    spec = cluster.spec
    counts = cluster.pod_counts()
    nodes, nodes_elided = _elide(cluster.nodes, max_rows)
    pods, pods_elided = _elide(cluster.pods, max_rows)
    services, services_elided = _elide(cluster.services, max_rows)
    state = cluster.dataplane_state()
    totals = cluster.dataplane_totals(state=state)
    report = cluster.conformance()
    violations = report.violations.to_dict("records")
    shown_violations, violations_elided = _elide(violations, max_rows)
    node_names = [n.name for n in cluster.nodes]
    ep_limit = max_rows if max_rows > 0 else None
    extra: dict[str, Any] = {}
    hosts = getattr(cluster, "external_hosts", [])
    if hosts:
        shown_hosts, hosts_elided = _elide(hosts, max_rows)
        ext = spec.external_clients
        extra["external_hosts"] = [
            {"name": h.name, "deployment": h.deployment, "ip": h.ip_str,
             "network": ("node network" if h.network == "node"
                         else f"{ext.cidr} behind a router")}
            for h in shown_hosts]
        extra["external_hosts_elided"] = hosts_elided
    return {
        "cluster": {
            "nodes": len(cluster.nodes), "pods": len(cluster.pods),
            "services": len(cluster.services), "cni": cluster.cni.name,
            "routing": cluster.cni.routing, "encapsulation": cluster.cni.encapsulation,
            "proxy": cluster.proxy.name, "ipam": cluster.ipam,
            "node_cidr": str(spec.node_cidr), "pod_cidr": str(spec.pod_cidr),
            "node_pod_prefix": spec.node_pod_prefix, "service_cidr": str(spec.service_cidr),
            "max_pods_per_node": spec.max_pods_per_node,
        },
        "summary": cluster.summary(),
        "nodes": [
            {"name": n.name, "ip": n.ip_str, "pod_ranges": [str(r) for r in n.pod_ranges],
             "pods": counts[n.index]}
            for n in nodes
        ],
        "nodes_elided": nodes_elided,
        "pods": [
            {"name": _display(p.namespace, p.name), "node": node_names[p.node],
             "ip": p.ip_str, "host_network": p.host_network, "generation": p.generation,
             "containers": list(p.containers),
             "ports": [{"container": cp.container, "port": cp.port, "protocol": cp.protocol,
                        "host_port": cp.host_port or None} for cp in p.ports]}
            for p in pods
        ],
        "pods_elided": pods_elided,
        "services": [
            {"name": _display(s.namespace, s.name), "cluster_ip": s.cluster_ip_str,
             "port": s.port, "target_port": s.target_port, "protocol": s.protocol,
             "type": s.type, "node_port": s.node_port, "endpoints": len(s.endpoints),
             "endpoint_ips": [cluster.pods[u].ip_str for u in s.endpoints[:ep_limit]],
             **_external_fields(cluster, s)}
            for s in services
        ],
        **extra,
        "services_elided": services_elided,
        "recreated": recreated,
        "dataplane": {
            "per_node": [
                {"metric": col, "min": int(state[col].min()), "max": int(state[col].max()),
                 "total": totals[col]}
                for col in state.columns[1:]
            ] if len(state) else [],
            "totals": totals,
            "resync": _resync(cluster),
        },
        "warnings": cluster.selector_warnings(),
        "conformance": {
            "ok": report.ok,
            "checks": report.checks.to_dict("records"),
            "unreachable_pod_pairs": report.unreachable_pod_pairs,
            "unreachable_node_pod_pairs": report.unreachable_node_pod_pairs,
            "violations": shown_violations,
            "violations_elided": violations_elided,
        },
    }


def _external_fields(cluster: Any, s: Any) -> dict[str, Any]:
    """For a Service with a NodePort: its traffic policy, and for a LoadBalancer its
    external address, health-check port, load balancer and the nodes it sends to."""
    if s.node_port is None:
        return {}
    out: dict[str, Any] = {"external_traffic_policy": s.external_traffic_policy}
    if s.type == "LoadBalancer":
        from kperf.cluster.addr import ip_str
        from kperf.profiles import get_load_balancer
        from kperf.services.external import EntryChooser

        profile = get_load_balancer(cluster.spec.load_balancer)
        nodes, healthy = EntryChooser(cluster, profile).targets(s)
        out.update({
            "load_balancer": profile.name,
            "load_balancer_ip": ip_str(s.load_balancer_ip),
            "health_check_node_port": s.health_check_node_port,
            "entry_nodes": [cluster.nodes[n].name for n in nodes],
            "entry_nodes_healthy": healthy,
        })
    return out


def _caption(n: int, what: str) -> str | None:
    return f"... {n:,} more {what} not shown (--max-rows 0 shows all)" if n else None


def _table(title: str, columns: tuple[str, ...], right: tuple[str, ...] = ()) -> Table:
    t = Table(title=title, title_justify="left")
    for col in columns:
        t.add_column(col, justify="right" if col in right else "left")
    return t


def _show(con: Console, table: Table, elided: str | None = None) -> None:
    con.print(table)
    if elided:
        con.print(elided, highlight=False)


def _render(con: Console, d: dict[str, Any]) -> None:
    con.print(d["summary"], highlight=False)

    t = _table(f"Nodes ({d['cluster']['nodes']:,})", ("name", "IP", "pod ranges", "pods"),
               right=("pods",))
    for n in d["nodes"]:
        t.add_row(n["name"], n["ip"], _show_ips(n["pod_ranges"], 3), str(n["pods"]))
    _show(con, t, _caption(d["nodes_elided"], "nodes"))

    t = _table(f"Pods ({d['cluster']['pods']:,})", ("name", "node", "IP", "note"))
    for p in d["pods"]:
        note = "host network" if p["host_network"] else ""
        host = [f"{x['host_port']}/{x['protocol']}" if p["host_network"] else
                f"{x['host_port']}→{x['port']}/{x['protocol']}"
                for x in p["ports"] if x["host_port"]]
        if host:
            shown = ", ".join(host[:3]) + (f", ... (+{len(host) - 3})" if len(host) > 3 else "")
            note = (note + ", ports " if note else "host ports ") + shown
        if p["generation"]:
            note = (note + ", " if note else "") + f"recreated ×{p['generation']}"
        t.add_row(p["name"], p["node"], p["ip"], note)
    _show(con, t, _caption(d["pods_elided"], "pods"))

    if d.get("external_hosts"):
        t = _table(f"External hosts ({len(d['external_hosts']) + d['external_hosts_elided']:,}"
                   "): clients outside the cluster", ("name", "deployment", "IP", "network"))
        for h in d["external_hosts"]:
            t.add_row(h["name"], h["deployment"], h["ip"], h["network"])
        _show(con, t, _caption(d["external_hosts_elided"], "external hosts"))

    t = _table(f"Services ({d['cluster']['services']:,})",
               ("name", "ClusterIP", "port", "type", "endpoints"))
    for s in d["services"]:
        port = f"{s['port']}→{s['target_port']}/{s['protocol']}"
        if s["node_port"]:
            port += f", node port {s['node_port']}"
            if s["external_traffic_policy"] == "Local":
                port += ", policy Local"
        if s.get("load_balancer_ip"):
            port += f", LB {s['load_balancer_ip']} ({s['load_balancer']}"
            if s.get("health_check_node_port"):
                port += f", health check port {s['health_check_node_port']}"
            nodes = s["entry_nodes"]
            sent = (f"to {_show_ips(nodes, 3)}" if nodes else "to no node")
            port += f", sends {sent}" + ("" if s["entry_nodes_healthy"] or not nodes
                                          else ": none healthy, fails open") + ")"
        if s["name"] == "kubernetes":
            eps = "the API server (host network, node 1)"
        elif s["endpoints"]:
            eps = f"{s['endpoints']}: {_show_ips(s['endpoint_ips'])}"
        else:
            eps = "none"
        t.add_row(s["name"], s["cluster_ip"], port, s["type"], eps)
    _show(con, t, _caption(d["services_elided"], "Services"))

    if d["recreated"]:
        t = _table("Recreated pods: the pod IP changes, the ClusterIP stays",
                   ("pod", "node", "old IP", "new IP", "Services (ClusterIP unchanged)"))
        for r in d["recreated"]:
            svcs = ", ".join(f"{s['name']} {s['cluster_ip']}" for s in r["services"]) or "-"
            t.add_row(r["pod"], r["node"], r["old_ip"], r["new_ip"], svcs)
        con.print(t)

    t = _table("Data-plane state", ("entries", "per node", "cluster total"),
               right=("per node", "cluster total"))
    for m in d["dataplane"]["per_node"]:
        if m["metric"] in ("pods", "pod_ranges") or (
            m["metric"] in _PROXY_METRICS and m["total"] == 0
        ):
            continue  # shown above, or belongs to a proxy mode not in use
        per = f"{m['min']:,}" if m["min"] == m["max"] else f"{m['min']:,}–{m['max']:,}"
        t.add_row(m["metric"], per, f"{m['total']:,}")
    con.print(t)
    r = d["dataplane"]["resync"]
    if r:
        con.print(f"kube-proxy ({r['proxy']}) resync per node, slowest node: full "
                  f"{r['full_resync_s']:.3g} s, partial {r['partial_resync_s']:.3g} s, "
                  f"incremental {r['incremental_resync_s']:.3g} s "
                  f"({r['entries']:,} proxy entries)")

    c = d["conformance"]
    t = _table("Conformance with the Kubernetes network model",
               ("check", "what it checks", "result"))
    for row in c["checks"]:
        t.add_row(row["name"], row["description"],
                  "ok" if row["passed"] else f"FAIL: {row['count']:,} {row['unit']}")
    con.print(t)
    if c["violations"]:
        t = _table("Violations", ("check", "subject", "detail"))
        for v in c["violations"]:
            t.add_row(v["check"], v["subject"], v["detail"])
        _show(con, t, _caption(c["violations_elided"], "violations"))
    verdict = ("conformant: every pod reaches every pod and every node reaches every pod "
               "without NAT, and no port is claimed twice" if c["ok"]
               else "NOT conformant: the cluster violates the Kubernetes network model")
    con.print(verdict, highlight=False)


@app.command("inspect")
@handles_errors
def inspect(
    cluster_file: Annotated[
        Path,
        typer.Argument(
            metavar="CLUSTER_OR_EXPERIMENT",
            help="A cluster YAML file, or an experiment file with a `cluster:` section."
        ),
    ],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    recreate: Annotated[
        list[str] | None,
        typer.Option(
            "--recreate", metavar="POD",
            help="Recreate this pod after building (repeatable): its IP changes, "
            "the ClusterIP stays.",
        ),
    ] = None,
    max_rows: Annotated[
        int, typer.Option("--max-rows", help="Rows shown per table (0: all); counts stay exact.")
    ] = 50,
) -> None:
    """Build a cluster and show nodes, pods, Services, data-plane state and conformance.

    Exit 0 when the cluster conforms to the Kubernetes network model, 3 when it builds
    but violates it, 2 for invalid input.

    Example: kperf inspect experiments/clusters/two_nodes_no_cni.yaml
    """
    from kperf.cluster import Cluster
    from kperf.spec import load_cluster

    spec = load_cluster(cluster_file)
    cluster = Cluster.build(spec)
    recreated = _recreate(cluster, recreate or [])
    data = inspect_data(cluster, recreated, max_rows)
    for w in data["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    if json_output:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        con = Console()
        if not con.is_terminal:
            con = Console(width=120)
        _render(con, data)
    raise typer.Exit(EXIT_OK if data["conformance"]["ok"] else EXIT_NONCONFORMANT)
