"""Ports in a pod's shared network namespace (issue 23): the spec fields, the three
conformance checks, ``kperf inspect``'s exit code, and ``kperf import`` reading them.

Containers of a pod share its network namespace, so two of them cannot listen on one
port and protocol (``container-ports-unique``); a host port belongs to the node, so
two pods of a node cannot both claim it (``host-ports-unique``); and the node's own
daemons hold some (``daemon-ports-free``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import kperf.cli.import_cmd
import kperf.cli.inspect_cmd  # noqa: F401  (registers the commands)
from kperf.cli.app import app
from kperf.cluster import Cluster
from kperf.cluster.conformance import CHECKS, MAX_ROWS_PER_CHECK, NODE_DAEMON_PORTS
from kperf.cluster.importer import import_file
from kperf.errors import SpecError
from kperf.experiments.expand import expand, run_id_of
from kperf.spec import ClusterSpec, load_cluster, parse
from kperf.spec.cluster import ContainerSpec, DeploymentSpec
from kperf.spec.experiment import ExperimentSpec, canonical_json
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "kubectl_port_conflicts.json"
PORT_CHECKS = ("container-ports-unique", "host-ports-unique", "daemon-ports-free")
runner = CliRunner()

ISSUE_EXAMPLE = """\
nodes: 1
deployments:
  - name: web
    replicas: 1
    containers:
      - {name: app, port: 8080}
      - {name: sidecar, port: 8080}
