"""Every shipped experiment (experiments/*.yaml) validates and expands, and says
what question it answers in a leading comment."""

from __future__ import annotations

from pathlib import Path

import pytest

from kperf.experiments.expand import expand
from kperf.spec.experiment import ExperimentSpec

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
FILES = sorted(EXPERIMENTS.glob("*.yaml"))
REQUIRED = {
    "default", "cluster_scaling", "kube_proxy_scaling", "mtu_overhead", "encryption",
    "rolling_update", "ip_conflict",
}


def test_the_required_experiments_exist() -> None:
    assert {f.stem for f in FILES} >= REQUIRED


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_experiment_file_validates_and_expands(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), "an experiment file starts with a comment"
    assert "question" in text.split("\nname:")[0].lower(), "the comment says what it answers"
    spec = ExperimentSpec.load(path)
    assert spec.name == path.stem
    runs = expand(spec)
    assert len(runs) == spec.replications * max(1, _product(spec))
    assert len({r.run_id for r in runs}) == len(runs)


def _product(spec: ExperimentSpec) -> int:
    n = 1
    for values in spec.sweep.values():
        n *= len(values)
    return n


def test_default_is_a_compact_cni_comparison() -> None:
    spec = ExperimentSpec.load(EXPERIMENTS / "default.yaml")
    assert len(spec.sweep["cluster.cni"]) >= 4
    runs = expand(spec)
    assert {w.kind for r in runs for w in r.workloads} == {"rr", "stream"}
    assert {d.name for d in spec.cluster.deployments} >= {"client", "server"}
    assert [s.name for s in spec.cluster.services] == ["server"]
    assert len(runs) <= 64
    # each configuration also runs on the host network: the report's baseline
    assert spec.sweep["workload.network"] == ["pod", "host"]
    assert spec.baseline == {"workload.network": "host"}


def test_cluster_scaling_reaches_1000_nodes() -> None:
    spec = ExperimentSpec.load(EXPERIMENTS / "cluster_scaling.yaml")
    nodes = spec.sweep["cluster.nodes"]
    assert min(nodes) == 2 and max(nodes) == 1000
