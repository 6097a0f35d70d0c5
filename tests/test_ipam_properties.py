"""Property tests: no duplicate pod IPs under any real IPAM style; conflicts detected
under ``ipam: none``."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kperf.cluster import Cluster
from kperf.cluster.addr import contains
from kperf.errors import SpecError

PLACEMENTS = st.sampled_from(["spread", "binpack", "node-1", "node-2"])

deployments = st.lists(
    st.tuples(st.integers(1, 40), PLACEMENTS), min_size=1, max_size=5
)


def build(nodes: int, deps: list[tuple[int, str]], **extra: object) -> Cluster | None:
    spec = [
        {"name": f"d{i}", "replicas": r,
         "placement": p if not p.startswith("node-") or int(p[5:]) <= nodes else "spread"}
        for i, (r, p) in enumerate(deps)
    ]
    try:
        c = Cluster.build(nodes=nodes, deployments=spec, **extra)
    except SpecError as exc:  # more pods than fit: a capacity error naming the replicas
        assert exc.path.endswith(".replicas"), str(exc)
        event("capacity error")
        return None
    event("built")
    return c


def assert_addressing_sound(c: Cluster) -> None:
    ips = [p.ip for p in c.pods if not p.host_network]
    assert len(ips) == len(set(ips)), "duplicate pod IP"
    for p in c.pods:
        assert contains(c.spec.pod_cidr, p.ip)
        assert any(contains(r, p.ip) for r in c.nodes[p.node].pod_ranges)
    counts = Counter(p.node for p in c.pods)
    assert max(counts.values(), default=0) <= c.spec.max_pods_per_node
    for n in c.nodes:
        for r in n.pod_ranges:
            assert r.subnet_of(c.spec.pod_cidr)
    assert c.conformance().ok


COMMON = settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(nodes=st.integers(1, 12), deps=deployments,
       prefix=st.integers(24, 28), max_pods=st.integers(20, 110),
       recreate=st.lists(st.integers(0, 10_000), max_size=8))
def test_host_local_never_duplicates(nodes: int, deps: list[tuple[int, str]], prefix: int,
                                     max_pods: int, recreate: list[int]) -> None:
    c = build(nodes, deps, cni="flannel-vxlan", node_pod_prefix=prefix,
              max_pods_per_node=max_pods)
    if c is None:
        return
    for k in recreate:
        c.recreate_pod(c.pods[k % len(c.pods)])
    assert_addressing_sound(c)


@COMMON
@given(nodes=st.integers(1, 12), deps=deployments,
       block=st.integers(26, 29), pool=st.sampled_from(["10.244.0.0/16", "10.244.0.0/22"]),
       recreate=st.lists(st.integers(0, 10_000), max_size=8))
def test_calico_blocks_never_duplicate(nodes: int, deps: list[tuple[int, str]], block: int,
                                       pool: str, recreate: list[int]) -> None:
    c = build(nodes, deps, cni="calico-bgp", calico_block_prefix=block, pod_cidr=pool,
              node_pod_prefix=26)
    if c is None:
        return
    assert c.ipam == "calico-blocks"
    for k in recreate:
        old = c.pods[k % len(c.pods)]
        new = c.recreate_pod(old)
        assert new.node == old.node
    assert_addressing_sound(c)
    # blocks are disjoint and each belongs to one node
    blocks = [r for n in c.nodes for r in n.pod_ranges]
    assert len(blocks) == len(set(blocks))


@COMMON
@given(nodes=st.integers(2, 8), per_node=st.lists(st.integers(0, 6), min_size=2, max_size=8))
def test_ipam_none_conflicts_are_detected(nodes: int, per_node: list[int]) -> None:
    per_node = (per_node + [0] * nodes)[:nodes]
    pods = [{"name": f"p{n}-{k}", "node": f"node-{n + 1}"}
            for n, count in enumerate(per_node) for k in range(count)]
    c = Cluster.build(nodes=nodes, cni="none", pods=pods)
    report = c.conformance()
    checks = report.checks.set_index("name")
    with_pods = sum(1 for x in per_node if x)
    ips = Counter(p.ip for p in c.pods)
    has_dup = any(v > 1 for v in ips.values())
    assert has_dup == (with_pods >= 2)
    assert (not checks.loc["pod-ips-unique", "passed"]) == has_dup
    assert not report.ok  # same range on every node, no cross-node routes
    if has_dup:
        # the duplicated addresses are exactly the ones report lists
        listed = set(report.violations.loc[report.violations["check"] == "pod-ips-unique",
                                           "subject"])
        assert listed == {c.pods[0].ip_str.rsplit(".", 1)[0] + f".{2 + k}"
                          for k in range(sorted(per_node)[-2])}
