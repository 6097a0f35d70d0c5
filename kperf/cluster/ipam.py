"""IPAM styles: how each node gets pod ranges and how a pod gets an address.

Three small policy classes, chosen by name from :data:`IPAM_STYLES`:

``host-local``
    The CNI ``host-local`` plugin over a per-node range (Flannel, Cilium
    cluster-pool, the kube-controller-manager ``--allocate-node-cidrs`` default).
    Node *i* gets the *i*-th ``/node_pod_prefix`` of the pod CIDR in node order
    (skipping ranges given explicitly to other nodes). Inside a range the network
    address and the broadcast address are not handed out and the ``.1`` is the
    node's bridge (``cni0``) gateway, so pods get ``.2``, ``.3``, ... and a /24 holds
    256 - 3 = 253 pods. host-local remembers the last address it reserved and
    continues after it, wrapping at the end of the range, so a freed address is not
    reused at once (github.com/containernetworking/plugins,
    ``plugins/ipam/host-local/backend/allocator``;
    www.cni.dev/plugins/current/ipam/host-local/).

``calico-blocks``
    Calico IPAM: the pool (the pod CIDR) is cut into blocks of
    ``/calico_block_prefix`` (default /26, 64 addresses). A node claims a block
    (block affinity) the first time it needs an address and claims the next free
    block when all of its blocks are full. Every address of a block is usable.
    Inside a block, addresses are taken from the front of the block's unallocated
    list and released ones go to its back, so a freed address is reused last
    (docs.tigera.io/calico/latest/networking/ipam/ — "IP address management";
    libcalico-go ``lib/ipam/ipam_block.go``). kperf does not model borrowing an
    address from another node's block when the pool is exhausted (Calico's
    ``strictAffinity: false``); an exhausted pool is a capacity error.

``none``
    No CNI coordinates addresses: every node runs its own host-local allocator over
    the *same* first range of the pod CIDR (e.g. 10.244.0.0/24), so pod 1 on node-1
    and pod 1 on node-2 both get 10.244.0.2. It builds; the conformance check
    reports the duplicate addresses and the overlapping ranges.

An explicit node ``pod_cidr`` (as ``kperf import`` writes) is used as that node's
range under host-local and none, and as that node's pre-claimed block(s) under
calico-blocks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from ipaddress import IPv4Network
from typing import ClassVar

from kperf.cluster.addr import net_bounds


class IpamExhausted(Exception):
    """Internal: a node has no free pod address left (the builder turns it into a SpecError)."""


class _Range:
    """host-local's allocator over one range: continue after the last reserved address."""

    __slots__ = ("first", "last", "last_reserved", "net", "used")

    def __init__(self, net: IPv4Network) -> None:
        lo, hi = net_bounds(net)
        self.net = net
        if net.num_addresses >= 4:
            # network address, .1 gateway (the node's bridge), broadcast are not handed out
            self.first, self.last = lo + 2, hi - 1
        else:  # /31 and /32 (only reachable through explicit ranges): nothing usable
            self.first, self.last = lo + 1, lo
        self.last_reserved = self.first - 1
        self.used: set[int] = set()

    @property
    def size(self) -> int:
        return max(self.last - self.first + 1, 0)

    @property
    def free(self) -> int:
        return self.size - len(self.used)

    def allocate(self) -> int:
        if len(self.used) >= self.size:
            raise IpamExhausted
        ip = self.last_reserved + 1
        if ip > self.last:
            ip = self.first
        while ip in self.used:
            ip += 1
            if ip > self.last:
                ip = self.first
        self.used.add(ip)
        self.last_reserved = ip
        return ip

    def reserve(self, ip: int) -> bool:
        if self.first <= ip <= self.last and ip not in self.used:
            self.used.add(ip)
            self.last_reserved = ip  # host-local records every reservation as the last
            return True
        return False

    def release(self, ip: int) -> None:
        self.used.discard(ip)


