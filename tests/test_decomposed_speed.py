"""The decomposed method's traffic step takes shortcuts for speed (issue 22); each must
give exactly what the longer way gives: the pod network's hops built once per node and
shared by every path (:class:`kperf.datapath.builder.PathTable`), a connection's servers
found without the engine's route cache (``_Builder.route``), and a resource's service
moments without ``np.mean`` (``Resource.moments``)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from kperf.cluster import Cluster
from kperf.datapath.path import CpuHop, WireHop
from kperf.engine.sim import Simulation
from kperf.profiles import get_testbed
from kperf.spec.cluster import ClusterSpec
from kperf.spec.workload import Distribution
from kperf.workloads.decomposed.traffic import Resource, _Builder


def _sim(cni: str, racks: int) -> Simulation:
    spec = ClusterSpec.model_validate({"nodes": 6, "cni": cni,
                                       "deployments": [{"name": "a", "replicas": 9}]})
    testbed = get_testbed("10g-xeon-2015")
    if racks > 1:
        testbed = testbed.model_copy(update={"racks": racks, "oversubscription": 4.0})
    return Simulation(Cluster.build(spec), testbed, seed=11)


def _ends(sim: Simulation) -> list[object]:
    return [*sim.cluster.pods, *range(len(sim.cluster.nodes))]


@pytest.mark.parametrize("cni,racks", [("calico-bgp", 1), ("flannel-vxlan", 2)])
def test_shared_hops_are_each_paths_own(cni: str, racks: int) -> None:
    """Every cross-node path's hops name its own nodes (and racks), its NIC pushes back
    for TCP only; two paths from one node share the sending node's hop objects."""
    sim = _sim(cni, racks)
    table = sim.paths
    first_tx: dict[tuple[int, bool, bool, bool], CpuHop] = {}
    checked = 0
    for src in _ends(sim):
        for dst in _ends(sim):
            for udp in (False, True):
                path = table.path(src, dst, udp)
                if path.kind == "loopback" or path.unreachable:
                    continue
                sn, dn, hops = path.src_node, path.dst_node, path.hops
                tx, rx = hops[0], hops[-1]
                assert isinstance(tx, CpuHop) and isinstance(rx, CpuHop)
                assert (tx.resource, tx.rx, rx.resource, rx.rx) == (("cpu", sn), False,
                                                                  ("cpu", dn), True)
                assert tx.name == f"node-{sn + 1} tx core"
                assert rx.name == f"node-{dn + 1} rx core"
                if path.kind == "same-node":
                    assert len(hops) == 2
                    continue
                nic, port = hops[1], hops[-2]
                assert isinstance(nic, WireHop) and isinstance(port, WireHop)
                assert (nic.resource, nic.backpressure) == (("nic", sn), not udp)
                assert port.resource == ("port", dn)
                cross_rack = table.rack_of(sn) != table.rack_of(dn)
                assert len(hops) == (6 if cross_rack else 4)
                if cross_rack:
                    assert hops[2].resource == ("uplink", table.rack_of(sn))
                    assert hops[3].resource == ("spine", table.rack_of(dn))
                key = (sn, path.overlay, src.__class__ is int, udp)
                assert first_tx.setdefault(key, tx) is tx  # shared, not rebuilt
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("cni,racks", [("calico-bgp", 1), ("flannel-vxlan", 2)])
def test_builder_route_is_the_engines_route(cni: str, racks: int) -> None:
    """``_Builder.route`` finds the servers the engine's ``Transit.route`` gives every
    flow (RSS cores per flow id), hop runs on one server counted once."""
    sim = _sim(cni, racks)
    none = Distribution(mean=0)
    builder = _Builder(sim, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64),
                       (none, none))
    ends = _ends(sim)
    fid = 0
    for src in ends[::2]:
        for dst in ends[1::2]:
            path = sim.path(src, dst)
            if path.unreachable:
                continue
            for _ in range(8):
                fid += 97
                passes, runs = builder.route(path, fid)
                servers = sim.transit.route(path, fid).servers
                ids = [builder._by_server[id(s)] for s in servers]
                # consecutive hops on one server are one passage
                runs_of = [(r, len(list(g))) for r, g in itertools.groupby(ids)]
                assert list(zip(passes, runs, strict=True)) == runs_of
                assert [builder.resources[r].name for r in passes] == [
                    s.name for s in dict.fromkeys(servers)]
    assert fid > 0


def test_moments_are_np_means_bit_for_bit() -> None:
    """Resource.moments: the rate-weighted np.mean of each class's sample and of its
    square, to the last bit (column views of a table, an array shared by classes)."""
    rng = np.random.default_rng(3)
    table = rng.lognormal(-12.0, 1.2, (1024, 5))
    app = rng.exponential(6e-5, 8192)
    res = Resource("core", "cpu", 0)
    res.classes = [(1234.5, table[:, 0]), (0.75, table[:, 3]), (88.0, app),
                   (3.0, table[::3, 4]), (5.0, np.full(1, 2e-6)), (7.25, app)]
    lam = sum(r for r, _ in res.classes)
    m1 = sum(r * float(s.mean()) for r, s in res.classes) / lam
    m2 = sum(r * float(np.mean(s * s)) for r, s in res.classes) / lam
    assert res.moments() == (m1, m2)
    assert res.utilisation == res.rate_per_s * m1


def test_owned_sample_means_are_not_taken_for_another_arrays() -> None:
    """An array that owns its data is reduced once; a new array is not taken for a
    dead one whose id it got, and a changed rate set still gives np.mean's bits."""
    for seed in range(20):
        sample = np.random.default_rng(seed).exponential(1e-5, 100 + seed)
        first = Resource.sample_means(sample)
        assert first == (float(sample.mean()), float(np.mean(sample * sample)))
        assert Resource.sample_means(sample) == first
        del sample  # the next array may get its id
    assert "_owned_means" not in {f.name for f in dataclasses.fields(Resource)}
