"""The contended resources of a simulated cluster, created on first use.

* ``("cpu", node)``: the node's cores, each a FIFO server. A flow is hashed to one core
  per direction (transmit in the sender's context, receive softirq by RSS), so one
  stream is bound by one core and many streams spread over all of them. The receive
  side has a finite backlog (``netdev_max_backlog`` = 1000 skbs, the Linux default:
  GRO-merged segments when offloads work, packets when not), where excess is a
  counted drop.
* ``("nic", node)``: the NIC transmit queue, serializing wire bytes at line rate, with a
  ring of ``nic_ring_packets`` full-size packets.
* ``("port", node)``: the switch output port towards a node; buffer
  ``switch_buffer_bytes``; with ``link_loss_rate`` > 0 a lossy link
  (:class:`~kperf.engine.queues.LossyServer`).
* ``("uplink", rack)`` and ``("spine", rack)``: leaf uplinks and spine ports.
* application worker pools of pods: c-server FIFO queues.
* ``("sidecar", pod uid)``, ``("ztunnel", node)``, ``("waypoint", deployment)``: a
  service mesh's proxies, each a pool of worker threads sharing one FIFO queue
  (:meth:`Network.pool`), or, for a proxy that pins each connection to one worker
  (Envoy), one FIFO queue per worker (:meth:`Network.pinned_worker`): a connection's
  worker is the kernel's SO_REUSEPORT choice, a hash of its 4-tuple (linux
  net/core/sock_reuseport.c ``reuseport_select_sock``), i.e. of its flow id and the
  run's seed (the client's source port is random), as RSS picks a core.
* hosts outside the cluster (external clients) have resources too, at indices after
  the nodes' (``("cpu", n + k)``, ``("nic", n + k)``, ``("port", n + k)``), named
  after the host (``host_names``); ``("router", i)`` and ``("lb", i)`` are a router's
  ports and a load balancer's forwarders.

Memory grows with what a simulation touches, not with the cluster size: a 1,000-node
cluster whose traffic touches 10 nodes creates 10 nodes' resources.
"""

from __future__ import annotations

from kperf.datapath.segmentation import ETHERNET_FRAMING_BYTES
from kperf.engine.queues import FifoServer, LossyServer, MultiServer, PinnedPool, PoolServer
from kperf.profiles.base import Testbed

NETDEV_MAX_BACKLOG_PACKETS = 1000  # Linux net.core.netdev_max_backlog default
ACCEPT_SALT = 7
"""Hash salt of a proxy's accept balancing (apart from the RSS salts, so a connection's
worker and its core are independent draws)."""


