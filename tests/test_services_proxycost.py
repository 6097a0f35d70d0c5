"""Proxy-mode costs (issue 4): linear iptables first packet, flat hash modes, calibration.

Tolerances and why:

* linearity: iptables charges the expected walk (half of KUBE-SERVICES), so its
  first-packet cost at 5 Service counts lies on a line (R² > 0.9999) whose slope is
  per_rule_ns x rules_per_service / 2 (within 0.1 %); ipvs, nftables and eBPF grow by
  less than 10 % of their cost from 10 to 10,000 Services (cache misses, the IPVS
  service table's chains) and never shrink, and iptables grows > 100x more.
* stability: at 30,000 Services the first-packet cost of one Service is the same for
  5 seeds (spread < 1 %); the old per-node random order (``"shuffled"``) spreads it by
  more than 50 % (what made one run range from -6 % to -93 %).
* Tigera (CALIBRATION.md: 10k Services × 10 endpoints, ~20,000 rules walked, 1,000
  new connections/s: iptables 0.35 core, IPVS 0.08 core): measured through the
  engine as client-node CPU. kperf's profile charges only the *mode-specific* work
  (the 0.08 core IPVS floor is per-connection work every mode pays, which kperf's
  stack costs cover separately), so the engine's iptables − IPVS difference must be
  within 15 % of Tigera's 0.27 core, and that difference plus Tigera's 0.08 floor
  within 15 % of 0.35.
* nftables blog (chart: iptables first-packet round trip p50 48 / 62 / 270 µs at
  5k / 10k / 30k Services, nftables flat ~13 µs). The blog's curve is super-linear
  (2.8 µs per 1,000 Services from 5k to 10k, 10.4 from 10k to 30k) and its CPU is
  unknown, so no linear rule-walk cost can match all three points: the best line
  through them is still off by ~30 %. With testbed C's CPU (factor 1.4) standing in
  for the blog's machine, kperf's p50 (median position) round trip 13 + excess is
  61 / 109 / 302 µs: within a factor of 2 at every point, and the average slope from
  5k to 30k Services (9.6 µs per 1,000) is within 15 % of the blog's (8.9).
* established connections: an rr's p50 over an established connection differs by
  < 1 % between 10 and 10,000 Services (it is in fact identical).
* KEP-3453 resync reference (10,000 Services, 150,000 endpoints): full restore within
  15 % of 27 s, partial within 15 % of 13 s.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kperf.cluster import Cluster
from kperf.engine.routes import Surcharge
from kperf.engine.sim import Simulation
from kperf.profiles import get_proxy, get_testbed
from kperf.services import ServiceLayer
from kperf.services.proxycost import (
    first_packet_median_us,
    first_packet_parts,
    first_packet_us,
    resync_growth,
    resync_times,
)
from kperf.spec.workload import RrWorkload
from kperf.workloads.simulate import simulate

MODES = ["iptables", "ipvs", "nftables", "ebpf"]


def _cluster(proxy: str, services: int, endpoints: int = 1) -> Cluster:
    """A client on node-1, ``endpoints`` web pods on node-2, ``services`` Services that
    all select them (so every Service has endpoints and rules)."""
    return Cluster.build(
        nodes=2, cni="calico-bgp", proxy=proxy,
        deployments=[{"name": "client", "replicas": 1, "placement": "node-1"},
                     {"name": "web", "replicas": endpoints, "placement": "node-2"}],
        services=[{"name": f"s{i}", "selector": {"app": "web"}} for i in range(services)],
    )


def _mean_first_packet_us(proxy: str, services: int, cluster: Cluster | None = None) -> float:
    """Mean extra_first_s of one new connection to each of (up to) 500 Services spread
    evenly over the Service list, in µs (each at its expected place in KUBE-SERVICES)."""
    if cluster is None:
        cluster = _cluster(proxy, services)
    else:  # one build serves every mode: only the proxy record differs
        cluster.proxy = get_proxy(proxy)
    sim = Simulation(cluster, "10g-xeon-2015", seed=1)
    layer = ServiceLayer(sim, rng=np.random.default_rng(2))
    client = cluster.pod("client-0")
    targets = cluster.services[1 :: max(services // 500, 1)]
    # eBPF socket LB puts nothing on a TCP first packet; a UDP datagram pays the lookup
    connect = layer.connect_udp if proxy == "ebpf" else layer.connect
    return sum(connect(client, s).extra_first_s for s in targets) / len(targets) * 1e6


SERVICE_COUNTS = [10, 2_500, 5_000, 7_500, 10_000]


@pytest.fixture(scope="module")
def first_packet_table() -> dict[str, list[float]]:
    out: dict[str, list[float]] = {m: [] for m in MODES}
    for s in SERVICE_COUNTS:
        cluster = _cluster("iptables", s)
        for m in MODES:
            out[m].append(_mean_first_packet_us(m, s, cluster))
    return out


def test_iptables_first_packet_is_linear_in_services(first_packet_table: dict[str, list[float]]
                                                     ) -> None:
    y = np.array(first_packet_table["iptables"])
    x = np.array(SERVICE_COUNTS, dtype=float)
    slope, icept = np.polyfit(x, y, 1)
    r2 = 1 - ((y - (slope * x + icept)) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert r2 > 0.9999
    # slope: per_rule_ns × rules_per_service / 2 per Service (the expected position)
    mode = get_proxy("iptables")
    assert slope * 1e3 == pytest.approx(mode.per_rule_ns * mode.rules_per_service / 2,
                                        rel=0.001)
    assert y[-1] > 10 * y[0]


@pytest.mark.parametrize("mode", ["ipvs", "nftables", "ebpf"])
def test_hash_modes_stay_nearly_flat(first_packet_table: dict[str, list[float]],
                                     mode: str) -> None:
    y = np.array(first_packet_table[mode])
    assert y.min() > 0
    assert (np.diff(y) >= -1e-12).all()  # more Services never cost less
    assert (y[-1] - y[0]) / y[0] < 0.10
    ipt = first_packet_table["iptables"]
    assert ipt[-1] - ipt[0] > 100 * (y[-1] - y[0])


def _first_packet_us_at(services: int, seeds: list[int], order: str) -> list[float]:
    """First-packet µs of one new connection to the same Service (the first extra one,
    like a benchmark's one target) under ``seeds``."""
    cluster = _cluster("iptables", services)
    out = []
    for seed in seeds:
        sim = Simulation(cluster, "10g-xeon-2015", seed=seed)
        layer = ServiceLayer(sim, rng=np.random.default_rng(seed), kube_services_order=order)
        c = layer.connect(cluster.pod("client-0"), cluster.services[1])
        out.append(c.extra_first_s * 1e6)
    return out


def test_iptables_cost_is_stable_across_seeds() -> None:
    seeds = [1, 2, 3, 4, 5]
    expected = _first_packet_us_at(30_000, seeds, "expected")
    assert (max(expected) - min(expected)) / np.mean(expected) < 0.01
    mode = get_proxy("iptables")
    # the expected walk: base + half of KUBE-SERVICES (30,000 Services, kubernetes and
    # the kube-dns Service the layer simulates: 30,002)
    half_walk_us = mode.per_rule_ns * 1e-3 * mode.rules_per_service * (30_002 + 1) / 2
    assert expected[0] == pytest.approx(mode.first_packet_base_us + half_walk_us, rel=1e-9)
    # the old per-node random order made one run depend on one draw
    shuffled = _first_packet_us_at(30_000, seeds, "shuffled")
    assert (max(shuffled) - min(shuffled)) / np.mean(shuffled) > 0.5


def test_unknown_order_style_is_a_clear_error() -> None:
    cluster = _cluster("iptables", 2)
    with pytest.raises(ValueError, match="kube_services_order 'random'; allowed: expected"):
        ServiceLayer(Simulation(cluster, "10g-xeon-2015"), rng=np.random.default_rng(0),
                     kube_services_order="random")  # type: ignore[arg-type]


def test_ebpf_socket_lb_charges_connect_and_lookups_for_tcp() -> None:
    cluster = _cluster("ebpf", 3)
    sim = Simulation(cluster, "10g-xeon-2015")
    layer = ServiceLayer(sim, rng=np.random.default_rng(0))
    tcp = layer.connect(cluster.pod("client-0"), cluster.services[1])
    udp = layer.connect_udp(cluster.pod("client-0"), cluster.services[1])
    mode = get_proxy("ebpf")
    assert tcp.backend is not None
    parts = first_packet_parts(mode, sim.testbed, layer.proxy_counts,
                               services=len(layer.services), socket_lb=True)
    assert [p.stage.split(" (")[0] for p in parts] == ["socket LB", "service lookup"]
    assert tcp.extra_first_s == pytest.approx(sum(p.us for p in parts) * 1e-6, rel=1e-12)
    # socket LB at connect() (0.5 µs) is cheaper than the per-packet path's base (1 µs)
    assert 0 < tcp.extra_first_s < udp.extra_first_s
    assert layer.established_extra_s(cluster.services[1]) == 0.0


def _client_cpu_s(proxy: str, conns_per_s: int = 1_000) -> float:
    """Client-node core seconds for 1 s of new connections (SYN with the first-packet
    cost) to the last of 10,000 Services × 10 endpoints, in KUBE-SERVICES index order
    (so ~20,000 rules are walked, Tigera's premise)."""
    cluster = _cluster(proxy, 10_000, endpoints=10)
    sim = Simulation(cluster, "10g-xeon-2015", seed=1)
    layer = ServiceLayer(sim, rng=np.random.default_rng(1), kube_services_order="index")
    client, svc = cluster.pod("client-0"), cluster.services[-1]

    def one() -> None:
        c = layer.connect(client, svc)
        assert c.backend is not None
        sim.open_flow(client, c.backend).send(0, lambda _t: None,
                                              surcharge=Surcharge(c.extra_first_s))

    for k in range(conns_per_s):
        sim.at(k / conns_per_s, one)
    sim.run()
    res = sim.resources_df()
    return float(res[(res.resource == "cpu") & (res["index"] == 0)].busy_s.sum())


def test_tigera_cross_check_through_the_engine() -> None:
    ipt = _client_cpu_s("iptables")
    ipvs = _client_cpu_s("ipvs")
    diff = ipt - ipvs  # core seconds per second = cores busy
    assert diff == pytest.approx(0.35 - 0.08, rel=0.15)
    assert diff + 0.08 == pytest.approx(0.35, rel=0.15)


BLOG = {5_000: 48.0, 10_000: 62.0, 30_000: 270.0}
NFT_FLAT_US = 13.0


def test_nftables_blog_cross_check() -> None:
    ipt, nft = get_proxy("iptables"), get_proxy("nftables")
    factor = get_testbed("100g-ryzen-2021").cpu_speed_factor

    def round_trip(s: int) -> float:
        return NFT_FLAT_US + (first_packet_median_us(ipt, s) - first_packet_median_us(nft, s)
                              ) / factor

    for s, blog in BLOG.items():
        assert blog / 2 <= round_trip(s) <= blog * 2, (s, round_trip(s), blog)
    slope = (round_trip(30_000) - round_trip(5_000)) / 25
    assert slope == pytest.approx((BLOG[30_000] - BLOG[5_000]) / 25, rel=0.15)
    # nftables itself is flat
    assert first_packet_median_us(nft, 5_000) == first_packet_median_us(nft, 30_000)


def _rr_p50_us(services: int) -> float:
    spec: dict[str, Any] = {
        "nodes": 2, "cni": "calico-bgp", "proxy": "iptables",
        "deployments": [{"name": "client", "replicas": 1, "placement": "node-1"},
                        {"name": "server", "replicas": 1, "placement": "node-2"}],
        "services": [{"name": "server", "selector": {"app": "server"}}]
        + [{"name": f"x{i}", "selector": {"app": f"none{i}"}} for i in range(services - 1)],
    }
    cluster = Cluster.build(**spec)
    wl = RrWorkload(target="svc/server", duration_s=0.02, warmup_s=0.001)
    res = simulate(get_testbed("10g-xeon-2015"), cluster, [wl], seed=4)
    assert res.summary["completed"] > 100
    return float(res.summary["latency_p50_us"])


def test_established_connections_do_not_depend_on_service_count() -> None:
    few, many = _rr_p50_us(10), _rr_p50_us(10_000)
    assert many == pytest.approx(few, rel=0.01)


def test_first_packet_cost_grows_with_position() -> None:
    mode = get_proxy("iptables")
    assert first_packet_us(mode, 0) < first_packet_us(mode, 100) < first_packet_us(mode, 10_000)
    assert first_packet_us(get_proxy("ipvs"), 10_000) == first_packet_us(get_proxy("ipvs"), 0)


def test_kep_3453_resync_reference() -> None:
    """10,000 Services × 15 endpoints (150,000), the Kubernetes tested limits."""
    mode = get_proxy("iptables")
    rules = 12 + 10_000 * (2 + 3 * 15)  # the data-plane report's iptables formula
    r = resync_times(mode, entries=rules, kube_services_rules=20_000, changed_endpoints=15)
    assert r.full_s == pytest.approx(27.0, rel=0.15)
    assert r.partial_s == pytest.approx(13.0, rel=0.15)


def test_resync_grows_with_services_and_endpoints() -> None:
    ipt = resync_growth(get_proxy("iptables"), [100, 1_000, 10_000], [1, 10])
    full = ipt.pivot(index="services", columns="endpoints_per_service", values="full_resync_s")
    assert (full.diff().dropna() > 0).all().all()  # more Services, longer
    assert (full[10] > full[1]).all()  # more endpoints, longer
    col = full[10].to_numpy()
    ratio = float(col[2] / col[1])  # 10,000 vs 1,000 Services
    assert ratio == pytest.approx(10, rel=0.01)  # proportional to rules
    nft = resync_growth(get_proxy("nftables"), [100, 10_000], [10])
    inc = nft.incremental_resync_s.to_numpy()
    assert inc[0] == inc[1]  # an incremental change does not grow with Services


def test_resync_table_per_node_from_cluster_counts() -> None:
    cluster = _cluster("iptables", 50, endpoints=3)
    layer = ServiceLayer(Simulation(cluster, "10g-xeon-2015"), rng=np.random.default_rng(0))
    df = layer.resync_table()
    assert list(df.node) == ["node-1", "node-2"]
    counts = cluster.dataplane_state(8)
    assert (df.entries.to_numpy() == counts.iptables_rules.to_numpy()).all()
    per = get_proxy("iptables").resync_per_rule_us * 1e-6
    assert df.full_resync_s.iloc[0] == pytest.approx(df.entries.iloc[0] * per)
    assert (df.partial_resync_s < df.full_resync_s).all()
