"""Host-network pods as clients and targets (#19 item 8): ``workload.network: host``
runs the workload's client and target deployments with ``hostNetwork``, so the same
configuration with and without the CNI is one sweep value apart, and the report's
baseline can be the host network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kperf.cluster import Cluster
from kperf.errors import SpecError
from kperf.experiments.expand import expand
from kperf.profiles import get_testbed
from kperf.spec import ClusterSpec, parse
from kperf.spec.cluster import with_host_network
from kperf.spec.experiment import ExperimentSpec
from kperf.spec.workload import RrWorkload
from kperf.workloads.simulate import simulate
from tests.helpers import two_node_spec

DEFAULT = Path(__file__).resolve().parent.parent / "experiments" / "default.yaml"


def _cluster(cni: str = "flannel-vxlan") -> ClusterSpec:
    data = two_node_spec(cni)
    data["deployments"].append({"name": "other", "replicas": 1})
    return parse(ClusterSpec, data)


def test_host_network_marks_the_clients_and_the_targets_deployments() -> None:
    spec = _cluster()
    assert with_host_network(spec, [RrWorkload()]) is spec  # nothing asked, same spec
    host = with_host_network(spec, [RrWorkload(network="host")])
    flags = {d.name: d.host_network for d in host.deployments}
    assert flags == {"client": True, "server": True, "other": False}
    via_service = with_host_network(spec, [RrWorkload(network="host", target="svc/server")])
    assert {d.name for d in via_service.deployments if d.host_network} == {"client", "server"}
    built = Cluster.build(host)
    nodes = {n.index: n.ip for n in built.nodes}
    for pod in built.pods:
        if pod.deployment in ("client", "server"):
            assert pod.ip == nodes[pod.node]  # the node's IP: no pod range, no CNI


@pytest.mark.parametrize("cni", ["flannel-vxlan", "calico-bgp", "cilium-native"])
def test_host_network_latency_is_the_same_whatever_the_cni(cni: str) -> None:
    """On the host network no CNI stage is on the path: every CNI gives the host's
    latency, and through the CNI it is higher."""
    tb = get_testbed("10g-xeon-2015")
    wl = {"requests": 200, "duration_s": 1.0}
    host = simulate(tb, _cluster(cni), [RrWorkload(network="host", **wl)], seed=1).summary
    ref = simulate(tb, _cluster("calico-bgp"), [RrWorkload(network="host", **wl)],
                   seed=1).summary
    pod = simulate(tb, _cluster(cni), [RrWorkload(**wl)], seed=1).summary
    assert host["latency_p50_us"] == pytest.approx(ref["latency_p50_us"], rel=1e-12)
    assert pod["latency_p50_us"] > host["latency_p50_us"] * 1.05


def test_bad_host_network_requests_are_one_line_errors() -> None:
    with pytest.raises(SpecError) as err:
        simulate(get_testbed("10g-xeon-2015"), _cluster(),
                 [RrWorkload(network="host", clients="nobody")], seed=1)
    assert err.value.path == "workload.network" and "nobody" in str(err.value)
    built = Cluster.build(_cluster())  # built with pod networking: cannot be switched
    with pytest.raises(SpecError) as err:
        simulate(get_testbed("10g-xeon-2015"), built, [RrWorkload(network="host")], seed=1)
    assert "client, server" in str(err.value) and "host_network" in str(err.value)


def _experiment(**workload: Any) -> dict[str, Any]:
    return {"name": "hn", "testbed": "10g-xeon-2015", "cluster": two_node_spec(),
            "workload": {"kind": "rr", **workload}}


def test_experiment_checks_network_host_before_running() -> None:
    with pytest.raises(SpecError) as err:
        ExperimentSpec.from_data(_experiment(network="host", target="svc/nothing"))
    assert err.value.path.endswith("network")
    spec = ExperimentSpec.from_data({**_experiment(network="pod"),
                                        "sweep": {"workload.network": ["pod", "host"]},
                                        "baseline": {"workload.network": "host"}})
    runs = expand(spec)
    assert [r.workloads[0].network for r in runs] == ["pod", "host"]
    assert [r.params for r in runs] == [{"workload.network": "pod"},
                                        {"workload.network": "host"}]


def test_files_without_network_keep_their_run_ids() -> None:
    """network is dumped only when set: a file that does not name it hashes as before."""
    plain = expand(ExperimentSpec.from_data(_experiment()))
    with_default = expand(ExperimentSpec.from_data(_experiment(network="pod")))
    assert plain[0].run_id != with_default[0].run_id  # set: part of the run's identity
    again = expand(ExperimentSpec.from_data(_experiment()))
    assert plain[0].run_id == again[0].run_id
    assert "network" not in str(plain[0].spec["workloads"])
