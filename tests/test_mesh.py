"""Service mesh data planes (issue 21): spec, catalog, proxy hops, outputs.

Each calibration test names its source; the saturation test compares a shared-queue
proxy's queueing with an M/M/c model of its worker pool (Erlang C, with the
Allen-Cunneen correction for kperf's constant service times); pooling and Envoy's
pinned workers are tests/test_mesh_pooling.py."""

from __future__ import annotations

from typing import Any

import pytest

from kperf.errors import SpecError
from kperf.profiles import get_testbed
from kperf.profiles.mesh import (
    CALIBRATION_PAYLOAD_BYTES,
    CILIUM_ENVOY,
    MESH_PROXIES,
    WAYPOINT,
)
from kperf.spec import ClusterSpec, parse
from kperf.spec.workload import CrrWorkload, HttpWorkload, RrWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec
from tests.mesh_saturation import http as _http
from tests.mesh_saturation import run as _run
from tests.mesh_saturation import shared_queue
from tests.mesh_saturation import spec as _spec

TB = get_testbed("10g-xeon-2015")  # cpu_speed_factor 1.0: the profiles' reference core
KB = CALIBRATION_PAYLOAD_BYTES




# -- mode none: nothing moves ----------------------------------------------------------
def test_mesh_none_is_bit_identical_and_keeps_the_dump() -> None:
    """An explicit ``mesh: {mode: none}`` gives the same summary as no mesh key, and a
    spec without the key dumps without it (run ids unchanged); the summary has no mesh
    column then."""
    plain = parse(ClusterSpec, two_node_spec("calico-bgp"))
    assert "mesh" not in plain.model_dump(mode="json")
    assert "mesh" not in plain.deployments[0].model_dump(mode="json")
    explicit = _spec("none", mtls=True)
    assert explicit.model_dump(mode="json")["mesh"]["mode"] == "none"
    for wl in (_http(20_000, 0.01), RrWorkload(requests=300, outstanding=2),
               CrrWorkload(duration_s=0.003, target="svc/server")):
        a, b = _run(plain, wl, 3).summary, _run(explicit, wl, 3).summary
        assert "mesh_proxy_cores_per_krps" not in a and "mesh_proxy_cores_per_krps" not in b
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]), k


# -- calibration: CPU per 1,000 requests/s ------------------------------------------------
@pytest.mark.parametrize("mode,waypoint,proxies,vcpu,source", [
    ("istio-sidecar", False, {"sidecar": 2}, 0.20,
     "istio.io performance-and-scalability, Istio 1.24: sidecar (2 workers) ~0.20 vCPU"),
    ("istio-ambient", False, {"ztunnel": 2}, 0.06,
     "istio.io performance-and-scalability, Istio 1.24: ztunnel ~0.06 vCPU"),
    ("istio-ambient", True, {"ztunnel": 2, "waypoint": 1}, None,
     "istio.io performance-and-scalability, Istio 1.24: waypoint (2 workers) ~0.25 vCPU"),
])
def test_cpu_per_krps_matches_istio_1_24(mode: str, waypoint: bool, proxies: dict[str, int],
                                         vcpu: float | None, source: str) -> None:
    """At 1,000 HTTP requests/s with 1 KB payloads (light load), each proxy's CPU per
    1,000 requests/s, measured from the per-node CPU split (``cpu:<category>`` rows)
    and from the summary column, is within 15 % of the source's figure."""
    spec = _spec(mode, waypoint=waypoint) if waypoint else _spec(mode)
    res = _run(spec, _http(1000, 1.0))
    rps = res.summary["requests_per_s"]
    assert 900 < rps < 1100
    rows = res.resources
    sim_s = res.summary["sim_time_s"]
    targets = {"sidecar": 0.20, "ztunnel": 0.06, "waypoint": WAYPOINT.vcpu_per_krps}
    assert vcpu is None or targets[next(iter(proxies))] == vcpu
    total = 0.0
    for cat, n in proxies.items():
        busy_s = float(rows[rows.resource == f"cpu:{cat}"].busy_s.sum())
        per_proxy = busy_s / sim_s / (rps / 1000) / n  # cores per 1,000 req/s, one proxy
        assert per_proxy == pytest.approx(targets[cat], rel=0.15), (cat, source)
        total += targets[cat] * n
    assert res.summary["mesh_proxy_cores_per_krps"] == pytest.approx(total, rel=0.15), source


