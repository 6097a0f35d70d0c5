"""TLS records and HBONE's HTTP/2 frames on the wire between mesh proxies (issue 21):
the byte counts against RFC 8446 and RFC 9113, where they are added on a path (the
network legs between proxies, not the applications' loopback crossings), and that a
cluster without a mesh keeps its chunks exactly."""

from __future__ import annotations

from typing import Any

import pytest

from kperf.cluster import Cluster
from kperf.datapath.framing import HBONE, TLS_RECORDS, Framing, mesh_framing
from kperf.datapath.path import CpuHop, WireHop
from kperf.engine.sim import Simulation
from kperf.profiles import get_testbed
from kperf.spec import ClusterSpec, parse
from tests.helpers import two_node_spec

TB = get_testbed("10g-xeon-2015")


def _fill(nbytes: int, h2: bool) -> int:
    """Framing bytes by packing the stream byte by byte into frames then records (an
    independent count: RFC 9113 4.1 / 6.5.2, RFC 8446 5.1 / 5.2)."""
    extra = 0
    plain = 0
    left = nbytes
    while left > 0:  # DATA frames of at most 16,384 payload bytes, 9-byte header each
        take = min(left, 16_384)
        plain += take + (9 if h2 else 0)
        extra += 9 if h2 else 0
        left -= take
    while plain > 0:  # records of at most 2^14 plaintext bytes: 5 + 1 + 16 bytes each
        plain -= min(plain, 2 ** 14)
        extra += 5 + 1 + 16
    return extra


@pytest.mark.parametrize("nbytes", [0, 1, 1024, 16_375, 16_384, 16_385, 32_768, 65_160,
                                    131_072])
def test_overhead_matches_packing_by_the_rfcs(nbytes: int) -> None:
    assert TLS_RECORDS.overhead_bytes(nbytes) == _fill(nbytes, False)
    assert HBONE.overhead_bytes(nbytes) == _fill(nbytes, True)


def test_which_mode_frames_what() -> None:
    assert mesh_framing("istio-ambient", True) == HBONE
    assert mesh_framing("istio-sidecar", True) == Framing(tls=True)
    assert mesh_framing("linkerd", True) == Framing(tls=True)
    assert mesh_framing("istio-sidecar", False) is None
    assert mesh_framing("cilium-mesh", True) is None


def _sim(mode: str = "none", **mesh: Any) -> Simulation:
    data = two_node_spec("calico-bgp")
    if mode != "none" or mesh:
        data["mesh"] = {"mode": mode, **mesh}
    return Simulation(Cluster.build(parse(ClusterSpec, data)), TB, seed=1)


def _pair(sim: Simulation) -> tuple[Any, Any]:
    pods = sim.cluster.pods
    client = next(p for p in pods if p.deployment == "client")
    server = next(p for p in pods if p.deployment == "server")
    return client, server


@pytest.mark.parametrize("mode,framing", [("istio-ambient", HBONE),
                                          ("istio-sidecar", TLS_RECORDS)])
def test_framing_bytes_cross_the_network_not_the_loopbacks(mode: str,
                                                           framing: Framing) -> None:
    """A 1 KB message through the mesh: the NIC serializes payload + framing + headers;
    the application's loopback crossings cost what they cost unframed; the network
    legs' CPU hops count the framing bytes per byte."""
    sim = _sim(mode)
    client, server = _pair(sim)
    base = sim.path(client, server)
    meshed = sim.paths.meshed(base, client, server)
    assert meshed.framing == framing
    n = 1024
    extra = framing.overhead_bytes(n)
    plain = {h.name: c for h, c in zip(base.hops, base.hop_costs(n), strict=True)}
    costs = list(zip(meshed.hops, meshed.hop_costs(n), strict=True))
    nic = next(c for h, c in costs if isinstance(h, WireHop) and h.kind == "nic")
    assert nic.service_s == pytest.approx(plain["node-1 NIC tx"].service_s
                                          + extra * 8 / (TB.nic_rate_gbps * 1e9))
    loops = [(h, c) for h, c in costs if isinstance(h, CpuHop) and "loopback" in h.name]
    assert [h.framed for h, _c in loops] == [False, False]
    unframed = meshed.shape(n).unframed
    assert unframed is not None and unframed == base.shape(n)
    for hop, cost in loops:
        assert cost.service_s == pytest.approx(hop.cpu.seconds(1, 1, 1, n))
    tx = next(c for h, c in costs if h.name == "node-1 tx core")
    per_byte = next(h for h, _c in costs if h.name == "node-1 tx core")
    assert isinstance(per_byte, CpuHop)
    assert tx.service_s - plain["node-1 tx core"].service_s == pytest.approx(
        per_byte.cpu.per_byte_s * extra)


def test_no_mesh_paths_carry_no_framing() -> None:
    """Without a mesh (and with cilium-mesh's proxies, which do not encrypt) every
    chunk's shape is the segmentation's alone."""
    for sim in (_sim(), _sim("none"), _sim("istio-sidecar", mtls=False)):
        client, server = _pair(sim)
        path = sim.paths.meshed(sim.path(client, server), client, server)
        assert path.framing is None
        for n in (0, 1024, 65_160):
            shape = path.shape(n)
            assert shape.framing_bytes == 0 and shape.unframed is None
            assert shape.wire_bytes == path.seg.wire_bytes(n)