class Ipam(ABC):
    """An IPAM style: per-node pod ranges and address allocation.

    ``ranges[i]`` is node *i*'s list of pod ranges; the builder hands that very list to
    ``Node.pod_ranges`` so ranges claimed later (Calico blocks) show up on the node.
    """

    name: ClassVar[str]
    per_range_overhead: ClassVar[int] = 0

    def __init__(
        self,
        pod_cidr: IPv4Network,
        node_prefix: int,
        block_prefix: int,
        explicit: Sequence[IPv4Network | None],
    ) -> None:
        self.pod_cidr = pod_cidr
        self.node_prefix = node_prefix
        self.block_prefix = block_prefix
        self.ranges: list[list[IPv4Network]] = [[] for _ in explicit]

    @abstractmethod
    def allocate(self, node: int) -> int:
        """A free address for a new pod on ``node``; IpamExhausted when there is none."""

    @abstractmethod
    def can_allocate(self, node: int) -> bool:
        """True when :meth:`allocate` would succeed for ``node``."""

    @abstractmethod
    def reserve(self, node: int, ip: int) -> bool:
        """Mark an explicitly given address as used; False if outside ``node``'s ranges
        or already taken (the pod keeps the address anyway; conformance judges it)."""

    @abstractmethod
    def release(self, node: int, ip: int) -> None:
        """Return a pod's address to the pool."""

    @abstractmethod
    def free_addresses(self, node: int) -> int:
        """Addresses ``node`` can still hand out without claiming anything new."""

    @abstractmethod
    def capacity_text(self) -> str:
        """How many addresses a node's range or a block holds, for error messages."""

    def pool_free(self) -> int:
        """Addresses any node may still claim from the shared pool (Calico blocks)."""
        return 0

    def usable(self, node: int) -> int:
        """Pod addresses in ``node``'s current ranges."""
        return sum(self.range_usable(r) for r in self.ranges[node])

    def range_usable(self, net: IPv4Network) -> int:
        return max(net.num_addresses - self.per_range_overhead, 0)


class HostLocalIpam(Ipam):
    """Per-node host-local ranges: node *i* gets the *i*-th /node_pod_prefix."""

    name = "host-local"
    per_range_overhead = 3

    def __init__(
        self,
        pod_cidr: IPv4Network,
        node_prefix: int,
        block_prefix: int,
        explicit: Sequence[IPv4Network | None],
    ) -> None:
        super().__init__(pod_cidr, node_prefix, block_prefix, explicit)
        taken = [net_bounds(n) for n in explicit if n is not None]
        size = 1 << (32 - node_prefix)
        base = int(pod_cidr.network_address)
        count = pod_cidr.num_addresses // size
        nxt = 0
        self._alloc: list[_Range] = []
        for i, given in enumerate(explicit):
            net = given
            if net is None:
                net = self._next_range(base, size, count, nxt, taken)
                nxt = (int(net.network_address) - base) // size + 1
            self.ranges[i].append(net)
            self._alloc.append(_Range(net))

    def _next_range(
        self, base: int, size: int, count: int, start: int, taken: list[tuple[int, int]]
    ) -> IPv4Network:
        for k in range(start, count):
            lo = base + k * size
            hi = lo + size - 1
            if not any(lo <= t_hi and t_lo <= hi for t_lo, t_hi in taken):
                return IPv4Network((lo, self.node_prefix))
        raise IpamExhausted

    def allocate(self, node: int) -> int:
        return self._alloc[node].allocate()

    def can_allocate(self, node: int) -> bool:
        return self._alloc[node].free > 0

    def reserve(self, node: int, ip: int) -> bool:
        return self._alloc[node].reserve(ip)

    def release(self, node: int, ip: int) -> None:
        self._alloc[node].release(ip)

    def free_addresses(self, node: int) -> int:
        return self._alloc[node].free

    def capacity_text(self) -> str:
        n = 1 << (32 - self.node_prefix)
        return f"a /{self.node_prefix} host-local range holds {n} - 3 = {n - 3} pod addresses"


class NoIpam(HostLocalIpam):
    """No CNI: every node hands out the same first range of the pod CIDR."""

    name = "none"

    def _next_range(
        self, base: int, size: int, count: int, start: int, taken: list[tuple[int, int]]
    ) -> IPv4Network:
        return IPv4Network((base, self.node_prefix))

    def capacity_text(self) -> str:
        return super().capacity_text() + " (the same range on every node: no CNI)"


class _Block:
    __slots__ = ("net", "owner", "unallocated")

    def __init__(self, net: IPv4Network, owner: int) -> None:
        lo, hi = net_bounds(net)
        self.net = net
        self.owner = owner
        self.unallocated: deque[int] = deque(range(lo, hi + 1))