def test_linkerd_estimate_and_ordering() -> None:
    """Linkerd's proxy: an estimate (no published per-proxy CPU per 1,000 req/s found,
    see kperf.profiles.mesh), below Istio's sidecar as Linkerd's May 2021 benchmark
    reports (Linkerd 2.10.2 vs Istio 1.10.0: "an order of magnitude less data plane
    memory and CPU")."""
    cores = {m: _run(_spec(m), _http(1000, 0.5)).summary["mesh_proxy_cores_per_krps"]
             for m in ("istio-sidecar", "linkerd")}
    assert cores["linkerd"] == pytest.approx(2 * MESH_PROXIES["linkerd"].vcpu_per_krps,
                                             rel=0.15)
    assert cores["linkerd"] < cores["istio-sidecar"]


def test_ambient_without_waypoint_is_cheaper_than_sidecars() -> None:
    """Istio 1.24 (istio.io performance-and-scalability): a ztunnel ~0.06 vCPU vs a
    sidecar ~0.20 vCPU per 1,000 req/s, so ambient L4 costs less in cores and in added
    latency at the same rate; a waypoint brings ambient above the sidecars' per-proxy
    cost but not to two sidecars plus."""
    out = {}
    for name, spec in (("none", _spec()), ("sidecar", _spec("istio-sidecar")),
                       ("ambient", _spec("istio-ambient")),
                       ("waypoint", _spec("istio-ambient", waypoint=True))):
        out[name] = _run(spec, _http(2000, 0.5)).summary
    cores = {k: v.get("mesh_proxy_cores_per_krps", 0.0) for k, v in out.items()}
    assert cores["ambient"] < cores["sidecar"]
    assert cores["ambient"] < cores["waypoint"]
    p50 = {k: v["latency_p50_us"] for k, v in out.items()}
    assert p50["none"] < p50["ambient"] < p50["sidecar"]
    assert p50["ambient"] < p50["waypoint"]


# -- saturation: the proxies' worker pools queue like M/M/c ------------------------------
def test_added_latency_follows_the_worker_pool_queue() -> None:
    """Added mean latency of linkerd (2 workers on tokio's work-stealing runtime: one
    shared queue) over no mesh, at rising request rates (same seed, so the same
    arrivals): each proxy serves every request's request and response message, ~25 us
    each, so it saturates at about 40,000 req/s. The added queueing (beyond the
    proxies' idle cost) matches four visits to an M/D/c queue (Erlang C halved) within
    35 %, grows with the rate, and the knee, where the queueing first exceeds the idle
    added latency of the proxies, falls where the model puts it (between the same two
    rates). The measurement is tests/mesh_saturation.py's (docs/mesh.md prints it);
    Envoy's pinned workers: tests/test_mesh_pooling.py."""
    sat = shared_queue()
    measured, model = sat.measured_us, sat.model_us
    for rate, got, want in zip(sat.rates, measured, model, strict=True):
        assert got == pytest.approx(want, rel=0.35, abs=5.0), (rate, got, want)
    assert measured == sorted(measured)
    knee_model = sat.knee(model)
    knee_sim = sat.knee(measured)
    assert knee_model is not None
    assert knee_sim == knee_model


# -- paths and per-deployment opt-out ---------------------------------------------------
def test_paths_cross_the_proxies_and_opt_out_removes_them() -> None:
    from kperf.cluster import Cluster
    from kperf.engine.sim import Simulation

    for mode, kinds in (("istio-sidecar", ["sidecar", "sidecar"]),
                        ("istio-ambient", ["ztunnel", "ztunnel"])):
        cluster = Cluster.build(_spec(mode))
        sim = Simulation(cluster, TB, 1)
        c, s = cluster.pod("client-0"), cluster.pod("server-0")
        fwd = sim.paths.meshed(sim.path(c, s), c, s)
        proxies = [h for h in fwd.hops if h.kind == "proxy"]
        assert [h.category for h in proxies] == kinds
        assert [h.cpu_node for h in proxies] == [c.node, s.node]
        assert fwd.signature != sim.path(c, s).signature
    data = two_node_spec("calico-bgp", mesh={"mode": "istio-sidecar"})
    data["deployments"][1]["mesh"] = False
    cluster = Cluster.build(parse(ClusterSpec, data))
    sim = Simulation(cluster, TB, 1)
    c, s = cluster.pod("client-0"), cluster.pod("server-0")
    fwd = sim.paths.meshed(sim.path(c, s), c, s)
    assert [h.name for h in fwd.hops if h.kind == "proxy"] == ["client-0 envoy sidecar"]
    assert not any("mTLS" in st[0] for h in fwd.hops for st in h.cost(fwd.shape(KB), 0).stages)


