"""An Istio ambient waypoint as a pod of its own, on a node of its own (issue 21).

Istio deploys a waypoint as a Deployment (a Kubernetes Gateway of class
``istio-waypoint``, per namespace or service account: istio.io "Configure waypoint
proxies"), so the scheduler places its pod on any node; ``mesh.waypoint_node`` says
which: ``server`` (the server pod's node, the default: the first slice's placement,
so existing results keep their numbers), ``client`` (the client pod's node) or
``node-N``.

When the waypoint's node is not the server's, a message between two meshed pods
crosses two network legs (:func:`waypoint_path`), each the pod network's path between
the two nodes (:meth:`kperf.datapath.builder.PathTable.pod_leg`: the CNI's stages,
overlay, NICs, switch ports, as for any pod pair), the waypoint in between:

* request: client pod, loopback crossing, client node's ztunnel, leg to the waypoint's
  node, the waypoint, leg to the server's node, server node's ztunnel, loopback
  crossing, server pod;
* response: the same backwards (the waypoint is an Envoy that terminates the client's
  HBONE connection and opens its own to the destination, so the response returns
  through it: the waypoint's ``connect_terminate`` listener ends the TLS session, its
  ``connect_originate`` cluster starts a new one, istio/istio architecture/ambient).

The waypoint node's ztunnel is not crossed: "waypoints exclusively receive HBONE
requests" (istio.io ambient architecture, "Waypoint routing"), on their own port
15008; the waypoint speaks HBONE itself, in and out. Both legs carry the mesh's
framing (HBONE: HTTP/2 DATA frames in TLS records, :mod:`kperf.datapath.framing`).
The waypoint's CPU is its node's (``cpu:waypoint`` there).

Simplifications: a client that is not a meshed pod (an external host, an opted-out
deployment) still reaches the waypoint as in the first slice (on the server's node,
no leg of its own); a Service's kube-proxy surcharge stays on the client node's
sending core (the first leg's first hop), the waypoint picking the endpoint itself;
the path's segmentation is the legs' (both are pod-to-pod with the pod MTU; the
cross-node leg's overlay header when there is one).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from kperf.datapath.framing import Framing
from kperf.datapath.path import Hop, Path
from kperf.spec.mesh import waypoint_node_index


class LegTable(Protocol):
    """What :func:`waypoint_path` needs of the path table."""

    def pod_leg(self, src_node: int, dst_node: int) -> Path: ...


def waypoint_node(choice: str, client: Any, server: Any) -> int:
    """The node index of the waypoint serving ``server`` for ``client`` (``choice``:
    ``mesh.waypoint_node``)."""
    if choice == "client":
        return int(client.node)
    index = waypoint_node_index(choice)
    return int(server.node) if index is None else index


def waypoint_path(table: LegTable, base: Path, front: list[Hop], waypoint: Hop,
                  back: list[Hop], src_node: int, dst_node: int, wp_node: int,
                  signature: tuple[object, ...], framing: Framing | None) -> Path:
    """``front`` (the sender's loopback crossing and ztunnel), the leg from
    ``src_node`` to the waypoint's node ``wp_node``, ``waypoint``, the leg on to
    ``dst_node``, ``back`` (the receiver's ztunnel and loopback crossing)."""
    leg1 = table.pod_leg(src_node, wp_node)
    leg2 = table.pod_leg(wp_node, dst_node)
    if leg1.unreachable or leg2.unreachable:
        bad = leg1 if leg1.unreachable else leg2
        return dataclasses.replace(base, hops=(), unreachable=True,
                                   reason=f"waypoint on node {wp_node + 1}: {bad.reason}")
    hops = (*front, *leg1.hops, waypoint, *leg2.hops, *back)
    wired = [leg for leg in (leg1, leg2) if leg.kind == "cross-node"]
    seg = wired[0].seg if wired else leg1.seg
    return dataclasses.replace(
        base, hops=hops, seg=seg, overlay=leg1.overlay or leg2.overlay, framing=framing,
        signature=(*signature, "waypoint-legs", wp_node, leg1.signature, leg2.signature),
        proxy_hop=len(front))
