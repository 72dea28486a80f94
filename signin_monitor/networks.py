"""The network a source address belongs to: what ``new-source-network`` compares (design §3.2).

An IPv4 address stands for its /24, an IPv6 address for its /48: a home or office line keeps
its network while its last octets change. A source that is not an IP address (``AWS
Internal``, a service name) has no network, so it neither teaches nor alerts.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Final

__all__ = ["IPV4_PREFIX", "IPV6_PREFIX", "network_of"]

IPV4_PREFIX: Final = 24
IPV6_PREFIX: Final = 48


#: Addresses remembered: one event asks for its network several times (keys, rules), and a
#: replay meets the same few addresses again and again; parsing one costs about 20 µs.
_CACHED_ADDRESSES: Final = 4096


@functools.lru_cache(maxsize=_CACHED_ADDRESSES)
def network_of(source_ip: str) -> str | None:
    """``source_ip``'s network as CIDR text (``198.51.100.0/24``), or None for a non-IP source."""
    try:
        address = ipaddress.ip_address(source_ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