# -- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("mesh,field,allowed", [
    ({"mode": "consul"}, "cluster.mesh.mode", "istio-sidecar"),
    ({"mode": "istio-sidecar", "waypoint": True}, "cluster.mesh.waypoint", "istio-ambient"),
    ({"mode": "linkerd", "proxy_workers": 0}, "cluster.mesh.proxy_workers",
     "greater than or equal to 1"),
    ({"mode": "linkerd", "mtls": "sometimes"}, "cluster.mesh.mtls", ""),
    ({"mode": "linkerd", "sidecars": 2}, "cluster.mesh.sidecars", ""),
    ({"mode": "istio-sidecar", "l7": True}, "cluster.mesh.l7", "cilium-mesh"),
    ({"mode": "cilium-mesh", "mtls": False}, "cluster.mesh.mode", "Cilium CNI (cilium-*"),
])
def test_bad_mesh_input_names_the_field(mesh: dict[str, Any], field: str, allowed: str) -> None:
    with pytest.raises(SpecError) as info:
        parse(ClusterSpec, two_node_spec(mesh=mesh), "cluster")
    line = info.value.one_line()
    assert "\n" not in line and field in line and allowed in line, line


def test_bad_deployment_opt_out() -> None:
    data = two_node_spec()
    data["deployments"][0]["mesh"] = "maybe"
    with pytest.raises(SpecError) as info:
        parse(ClusterSpec, data, "cluster")
    assert "cluster.deployments.0.mesh" in info.value.one_line()


# -- CLI: kperf list mesh, kperf paths ------------------------------------------------
def test_kperf_list_mesh_names_every_mode_and_its_source() -> None:
    import json

    from typer.testing import CliRunner

    from kperf.cli.app import app
    from kperf.cli.main import _register

    _register()
    runner = CliRunner()
    out = runner.invoke(app, ["list", "mesh", "--json"])
    assert out.exit_code == 0, out.stderr
    entries = json.loads(out.stdout)
    assert [e["mode"] for e in entries] == ["none", "istio-sidecar", "istio-ambient", "linkerd",
                                            "cilium-mesh"]
    assert entries[4]["l7_per_message_us"] == pytest.approx(CILIUM_ENVOY.per_message_us)
    assert "eBPF" in entries[4]["l4"] and "Envoy" in entries[4]["redirect"]
    for e in entries[1:4]:
        assert e["proxy"]["source"] and e["redirect"]
        assert e["per_message_us"] == pytest.approx(MESH_PROXIES[e["mode"]].per_message_us)
    assert "0.25 vCPU" in entries[2]["waypoint"]["source"]
    table = runner.invoke(app, ["list", "mesh"])
    assert table.exit_code == 0 and "ztunnel" in table.stdout and "linkerd" in table.stdout


def test_kperf_paths_shows_the_mesh_stages(tmp_path: Any) -> None:
    import json

    import yaml
    from typer.testing import CliRunner

    from kperf.cli.app import app
    from kperf.cli.main import _register

    _register()
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump(two_node_spec("calico-bgp", mesh={"mode": "istio-sidecar"})))
    out = CliRunner().invoke(app, ["paths", str(f), "--from", "client-0", "--to", "server-0",
                                   "--bytes", str(KB), "--json"])
    assert out.exit_code == 0, out.stderr
    got = json.loads(out.stdout)
    sidecar_us = sum(r["time_us"] for r in got["stages"] if r["category"] == "sidecar")
    assert sidecar_us == pytest.approx(2 * MESH_PROXIES["istio-sidecar"].message_us(KB, True))
    # the simulated idle message crosses the same hops
    assert got["message_us"] == pytest.approx(got["total_us"], rel=1e-6)


