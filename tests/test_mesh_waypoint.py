"""The ambient waypoint as a pod on a node of its own (``mesh.waypoint_node``, issue 21):
spec, the two network legs built from the path table, where its CPU goes, what it adds
to latency, and ``kperf paths``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from kperf.cli.app import app
from kperf.cli.main import _register
from kperf.cluster import Cluster
from kperf.engine.sim import Simulation
from kperf.errors import SpecError
from kperf.profiles import get_testbed
from kperf.profiles.mesh import CALIBRATION_PAYLOAD_BYTES
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import HttpWorkload
from kperf.workloads.simulate import simulate

TB = get_testbed("10g-xeon-2015")
KB = CALIBRATION_PAYLOAD_BYTES


def _data(**mesh: Any) -> dict[str, Any]:
    """A client pod on node-1, a server pod on node-2, a spare node-3."""
    return {
        "nodes": 3, "cni": "calico-bgp",
        "mesh": {"mode": "istio-ambient", "waypoint": True, **mesh},
        "deployments": [{"name": "client", "replicas": 1, "placement": "node-1"},
                        {"name": "server", "replicas": 1, "placement": "node-2"}],
        "services": [{"name": "server", "selector": {"app": "server"}, "port": 80}],
    }


def _spec(**mesh: Any) -> ClusterSpec:
    return parse(ClusterSpec, _data(**mesh))


def _paths(spec: ClusterSpec) -> tuple[Any, Any, Any, Any]:
    sim = Simulation(Cluster.build(spec), TB, seed=1)
    pods = sim.cluster.pods
    client = next(p for p in pods if p.deployment == "client")
    server = next(p for p in pods if p.deployment == "server")
    table = sim.paths
    fwd = table.meshed(sim.path(client, server), client, server)
    back = table.meshed(sim.path(server, client), server, client, reverse=True)
    return sim, fwd, back, (client, server)


def _http(rate: float = 1000.0) -> HttpWorkload:
    return HttpWorkload(rate_per_s=rate, duration_s=0.5, request_bytes={"mean": KB},
                        response_bytes={"mean": KB}, service_us={"mean": 20.0})


# -- spec --------------------------------------------------------------------------------
def test_default_is_the_servers_node_and_stays_out_of_the_dump() -> None:
    spec = _spec()
    assert spec.mesh.waypoint_node == "server"
    assert "waypoint_node" not in spec.model_dump(mode="json")["mesh"]
    assert _spec(waypoint_node="node-3").model_dump(mode="json")["mesh"][
        "waypoint_node"] == "node-3"


@pytest.mark.parametrize("mesh,field,allowed", [
    ({"waypoint_node": "node-4"}, "mesh.waypoint_node", "node-1..node-3"),
    ({"waypoint_node": "rack-1"}, "waypoint_node", "server, client or node-N"),
    ({"waypoint_node": "node-0"}, "waypoint_node", "server, client or node-N"),
    ({"waypoint": False, "waypoint_node": "client"}, "waypoint_node", "waypoint: true"),
])
def test_bad_waypoint_node_names_the_field(mesh: dict[str, Any], field: str,
                                           allowed: str) -> None:
    with pytest.raises(SpecError) as err:
        parse(ClusterSpec, _data(**mesh))
    msg = str(err.value)
    assert field in msg and allowed in msg, msg


# -- paths ---------------------------------------------------------------------------------
def test_server_placement_is_the_first_slices_path() -> None:
    """``waypoint_node: server`` (and a node-N naming the server's node) keeps the
    waypoint on the server's node: no leg of its own, the same hops as the default."""
    _s, fwd, back, _p = _paths(_spec())
    for other in (_spec(waypoint_node="server"), _spec(waypoint_node="node-2")):
        _s2, fwd2, back2, _p2 = _paths(other)
        assert [h.name for h in fwd2.hops] == [h.name for h in fwd.hops]
        assert [h.name for h in back2.hops] == [h.name for h in back.hops]
    assert sum(h.kind == "nic" for h in fwd.hops) == 1


def test_waypoint_elsewhere_adds_a_network_leg_each_way() -> None:
    """On node-3: the request crosses node-1's ztunnel, the pod network to node-3, the
    waypoint (no ztunnel on node-3: it takes HBONE itself), the pod network to node-2,
    node-2's ztunnel; the response the same backwards. The legs are the table's pod
    paths (their hops, in order), and both carry the HBONE framing."""
    sim, fwd, back, _pods = _paths(_spec(waypoint_node="node-3"))
    names = [h.name for h in fwd.hops]
    wp = next(i for i, h in enumerate(fwd.hops) if h.category == "waypoint")
    assert fwd.hops[wp].node == 2  # type: ignore[attr-defined]
    leg1, leg2 = sim.paths.pod_leg(0, 2), sim.paths.pod_leg(2, 1)
    assert names[wp - len(leg1.hops):wp] == [h.name for h in leg1.hops]
    assert names[wp + 1:wp + 1 + len(leg2.hops)] == [h.name for h in leg2.hops]
    ztunnels = [h.name for h in fwd.hops if h.category == "ztunnel"]
    assert ztunnels == ["node-1 ztunnel", "node-2 ztunnel"]
    assert sum(h.kind == "nic" for h in fwd.hops) == 2
    assert fwd.framing is not None and fwd.framing.h2
    rnames = [h.name for h in back.hops]
    assert [h.category for h in back.hops if h.category in ("ztunnel", "waypoint")] == [
        "ztunnel", "waypoint", "ztunnel"]
    assert rnames.index("node-2 tx core") < rnames.index("node-3 rx core") < rnames.index(
        "node-3 tx core") < rnames.index("node-1 rx core")
    # the Service's kube-proxy surcharge stays on the client node's sending core
    assert fwd.hops[fwd.proxy_hop].name == "node-1 tx core"


def test_waypoint_on_the_clients_node() -> None:
    """``client``: the first leg stays on node-1 (a same-node pod path, no NIC)."""
    _s, fwd, _b, _p = _paths(_spec(waypoint_node="client"))
    wp = next(h for h in fwd.hops if h.category == "waypoint")
    assert wp.node == 0  # type: ignore[attr-defined]
    before = fwd.hops[:fwd.hops.index(wp)]
    assert not any(h.kind == "nic" for h in before)
    assert sum(h.kind == "nic" for h in fwd.hops) == 1


def test_kperf_paths_shows_the_legs(tmp_path: Any) -> None:
    _register()
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump(_data(waypoint_node="node-3")))
    out = CliRunner().invoke(app, ["paths", str(f), "--from", "client-0", "--to",
                                   "server-0", "--bytes", "1024", "--json"])
    assert out.exit_code == 0, out.output
    hops = list(dict.fromkeys(r["hop"] for r in json.loads(out.stdout)["stages"]))
    want = ["node-1 ztunnel", "node-1 NIC tx", "switch port to node-3",
            "server waypoint (node-3)", "node-3 NIC tx", "switch port to node-2",
            "node-2 ztunnel"]
    assert [h for h in hops if h in want] == want