class CalicoBlockIpam(Ipam):
    """Calico IPAM: /calico_block_prefix blocks claimed on demand, all addresses usable."""

    name = "calico-blocks"

    def __init__(
        self,
        pod_cidr: IPv4Network,
        node_prefix: int,
        block_prefix: int,
        explicit: Sequence[IPv4Network | None],
    ) -> None:
        super().__init__(pod_cidr, node_prefix, block_prefix, explicit)
        self._size = 1 << (32 - block_prefix)
        self._base = int(pod_cidr.network_address)
        self._count = pod_cidr.num_addresses // self._size
        self._blocks: dict[int, _Block] = {}  # block start -> block
        self._node_blocks: list[list[_Block]] = [[] for _ in explicit]
        self._cursor = 0  # next pool block index that may be unclaimed
        self._claimed_in_pool = 0
        for i, given in enumerate(explicit):
            if given is None:
                continue
            if given.prefixlen <= block_prefix:
                for sub in given.subnets(new_prefix=block_prefix):
                    self._claim(int(sub.network_address), i, sub)
            else:
                start = self._block_start(int(given.network_address))
                self._claim(start, i, IPv4Network((start, block_prefix)))

    def _block_start(self, ip: int) -> int:
        return ip - ((ip - self._base) % self._size)

    def _in_pool(self, start: int) -> bool:
        return self._base <= start < self._base + self._count * self._size

    def _claim(self, start: int, node: int, net: IPv4Network | None = None) -> _Block:
        block = self._blocks.get(start)
        if block is not None:
            return block
        block = _Block(net or IPv4Network((start, self.block_prefix)), node)
        self._blocks[start] = block
        self._node_blocks[node].append(block)
        self.ranges[node].append(block.net)
        if self._in_pool(start):
            self._claimed_in_pool += 1
        return block

    def _claim_next(self, node: int) -> _Block:
        while self._cursor < self._count:
            start = self._base + self._cursor * self._size
            self._cursor += 1
            if start not in self._blocks:
                return self._claim(start, node)
        raise IpamExhausted

    def allocate(self, node: int) -> int:
        for block in self._node_blocks[node]:
            if block.unallocated:
                return block.unallocated.popleft()
        return self._claim_next(node).unallocated.popleft()

    def can_allocate(self, node: int) -> bool:
        if any(b.unallocated for b in self._node_blocks[node]):
            return True
        return self._claimed_in_pool < self._count

    def reserve(self, node: int, ip: int) -> bool:
        if self._base <= ip < self._base + self._count * self._size:
            start = self._block_start(ip)
            block = self._blocks.get(start) or self._claim(start, node)
        else:
            found = [b for b in self._node_blocks[node] if net_bounds(b.net)[0] <= ip
                     <= net_bounds(b.net)[1]]
            if not found:
                return False
            block = found[0]
        try:
            block.unallocated.remove(ip)
        except ValueError:
            return False
        return block.owner == node

    def release(self, node: int, ip: int) -> None:
        if self._base <= ip < self._base + self._count * self._size:
            block = self._blocks.get(self._block_start(ip))
        else:
            block = next(
                (b for b in self._node_blocks[node]
                 if net_bounds(b.net)[0] <= ip <= net_bounds(b.net)[1]),
                None,
            )
        if block is not None and ip not in block.unallocated:
            block.unallocated.append(ip)

    def free_addresses(self, node: int) -> int:
        return sum(len(b.unallocated) for b in self._node_blocks[node])

    def pool_free(self) -> int:
        return (self._count - self._claimed_in_pool) * self._size

    def capacity_text(self) -> str:
        return (
            f"/{self.block_prefix} Calico blocks of {self._size} addresses, "
            f"{self._count} blocks in the pod CIDR"
        )


IPAM_STYLES: dict[str, type[Ipam]] = {
    cls.name: cls for cls in (HostLocalIpam, CalicoBlockIpam, NoIpam)
}
"""The IPAM styles by name."""


def make_ipam(
    style: str,
    pod_cidr: IPv4Network,
    node_prefix: int,
    block_prefix: int,
    explicit: Sequence[IPv4Network | None],
) -> Ipam:
    """An IPAM of ``style`` for ``len(explicit)`` nodes (explicit[i]: node i's own range)."""
    try:
        cls = IPAM_STYLES[style]
    except KeyError:
        raise KeyError(
            f"unknown IPAM style {style!r}; allowed: {', '.join(sorted(IPAM_STYLES))}"
        ) from None
    return cls(pod_cidr, node_prefix, block_prefix, explicit)