def test_experiments_sweep_the_nested_mesh_mode() -> None:
    """``cluster.mesh.mode`` is a sweep key (experiments/service_mesh.yaml): each run's
    cluster has its mode, and runs of different modes have different ids."""
    from pathlib import Path

    from kperf.experiments.expand import expand
    from kperf.spec.experiment import ExperimentSpec

    path = Path(__file__).resolve().parent.parent / "experiments" / "service_mesh.yaml"
    runs = expand(ExperimentSpec.load(path))
    modes = {r.params["cluster.mesh.mode"] for r in runs}
    assert modes == {"none", "istio-sidecar", "istio-ambient", "linkerd"}
    for r in runs:
        assert r.cluster.mesh.mode == r.params["cluster.mesh.mode"]
        assert r.spec["cluster"]["mesh"]["mode"] == r.params["cluster.mesh.mode"]
    assert len({r.run_id for r in runs}) == len(runs)


def test_breakdown_plot_colours_of_the_mesh_categories_are_their_own() -> None:
    """The mesh's categories come last in the breakdown's stack order, so the older
    categories keep their colours, and each gets a colour no other category has."""
    from kperf.analysis.plotbase import CATEGORY_ORDER, category_colour, color

    colours = [category_colour(c) for c in CATEGORY_ORDER]
    assert len(set(colours)) == len(colours)
    assert colours[:10] == [color(i) for i in range(10)]
    assert CATEGORY_ORDER[-4:] == ("sidecar", "ztunnel", "waypoint", "envoy")


def test_proxy_pools_have_resource_rows() -> None:
    """Each proxy pool has a resources row whose utilisation is its workers' busy share
    (busy seconds / time / workers), and whose busy time is the ``cpu:`` split's."""
    res = _run(_spec("istio-sidecar"), _http(4000, 0.2))
    rows = res.resources
    pools = rows[rows.resource == "sidecar"]
    assert len(pools) == 2
    t = res.summary["sim_time_s"]
    for row in pools.itertuples():
        assert row.utilisation == pytest.approx(row.busy_s / t / 2)
        assert 0.35 < row.utilisation < 0.45  # 4,000 req/s x 200 us = 0.8 of 2 workers
    split = rows[rows.resource == "cpu:sidecar"].busy_s.sum()
    assert pools.busy_s.sum() == pytest.approx(split, rel=1e-9)


@pytest.mark.parametrize("mode", ["istio-sidecar", "istio-ambient"])
def test_meshed_runs_are_deterministic_and_match_the_reference_engine(mode: str) -> None:
    """Same spec and seed, same numbers; the engine's reference mode (every hop through
    SimPy's queue, nothing held) and a tiny route cache give them too."""
    from kperf.engine.sim import EngineOptions

    spec = _spec(mode, waypoint=True) if mode == "istio-ambient" else _spec(mode)
    wls = [_http(8000, 0.05), CrrWorkload(duration_s=0.01, target="svc/server")]
    runs = [simulate(TB, spec, [wl], seed=5, engine=opts).summary
            for wl in wls
            for opts in (None, None, EngineOptions(reference=True),
                         EngineOptions(max_routes=2))]
    for k in range(0, len(runs), 4):
        first = runs[k]
        for other in runs[k + 1:k + 4]:
            for key in ("latency_mean_us", "latency_p99_us", "completed",
                        "mesh_proxy_cores_per_krps"):
                assert other[key] == pytest.approx(first[key], rel=1e-9), key


def test_external_clients_cross_the_servers_proxy_only() -> None:
    """A client outside the cluster (NodePort) is not meshed: each request crosses the
    server pod's sidecar only, without mutual TLS (the per-message cost less the mTLS
    share, twice: request and response), and kube-proxy's NodePort work stays on the
    entry node (the base path's proxy hop, shifted past the added hops)."""
    data = {"nodes": 2, "cni": "calico-bgp", "mesh": {"mode": "istio-sidecar"},
            "deployments": [{"name": "client", "replicas": 1, "placement": "external"},
                            {"name": "web", "replicas": 1, "placement": "node-2"}],
            "services": [{"name": "web", "selector": {"app": "web"}, "type": "NodePort"}]}
    wl = HttpWorkload(clients="client", target="nodeport/web", rate_per_s=1000,
                      duration_s=0.2, request_bytes={"mean": KB}, response_bytes={"mean": KB})
    res = simulate(TB, parse(ClusterSpec, data), [wl], seed=1)
    p = MESH_PROXIES["istio-sidecar"]
    want = 2 * p.message_us(KB, False) / 1e3
    assert res.summary["mesh_proxy_cores_per_krps"] == pytest.approx(want, rel=1e-6)
    plain = dict(data, mesh={"mode": "none"})
    base = simulate(TB, parse(ClusterSpec, plain), [wl], seed=1)
    rows, base_rows = res.resources, base.resources
    assert float(rows[rows.resource == "cpu:proxy"].busy_s.sum()) == pytest.approx(
        float(base_rows[base_rows.resource == "cpu:proxy"].busy_s.sum()), rel=1e-9)