def flow_hash(flow_id: int, salt: int) -> int:
    """A deterministic 64-bit mix (splitmix64) of a flow id: RSS-like core choice that
    does not depend on Python's per-process string hash seed."""
    z = (flow_id * 2 + salt + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


class Network:
    """Lazily created servers for one simulation."""

    def __init__(self, testbed: Testbed, mtu_bytes: int, seed: int = 0,
                 host_names: dict[int, str] | None = None) -> None:
        self.testbed = testbed
        self.host_names = host_names or {}
        """Names of the resource indices that are not nodes (external hosts)."""
        # Source ports are chosen at random by the client's kernel, so which core RSS
        # picks for a flow differs from run to run: the seed enters the hash.
        self.hash_seed = (seed * 0x9E3779B1) << 20
        self.cores_per_node = testbed.cores_per_node
        self._cores: dict[int, list[FifoServer]] = {}
        self._servers: dict[tuple[str, int], FifoServer] = {}
        self.apps: dict[int, MultiServer] = {}
        self.nic_capacity_bytes = float(testbed.nic_ring_packets * (mtu_bytes + 100))
        self.port_capacity_bytes = float(testbed.switch_buffer_bytes)
        self.seed = seed
        self.mtu_bytes = mtu_bytes
        # service mesh connection pooling (kperf.workloads.meshpool): which connection a
        # proxy sees a flow's messages on, when that is not the flow itself
        self.downstream_conn: dict[int, int] = {}
        """A pooled upstream connection's flow id -> the application connection whose
        client-side proxy worker opened it (that worker sends on it)."""
        self.upstream_conn: dict[int, int] = {}
        """An application connection's flow id -> the pooled connection between the
        proxies that carries its requests (the server-side proxy's downstream)."""
        self.mesh_pools: object = None  # kperf.workloads.meshpool.MeshPools, on first use

    def core_index(self, flow_id: int, salt: int) -> int:
        """Which core of a node serves ``flow_id`` in direction ``salt`` (RSS-like)."""
        return flow_hash(flow_id + self.hash_seed, salt) % self.cores_per_node

    def core(self, node: int, flow_id: int, salt: int) -> FifoServer:
        cores = self._cores.get(node)
        if cores is None:
            cores = [
                FifoServer(f"{self.machine(node)} core {c}", capacity=NETDEV_MAX_BACKLOG_PACKETS)
                for c in range(self.cores_per_node)
            ]
            self._cores[node] = cores
        return cores[self.core_index(flow_id, salt)]

    def server(self, resource: tuple[str, int], capacity: float | None = None) -> FifoServer:
        """The single server named ``resource`` (kind, index), created on first use with
        ``capacity`` (default: the NIC ring for "nic", the switch buffer otherwise)."""
        s = self._servers.get(resource)
        if s is None:
            kind, idx = resource
            if capacity is None:
                capacity = (self.nic_capacity_bytes if kind == "nic"
                            else self.port_capacity_bytes)
            loss = self.testbed.link_loss_rate
            if kind == "port" and loss > 0.0:
                # a full packet's wire bytes: MTU plus Ethernet framing
                s = LossyServer(f"{kind} {idx + 1}", capacity, loss,
                                self.mtu_bytes + float(ETHERNET_FRAMING_BYTES),
                                f"{self.seed}/{kind}/{idx}")
            else:
                host = self.host_names.get(idx) if kind in ("nic", "port") else None
                s = FifoServer(f"{kind} {host or idx + 1}", capacity=capacity)
            self._servers[resource] = s
        return s

    def pool(self, resource: tuple[str, int], workers: int, name: str) -> FifoServer:
        """The worker pool named ``resource`` (a service mesh proxy's worker threads:
        :class:`~kperf.engine.queues.PoolServer`), created on first use; listed with
        the single servers (``all_servers``), so it has a resources row."""
        s = self._servers.get(resource)
        if s is None:
            s = self._servers[resource] = PoolServer(name, workers)
        return s

    def worker_index(self, conn_key: int, workers: int) -> int:
        """The worker thread a proxy that pins connections gives connection ``conn_key``
        (a flow id): the kernel's SO_REUSEPORT hash of its 4-tuple (module doc)."""
        return flow_hash(conn_key + self.hash_seed, ACCEPT_SALT) % workers

    def conn_key(self, flow_id: int, peer_side: bool) -> int:
        """The connection a proxy sees ``flow_id``'s messages on: for the server-side
        proxy (``peer_side``) the pooled connection carrying it, for the client-side
        proxy the application connection that opened it; the flow itself otherwise."""
        keys = self.upstream_conn if peer_side else self.downstream_conn
        return keys.get(flow_id, flow_id)

    def pinned_worker(self, resource: tuple[str, int], workers: int, name: str,
                      conn_key: int) -> FifoServer:
        """The worker of proxy ``resource`` (a :class:`PinnedPool`, created on first use
        and listed with the single servers) that connection ``conn_key`` is bound to."""
        s = self._servers.get(resource)
        if s is None:
            s = self._servers[resource] = PinnedPool(name, workers)
        assert isinstance(s, PinnedPool)
        return s.worker_servers[self.worker_index(conn_key, workers)]

    def machine(self, index: int) -> str:
        """``node-<index + 1>``, or the name of the external host at ``index``."""
        return self.host_names.get(index) or f"node-{index + 1}"

    def app(self, uid: int, workers: int, name: str = "",
            account: list[float] | None = None) -> MultiServer:
        """Pod ``uid``'s worker pool (created on first use, with ``account``: see
        :class:`MultiServer`)."""
        a = self.apps.get(uid)
        if a is None:
            a = MultiServer(name or f"pod {uid} app", workers, account)
            self.apps[uid] = a
        return a

    def all_cores(self) -> dict[int, list[FifoServer]]:
        return self._cores

    def all_servers(self) -> dict[tuple[str, int], FifoServer]:
        return self._servers
