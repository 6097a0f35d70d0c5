"""The cluster's service mesh data plane (``ClusterSpec.mesh``), issue 21.

```yaml
mesh:
  mode: istio-sidecar   # none | istio-sidecar | istio-ambient | linkerd | cilium-mesh
  mtls: true            # mutual TLS between the proxies (default true)
  proxy_workers: 2      # worker threads per proxy (default: the mode's, kperf list mesh)
  waypoint: false       # istio-ambient only: an L7 waypoint proxy per server deployment
  l7: false             # cilium-mesh only: L7 through the node's Envoy (cilium-envoy)
```

``cilium-mesh`` needs a Cilium CNI (``cni: cilium-*``), and with ``mtls: true`` an
encrypting one (``cilium-wireguard``, ``cilium-ipsec``): ClusterSpec checks both.

A deployment opts out with ``mesh: false`` (its pods get no sidecar, or are not
enrolled in ambient mode): what ``sidecar.istio.io/inject: "false"`` or
``istio.io/dataplane-mode: none`` (Linkerd: ``linkerd.io/inject: disabled``) say.
The costs are in :mod:`kperf.profiles.mesh`, the hops in :mod:`kperf.datapath.mesh`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

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

    @model_validator(mode="after")
    def _waypoint(self) -> MeshSpec:
        if self.waypoint and self.mode != "istio-ambient":
            raise FieldProblem("waypoint", True,
                               f"allowed: true only with mode: istio-ambient (mode is "
                               f"{self.mode})")
        if self.l7 and self.mode != "cilium-mesh":
            raise FieldProblem("l7", True,
                               f"allowed: true only with mode: cilium-mesh (mode is "
                               f"{self.mode})")
        return self

    @property
    def enabled(self) -> bool:
        return self.mode != "none"
