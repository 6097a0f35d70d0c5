"""Checks every configuration of a sweep can start, before anything runs.

Loading an experiment validates each field (types, finite numbers, bounds), each
swept value and each combination's spec (:mod:`kperf.spec.experiment`,
:func:`kperf.experiments.expand.expand`). What only a built cluster can tell is
checked here, for every configuration that is going to run, before the results
folder is created:

* the cluster builds: pods fit the nodes and their address ranges, placements name
  existing nodes, Services get ClusterIPs... (``Cluster.build``, exactly as a run
  builds it);
* every workload's ``clients`` and ``target`` (or ``backends``) name a deployment or
  ``svc/NAME`` of that cluster, and its ``locality`` can be satisfied by the
  placement (``kperf.workloads.context.check_targets``: the very functions a run
  calls to start its workloads).

A problem is one SpecError naming the field (``cluster.deployments.1.replicas``,
``workload.target``...), the value, what is allowed, and, in a sweep, the
configuration. Only ``SpecError`` counts: any other exception is left for the run
itself to record as a failure, as before.

Cost: one build per distinct cluster among the configurations, each dropped once its
workloads are checked. Configurations that differ only in testbed or workload fields
share a build, and so do those that differ only in ``cluster.proxy``: building reads
the kube-proxy mode only to look it up by name, which loading the file checked (if
that ever changes, a proxy-specific build error is caught by the run, as before). On
the shipped experiments that is at most about 0.1 s, except
``kube_proxy_scaling.yaml``: 5 builds (of clusters with up to 30,000 Services) instead
of 20, about 0.6 s, an eighth of the building its own 40 runs do (each run builds
its cluster again). Runs a folder already holds as finished are not checked again.
"""

from __future__ import annotations

from collections.abc import Iterable

from kperf.errors import SpecError
from kperf.experiments.expand import RunSpec
from kperf.spec.experiment import canonical_json

BUILD_IGNORES = ("proxy",)
"""Cluster fields that cannot change whether (or how) a cluster builds."""


def _cluster_key(run: RunSpec) -> str:
    cluster = {k: v for k, v in run.spec["cluster"].items() if k not in BUILD_IGNORES}
    return canonical_json(cluster)


def _where(run: RunSpec) -> str:
    return f" (in sweep configuration {run.label})" if run.params else ""


def check_runs(runs: Iterable[RunSpec], checked: set[str] | None = None) -> set[str]:
    """Build each distinct cluster of ``runs`` and check its workloads; raise the first
    SpecError. ``checked``: keys already checked (skipped; the new ones are added).
    Returns the set of checked keys."""
    from kperf.cluster import Cluster
    from kperf.workloads.context import check_targets

    checked = set() if checked is None else checked
    by_cluster: dict[str, dict[str, RunSpec]] = {}
    for run in runs:
        ckey = _cluster_key(run)
        wkey = canonical_json(run.spec["workloads"])
        if f"{ckey}\n{wkey}" not in checked:
            by_cluster.setdefault(ckey, {}).setdefault(wkey, run)
    for ckey, by_workloads in by_cluster.items():
        first = next(iter(by_workloads.values()))
        try:
            built = Cluster.build(first.cluster)
        except SpecError as exc:
            raise SpecError(f"cluster.{exc.path}" if exc.path else "cluster", exc.value,
                            exc.allowed + _where(first)) from None
        except Exception:  # not an input problem: the run records it as a failure
            continue
        for wkey, run in by_workloads.items():
            try:
                check_targets(built, run.workloads)
            except SpecError as exc:
                raise SpecError(exc.path, exc.value, exc.allowed + _where(run)) from None
            except Exception:
                pass
            checked.add(f"{ckey}\n{wkey}")
        del built
    return checked
