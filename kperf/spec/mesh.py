"""The cluster's service mesh data plane (``ClusterSpec.mesh``), issue 21.

```yaml
mesh:
  mode: istio-sidecar   # none | istio-sidecar | istio-ambient | linkerd | cilium-mesh
  mtls: true            # mutual TLS between the proxies (default true)
  proxy_workers: 2      # worker threads per proxy (default: the mode's, kperf list mesh)
  waypoint: false       # istio-ambient only: an L7 waypoint proxy per server deployment
  l7: false             # cilium-mesh only: L7 through the node's Envoy (cilium-envoy)
  l7_node: client       # cilium-mesh, l7: the client's node's Envoy, or the server's
  waypoint_node: server # istio-ambient, waypoint: its pod's node (server | client | node-N)
  upstream_protocol: http2   # between proxies: http1 | http2 (default: the mode's)
```

``cilium-mesh`` needs a Cilium CNI (``cni: cilium-*``), and with ``mtls: true`` an
encrypting one (``cilium-wireguard``, ``cilium-ipsec``): ClusterSpec checks both.

A deployment opts out with ``mesh: false`` (its pods get no sidecar, or are not
enrolled in ambient mode): what ``sidecar.istio.io/inject: "false"`` or
``istio.io/dataplane-mode: none`` (Linkerd: ``linkerd.io/inject: disabled``) say.
The costs are in :mod:`kperf.profiles.mesh`, the hops in :mod:`kperf.datapath.mesh`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from kperf.profiles.mesh import DEFAULT_ISTIO_RELEASE, ISTIO_RELEASES
from kperf.spec.base import FieldProblem, StrictModel, at_most

MeshMode = Literal["none", "istio-sidecar", "istio-ambient", "linkerd", "cilium-mesh"]

MAX_PROXY_WORKERS = 256


def waypoint_node_index(value: str) -> int | None:
    """The 0-based node index ``node-N`` names (None for anything else)."""
    head, _sep, tail = value.partition("-")
    if head == "node" and tail.isdigit() and int(tail) >= 1:
        return int(tail) - 1
    return None


class MeshSpec(StrictModel):
    """A service mesh data plane; ``mode: none`` (the default) is no mesh at all."""

    mode: MeshMode = "none"
    mtls: bool = Field(True, description="mutual TLS between proxies")
    proxy_workers: Annotated[int | None, at_most(MAX_PROXY_WORKERS, "workers")] = Field(
        None, ge=1, description="worker threads per proxy (default: the mode's)")
    waypoint: bool = Field(
        False, description="istio-ambient: an L7 waypoint proxy in front of each server")
    l7: bool = Field(
        False, description="cilium-mesh: L7 policy / load balancing through the node's Envoy")
    l7_node: Literal["client", "server"] = Field(
        "client", description="cilium-mesh, l7: the Envoy of the client's node (L7 load "
        "balancing, egress policy) or of the server's (ingress L7 policy)")
    istio_release: str = Field(
        DEFAULT_ISTIO_RELEASE, description="istio-sidecar / istio-ambient: the Istio release "
        "whose published proxy CPU figure the sidecar carries (kperf list mesh -v); "
        "istio-ambient needs a release whose page gives ztunnel figures (1.24)")

    @field_validator("istio_release", mode="before")
    @classmethod
    def _release(cls, v: Any) -> Any:
        if not isinstance(v, str):
            # YAML reads 1.20 as the number 1.2: a release must be quoted
            raise ValueError(f"allowed: a quoted release, one of {', '.join(ISTIO_RELEASES)} "
                             f"(YAML reads an unquoted 1.20 as the number 1.2)")
        if v not in ISTIO_RELEASES:
            raise ValueError(f"allowed: {', '.join(ISTIO_RELEASES)}")
        return v

    waypoint_node: str = Field(
        "server", description="istio-ambient, waypoint: where the waypoint's pod runs: "
        "server (the server pod's node), client (the client pod's node) or node-N")

    @field_validator("waypoint_node")
    @classmethod
    def _waypoint_node(cls, v: str) -> str:
        if v in ("server", "client") or waypoint_node_index(v) is not None:
            return v
        raise ValueError("allowed: server, client or node-N (N >= 1)")

    upstream_protocol: Literal["http1", "http2"] | None = Field(
        None, description="protocol of the proxies' pooled upstream connections: http1 (one "
        "request in flight per connection) or http2 (one connection multiplexes them); "
        "default: the mode's (istio-sidecar and cilium-mesh http1, linkerd and istio-ambient "
        "http2)")

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> Any:
        # fields added after the first slice's run ids: left out unless the input sets
        # them (as ClusterSpec's late fields), so meshed experiments keep their run ids
        data = handler(self)
        if isinstance(data, dict):
            for key in ("l7", "l7_node", "waypoint_node", "istio_release",
                        "upstream_protocol"):
                if key not in self.model_fields_set:
                    data.pop(key, None)
        return data

    @model_validator(mode="after")
    def _waypoint(self) -> MeshSpec:
        if self.waypoint and self.mode != "istio-ambient":
            raise FieldProblem("waypoint", True,
                               f"allowed: true only with mode: istio-ambient (mode is "
                               f"{self.mode})")
        if "l7_node" in self.model_fields_set and not self.l7:
            raise FieldProblem("l7_node", self.l7_node,
                               "allowed: only with l7: true (mode cilium-mesh)")
        if "waypoint_node" in self.model_fields_set and not self.waypoint:
            raise FieldProblem("waypoint_node", self.waypoint_node,
                               "allowed: only with waypoint: true (mode istio-ambient)")
        if self.upstream_protocol is not None:
            if self.mode == "none":
                raise FieldProblem("upstream_protocol", self.upstream_protocol,
                                   "allowed: only with a mesh mode (mode is none)")
            if self.mode == "istio-ambient" and self.upstream_protocol != "http2":
                raise FieldProblem("upstream_protocol", self.upstream_protocol,
                                   "allowed: http2 only with mode istio-ambient (HBONE is "
                                   "HTTP/2 CONNECT)")
            if self.mode == "cilium-mesh" and not self.l7:
                raise FieldProblem("upstream_protocol", self.upstream_protocol,
                                   "allowed: only with l7: true in mode cilium-mesh (no "
                                   "proxy at L4)")
        if self.l7 and self.mode != "cilium-mesh":
            raise FieldProblem("l7", True,
                               f"allowed: true only with mode: cilium-mesh (mode is "
                               f"{self.mode})")
        if "istio_release" in self.model_fields_set:
            if self.mode not in ("istio-sidecar", "istio-ambient"):
                raise FieldProblem("istio_release", self.istio_release,
                                   f"allowed: only with mode istio-sidecar or istio-ambient "
                                   f"(mode is {self.mode})")
            if self.mode == "istio-ambient" and not ISTIO_RELEASES[self.istio_release].ambient:
                ambient = ", ".join(r for r, x in ISTIO_RELEASES.items() if x.ambient)
                raise FieldProblem("istio_release", self.istio_release,
                                   f"allowed with mode istio-ambient: {ambient} (no ztunnel "
                                   f"or waypoint figure is published for older releases)")
        return self

    @property
    def enabled(self) -> bool:
        return self.mode != "none"
