"""The cluster's service mesh data plane (``ClusterSpec.mesh``), issue 21.

```yaml
mesh:
  mode: istio-sidecar   # none | istio-sidecar | istio-ambient | linkerd | cilium-mesh
  mtls: true            # mutual TLS between the proxies (default true)
  proxy_workers: 2      # worker threads per proxy (default: the mode's, kperf list mesh)
  waypoint: false       # istio-ambient only: an L7 waypoint proxy per server deployment
  l7: false             # cilium-mesh only: L7 through the node's Envoy (cilium-envoy)
  l7_node: client       # cilium-mesh, l7: the client's node's Envoy, or the server's
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

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from kperf.spec.base import FieldProblem, StrictModel, at_most

MeshMode = Literal["none", "istio-sidecar", "istio-ambient", "linkerd", "cilium-mesh"]

MAX_PROXY_WORKERS = 256


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
            for key in ("l7", "l7_node", "upstream_protocol"):
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
        return self

    @property
    def enabled(self) -> bool:
        return self.mode != "none"
