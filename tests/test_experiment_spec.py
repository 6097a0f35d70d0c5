"""Experiment spec and sweep expansion: product order, dotted paths, list items,
testbed overrides, errors naming the path, seeds and run ids."""

from __future__ import annotations

from typing import Any

import pytest

from kperf.errors import SpecError
from kperf.experiments.expand import (
    expand,
    models_from_spec,
    resolved_spec,
    run_id_of,
    run_seed,
)
from kperf.spec.experiment import ExperimentSpec


def base(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "t",
        "seed": 1,
        "testbed": "10g-xeon-2015",
        "cluster": {
            "nodes": 2,
            "deployments": [{"name": "client"}, {"name": "server", "replicas": 2}],
            "services": [{"name": "server", "selector": {"app": "server"}}],
        },
        "workload": {"kind": "rr", "target": "server"},
    }
    data.update(extra)
    return data


def spec(**extra: Any) -> ExperimentSpec:
    return ExperimentSpec.from_data(base(**extra))


def err(**extra: Any) -> SpecError:
    with pytest.raises(SpecError) as info:
        spec(**extra)
    return info.value


def test_no_sweep_is_one_configuration_per_replication() -> None:
    runs = expand(spec(replications=3))
    assert [(r.config_index, r.replication) for r in runs] == [(0, 0), (0, 1), (0, 2)]
    assert len({r.seed for r in runs}) == 3
    assert all(r.params == {} for r in runs)


def test_cartesian_product_in_sweep_order() -> None:
    runs = expand(spec(replications=2, sweep={
        "cluster.nodes": [2, 8],
        "cluster.cni": ["flannel-vxlan", "calico-bgp", "cilium-native"],
    }))
    assert len(runs) == 2 * 3 * 2
    configs = [tuple(r.params.values()) for r in runs[::2]]
    assert configs == [(2, "flannel-vxlan"), (2, "calico-bgp"), (2, "cilium-native"),
                       (8, "flannel-vxlan"), (8, "calico-bgp"), (8, "cilium-native")]
    assert [r.index for r in runs] == list(range(12))
    assert all(r.cluster.node_count == r.params["cluster.nodes"] for r in runs)
    assert all(r.cluster.cni == r.params["cluster.cni"] for r in runs)
    assert list(runs[0].params) == ["cluster.nodes", "cluster.cni"]
    assert runs[2].label == "cluster.nodes=2 cluster.cni=calico-bgp"


def test_testbed_field_over_a_named_testbed() -> None:
    runs = expand(spec(sweep={"testbed.nic_rate_gbps": [1, 25.0], "testbed.mtu_bytes": [9000]}))
    assert [r.testbed.nic_rate_gbps for r in runs] == [1, 25.0]
    assert all(r.testbed.mtu_bytes == 9000 for r in runs)
    assert all(r.testbed.name == "10g-xeon-2015" for r in runs)  # the base's other values
    named = spec().resolved_testbed
    assert runs[0].testbed.cores_per_node == named.cores_per_node


def test_testbed_names_and_fields_swept_together() -> None:
    runs = expand(spec(sweep={"testbed.mtu_bytes": [1500], "testbed": ["40g-xl710-2024",
                                                                         "100g-ryzen-2021"]}))
    assert [r.testbed.name for r in runs] == ["40g-xl710-2024", "100g-ryzen-2021"]
    assert all(r.testbed.mtu_bytes == 1500 for r in runs)


def test_testbed_mapping_with_base() -> None:
    s = spec(testbed={"base": "40g-xl710-2024", "cores_per_node": 2})
    assert s.resolved_testbed.cores_per_node == 2
    assert s.resolved_testbed.name == "40g-xl710-2024"
    custom = spec(testbed={"nic_rate_gbps": 3}).resolved_testbed
    assert custom.nic_rate_gbps == 3 and custom.name == "custom"


def test_single_workload_and_list_items() -> None:
    one = expand(spec(sweep={"workload.rate_per_s": [100.0, 200.0]}))
    assert [r.workloads[0].rate_per_s for r in one] == [100.0, 200.0]
    many = expand(spec(
        workload=[{"kind": "rr", "target": "server"}, {"kind": "stream", "target": "server"}],
        sweep={"workload.1.streams": [1, 4], "workload.0.request_bytes": [64]},
    ))
    assert [r.workloads[1].streams for r in many] == [1, 4]
    assert all(r.workloads[0].request_bytes == 64 and r.workloads[0].kind == "rr" for r in many)