"""


def build(**spec: Any) -> Cluster:
    return Cluster.build(**spec)


def failed(c: Cluster) -> set[str]:
    checks = c.conformance().checks
    return set(checks.loc[~checks["passed"], "name"])


def rows(c: Cluster, check: str) -> list[dict[Any, Any]]:
    v = c.conformance().violations
    return v[v["check"] == check].to_dict("records")


def count(c: Cluster, check: str) -> int:
    checks = c.conformance().checks
    return int(checks.loc[checks["name"] == check, "count"].iloc[0])


def hostnet(name: str, node: str, *ports: int | dict[str, Any], ns: str = "default"
            ) -> dict[str, Any]:
    """A host-network pod with one container per port."""
    containers = [{"name": f"c{i}", **(p if isinstance(p, dict) else {"port": p})}
                  for i, p in enumerate(ports)]
    return {"name": name, "namespace": ns, "node": node, "host_network": True,
            "containers": containers}


def hostport(name: str, node: str, host: int, port: int = 80, protocol: str = "TCP"
             ) -> dict[str, Any]:
    return {"name": name, "node": node, "containers": [
        {"name": "app", "port": port, "protocol": protocol, "host_port": host}]}


def inspect(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["inspect", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# ----------------------------------------------------------------- the checks exist


def test_the_three_checks_are_in_the_table() -> None:
    assert set(PORT_CHECKS) <= set(CHECKS)
    c = build(nodes=1, deployments=[{"name": "w"}])
    assert set(PORT_CHECKS) <= set(c.conformance().checks["name"])


def test_a_clean_cluster_with_ports_passes() -> None:
    c = build(nodes=3, deployments=[
        {"name": "web", "replicas": 6, "containers": [
            {"name": "app", "port": 8080}, {"name": "exporter", "port": 9113}]},
        {"name": "dns", "replicas": 2, "containers": [
            {"name": "dns", "port": 53, "protocol": "UDP",
             "ports": [{"port": 53}, {"port": 9153}]}]},
        {"name": "edge", "replicas": 3, "containers": [       # spread: one per node
            {"name": "proxy", "port": 80, "host_port": 8080}]},
        {"name": "node-exporter", "replicas": 3, "host_network": True,
         "containers": [{"name": "exporter", "port": 9100}]},
    ], services=[{"name": "web", "selector": {"app": "web"}, "type": "NodePort",
                  "node_port": 30080}])
    r = c.conformance()
    assert r.ok, r.summary()
    assert {c.nodes[p.node].name for p in c.pods if p.deployment == "edge"} == {
        "node-1", "node-2", "node-3"}


# ------------------------------------------------------------ container-ports-unique


def test_the_issue_example_fails_container_ports_unique_naming_the_offenders() -> None:
    spec = parse(ClusterSpec, yaml.safe_load(ISSUE_EXAMPLE))
    c = Cluster.build(spec)
    assert failed(c) == {"container-ports-unique"}
    (row,) = rows(c, "container-ports-unique")
    assert row["subject"] == "default/web-0"
    for text in ("app", "sidecar", "8080/TCP", "node-1", "10.244.0.2"):
        assert text in row["detail"], row["detail"]


def test_every_replica_of_a_clashing_deployment_is_counted() -> None:
    c = build(nodes=2, deployments=[{"name": "web", "replicas": 5, "containers": [
        {"name": "a", "port": 80}, {"name": "b", "port": 443, "ports": [{"port": 80}]},
        {"name": "c", "port": 80}]}])
    assert count(c, "container-ports-unique") == 5
    got = rows(c, "container-ports-unique")
    assert [r["subject"] for r in got] == [f"default/web-{i}" for i in range(5)]
    assert "containers a, b and c all declare 80/TCP" in got[0]["detail"]


@pytest.mark.parametrize(("first", "second"), [
    ({"port": 53, "protocol": "UDP"}, {"port": 53}),                 # UDP and TCP
    ({"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "SCTP"}),
    ({"port": 8080}, {"port": 8081}),
])
def test_other_protocol_or_port_is_no_clash(first: dict[str, Any],
                                            second: dict[str, Any]) -> None:
    c = build(nodes=1, deployments=[{"name": "web", "containers": [
        {"name": "a", **first}, {"name": "b", **second}]}])
    assert c.conformance().ok


def test_a_port_one_container_lists_twice_is_no_clash() -> None:
    # the API server warns ("duplicate port definition") but one process binds once
    c = build(nodes=1, deployments=[{"name": "web", "containers": [
        {"name": "a", "port": 80, "ports": [{"port": 80}]}]}])
    assert c.conformance().ok


def test_the_same_port_in_two_pods_is_no_clash() -> None:
    # each pod has its own namespace and IP: the whole point of IP-per-pod
    c = build(nodes=1, deployments=[{"name": "a", "replicas": 3,
                                     "containers": [{"name": "x", "port": 80}]},
                                    {"name": "b", "containers": [{"name": "y", "port": 80}]}])
    assert c.conformance().ok


# ------------------------------------------------------------------ host-ports-unique


def test_two_pods_of_a_node_on_one_host_port() -> None:
    c = build(nodes=2, pods=[hostport("a", "node-1", 8080), hostport("b", "node-1", 8080, 81),
                             hostport("c", "node-2", 8080)])
    assert failed(c) == {"host-ports-unique"}
    (row,) = rows(c, "host-ports-unique")
    assert row["subject"] == "node-1 8080/TCP"
    assert "default/a (container app, hostPort 8080 → 80)" in row["detail"]
    assert "default/b (container app, hostPort 8080 → 81)" in row["detail"]
    assert "default/c" not in row["detail"]  # node-2's 8080 is another port


def test_host_network_pods_claim_their_container_ports() -> None:
    c = build(nodes=1, pods=[hostnet("a", "node-1", 9100), hostnet("b", "node-1", 9100),
                             hostport("c", "node-1", 9200), hostnet("d", "node-1", 9200)])
    assert failed(c) == {"host-ports-unique"}
    subjects = [r["subject"] for r in rows(c, "host-ports-unique")]
    assert subjects == ["node-1 9100/TCP", "node-1 9200/TCP"]
    detail = rows(c, "host-ports-unique")[1]["detail"]
    assert "default/d (container c0, host network)" in detail and "default/c" in detail


def test_host_ports_of_other_protocols_do_not_clash() -> None:
    c = build(nodes=1, pods=[hostport("a", "node-1", 53, 53, "UDP"),
                             hostport("b", "node-1", 53, 53, "TCP"),
                             hostnet("c", "node-1", {"port": 5353, "protocol": "UDP"}),
                             hostport("d", "node-1", 5353, 53, "SCTP")])
    assert c.conformance().ok


def test_a_host_network_pod_and_a_pod_network_pod_share_a_container_port() -> None:
    # no hostPort: the pod's 8080 is in its own namespace, not the node's
    c = build(nodes=1, pods=[hostnet("a", "node-1", 8080)],
              deployments=[{"name": "b", "containers": [{"name": "x", "port": 8080}]}])
    assert c.conformance().ok


def test_more_replicas_with_a_host_port_than_nodes() -> None:
    c = build(nodes=2, deployments=[{"name": "edge", "replicas": 5, "containers": [
        {"name": "proxy", "port": 80, "host_port": 80}]}])
    assert count(c, "host-ports-unique") == 2  # port 80 of node-1 and of node-2
    got = rows(c, "host-ports-unique")
    assert got[0]["detail"].startswith("3 pods claim host port 80/TCP on node-1")
    assert "Pending" in got[0]["detail"]


# ------------------------------------------------------------------ daemon-ports-free


def test_the_daemon_table_cites_its_sources() -> None:
    ports = {(d.port, d.protocol) for d in NODE_DAEMON_PORTS}
    assert {(10250, "TCP"), (10256, "TCP"), (10249, "TCP")} <= ports
    for d in NODE_DAEMON_PORTS:
        assert "kubernetes.io/docs/" in d.source


@pytest.mark.parametrize(("proxy", "port", "how", "fails"), [
    ("iptables", 10250, "hostnet", True),     # the kubelet API, whatever the proxy
    ("ebpf", 10250, "hostnet", True),
    ("iptables", 10250, "hostport", True),    # a DNAT rule hijacks it
    ("iptables", 10248, "hostnet", True),     # the kubelet's health check, 127.0.0.1
    ("iptables", 10248, "hostport", False),   # ...DNAT of node-address traffic misses it
    ("iptables", 10256, "hostnet", True),     # kube-proxy's health check
    ("ipvs", 10256, "hostport", True),
    ("nftables", 10249, "hostnet", True),     # kube-proxy's metrics, 127.0.0.1
    ("nftables", 10249, "hostport", False),
    ("ebpf", 10256, "hostnet", False),        # no kube-proxy
    ("ebpf", 10249, "hostnet", False),
    ("iptables", 10251, "hostnet", False),
    ("iptables", 31000, "hostnet", False),    # the NodePort range itself is not held
])
def test_daemon_ports(proxy: str, port: int, how: str, fails: bool) -> None:
    pod = hostnet("agent", "node-2", port) if how == "hostnet" else hostport(
        "agent", "node-2", port)
    c = build(nodes=2, proxy=proxy, pods=[pod])
    assert failed(c) == ({"daemon-ports-free"} if fails else set())
    if fails:
        (row,) = rows(c, "daemon-ports-free")
        assert row["subject"] == f"node-2 {port}/TCP"
        assert "default/agent" in row["detail"]
        assert ("kubelet" if port in (10250, 10248) else "kube-proxy") in row["detail"]


def test_a_udp_port_does_not_clash_with_a_tcp_daemon() -> None:
    c = build(nodes=1, pods=[hostnet("agent", "node-1", {"port": 10250, "protocol": "UDP"})])
    assert c.conformance().ok


def test_kube_proxy_itself_may_declare_its_ports() -> None:
    c = build(nodes=1, pods=[hostnet("kube-proxy-x2k9", "node-1", 10256, 10249,
                                     ns="kube-system"),
                             hostnet("kube-proxy-lookalike", "node-1", 10256)])
    (row,) = rows(c, "daemon-ports-free")
    assert row["detail"].startswith("default/kube-proxy-lookalike")


@pytest.mark.parametrize("proxy", ["iptables", "ebpf"])
def test_a_host_port_on_a_services_node_port(proxy: str) -> None:
    c = build(nodes=2, proxy=proxy, pods=[
        hostport("edge", "node-1", 30080, 8080),
        hostnet("agent", "node-2", {"port": 30080, "protocol": "UDP"}),  # other protocol
        hostnet("dns-agent", "node-2", {"port": 30053, "protocol": "UDP"})],
        deployments=[{"name": "web"}],
        services=[{"name": "web", "selector": {"app": "web"}, "type": "NodePort",
                   "node_port": 30080},
                  {"name": "dns", "selector": {"app": "web"}, "type": "NodePort",
                   "protocol": "UDP", "node_port": 30053}])
    assert count(c, "daemon-ports-free") == 2
    first, second = rows(c, "daemon-ports-free")
    assert first["subject"] == "node-1 30080/TCP"
    assert "NodePort of Service default/web" in first["detail"]
    assert "192.168.1.1:30080" in first["detail"]
    assert ("eBPF" in first["detail"]) == (proxy == "ebpf")
    assert second["subject"] == "node-2 30053/UDP"
    assert "default/dns-agent (container c0, host network)" in second["detail"]


def test_a_generated_node_port_counts_too() -> None:
    c = build(nodes=1, pods=[hostnet("agent", "node-1", 30000)],
              deployments=[{"name": "web"}],
              services=[{"name": "web", "selector": {"app": "web"}, "type": "NodePort"}])
    assert c.service("web").node_port == 30000
    assert failed(c) == {"daemon-ports-free"}


# --------------------------------------------------------------------------- scale


def test_counts_stay_exact_at_a_thousand_nodes() -> None:
    n = 1000
    c = build(nodes=n, node_cidr="192.168.0.0/20", pod_cidr="10.0.0.0/12", deployments=[
        {"name": "agent", "replicas": n, "host_network": True,
         "containers": [{"name": "a", "port": 9100}]},
        {"name": "web", "replicas": 3 * n, "containers": [
            {"name": "app", "port": 8080}, {"name": "side", "port": 8080}]},
        {"name": "edge", "replicas": n + 7, "containers": [
            {"name": "p", "port": 80, "host_port": 9100}]}])
    r = c.conformance()
    by = dict(zip(r.checks["name"], r.checks["count"], strict=True))
    assert by["container-ports-unique"] == 3 * n
    assert by["host-ports-unique"] == n        # the agent and an edge pod on every node
    assert by["daemon-ports-free"] == 0
    shown = r.violations[r.violations["check"] == "container-ports-unique"]
    assert len(shown) == MAX_ROWS_PER_CHECK    # rows are capped, counts are not


# ------------------------------------------------------------------ the spec fields


BAD = [
    ("deployments:\n  - {name: w, containers: [{name: a, host_port: 80}]}",
     "deployments.0.containers.0.host_port: got 80; allowed: host_port only with port"),
    ("deployments:\n  - {name: w, containers: [{name: a, protocol: UDP}]}",
     "deployments.0.containers.0.protocol: got 'UDP'; allowed: protocol only with port"),
    ("deployments:\n  - {name: w, containers: [{name: a, port: 80, protocol: ICMP}]}",
     "deployments.0.containers.0.protocol: got 'ICMP'; allowed: 'TCP', 'UDP' or 'SCTP'"),
    ("deployments:\n  - {name: w, containers: [{name: a, port: 80, host_port: 0}]}",
     "deployments.0.containers.0.host_port: got 0"),
    ("deployments:\n  - {name: w, containers: [{name: a, port: 80, ports: [{port: 70000}]}]}",
     "deployments.0.containers.0.ports.0.port: got 70000"),
    ("deployments:\n  - {name: w, containers: [{name: a, port: 80, ports: [{port: true}]}]}",
     "deployments.0.containers.0.ports.0.port: got True; allowed: a whole number"),
    ("deployments:\n  - {name: w, containers: [{name: a, port: 80,"
     " ports: [{port: 1, hostPort: 1}]}]}",
     "deployments.0.containers.0.ports.0.hostPort: got 1; unknown key"),
    ("deployments:\n  - {name: w, containers: [{name: a, port: 80, host_port: 8080},"
     " {name: b, port: 81, ports: [{port: 82, host_port: 8080, protocol: UDP},"
     " {port: 83, host_port: 8080}]}]}",
     "deployments.0.containers.1.ports.1.host_port: got 8080; host port 8080/TCP is already "
     "a host_port of container a of this pod"),
    ("deployments:\n  - {name: w, host_network: true, containers: [{name: a, port: 80,"
     " host_port: 8080}]}",
     "deployments.0.containers.0.host_port: got 8080; allowed: in a host_network pod, "
     "host_port equal to the container port (80) or none"),
    ("pods:\n  - {name: p, node: node-1, host_network: true, containers: "
     "[{name: a, port: 80}, {name: b, port: 80}]}",
     "pods.0.containers.1.port: got 80; host port 80/TCP is already the port of "
     "container a of this pod"),
]


@pytest.mark.parametrize(("text", "needle"), BAD)
def test_bad_port_fields_are_one_line_errors(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("nodes: 1\n" + text + "\n")
    code, out, err = inspect(str(f))
    assert code == 2
    assert err.count("\n") == 1 and needle in err, err
    assert "Traceback" not in err + out
    with pytest.raises(SpecError):
        load_cluster(f)


def test_a_host_network_pod_may_repeat_its_port_as_host_port() -> None:
    c = build(nodes=1, deployments=[{"name": "w", "host_network": True, "containers": [
        {"name": "a", "port": 9100, "host_port": 9100}]}])
    (pod,) = c.pods
    assert pod.ip == c.nodes[0].ip and pod.host_network
    assert [(p.port, p.host_port) for p in pod.ports] == [(9100, 9100)]


def test_host_network_deployment_uses_node_ips_and_no_pod_address() -> None:
    c = build(nodes=2, node_pod_prefix=30, max_pods_per_node=10, deployments=[
        {"name": "agent", "replicas": 4, "host_network": True, "placement": "node-1"},
        {"name": "web", "replicas": 1, "placement": "node-1"}])
    assert {p.ip for p in c.pods if p.deployment == "agent"} == {c.nodes[0].ip}
    assert c.pod("web-0").ip_str == "10.244.0.2"  # the agents took no address
    assert c.conformance().ok


def test_recreating_a_pod_keeps_its_ports() -> None:
    spec = parse(ClusterSpec, yaml.safe_load(ISSUE_EXAMPLE))
    c = Cluster.build(spec)
    before = c.pods[0].ports
    new = c.recreate_pod("web-0")
    assert new.ports == before and new.generation == 1
    assert failed(c) == {"container-ports-unique"}


def test_files_without_the_new_fields_dump_as_before() -> None:
    # run ids hash the dumped cluster spec: new fields at their defaults are left out,
    # so every existing experiment keeps its run ids (and a results folder resumes)
    assert ContainerSpec(name="a", port=1).model_dump() == {"name": "a", "port": 1}
    dep = DeploymentSpec(name="w")
    assert "host_network" not in dep.model_dump(mode="json")
    used = DeploymentSpec(name="w", host_network=True, containers=[
        {"name": "a", "port": 53, "protocol": "UDP", "ports": [{"port": 53}]}])
    dumped = used.model_dump(mode="json")
    assert dumped["host_network"] is True
    assert dumped["containers"][0]["protocol"] == "UDP"
    assert dumped["containers"][0]["ports"] == [{"port": 53, "protocol": "TCP",
                                                 "host_port": None}]
    assert DeploymentSpec.model_validate(dumped) == used


def test_using_a_port_field_changes_the_run_id() -> None:
    base = yaml.safe_load((ROOT / "experiments" / "ip_conflict.yaml").read_text())
    changed = json.loads(json.dumps(base))
    changed["cluster"]["deployments"][1]["containers"] = [
        {"name": "server", "port": 80, "host_port": 8080}]
    a = expand(parse(ExperimentSpec, base))
    b = expand(parse(ExperimentSpec, changed))
    assert {r.run_id for r in a}.isdisjoint(r.run_id for r in b)
    assert all(run_id_of(r.spec) == r.run_id for r in b)


# ----------------------------------------------------------------------- kperf inspect


def test_inspect_exits_3_on_the_issue_example(tmp_path: Path) -> None:
    f = tmp_path / "issue23.yaml"
    f.write_text(ISSUE_EXAMPLE)
    code, out, _ = inspect(str(f))
    assert code == 3
    assert "container-ports-unique" in out and "NOT conformant" in out
    code, out, _ = inspect(str(f), "--json")
    data = json.loads(out)
    assert code == 3 and not data["conformance"]["ok"]
    (v,) = data["conformance"]["violations"]
    assert v["check"] == "container-ports-unique" and v["subject"] == "default/web-0"
    assert data["pods"][0]["ports"] == [
        {"container": "app", "port": 8080, "protocol": "TCP", "host_port": None},
        {"container": "sidecar", "port": 8080, "protocol": "TCP", "host_port": None}]
    f.write_text(ISSUE_EXAMPLE.replace("sidecar, port: 8080", "sidecar, port: 9090"))
    code, out, _ = inspect(str(f))
    assert code == 0 and "conformant" in out


def test_inspect_notes_host_ports(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump({"nodes": 1, "pods": [
        hostport("edge", "node-1", 8080), hostnet("agent", "node-1", 9100)]}))
    code, out, _ = inspect(str(f))
    assert code == 0
    assert "host ports 8080→80/TCP" in out and "host network, ports 9100/TCP" in out


# ----------------------------------------------------------------------- kperf import


def test_import_reads_container_ports_protocols_host_ports_and_host_network() -> None:
    result = import_file(FIXTURE)
    pods = {p["name"]: p for p in result.data["pods"]}
    assert pods["web-5d8c9b7f6-k2x9q"]["containers"] == [
        {"name": "app", "port": 8080}, {"name": "sidecar", "port": 8080}]
    assert pods["coredns-7db6d8ff4d-4hx2v"]["containers"] == [
        {"name": "coredns", "port": 53, "protocol": "UDP",
         "ports": [{"port": 53}, {"port": 9153}]}]
    agent = pods["node-agent-h4v7t"]
    assert agent["host_network"] is True
    assert agent["containers"] == [{"name": "agent", "port": 10250}]  # hostPort == port
    assert pods["edge-proxy-6f7d9c5b8-w3n8z"]["containers"] == [
        {"name": "envoy", "port": 8080, "host_port": 30080}]
    assert pods["ingress-nginx-controller-8b6f9-2mzpl"]["containers"] == [
        {"name": "controller", "port": 80, "host_port": 80,
         "ports": [{"port": 443, "host_port": 443}]}]
    warnings = "\n".join(result.warnings)
    assert "hostIP 192.168.56.11" in warnings
    assert "ingress-nginx-controller-8b6f9-x7kqd (not on a listed node)" in warnings


def test_an_imported_clusters_port_clashes_show_up(tmp_path: Path) -> None:
    out = tmp_path / "cluster.yaml"
    result = runner.invoke(app, ["import", str(FIXTURE), "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    c = Cluster.build(load_cluster(out))
    assert failed(c) == {"container-ports-unique", "daemon-ports-free"}
    (web,) = rows(c, "container-ports-unique")
    assert web["subject"] == "default/web-5d8c9b7f6-k2x9q" and "worker-1" in web["detail"]
    daemon = rows(c, "daemon-ports-free")
    assert [r["subject"] for r in daemon] == ["cp-1 30080/TCP", "worker-1 10250/TCP"]
    assert "edge-proxy" in daemon[0]["detail"] and "default/web" in daemon[0]["detail"]
    assert "monitoring/node-agent-h4v7t" in daemon[1]["detail"]
    assert "kubelet API" in daemon[1]["detail"]
    # kube-proxy declaring its own health port is kube-proxy, not a clash
    assert not any("kube-proxy-q9d4m" in r["detail"] for r in daemon)
    assert inspect(str(out))[0] == 3


# ----------------------------------------------------------- shipped files, and runs


def _shipped_clusters() -> list[tuple[str, ClusterSpec]]:
    """Every cluster file, and every distinct cluster of every experiment's sweep. The
    ``extra_services`` count is left out of "distinct": generated Services are
    ClusterIP ones (no NodePort, nothing a port check reads), and building
    kube_proxy_scaling's 30,000 of them 20 times would take seconds."""
    out: list[tuple[str, ClusterSpec]] = []
    for f in sorted((ROOT / "experiments" / "clusters").glob("*.yaml")):
        out.append((f.name, load_cluster(f)))
    for f in sorted((ROOT / "experiments").glob("*.yaml")):
        seen: set[str] = set()
        for run in expand(ExperimentSpec.load(f)):
            cluster = run.cluster.model_copy(update={"extra_services": 0})
            key = canonical_json(cluster.model_dump(mode="json"))
            if key not in seen:
                seen.add(key)
                out.append((f"{f.name} {run.label}", cluster))
    return out