# -- simulation ----------------------------------------------------------------------------
def test_waypoint_cpu_is_its_nodes_and_the_legs_add_their_idle_time() -> None:
    """At 1,000 req/s (idle proxies): ``cpu:waypoint`` is on node-3 only, with the same
    CPU as on the server's node (the waypoint's work does not depend on where it
    runs); the median latency grows by the legs' idle time, request plus response
    (from the paths, within 5 %)."""
    near = simulate(TB, _spec(), [_http()], seed=1)
    far = simulate(TB, _spec(waypoint_node="node-3"), [_http()], seed=1)

    def waypoint_cpu(res: Any) -> dict[int, float]:
        rows = res[res.resource == "cpu:waypoint"]
        return dict(zip(rows["index"], rows.busy_s, strict=True))

    cpu_near, cpu_far = waypoint_cpu(near.resources), waypoint_cpu(far.resources)
    assert list(cpu_near) == [1] and list(cpu_far) == [2]
    assert cpu_far[2] == pytest.approx(cpu_near[1], rel=0.02)
    _s, f_near, b_near, _p = _paths(_spec())
    _s, f_far, b_far, _p = _paths(_spec(waypoint_node="node-3"))
    extra_us = (f_far.idle_s(KB) - f_near.idle_s(KB) + b_far.idle_s(KB)
                - b_near.idle_s(KB)) * 1e6
    assert extra_us > 5.0
    got_us = far.summary["latency_p50_us"] - near.summary["latency_p50_us"]
    assert got_us == pytest.approx(extra_us, rel=0.05)