def test_nested_list_item_and_default_field() -> None:
    runs = expand(spec(sweep={"cluster.deployments.1.replicas": [1, 3],
                              "cluster.pod_mtu_bytes": [1400]}))
    assert [r.cluster.deployments[1].replicas for r in runs] == [1, 3]
    assert all(r.cluster.pod_mtu_bytes == 1400 for r in runs)  # not in the file: a default


def test_override_rederives_dependent_defaults() -> None:
    runs = expand(spec(sweep={"cluster.deployments.0.name": ["front"]}))
    assert runs[0].cluster.deployments[0].labels == {"app": "front"}


@pytest.mark.parametrize(
    ("sweep", "path", "needle"),
    [
        ({"cluster.nodez": [2]}, "sweep.cluster.nodez", "cluster has no 'nodez'"),
        ({"testbed.nic_rate": [2]}, "sweep.testbed.nic_rate", "testbed has no 'nic_rate'"),
        ({"workload.0.rate_per_s": [1.0]}, "sweep.workload.0.rate_per_s", "single mapping"),
        ({"cluster.deployments.5.replicas": [1]}, "sweep.cluster.deployments.5.replicas",
         "has 2 items"),
        ({"seed": [1, 2]}, "sweep.seed", "dotted keys under testbed, cluster, workload"),
        ({"cluster.nodes.x": [1]}, "sweep.cluster.nodes.x", "is a value"),
        ({"cluster.nodes": []}, "sweep.cluster.nodes", "non-empty list"),
        ({"cluster.nodes": [2, 2]}, "sweep.cluster.nodes", "distinct"),
        ({"cluster.nodes": 4}, "sweep.cluster.nodes", "list"),
    ],
)
def test_bad_sweep_key_names_it(sweep: dict[str, Any], path: str, needle: str) -> None:
    e = err(sweep=sweep)
    assert e.path == path
    assert needle in str(e)


def test_a_field_left_out_of_the_dump_can_be_swept() -> None:
    """Late fields stay out of a spec's dump (and its run ids) unless set, e.g.
    cluster.mesh.upstream_protocol; a sweep may still set them, each run's spec then
    carries the value (so its run id differs), and a bad value or a misspelt key is
    still named."""
    meshed = base()
    meshed["cluster"]["mesh"] = {"mode": "istio-sidecar"}
    s = ExperimentSpec.from_data({**meshed, "sweep": {
        "cluster.mesh.upstream_protocol": ["http1", "http2"]}})
    runs = expand(s)
    assert [r.cluster.mesh.upstream_protocol for r in runs] == ["http1", "http2"]
    assert len({r.run_id for r in runs}) == 2
    for sweep, needle in (({"cluster.mesh.upstream_protocol": ["http3"]}, "'http1' or 'http2'"),
                          ({"cluster.mesh.upstream_protcol": ["http2"]}, "has no")):
        with pytest.raises(SpecError) as info:
            ExperimentSpec.from_data({**meshed, "sweep": sweep})
        assert info.value.path == f"sweep.{next(iter(sweep))}", info.value
        assert needle in str(info.value)


@pytest.mark.parametrize(
    ("sweep", "path", "value", "needle"),
    [
        ({"cluster.cni": ["flannel-vxlan", "flanel"]}, "sweep.cluster.cni", "flanel",
         "calico-bgp"),
        ({"cluster.nodes": [2, 0]}, "sweep.cluster.nodes", 0, ">= 1"),
        ({"cluster.nodes": [1000]}, "sweep.cluster.nodes", 1000, "cluster.node_cidr"),
        ({"testbed.mtu_bytes": [9000, 100]}, "sweep.testbed.mtu_bytes", 100, "576"),
        ({"testbed": ["nope"]}, "sweep.testbed", "nope", "10g-xeon-2015"),
        ({"workload.rate_per_s": [-1]}, "sweep.workload.rate_per_s", -1, "greater than 0"),
        ({"workload.kind": ["rr", "zz"]}, "sweep.workload.kind", "zz", "callgraph"),
    ],
)
def test_bad_swept_value_names_key_and_value(
    sweep: dict[str, Any], path: str, value: Any, needle: str
) -> None:
    e = err(sweep=sweep)
    assert (e.path, e.value) == (path, value)
    assert needle in str(e)
    assert "\n" not in str(e)


