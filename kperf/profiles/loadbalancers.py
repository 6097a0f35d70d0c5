"""Load balancers in front of ``type: LoadBalancer`` Services: what the hop costs.

A LoadBalancer Service is a NodePort Service plus something outside the cluster that
sends the Service's external address to the nodes. kperf knows two kinds of that
something, chosen per cluster (``ClusterSpec.load_balancer``):

``cloud-l4``
    A cloud provider's passthrough layer-4 load balancer in front of the nodes'
    NodePorts. A separate hop: the client's packets cross it on the way in, are spread
    over the nodes that pass its health check (one choice per connection, by a hash of
    the connection's 5-tuple), and enter the chosen node through its NIC. Modelled on
    GCP's external passthrough Network Load Balancer and the Maglev it is built on:
    software forwarders behind ECMP, each saturating a 10 Gbit/s link with small
    packets, and direct server return (responses go from the node straight to the
    client, not back through the load balancer). AWS's Network Load Balancer spreads
    and health-checks alike but its replies cross it too (a profile with
    ``direct_return: False``).
``metallb-l2``
    MetalLB in layer-2 mode on bare metal: no device at all. One node (the leader for
    the Service's address) answers ARP for it, so *every* connection enters the
    cluster at that node, and kube-proxy spreads it from there
    (``externalTrafficPolicy: Cluster``) or serves it from that node's own endpoints
    (``Local``; MetalLB then elects the leader among nodes with a ready endpoint).
    Its capacity is one node's NIC.

Health checks (both): with ``externalTrafficPolicy: Local`` the load balancer probes
each node's ``healthCheckNodePort``, which kube-proxy answers with 200 only when the
node has a ready local endpoint; nodes without one receive nothing. With ``Cluster``
every node with a running kube-proxy passes. When no node passes, a cloud load
balancer *fails open* and sends to all of them (where kube-proxy then drops the
traffic); MetalLB withdraws the address.

Every number has a ``source``; ``estimated`` marks those no measurement gives.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kperf.profiles.base import _Frozen

_MAGLEV = ("Eisenbud et al., \"Maglev: A Fast and Reliable Software Network Load "
           "Balancer\", NSDI 2016: one Maglev machine saturates a 10 Gbit/s link with "
           "small packets; routers spread packets over the machines by ECMP")
_GCP_DSR = ("cloud.google.com/load-balancing/docs/passthrough-network-load-balancer: "
            "passthrough NLBs are not proxies, built on Maglev; responses go directly "
            "to the clients, not back through the load balancer (direct server return)")
_K8S_LOCAL = ("kubernetes.io/docs/tasks/access-application-cluster/"
              "create-external-load-balancer (preserving the client source IP): with "
              "externalTrafficPolicy Local the load balancer health-checks "
              "healthCheckNodePort, which answers only on nodes with local endpoints, "
              "and weighs every healthy node equally whatever its pod count")
_AWS_FAIL_OPEN = ("docs.aws.amazon.com/elasticloadbalancing (target group health "
                  "checks): if all targets fail their health checks, the load balancer "
                  "fails open and routes to all of them")
_NLB_LATENCY = ("estimated: no provider publishes the added latency; AWS calls its NLB "
                "'ultra-low latency' (aws.amazon.com/elasticloadbalancing/"
                "network-load-balancer) and a write-up of its launch "
                "(rikkisnah.github.io/posts/aws-nlb-launch-2017, a blog) gives 10-100 "
                "us; kperf takes 30 us one way, the geometric middle of that range")
_METALLB_L2 = ("metallb.universe.tf/concepts/layer2: in layer 2 mode all traffic for a "
               "service IP goes to one node, and kube-proxy spreads it from there; the "
               "service's ingress bandwidth is that of a single node")
_METALLB_LOCAL = ("metallb.universe.tf/usage (traffic policies): with Local, traffic "
                  "goes only to pods on the announcing node; MetalLB's speaker "
                  "(speaker/layer2_controller.go) elects the announcing node among the "
                  "nodes with a ready endpoint of the Service, the one whose "
                  "sha256(node name + '#' + service IP) sorts first")


class LoadBalancerProfile(_Frozen):
    """How one kind of load balancer gets external traffic to the nodes.

    ``spread``: ``hash`` (per connection, uniformly over the nodes that pass the
    health check, as a 5-tuple hash does) or ``leader`` (every connection to one
    node, elected per Service address). ``forwarders`` × ``forwarder_gbps``: the
    device's capacity (a connection hashes to one forwarder, which serializes its
    wire bytes at ``forwarder_gbps``); 0 forwarders: no device (the leader node's
    own NIC is the limit). ``added_latency_us``: one-way time the device adds
    (forwarding and the detour to reach it). ``direct_return``: responses bypass the
    device. ``fails_open``: with no healthy node, send to every node.
    """

    name: str
    description: str
    spread: Literal["hash", "leader"]
    forwarders: int = Field(0, ge=0)
    forwarder_gbps: float = Field(0.0, ge=0)
    added_latency_us: float = Field(0.0, ge=0)
    direct_return: bool = True
    fails_open: bool = False
    source: str = "estimated"

    @property
    def is_device(self) -> bool:
        """Whether traffic crosses a device of its own (a hop) before the node."""
        return self.forwarders > 0


LOAD_BALANCERS: dict[str, LoadBalancerProfile] = {
    "cloud-l4": LoadBalancerProfile(
        name="cloud-l4",
        description=(
            "cloud passthrough layer-4 load balancer (modelled on GCP's passthrough NLB, "
            "built on Maglev): a hop of software forwarders that spreads connections over "
            "the healthy nodes by 5-tuple hash; responses return directly"
        ),
        spread="hash",
        forwarders=8,
        forwarder_gbps=10.0,
        added_latency_us=30.0,
        direct_return=True,
        fails_open=True,
        source=(
            f"forwarder_gbps 10: {_MAGLEV}; forwarders 8 estimated (a regional load "
            f"balancer runs on many machines: 8 keep it from binding below 80 Gbit/s); "
            f"added_latency_us 30: {_NLB_LATENCY}; direct return: {_GCP_DSR}; health "
            f"checks: {_K8S_LOCAL}; fails open: {_AWS_FAIL_OPEN}"
        ),
    ),
    "metallb-l2": LoadBalancerProfile(
        name="metallb-l2",
        description=(
            "MetalLB layer-2 mode (bare metal): one leader node answers ARP for the "
            "Service's address, so all traffic enters the cluster there; no device, no "
            "added latency"
        ),
        spread="leader",
        forwarders=0,
        forwarder_gbps=0.0,
        added_latency_us=0.0,
        direct_return=True,
        fails_open=False,
        source=f"{_METALLB_L2}; Local: {_METALLB_LOCAL}; health checks: {_K8S_LOCAL}",
    ),
}
"""The load balancer profiles, by name."""
