"""``--method decomposed``: cluster-scale estimates from per-resource queue models.

Issue 22's first slice (docs/decomposed.md): instead of moving every request through
the cluster, derive each contended resource's traffic from the workload's connections
and the paths they take (:mod:`.traffic`), group resources with the same rounded load
and service-time mix (:mod:`.groups`), model one representative per group as a single
queue (:mod:`.queueing`), and combine per-hop waits along each connection's path into
end-to-end latency (:mod:`.combine`). :func:`simulate_decomposed` (:mod:`.run`) has
:func:`kperf.workloads.simulate.simulate`'s signature and returns a ``RunResult``.
"""

from kperf.workloads.decomposed.run import METHODS, simulate_decomposed
from kperf.workloads.decomposed.traffic import DecomposedUnsupported, Saturated

__all__ = ["METHODS", "DecomposedUnsupported", "Saturated", "simulate_decomposed"]
