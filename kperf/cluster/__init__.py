"""Layer 3 (cluster): a concrete cluster built from a spec.

Addressing and IPAM (:mod:`~kperf.cluster.ipam`), pod placement
(:mod:`~kperf.cluster.placement`), Services and endpoints, the network-model
conformance check (:mod:`~kperf.cluster.conformance`), per-node data-plane state
(:mod:`~kperf.cluster.dataplane`) and import of a real cluster
(:mod:`~kperf.cluster.importer`). The one-line helper::

    from kperf.cluster import Cluster
    c = Cluster.build(nodes=8, cni="calico-bgp")

This package imports only ``kperf.errors``, ``kperf.gctools``, ``kperf.profiles`` and
``kperf.spec``. ``build`` imports ``conformance``, ``dataplane`` and ``tables`` (for
``Cluster.conformance()``...); they see the cluster as a
:class:`~kperf.cluster.view.ClusterView`, so none of them imports ``build`` back.
"""

from kperf.cluster.addr import ip_int, ip_str
from kperf.cluster.build import Cluster, Route
from kperf.cluster.conformance import ConformanceReport
from kperf.cluster.ipam import IPAM_STYLES, Ipam
from kperf.cluster.records import Node, Pod, Service

__all__ = [
    "IPAM_STYLES",
    "Cluster",
    "ConformanceReport",
    "Ipam",
    "Node",
    "Pod",
    "Route",
    "Service",
    "ip_int",
    "ip_str",
]
