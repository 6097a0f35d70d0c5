"""A bulk TCP stream between two meshed pods, through the mesh's proxies (issue 21).

A proxy terminates TCP: a stream from a meshed client to a meshed server is really
three TCP connections in a pipeline (application to its proxy over loopback, proxy to
proxy over the network with mTLS, proxy to application), each with its own window and
ACK clock. kperf approximates it as **one flow through all hops**
(:func:`stream_path`): the mesh's path (:meth:`kperf.datapath.builder.PathTable.meshed`:
loopback crossings, proxies, the CNI's path with the TLS/HBONE framing bytes, a
waypoint's legs), the proxies being hops whose service time limits the rate. The
sender's window and congestion control run end to end over it, with ACKs returning
over the plain reverse pod path (each TCP endpoint ACKs what it received, so a
proxy's processing time is not on the sender's ACK clock twice). What this misses:
the per-connection windows are shorter-RTT than one end-to-end window (a window-
limited stream is underestimated), and a proxy's socket buffers decouple the stages.

Each proxy serves the stream's bytes on **one worker**: "Once a connection is accepted
by a listener, the connection spends the rest of its lifetime bound to a single worker
thread" (envoyproxy.io, Architecture overview, Threading model); ztunnel and
linkerd2-proxy are taken the same (estimated: both run a connection's copy loop as one
task of a tokio runtime, which runs on one thread at a time). So a stream's proxy hop
queues at one of the proxy's workers, ``flow id mod workers``, a single server
(:class:`StreamProxyHop`; a resources row of the proxy's kind with a negative index,
``-(proxy index x 256 + worker + 1)``), and a stream is bounded by ``1 / (per_byte + mTLS per byte +
mTLS per record / 16 KiB)`` per proxy. The per-message (HTTP request) cost of the
profiles is not charged per write: an opaque TCP stream is forwarded at L4 (Envoy's
tcp_proxy, ztunnel's copy), without the HTTP parsing, routing and telemetry the
per-request calibration holds (estimated: no per-write L4 figure was found). UDP is
not captured by any of the modelled meshes (Istio's iptables and ztunnel redirect TCP;
Linkerd proxies TCP): UDP streams stay unmeshed. A proxy's stream workers are not the
shared queue its request/response messages wait in (:class:`~kperf.datapath.mesh.ProxyHop`): streams
and requests on one proxy do not delay each other (not modelled).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from kperf.datapath.mesh import PoolSource, ProxyHop
from kperf.datapath.path import ChunkShape, HopCost, Path
from kperf.spec.mesh import MAX_PROXY_WORKERS


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamProxyHop(ProxyHop):
    """A proxy forwarding TCP streams at L4 (module doc): per byte and, with mTLS, per
    record and byte; no per-message cost. A stream's connection is bound to worker
    ``flow id mod threads``, a single server of its own."""

    threads: int = 1
    """The proxy's worker threads; a stream's connection is bound to one of them."""

    def cost(self, chunk: ChunkShape, upstream_rate_bps: float) -> HopCost:
        if chunk.first:
            chunk = dataclasses.replace(chunk, first=False)
        return ProxyHop.cost(self, chunk, upstream_rate_bps)

    def server(self, network: Any, flow_id: int) -> Any:
        source: PoolSource = network
        worker = flow_id % self.threads
        index = -(self.resource[1] * MAX_PROXY_WORKERS + worker + 1)
        return source.pool((self.resource[0], index), 1,
                           f"{self.name} stream worker {worker + 1}")


class MeshedTable(Protocol):
    """What :func:`stream_path` needs of the path table."""

    def meshed(self, base: Path, src: Any, dst: Any, reverse: bool = False) -> Path: ...


def stream_path(table: MeshedTable, base: Path, client: Any, server: Any) -> Path:
    """``base`` (the stream's pod path) through the mesh's proxies as
    :class:`StreamProxyHop` (module doc); ``base`` itself when no proxy is crossed."""
    meshed = table.meshed(base, client, server)
    if meshed is base:
        return base
    hops = tuple(
        StreamProxyHop(name=h.name, resource=h.resource, category=h.category,
                       profile=h.profile, node=h.node, workers=1, mtls=h.mtls,
                       speed_factor=h.speed_factor, threads=h.workers)
        if isinstance(h, ProxyHop) else h
        for h in meshed.hops)
    if not any(isinstance(h, StreamProxyHop) for h in hops):
        return meshed
    return dataclasses.replace(meshed, hops=hops, signature=(*meshed.signature, "stream"))