def test_kperf_paths_from_outside_shows_the_servers_proxy(tmp_path: Any) -> None:
    import json

    import yaml
    from typer.testing import CliRunner

    from kperf.cli.app import app
    from kperf.cli.main import _register

    _register()
    data = {"nodes": 2, "cni": "calico-bgp", "mesh": {"mode": "istio-sidecar"},
            "deployments": [{"name": "client", "replicas": 1, "placement": "external"},
                            {"name": "web", "replicas": 1, "placement": "node-2"}],
            "services": [{"name": "web", "selector": {"app": "web"}, "type": "NodePort"}]}
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump(data))
    for extra in ([], ["--reverse"]):
        out = CliRunner().invoke(app, ["paths", str(f), "--from", "client-0", "--to",
                                       "nodeport/web", "--bytes", str(KB), "--json", *extra])
        assert out.exit_code == 0, out.stderr
        stages = json.loads(out.stdout)["stages"]
        sidecar = [r for r in stages if r["category"] == "sidecar"]
        assert {r["hop"] for r in sidecar} == {"web-0 envoy sidecar"}
        assert sum(r["time_us"] for r in sidecar) == pytest.approx(
            MESH_PROXIES["istio-sidecar"].message_us(KB, False))


# -- cilium-mesh ------------------------------------------------------------------------
def _cilium(mode: str = "none", cni: str = "cilium-wireguard", **mesh: Any) -> ClusterSpec:
    return _spec(mode, cni=cni, **mesh) if mode != "none" else _spec(cni=cni)


def test_cilium_mesh_needs_a_cilium_cni_and_encryption_for_mtls() -> None:
    """cilium-mesh is Cilium's own data plane; its mTLS is mutual authentication plus
    WireGuard/IPsec ("mTLS in Cilium Service Mesh requires both mutual auth and
    encryption of some form", cilium/cilium issue 24867)."""
    for data, field, allowed in (
            (two_node_spec("calico-bgp", mesh={"mode": "cilium-mesh"}), "cluster.mesh.mode",
             "cni is calico-bgp"),
            (two_node_spec("cilium-vxlan", mesh={"mode": "cilium-mesh"}), "cluster.mesh.mtls",
             "cilium-wireguard")):
        with pytest.raises(SpecError) as info:
            parse(ClusterSpec, data, "cluster")
        line = info.value.one_line()
        assert "\n" not in line and field in line and allowed in line, line
    parse(ClusterSpec, two_node_spec("cilium-vxlan", mesh={"mode": "cilium-mesh", "mtls": False}))
    parse(ClusterSpec, two_node_spec("cilium-ipsec", mesh={"mode": "cilium-mesh", "l7": True}))


def test_cilium_mesh_l4_adds_nothing_to_the_cni_datapath() -> None:
    """Without L7, cilium-mesh's policy, mutual authentication and encryption are the
    Cilium CNI's eBPF datapath (docs.cilium.io network/servicemesh; the cilium-wireguard
    profile already charges WireGuard): the same latency as no mesh on the same CNI,
    no proxy cores, and cheaper than Istio ambient's ztunnels (Istio 1.24: ~0.06 vCPU
    per 1,000 req/s per ztunnel) in cores and latency."""
    wl = _http(2000, 0.3)
    none = _run(_cilium(), wl).summary
    l4 = _run(_cilium("cilium-mesh"), wl).summary
    ambient = _run(_cilium("istio-ambient"), wl).summary
    for key in ("latency_p50_us", "latency_p99_us", "latency_mean_us", "completed"):
        assert l4[key] == none[key], key
    assert l4["mesh_proxy_cores_per_krps"] == 0.0
    assert ambient["mesh_proxy_cores_per_krps"] > 0.1
    assert l4["latency_p50_us"] < ambient["latency_p50_us"]


