"""Which IP addresses a fetch may reach: public unicast only, unless an operator allowed a
network (TYNEBASE_URL_FETCH_ALLOWED_NETWORKS); cloud metadata addresses never.

    >>> refusal(ipaddress.ip_address("169.254.169.254"), allowed=())
    'metadata'
    >>> refusal(ipaddress.ip_address("93.184.216.34"), allowed=()) is None
    True
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services (AWS, GCP, Azure, OpenStack; AWS IPv6; Alibaba; ECS task metadata):
# credentials live there, so no allow-list opens them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
# IPv6 prefixes that carry an IPv4 address in their low 32 bits (NAT64) and reach it.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not the public internet


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """The allowed networks of the settings (`127.0.0.1/32`, `10.0.0.0/8`, `::1`)."""
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _category(address: IPAddress) -> str | None:
    """Why the address is not public unicast (None when it is)."""
    if address in METADATA_ADDRESSES:
        return "metadata"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL:
        return "unique-local"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared"
    if not address.is_global:
        return "not-global"
    return None


def refusal(address: IPAddress, *, allowed: Sequence[IPNetwork]) -> str | None:
    """Why a fetch must not connect to `address`, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
    if address in METADATA_ADDRESSES:
        return "metadata"
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            reason = refusal(inner, allowed=allowed)
            if reason is not None:
                return reason
    reason = _category(address)
    if reason is None:
        return None
    if any(address.version == net.version and address in net for net in allowed):
        return None
    return reason
