"""Pod placement: which node a new pod goes to.

A deterministic stand-in for kube-scheduler (no random tie-breaks):

``spread``
    each pod goes to the node with the fewest pods, ties broken by node order, among
    the nodes that still have room. Over equally loaded nodes this is round-robin
    starting after the least-loaded node (kube-scheduler's default scoring prefers
    the least-allocated node and spreads replicas of a workload,
    kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/).
``binpack``
    fill node-1 up to its capacity, then node-2, ... (the MostAllocated scoring
    strategy pushed to its limit).
a node name
    every replica on that node (``nodeName``/``nodeSelector`` pinning).
``external``
    not placed at all: the replicas are hosts outside the cluster
    (:meth:`kperf.cluster.build.Cluster._add_external`), which take no pod slot and no
    pod address.

A node has room while it holds fewer than ``max_pods_per_node`` pods (kubelet
``--max-pods``; host-network pods count too) and its IPAM can give it an address.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable


class Placer:
    """Tracks pods per node and answers "where does the next pod go"."""

    __slots__ = ("_binpack_cursor", "_can_address", "_heap", "counts", "max_pods")

    def __init__(self, node_count: int, max_pods: int, can_address: Callable[[int], bool]):
        self.counts = [0] * node_count
        self.max_pods = max_pods
        self._can_address = can_address
        self._heap: list[tuple[int, int]] = [(0, i) for i in range(node_count)]
        self._binpack_cursor = 0

    def has_room(self, node: int, needs_address: bool = True) -> bool:
        if self.counts[node] >= self.max_pods:
            return False
        return not needs_address or self._can_address(node)

    def placed(self, node: int) -> None:
        """Record a pod placed on ``node`` by any policy."""
        self.counts[node] += 1
        heapq.heappush(self._heap, (self.counts[node], node))

    def spread(self) -> int | None:
        """The least-loaded node with room (ties: lowest index), or None."""
        heap = self._heap
        while heap:
            count, node = heap[0]
            if count != self.counts[node]:
                heapq.heappop(heap)  # stale entry: the node got pods since
                continue
            if not self.has_room(node):
                heapq.heappop(heap)  # full for good: builds only ever add pods
                continue
            return node
        return None

    def binpack(self) -> int | None:
        """The first node in order with room, or None."""
        n = len(self.counts)
        while self._binpack_cursor < n and not self.has_room(self._binpack_cursor):
            self._binpack_cursor += 1
        return self._binpack_cursor if self._binpack_cursor < n else None