def test_cilium_mesh_l7_crosses_one_envoy_per_request_on_the_clients_node() -> None:
    """With l7: true each request and response crosses the client node's Envoy once
    (Cilium's L7 load balancing is "an Envoy redirect on the egress packet path",
    cilium/cilium commit 04f19e98; one Envoy per node, docs.cilium.io security/network/
    proxy/envoy): about one Istio-sidecar Envoy's CPU per 1,000 req/s (Istio 1.24: ~0.20
    vCPU, less the mTLS terms: Cilium's Envoys do not encrypt) instead of two sidecars',
    so cheaper than istio-sidecar in cores and latency, dearer than L4 alone."""
    from kperf.cluster import Cluster
    from kperf.engine.sim import Simulation

    cluster = Cluster.build(_cilium("cilium-mesh", l7=True))
    sim = Simulation(cluster, TB, 1)
    c, s = cluster.pod("client-0"), cluster.pod("server-0")
    for reverse, (a, b) in ((False, (c, s)), (True, (s, c))):
        path = sim.paths.meshed(sim.path(a, b), a, b, reverse)
        proxies = [h for h in path.hops if h.kind == "proxy"]
        assert [(h.category, h.cpu_node) for h in proxies] == [("envoy", c.node)]
    wl = _http(2000, 0.3)
    l7 = _run(_cilium("cilium-mesh", l7=True), wl)
    sidecar = _run(_cilium("istio-sidecar"), wl).summary
    l4 = _run(_cilium("cilium-mesh"), wl).summary
    want = 2 * CILIUM_ENVOY.message_us(KB, False) / 1e3
    assert l7.summary["mesh_proxy_cores_per_krps"] == pytest.approx(want, rel=1e-6)
    assert want == pytest.approx(0.20, rel=0.05)
    assert l7.summary["mesh_proxy_cores_per_krps"] < sidecar["mesh_proxy_cores_per_krps"] / 1.9
    assert l4["latency_p50_us"] < l7.summary["latency_p50_us"] < sidecar["latency_p50_us"]
    rows = l7.resources
    assert list(rows[rows.resource == "envoy"]["index"]) == [c.node]
    assert float(rows[rows.resource == "cpu:envoy"].busy_s.sum()) > 0


def test_cilium_mesh_l7_node_server_puts_the_envoy_on_the_servers_node() -> None:
    """``l7_node: server``: an ingress L7 policy is enforced by the proxy at the
    destination ("ingress proxy at destination", cilium/cilium PR 8837): both
    directions cross the server node's Envoy, at the same cost; the first slice's
    dumps and run ids keep no l7 keys unless the file sets them."""
    from kperf.cluster import Cluster
    from kperf.engine.sim import Simulation

    cluster = Cluster.build(_cilium("cilium-mesh", l7=True, l7_node="server"))
    sim = Simulation(cluster, TB, 1)
    c, s = cluster.pod("client-0"), cluster.pod("server-0")
    assert c.node != s.node
    for reverse, (a, b) in ((False, (c, s)), (True, (s, c))):
        path = sim.paths.meshed(sim.path(a, b), a, b, reverse)
        assert [(h.category, h.cpu_node) for h in path.hops if h.kind == "proxy"] == [
            ("envoy", s.node)]
    res = _run(_cilium("cilium-mesh", l7=True, l7_node="server"), _http(1000, 0.2))
    rows = res.resources
    assert list(rows[rows.resource == "envoy"]["index"]) == [s.node]
    assert res.summary["mesh_proxy_cores_per_krps"] == pytest.approx(
        2 * CILIUM_ENVOY.message_us(KB, False) / 1e3, rel=1e-6)
    dumped = _spec("istio-sidecar").model_dump(mode="json")["mesh"]
    assert "l7" not in dumped and "l7_node" not in dumped
    with pytest.raises(SpecError) as info:
        parse(ClusterSpec, two_node_spec("cilium-wireguard", mesh={
            "mode": "cilium-mesh", "l7_node": "server"}), "cluster")
    assert "cluster.mesh.l7_node" in info.value.one_line()
