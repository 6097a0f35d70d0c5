"""Layer 1 (data): the catalog of CNI datapath profiles, testbeds, proxy modes and
load balancers.

Chosen by name from registries. Pure data: nothing here imports another kperf
package, so the spec layer above can validate names against it. Importing it loads
pydantic (the profiles are models), nothing heavier: ``kperf list`` needs only this.
"""

from __future__ import annotations

from typing import TypeVar

from kperf.profiles.base import CniProfile, HashTable, ProxyMode, StageCost, Testbed
from kperf.profiles.cni import CNI_PROFILES
from kperf.profiles.loadbalancers import LOAD_BALANCERS, LoadBalancerProfile
from kperf.profiles.proxy import PROXY_MODES
from kperf.profiles.testbeds import TESTBEDS

__all__ = [
    "CNI_PROFILES",
    "LOAD_BALANCERS",
    "PROXY_MODES",
    "TESTBEDS",
    "CniProfile",
    "HashTable",
    "LoadBalancerProfile",
    "ProxyMode",
    "StageCost",
    "Testbed",
    "get_cni",
    "get_load_balancer",
    "get_proxy",
    "get_testbed",
]


T = TypeVar("T")


def _get(registry: dict[str, T], kind: str, name: str) -> T:
    try:
        return registry[name]
    except KeyError:
        allowed = ", ".join(sorted(registry))
        raise KeyError(f"unknown {kind} {name!r}; allowed: {allowed}") from None


def get_cni(name: str) -> CniProfile:
    """The CNI profile called ``name`` (e.g. ``"flannel-vxlan"``); KeyError lists names."""
    return _get(CNI_PROFILES, "CNI mode", name)


def get_proxy(name: str) -> ProxyMode:
    """The proxy mode called ``name`` (``iptables``, ``ipvs``, ``nftables``, ``ebpf``)."""
    return _get(PROXY_MODES, "proxy mode", name)


def get_load_balancer(name: str) -> LoadBalancerProfile:
    """The load balancer profile called ``name`` (``cloud-l4``, ``metallb-l2``)."""
    return _get(LOAD_BALANCERS, "load balancer", name)


def get_testbed(name: str) -> Testbed:
    """The named testbed (e.g. ``"10g-xeon-2015"``)."""
    return _get(TESTBEDS, "testbed", name)