def test_every_shipped_cluster_passes_the_port_checks() -> None:
    checked = 0
    for name, spec in _shipped_clusters():
        checks = Cluster.build(spec).conformance().checks
        bad = checks[checks["name"].isin(PORT_CHECKS) & ~checks["passed"]]
        assert bad.empty, f"{name}: {bad.to_dict('records')}"
        checked += 1
    assert checked > 20


def test_ports_change_nothing_the_simulation_computes() -> None:
    # kperf binds no ports: a pod is one server with app_workers threads, so a clash
    # is a conformance finding (kperf inspect), not something a run demonstrates
    from kperf.profiles import get_testbed
    from kperf.spec.workload import RrWorkload

    tb = get_testbed("10g-xeon-2015")
    wl = RrWorkload(outstanding=2, warmup_s=0.001, duration_s=0.005)
    plain = parse(ClusterSpec, two_node_spec())
    clash = two_node_spec()
    clash["deployments"][1]["containers"] = [
        {"name": "app", "port": 80, "host_port": 10250}, {"name": "sidecar", "port": 80}]
    clashing = parse(ClusterSpec, clash)
    assert failed(Cluster.build(clashing)) == {"container-ports-unique", "daemon-ports-free"}
    a = simulate(tb, plain, [wl], seed=3).summary
    b = simulate(tb, clashing, [wl], seed=3).summary
    assert dict(a) == dict(b)