def test_invalid_combination_is_an_error_before_running() -> None:
    # Each value is valid with the base (2 nodes, /25 ranges of a /23: 4 ranges), but
    # 4 nodes with /24 ranges need 4 ranges and a /23 holds 2.
    bad = spec(cluster={"nodes": 2, "pod_cidr": "10.244.0.0/23", "node_pod_prefix": 25},
               sweep={"cluster.nodes": [2, 4], "cluster.node_pod_prefix": [25, 24]})
    with pytest.raises(SpecError) as info:
        expand(bad)
    assert info.value.path == "sweep"
    assert info.value.value == {"cluster.nodes": 4, "cluster.node_pod_prefix": 24}
    assert "pod_cidr" in str(info.value)


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"workload": [{"kind": "rr"}, {"kind": "rr", "rate_per_s": 0}]}, "workload.1.rate_per_s"),
        ({"workload": {"kind": "zz"}}, "workload.kind"),
        ({"workload": [{"kind": "rr"}, {"target": "x"}]}, "workload.1.kind"),
        ({"workload": []}, "workload"),
        ({"testbed": "nope"}, "testbed"),
        ({"testbed": {"base": "nope"}}, "testbed.base"),
        ({"testbed": {"base": "10g-xeon-2015", "mtu": 1}}, "testbed.mtu"),
        ({"replications": 0}, "replications"),
        ({"seed": -1}, "seed"),
        ({"name": "a/b"}, "name"),
        ({"cluster": {"cni": "x"}}, "cluster.cni"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_validation_errors_name_the_dotted_path(extra: dict[str, Any], path: str) -> None:
    assert err(**extra).path == path


def test_seeds_depend_on_configuration_not_position() -> None:
    small = expand(spec(replications=2, sweep={"cluster.nodes": [2, 8]}))
    bigger = expand(spec(replications=2, sweep={"cluster.nodes": [1, 2, 4, 8]}))
    ids = {r.run_id: r.seed for r in bigger}
    # extending the sweep keeps the runs already computed (same seeds, same ids)
    assert all(ids.get(r.run_id) == r.seed for r in small)
    assert len({r.seed for r in bigger}) == len(bigger)
    # the experiment seed changes every run seed
    other = expand(spec(seed=2, replications=2, sweep={"cluster.nodes": [2, 8]}))
    assert not {r.seed for r in other} & {r.seed for r in small}
    assert run_seed(1, {"a": 1, "b": 2}, 0) == run_seed(1, {"b": 2, "a": 1}, 0)
    assert 0 <= run_seed(1, {}, 0) < 2**63


def test_run_id_is_a_stable_hash_of_the_resolved_spec() -> None:
    a = expand(spec(sweep={"cluster.nodes": [2, 8]}))
    b = expand(spec(sweep={"cluster.nodes": [2, 8]}))
    assert [r.run_id for r in a] == [r.run_id for r in b]
    assert len(a[0].run_id) == 16 and int(a[0].run_id, 16) >= 0
    for run in a:
        testbed, cluster, workloads, seed = models_from_spec(run.spec)
        assert seed == run.seed
        assert run_id_of(resolved_spec(testbed, cluster, workloads, seed)) == run.run_id
    # a change anywhere in the inputs is a different run
    c = expand(spec(workload={"kind": "rr", "target": "server", "duration_s": 0.1},
                    sweep={"cluster.nodes": [2, 8]}))
    assert not {r.run_id for r in c} & {r.run_id for r in a}


def test_experiment_from_python_models() -> None:
    from kperf.spec.cluster import ClusterSpec
    from kperf.spec.workload import RrWorkload

    s = ExperimentSpec(name="py", cluster=ClusterSpec(nodes=3), workload=RrWorkload(),
                       sweep={"workload.outstanding": [1, 2]})
    runs = expand(s)
    assert [r.workloads[0].outstanding for r in runs] == [1, 2]
    assert runs[0].cluster.node_count == 3
