"""Services and load balancing: kube-proxy modes, conntrack, endpoint churn, cluster DNS.

Sits between the engine (layer 5) and the workloads (layer 6): a workload asks
:class:`~kperf.services.layer.ServiceLayer` to connect a client pod to a Service, and
gets back the backend pod, the first-packet CPU cost to add on the client's core and
any setup delay or failure; it asks it to resolve a name and gets the DNS queries
simulated over the engine.

Modules, one idea each:

* :mod:`~kperf.services.balancer` — which endpoint a new connection gets (iptables
  random cascade, IPVS rr/lc/sh, eBPF random/Maglev, ClientIP session affinity);
* :mod:`~kperf.services.proxycost` — first-packet and established costs per proxy
  mode, and kube-proxy resync (rule programming) time;
* :mod:`~kperf.services.conntrack` — the per-node connection tracking table;
* :mod:`~kperf.services.churn` — pod recreation, per-node programming delay, stale views;
* :mod:`~kperf.services.resolvconf` — which DNS queries a name needs (glibc semantics);
* :mod:`~kperf.services.dns` — CoreDNS, NodeLocal DNSCache and client caches over the engine;
* :mod:`~kperf.services.layer` — the engine-facing facade.

See ``docs/services.md`` for the model and its calibration.
"""

from __future__ import annotations

from kperf.services.layer import Connection, ServiceLayer

__all__ = ["Connection", "ServiceLayer"]
