"""What the cluster's reports read from a built cluster (typing only).

:class:`~kperf.cluster.build.Cluster` offers ``conformance()``, ``dataplane_state()``,
``nodes_df()``... and so imports :mod:`~kperf.cluster.conformance`,
:mod:`~kperf.cluster.dataplane` and :mod:`~kperf.cluster.tables` (lazily: they need
numpy and pandas). Those modules take the cluster as an argument; typing it as
``Cluster`` would make them import ``build`` back. They take a :class:`ClusterView`
instead: the attributes they read, which ``Cluster`` has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kperf.cluster.ipam import Ipam
    from kperf.cluster.records import ExternalHost, Node, Pod, Service
    from kperf.profiles import CniProfile, ProxyMode
    from kperf.spec import ClusterSpec


class ClusterView(Protocol):
    """A built cluster as its reports see it (read-only)."""

    @property
    def spec(self) -> ClusterSpec: ...

    @property
    def cni(self) -> CniProfile: ...

    @property
    def proxy(self) -> ProxyMode: ...

    @property
    def ipam(self) -> str: ...

    @property
    def nodes(self) -> list[Node]: ...

    @property
    def pods(self) -> list[Pod]: ...

    @property
    def services(self) -> list[Service]: ...

    @property
    def allocator(self) -> Ipam: ...

    @property
    def external_hosts(self) -> list[ExternalHost]:
        """Hosts outside the cluster (``placement: external``): no pods, no pod IPs."""
        ...

    def pod_counts(self) -> list[int]:
        """Pods per node (host-network pods included), by node index."""
        ...
