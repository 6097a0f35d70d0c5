"""IPv4 addresses as plain ints.

A cluster at the Kubernetes tested limits has 150,000 pods; ``ipaddress.IPv4Address``
objects cost about 60 bytes and a method call each, so the cluster layer keeps every
address as a 32-bit ``int`` and formats it only for people (:func:`ip_str`).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network


def ip_str(ip: int) -> str:
    """Dotted-quad text of an address held as an int (``ip_str(0x0AF40002) == '10.244.0.2'``)."""
    return f"{(ip >> 24) & 255}.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}"


def ip_int(ip: str | IPv4Address | int) -> int:
    """The int form of an address given as text, ``IPv4Address`` or int."""
    if isinstance(ip, int):
        return ip
    return int(IPv4Address(ip))


def net_bounds(net: IPv4Network) -> tuple[int, int]:
    """First and last address of ``net`` as ints (network and broadcast included)."""
    first = int(net.network_address)
    # not net.num_addresses: a cached_property, which takes a lock on every read
    return first, first + (1 << (32 - net.prefixlen)) - 1


def net_of(first: int, prefixlen: int) -> IPv4Network:
    """The network that starts at ``first`` with ``prefixlen``."""
    return IPv4Network((first, prefixlen))


def contains(net: IPv4Network, ip: int) -> bool:
    """True when the int address ``ip`` lies inside ``net``."""
    first, last = net_bounds(net)
    return first <= ip <= last
