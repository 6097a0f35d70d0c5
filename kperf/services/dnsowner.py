"""What cluster DNS calls on the service layer that owns it (typing only).

:class:`~kperf.services.layer.ServiceLayer` creates its
:class:`~kperf.services.dns.DnsSystem` and hands it ``self``: DNS queries go through
the layer's Services, conntrack and counters. ``layer`` imports ``dns``; for ``dns``
to name the layer's type without importing ``layer`` back, it types its owner with
:class:`DnsOwner`, the members it uses. ``ServiceLayer`` has them (mypy checks it
where the layer passes itself in). A new member DNS needs is added here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from kperf.engine.sim import Simulation
    from kperf.services.churn import EndpointViews


class DnsConnection(Protocol):
    """The parts of a :class:`~kperf.services.layer.Connection` a DNS query reads."""

    @property
    def backend(self) -> Any | None: ...

    @property
    def extra_first_s(self) -> float: ...


class DnsOwner(Protocol):
    """The members of :class:`~kperf.services.layer.ServiceLayer` that DNS uses."""

    @property
    def sim(self) -> Simulation: ...

    @property
    def cluster(self) -> Any: ...

    @property
    def rng(self) -> np.random.Generator: ...

    @property
    def counters(self) -> dict[str, int]: ...

    @property
    def views(self) -> EndpointViews: ...

    def pod(self, uid: int) -> Any: ...

    def add_synthetic_pod(self, pod: Any) -> None: ...

    def connect_udp(self, client: Any, service: Any, *, client_port: int = 0
                    ) -> DnsConnection: ...

    def established_extra_s(self, service: Any) -> float: ...
