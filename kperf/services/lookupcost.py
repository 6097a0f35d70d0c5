"""What one hash-table lookup costs as the table grows: cache misses, and chains.

A lookup in a BPF hash map (``kernel/bpf/hashtab.c``), an nftables set or the IPVS
service table does a fixed amount of work (hash the key, compare, call overhead) and a
few *dependent* memory accesses: the bucket head, then the entry (and, in a chained
table, the next entry of the chain). With the table in cache the lookup costs its hot
time; when the table's footprint outgrows a cache level, each access misses that level
with the probability that its line is not held there.

Miss model (estimated, the simplest one with the right limits): lookups land on
entries spread over the whole table (a cluster whose Services all carry traffic), so
with a footprint of ``F`` bytes and a cache of ``C`` bytes a line is in cache with
probability min(1, C / F) (uniform access, fully associative LRU):

    p_miss(F, C) = max(0, 1 - C / F)
    miss_ns(F)   = (p_miss(F, L2) - p_miss(F, LLC)) x llc_latency_ns
                   + p_miss(F, LLC) x dram_latency_ns

per dependent access, from the testbed's ``l2_bytes``, ``llc_bytes``,
``llc_latency_ns`` and ``dram_latency_ns``. It is non-decreasing in ``F`` and never
more than ``dram_latency_ns``, so a lookup costs at most hot + accesses x DRAM latency.
The miss time is memory latency, not CPU work: it is not divided by the testbed's
``cpu_speed_factor`` (the hot part is).

The model ignores other work sharing the cache (so it is optimistic when the node is
busy), hardware prefetch and TLB misses, and a workload that keeps reusing a few hot
entries (one busy Service stays in cache whatever the table's size). It is checked
against the kernel's BPF hash map benchmark (``tests/test_services_lookupcost.py``):
Anton Protopopov's ``bench bpf-hashmap-lookup`` commit message (selftests/bpf, 2023)
reports on a Ryzen 9 3950X (testbed C's CPU) 50.7 M lookups/s (19.7 ns) with 4,096 of
65,536 entries filled and 31.5 M/s (31.7 ns) full.
"""

from __future__ import annotations

from dataclasses import dataclass

from kperf.profiles.base import HashTable, Testbed


def miss_probability(footprint_bytes: float, cache_bytes: float) -> float:
    """Chance that a line of a ``footprint_bytes`` table is not in a ``cache_bytes``
    cache when lookups spread over the whole table."""
    if footprint_bytes <= cache_bytes or footprint_bytes <= 0:
        return 0.0
    return 1.0 - cache_bytes / footprint_bytes


def access_miss_ns(footprint_bytes: float, testbed: Testbed) -> float:
    """Expected ns one dependent access adds to a hot lookup (see the module docs)."""
    p_l2 = miss_probability(footprint_bytes, testbed.l2_bytes)
    p_llc = miss_probability(footprint_bytes, testbed.llc_bytes)
    return (p_l2 - p_llc) * testbed.llc_latency_ns + p_llc * testbed.dram_latency_ns


@dataclass(frozen=True, slots=True)
class TableLookup:
    """What a connection's lookups in one table cost on one testbed.

    ``chain``: entries a lookup walks (1 unless the table has fixed buckets);
    ``accesses``: dependent memory accesses per lookup; ``hot_ns`` (already divided by
    the CPU speed factor) and ``miss_ns`` per lookup; ``total_ns`` for all ``lookups``.
    """

    name: str
    entries: int
    footprint_bytes: int
    lookups: int
    chain: float
    accesses: float
    hot_ns: float
    miss_ns: float

    @property
    def per_lookup_ns(self) -> float:
        """ns of one lookup."""
        return self.hot_ns + self.miss_ns

    @property
    def total_ns(self) -> float:
        """ns of all the connection's lookups in this table."""
        return self.lookups * self.per_lookup_ns


def chain_length(table: HashTable, entries: int) -> float:
    """Entries a successful lookup walks: 1 in a table sized to its entries; in a table
    of fixed ``buckets``, half the average chain plus the match, (entries/buckets + 1)/2
    (at least 1)."""
    if table.buckets is None or entries <= table.buckets:
        return 1.0
    return (entries / table.buckets + 1.0) / 2.0


def table_lookup(table: HashTable, entries: int, testbed: Testbed) -> TableLookup:
    """The cost of ``table.lookups`` lookups in ``table`` holding ``entries`` entries."""
    n = max(int(entries), 0)
    footprint = n * table.entry_bytes
    chain = chain_length(table, n)
    accesses = table.accesses_per_lookup + (chain - 1.0)
    hot = (table.hot_ns + (chain - 1.0) * table.chain_node_ns) / testbed.cpu_speed_factor
    miss = accesses * access_miss_ns(footprint, testbed)
    return TableLookup(table.name, n, footprint, table.lookups, chain, accesses, hot, miss)
