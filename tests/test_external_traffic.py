"""Traffic from outside the cluster (issue 23): external clients, nodeport/NAME and
lb/NAME targets, externalTrafficPolicy Cluster and Local, load balancers.

What is checked: Local sends nothing off the entry node and Cluster sends (n-1)/n off
it with endpoints evenly spread; with endpoints on k of n nodes a load balancer
spreads over the k healthy nodes under Local and over all n under Cluster (MetalLB:
one node); a NodePort without a local endpoint drops the connection; the extra hop
costs exactly the stages kperf already calibrates, and the engine's latency is exactly
the paths' idle times plus the proxy's costs, charged on the entry node; every bad
combination is a one-line SpecError; existing specs dump (and so hash) as before.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import kperf.cli.inspect_cmd
import kperf.cli.paths_cmd  # noqa: F401  (registers the commands)
from kperf.cli.app import app
from kperf.cluster import Cluster
from kperf.datapath.builder import _scaled, relayed
from kperf.datapath.path import CpuHop
from kperf.engine.sim import Simulation
from kperf.errors import SpecError
from kperf.profiles import get_load_balancer, get_testbed
from kperf.services import ServiceLayer
from kperf.services.external import EntryChooser, metallb_leader
from kperf.spec import ClusterSpec
from kperf.spec.loader import parse
from kperf.spec.workload import CrrWorkload, HttpWorkload, RrWorkload, StreamWorkload
from kperf.workloads.context import check_targets
from kperf.workloads.simulate import simulate

TB = get_testbed("10g-xeon-2015")
runner = CliRunner()


def spec(nodes: int = 4, replicas: int = 4, policy: str = "Cluster", *,
         svc_type: str = "LoadBalancer", lb: str = "cloud-l4", clients: int = 2,
         cni: str = "flannel-vxlan", network: str = "node", **extra: Any) -> ClusterSpec:
    """``replicas`` web pods spread over the first nodes, ``clients`` external hosts."""
    data: dict[str, Any] = {
        "nodes": nodes, "cni": cni, "load_balancer": lb,
        "external_clients": {"network": network},
        "deployments": [{"name": "client", "replicas": clients, "placement": "external"},
                        {"name": "web", "replicas": replicas, "placement": "spread"}],
        "services": [{"name": "web", "selector": {"app": "web"}, "type": svc_type,
                      "external_traffic_policy": policy}],
    }
    data.update(extra)
    return parse(ClusterSpec, data)


def http(target: str, rate: float = 20_000, duration_s: float = 0.02, **kw: Any) -> Any:
    """Open loop, a new connection per request (each one balanced afresh)."""
    return HttpWorkload(clients="client", target=target, keepalive=False, rate_per_s=rate,
                        duration_s=duration_s, **kw)


def run(cluster: ClusterSpec, wl: Any, seed: int = 1) -> Any:
    return simulate(TB, cluster, [wl], seed)


def node_rows(res: Any, kind: str) -> list[int]:
    rows = res.resources[res.resources.resource == f"requests:{kind}"]
    return [int(v) for v in rows.sort_values("index").served]


# -- where requests go ---------------------------------------------------------------
@pytest.mark.parametrize("target", ["nodeport/web", "lb/web"])
def test_local_sends_nothing_off_node(target: str) -> None:
    res = run(spec(4, 4, "Local"), http(target))
    s = res.summary
    assert s["external_requests"] > 500 and s["failed"] == 0
    assert s["off_node_share"] == 0.0 and s["svc_nodeport_snat"] == 0
    # every request is served on the node it entered at
    assert node_rows(res, "entry") == node_rows(res, "serving")
    assert res.breakdown[res.breakdown.category == "extra-hop"].empty


@pytest.mark.parametrize("n", [2, 3, 5])
def test_cluster_sends_n_minus_1_over_n_off_node(n: int) -> None:
    # the layer alone, many connections: the share is (n-1)/n up to sampling noise
    cluster = Cluster.build(spec(n, n, "Cluster"))
    sim = Simulation(cluster, TB)
    layer = ServiceLayer(sim, rng=np.random.default_rng(7))
    svc, host = cluster.service("web"), cluster.external_hosts[0]
    conns = 20_000
    for k in range(conns):
        layer.connect_node_port(host, svc, k % n)
    share = layer.nodeport_counters["snat"] / conns
    assert share == pytest.approx((n - 1) / n, abs=0.012)  # > 4 standard deviations
    # and through the engine, with the summary's figure
    res = run(spec(n, n, "Cluster"), http("nodeport/web", rate=40_000))
    served = res.summary["completed"]
    assert served > 1000
    sd = math.sqrt((n - 1) / n / n / served)
    assert abs(res.summary["off_node_share"] - (n - 1) / n) < 4 * sd
    assert res.summary["svc_nodeport_snat"] > 0


@pytest.mark.parametrize("n,k", [(4, 2), (6, 3), (5, 1)])
def test_imbalance_when_endpoints_sit_on_k_of_n_nodes(n: int, k: int) -> None:
    local = run(spec(n, k, "Local"), http("lb/web", rate=40_000))
    entries = node_rows(local, "entry")
    # the load balancer's health check keeps every node without an endpoint out
    assert all(v == 0 for v in entries[k:]) and all(v > 0 for v in entries[:k])
    assert local.summary["entry_node_imbalance"] == pytest.approx(n / k, rel=0.12)
    assert local.summary["failed"] == 0 and local.summary["off_node_share"] == 0.0
    cluster = run(spec(n, k, "Cluster"), http("lb/web", rate=40_000))
    assert all(v > 0 for v in node_rows(cluster, "entry"))  # evenly over all n
    assert cluster.summary["entry_node_imbalance"] == pytest.approx(1.0, abs=0.25)
    # an entry node holds one of the k endpoints with probability k/n, and the pick is
    # that one with probability 1/k: 1/n of the requests stay on their node
    assert cluster.summary["off_node_share"] == pytest.approx((n - 1) / n, abs=0.06)


def test_metallb_sends_everything_to_one_leader() -> None:
    n = 4
    for policy in ("Cluster", "Local"):
        res = run(spec(n, 2, policy, lb="metallb-l2"), http("lb/web"))
        entries = node_rows(res, "entry")
        assert sorted(entries)[:-1] == [0] * (n - 1)
        assert res.summary["entry_node_imbalance"] == pytest.approx(n)
        if policy == "Local":  # the leader is elected among nodes with an endpoint
            leader = entries.index(max(entries))
            assert leader in (0, 1) and res.summary["off_node_share"] == 0.0
            assert res.summary["endpoint_imbalance"] == pytest.approx(2.0)  # 1 pod of 2
    names = ["node-1", "node-2", "node-3"]
    assert metallb_leader(names, [0, 1, 2], 0xCB007101) == metallb_leader(
        names, [2, 1, 0], 0xCB007101)
    assert metallb_leader(names, [], 1) is None


def test_health_checks_and_fail_open() -> None:
    cluster = Cluster.build(spec(4, 2, "Local"))
    svc = cluster.service("web")
    cloud = EntryChooser(cluster, get_load_balancer("cloud-l4"))
    assert cloud.targets(svc) == ((0, 1), True)
    cl = Cluster.build(spec(4, 2, "Cluster"))
    assert EntryChooser(cl, get_load_balancer("cloud-l4")).targets(cl.service("web")) == (
        (0, 1, 2, 3), True)
    # no endpoint anywhere: a cloud load balancer fails open, MetalLB announces nothing
    empty = Cluster.build(spec(4, 2, "Local", services=[
        {"name": "web", "selector": {"app": "none"}, "type": "LoadBalancer",
         "external_traffic_policy": "Local"}]))
    esvc = empty.service("web")
    assert EntryChooser(empty, get_load_balancer("cloud-l4")).targets(esvc) == (
        (0, 1, 2, 3), False)
    assert EntryChooser(empty, get_load_balancer("metallb-l2")).targets(esvc) == ((), False)


def test_nodeport_local_drops_on_nodes_without_endpoint() -> None:
    n, k = 4, 1
    res = run(spec(n, k, "Local", svc_type="NodePort", clients=4), http("nodeport/web"))
    s = res.summary
    # round robin over the nodes: (n-k)/n of the connections find no local endpoint
    assert s["failed_no_local_endpoint"] == s["svc_nodeport_no_local_endpoint"]
    assert s["failed_no_local_endpoint"] / s["external_requests"] == pytest.approx(
        (n - k) / n, abs=0.02)
    assert node_rows(res, "serving") == [s["completed"], 0, 0, 0]
    # a named node without an endpoint: everything dropped and counted
    pinned = run(spec(n, k, "Local", svc_type="NodePort"),
                 http("nodeport/web", entry_node="node-3"))
    assert pinned.summary["completed"] == 0
    assert pinned.summary["failed"] == pinned.summary["svc_nodeport_no_local_endpoint"] > 0


# -- what the extra hop costs ---------------------------------------------------------
def _stages(path: Any, nbytes: int) -> list[tuple[str, str, str, float]]:
    out = []
    for hop, cost in zip(path.hops, path.hop_costs(nbytes), strict=True):
        out += [(hop.name, name, cat, sec) for name, cat, sec in cost.stages]
    return out


@pytest.mark.parametrize("cni", ["flannel-vxlan", "calico-bgp", "cilium-wireguard"])
def test_the_extra_hop_is_the_calibrated_stages(cni: str) -> None:
    cluster = Cluster.build(spec(3, 3, "Cluster", cni=cni))
    sim = Simulation(cluster, TB)
    table, host = sim.paths, cluster.external_hosts[0]
    pod_b = next(p for p in cluster.pods if p.node == 1)
    nbytes = 1000
    for inbound in (True, False):
        path = table.external(host, 0, pod_b, inbound=inbound)
        ordinary = table.path(0, pod_b) if inbound else table.path(pod_b, 0)
        extra = [h for h in path.hops if h.delay_category == "extra-hop"]
        assert len(extra) == len(ordinary.hops)
        relay = 0 if inbound else len(extra) - 1
        for i, (mine, theirs) in enumerate(zip(extra, ordinary.hops, strict=True)):
            assert mine.resource == theirs.resource
            assert mine.delay_after_s == theirs.delay_after_s
            if i == relay:  # the entry node forwards: the host stack's per-segment work
                host_stages = TB.host_tx if inbound else TB.host_rx
                overlay = (cluster.cni.tx_overlay if inbound else cluster.cni.rx_overlay
                           ) if ordinary.overlay else ()
                assert isinstance(mine, CpuHop)
                # crypto stages as this testbed runs them (crypto_speed_factors)
                factors = TB.crypto_speed_factors
                overlay = tuple(_scaled(c, 1.0 / factors[c.name])
                                if c.category == "crypto" and c.name in factors else c
                                for c in overlay)
                assert mine.cpu.components == relayed(tuple(host_stages)) + overlay
                assert {c.name for c in mine.cpu.components} <= (
                    {c.name for c in host_stages} | {c.name for c in overlay})
                assert all(c.per_message_us == 0 and c.per_byte_ns == 0
                           for c in mine.cpu.components[:len(relayed(tuple(host_stages)))])
            else:  # every other hop is the ordinary path's, cost for cost
                ours = path.shape(nbytes)
                a, b = mine.cost(ours, 10e9), theirs.cost(ours, 10e9)
                assert a.service_s == b.service_s and a.idle_s == b.idle_s
                assert [(n, s) for n, _c, s in a.stages] == [(n, s) for n, _c, s in b.stages]
                assert {c for _n, c, _s in a.stages} == {"extra-hop"}
        # the client side has the host stack only: no veth, bridge, CNI or proxy stage
        client = [st for st in _stages(path, nbytes)
                  if st[0].startswith("client-0") and st[2] != "wire"]
        names = {st[1] for st in client}
        assert names <= {c.name for c in (*TB.host_tx, *TB.host_rx)}


@pytest.mark.parametrize("policy,cni", [("Cluster", "flannel-vxlan"), ("Local", "flannel-vxlan"),
                                        ("Cluster", "calico-bgp")])
@pytest.mark.parametrize("network", ["node", "router"])
def test_engine_latency_is_the_paths_plus_the_proxy_on_the_entry_node(
        policy: str, cni: str, network: str) -> None:
    # one client, one request at a time on an idle cluster: the latency is exactly the
    # forward and return paths' idle times plus the established-connection proxy cost
    # on the entry node, once each way (no queueing, no app time)
    cl = spec(3, 1, policy, svc_type="NodePort", clients=1, cni=cni, network=network)
    entry = "node-1" if policy == "Local" else "node-2"  # the pod is on node-1
    wl = RrWorkload(clients="client", target="nodeport/web", entry_node=entry,
                    request_bytes=100, response_bytes=1000, requests=3, duration_s=0.01)
    res = run(cl, wl)
    assert res.summary["completed"] == 3
    cluster = Cluster.build(cl)
    sim = Simulation(cluster, TB)
    host, pod = cluster.external_hosts[0], cluster.pods[0]
    e = cluster.node(entry).index
    fwd = sim.paths.external(host, e, pod, inbound=True)
    back = sim.paths.external(host, e, pod, inbound=False)
    proxy = cluster.proxy.established_per_packet_us * 1e-6 / TB.cpu_speed_factor
    expected = fwd.idle_s(100) + back.idle_s(1000) + 2 * proxy
    assert res.summary["latency_mean_us"] == pytest.approx(expected * 1e6, rel=1e-12)
    assert res.summary["latency_max_us"] == pytest.approx(expected * 1e6, rel=1e-12)
    # the proxy's time is on the entry node's CPU, none on the client host
    cpu = res.resources[res.resources.resource == "cpu:proxy"]
    assert set(cpu["index"]) == {e}
    assert (res.resources.resource == "client-cpu").any()
    extra = res.breakdown[res.breakdown.category == "extra-hop"].time_us.sum()
    if policy == "Local":
        assert extra == 0
    else:
        assert extra > 0


def test_cloud_lb_adds_its_latency_on_the_way_in_only() -> None:
    lb = get_load_balancer("cloud-l4")
    assert lb.direct_return  # GCP passthrough: direct server return
    cluster = Cluster.build(spec(2, 2, "Local"))
    sim = Simulation(cluster, TB)
    host, pod = cluster.external_hosts[0], cluster.pods[0]
    plain = sim.paths.external(host, 0, pod, inbound=True)
    via = sim.paths.external(host, 0, pod, inbound=True, lb=lb, service_index=1)
    assert any(h.kind == "lb" for h in via.hops)
    lb_cost = next(h for h in via.hops if h.kind == "lb")
    wire = via.hop_costs(100)[[h.kind for h in via.hops].index("lb")].idle_s
    assert via.idle_s(100) - plain.idle_s(100) == pytest.approx(
        lb_cost.delay_after_s + wire, rel=1e-9)
    back = sim.paths.external(host, 0, pod, inbound=False, lb=lb, service_index=1)
    assert not any(h.kind == "lb" for h in back.hops)


def test_router_hop_adds_one_store_and_forward_hop() -> None:
    node = Cluster.build(spec(2, 2, "Local"))
    routed = Cluster.build(spec(2, 2, "Local", network="router"))
    assert node.external_hosts[0].ip_str == "192.168.1.254"
    assert routed.external_hosts[0].ip_str == "198.51.100.2"
    a = Simulation(node, TB).paths.external(node.external_hosts[0], 0, node.pods[0])
    b = Simulation(routed, TB).paths.external(routed.external_hosts[0], 0, routed.pods[0])
    assert [h.kind for h in b.hops].count("router") == 1
    added = b.idle_s(100) - a.idle_s(100)
    router = b.hop_costs(100)[[h.kind for h in b.hops].index("router")].idle_s
    assert added == pytest.approx(router + (TB.link_delay_us + TB.switch_latency_us) * 1e-6,
                                  rel=1e-9)


# -- specs and errors ----------------------------------------------------------------
BAD = [
    # (cluster changes, workload, field in the error, text in the error)
    ({}, http("lb/web"), None, None),  # fine
    ({"services": [{"name": "web", "selector": {"app": "web"}, "type": "NodePort"}]},
     http("lb/web"), "workload.target", "Service web is type NodePort; allowed: lb/ and a "
     "LoadBalancer Service"),
    ({"services": [{"name": "web", "selector": {"app": "web"}}]},
     http("nodeport/web"), "workload.target", "is type ClusterIP; allowed: nodeport/"),
    ({}, http("nodeport/nope"), "workload.target", "no such Service"),
    ({}, http("svc/web"), "workload.target", "allowed: nodeport/NAME or lb/NAME"),
    ({}, http("web"), "workload.target", "allowed: nodeport/NAME or lb/NAME"),
    ({}, StreamWorkload(clients="client", target="nodeport/web"), "workload.clients",
     "allowed: workload kinds rr, crr, http"),
    ({}, http("lb/web", entry_node="node-1"), "workload.entry_node", "round-robin"),
    ({}, http("nodeport/web", entry_node="node-9"), "workload.entry_node",
     "allowed: round-robin or a node name"),
    ({}, http("nodeport/web", resolve_dns=True), "workload.resolve_dns", "allowed: false"),
    ({}, CrrWorkload(clients="web", target="nodeport/web"), "workload.target",
     "from clients of a deployment with placement: external"),
    ({}, RrWorkload(clients="web", target="client"), "workload.target",
     "is placement: external"),
    ({}, RrWorkload(clients="web", target="web", entry_node="node-1"),
     "workload.entry_node", "only with target nodeport/NAME"),
]


@pytest.mark.parametrize("changes,wl,field,text", BAD)
def test_bad_targets_are_one_line_spec_errors(changes: dict[str, Any], wl: Any,
                                              field: str | None, text: str | None) -> None:
    cluster = Cluster.build(spec(**changes))
    if field is None:
        check_targets(cluster, [wl])
        return
    with pytest.raises(SpecError) as err:
        check_targets(cluster, [wl])
    line = err.value.one_line()
    assert line.startswith(f"{field}:") and text in line and "\n" not in line


BAD_CLUSTERS = [
    ({"services": [{"name": "a", "load_balancer_ip": "203.0.113.9"}]},
     "services.0.load_balancer_ip", "only with type: LoadBalancer"),
    ({"services": [{"name": "a", "external_traffic_policy": "Local"}]},
     "services.0.external_traffic_policy", "only with type: NodePort or LoadBalancer"),
    ({"services": [{"name": "a", "node_port": 30001}]},
     "services.0.node_port", "NodePort or LoadBalancer"),
    ({"deployments": [{"name": "c", "placement": "external", "host_network": True}]},
     "deployments.0.host_network", "placement: external"),
    ({"load_balancer": "f5"}, "load_balancer", "unknown load balancer"),
    ({"external_clients": {"network": "router", "cidr": "192.168.1.0/25"}},
     "external_clients.cidr", "overlaps node_cidr"),
    ({"node_cidr": "192.168.1.0/29",
      "deployments": [{"name": "c", "replicas": 5, "placement": "external"}]},
     "node_cidr", "external_clients.network: router"),
    ({"rolling_updates": [{"deployment": "c"}],
      "deployments": [{"name": "c", "placement": "external"}]},
     "rolling_updates.0.deployment", "a deployment of pods"),
]


@pytest.mark.parametrize("data,field,text", BAD_CLUSTERS)
def test_bad_cluster_fields_are_one_line_spec_errors(data: dict[str, Any], field: str,
                                                     text: str) -> None:
    with pytest.raises(SpecError) as err:
        parse(ClusterSpec, {"nodes": 2, **data})
    line = err.value.one_line()
    assert line.startswith(f"{field}:") and text in line, line


def test_new_fields_stay_out_of_existing_dumps() -> None:
    """A spec that does not use the new fields dumps as before (its run id holds); one
    that sets them keeps them (a sweep may vary them)."""
    plain = parse(ClusterSpec, {"nodes": 2, "services": [{"name": "a", "type": "NodePort"}]})
    dumped = plain.model_dump(mode="json")
    assert not {"load_balancer", "load_balancer_cidr", "external_clients"} & set(dumped)
    assert "load_balancer_ip" not in dumped["services"][0]
    assert "entry_node" not in RrWorkload().model_dump(mode="json")
    set_ = parse(ClusterSpec, {"nodes": 2, "load_balancer": "cloud-l4"})
    assert set_.model_dump(mode="json")["load_balancer"] == "cloud-l4"
    assert RrWorkload(entry_node="round-robin").model_dump(mode="json")["entry_node"]


# -- CLI --------------------------------------------------------------------------------
def _write(tmp_path: Path) -> str:
    f = tmp_path / "ext.yaml"
    f.write_text(
        "nodes: 3\ncni: flannel-vxlan\nload_balancer: metallb-l2\n"
        "deployments:\n  - {name: client, replicas: 1, placement: external}\n"
        "  - {name: web, replicas: 1, placement: node-2}\n"
        "services:\n  - {name: web, selector: {app: web}, type: LoadBalancer, "
        "external_traffic_policy: Local}\n")
    return str(f)


def test_inspect_shows_external_hosts_and_the_load_balancer(tmp_path: Path) -> None:
    res = runner.invoke(app, ["inspect", _write(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["external_hosts"] == [{"name": "client-0", "deployment": "client",
                                       "ip": "192.168.1.254", "network": "node network"}]
    web = next(s for s in data["services"] if s["name"] == "web")
    assert web["load_balancer_ip"] == "203.0.113.1" and web["load_balancer"] == "metallb-l2"
    assert web["entry_nodes"] == ["node-2"] and web["health_check_node_port"] == 30001
    assert not any(p["name"].startswith("client") for p in data["pods"])


def test_paths_shows_the_extra_hop(tmp_path: Path) -> None:
    f = _write(tmp_path)
    res = runner.invoke(app, ["paths", f, "--from", "client-0", "--to", "lb/web", "--json"])
    assert res.exit_code == 0, res.output
    local = json.loads(res.stdout)
    assert local["entry_node"] == "node-2" and local["extra_hop_us"] == 0
    # Local on a node without an endpoint: refused with a clear line
    res = runner.invoke(app, ["paths", f, "--from", "client-0", "--to", "nodeport/web",
                              "--via", "node-1"])
    assert res.exit_code != 0
    f2 = tmp_path / "c.yaml"
    f2.write_text(Path(f).read_text().replace("Local", "Cluster"))
    res = runner.invoke(app, ["paths", str(f2), "--from", "client-0", "--to", "nodeport/web",
                              "--via", "node-1", "--json"])
    assert res.exit_code == 0, res.output
    remote = json.loads(res.stdout)
    assert remote["extra_hop_us"] > 0
    assert any(s["category"] == "extra-hop" and s["hop"].startswith("node-2")
               for s in remote["stages"])
    res = runner.invoke(app, ["paths", str(f2), "--from", "client-0", "--to", "svc/web"])
    assert res.exit_code == 2
