"""The outbound policy: which addresses a webhook may be delivered to.

A webhook URL is chosen by whoever holds a secret key, so without a policy the server would
POST wherever it is told: to its own database port, to a cloud's metadata service, to any
host of the private network it runs in. The decision is a pure function of one IP address
(no I/O here); `webhooks/connect.py` applies it to every address a name resolves to and
connects only to an address it checked.

Categories, as data (`NETWORKS`, first match wins):

- never allowed: cloud metadata services, unspecified, multicast, broadcast and reserved
  ranges, and anything else that is not globally routable: nothing listens there that a
  merchant could mean;
- allowed only with `allow_private` (`--webhook-allow-private`, on by default while the
  server listens on loopback): loopback, private (RFC 1918, ULA fc00::/7), link-local and
  shared address space (CGNAT 100.64.0.0/10): where a developer's local receiver lives;
- allowed: every other (global) address.

IPv6 addresses that carry an IPv4 one (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4,
Teredo) are decided by the IPv4 address they carry, so ::ffff:10.0.0.1 is 10.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA = "metadata"
LOOPBACK = "loopback"
PRIVATE = "private"
LINK_LOCAL = "link_local"
SHARED = "shared"  # RFC 6598 carrier-grade NAT
MULTICAST = "multicast"
UNSPECIFIED = "unspecified"
RESERVED = "reserved"
GLOBAL = "global"

# Allowed only when private addresses are.
PRIVATE_CATEGORIES = frozenset({LOOPBACK, PRIVATE, LINK_LOCAL, SHARED})

_NETWORKS: tuple[tuple[str, str], ...] = (
    # Metadata services first: they sit inside link-local, shared and ULA ranges.
    ("169.254.169.254/32", METADATA),  # AWS, GCP, Azure, OpenStack, DigitalOcean...
    ("169.254.169.253/32", METADATA),  # AWS DNS
    ("169.254.170.2/32", METADATA),  # AWS ECS task metadata
    ("169.254.170.23/32", METADATA),  # AWS EKS pod identity
    ("100.100.100.200/32", METADATA),  # Alibaba Cloud
    ("fd00:ec2::254/128", METADATA),  # AWS over IPv6
    ("fd00:ec2::253/128", METADATA),  # AWS DNS over IPv6
    ("fd00:ec2::23/128", METADATA),  # AWS EKS pod identity over IPv6
    ("0.0.0.0/8", UNSPECIFIED),
    ("::/128", UNSPECIFIED),
    ("127.0.0.0/8", LOOPBACK),
    ("::1/128", LOOPBACK),
    ("10.0.0.0/8", PRIVATE),
    ("172.16.0.0/12", PRIVATE),
    ("192.168.0.0/16", PRIVATE),
    ("fc00::/7", PRIVATE),
    ("169.254.0.0/16", LINK_LOCAL),
    ("fe80::/10", LINK_LOCAL),
    ("100.64.0.0/10", SHARED),
    ("224.0.0.0/4", MULTICAST),
    ("ff00::/8", MULTICAST),
    ("240.0.0.0/4", RESERVED),  # includes the broadcast address
    ("fec0::/10", RESERVED),  # deprecated site-local
)
NETWORKS: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(network), category) for network, category in _NETWORKS
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAMES = ("localhost", "localhost.")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    category: str


def category(address: IPAddress) -> str:
    """What kind of address this is (the first matching entry of NETWORKS, else global or reserved)."""
    carried = embedded_ipv4(address)
    if carried is not None:
        return category(carried)
    for network, kind in NETWORKS:
        if address.version == network.version and address in network:
            return kind
    return GLOBAL if address.is_global else RESERVED


def decide(address: IPAddress, allow_private: bool) -> Decision:
    """Whether a webhook may be delivered to this address. Pure: nothing is connected to."""
    kind = category(address)
    return Decision(kind == GLOBAL or (allow_private and kind in PRIVATE_CATEGORIES), kind)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo's client), or None."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def parse_address(text: str) -> IPAddress | None:
    """An IP address written as a URL host may write one, or None for a name. Takes the forms
    resolvers take too (`127.1`, `0x7f000001`, `2130706433`), so none slips through as a name."""
    host = text.strip("[]").split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) names no other address
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def literal_refusal(url: str, allow_private: bool) -> str | None:
    """The category of a URL's host when it is written as an address (or `localhost`) the
    policy refuses; None when it is a name (decided at delivery, after resolving) or allowed."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    if host.lower() in _LOCAL_NAMES or host.lower().endswith(".localhost"):
        return None if allow_private else LOOPBACK
    address = parse_address(host)
    if address is None:
        return None
    decision = decide(address, allow_private)
    return None if decision.allowed else decision.category


def is_loopback_host(host: str) -> bool:
    """Whether the server listens only on loopback (its `--host`): then private receivers are
    allowed by default, since a receiver on the same machine is the sandbox's main use."""
    if host.lower() in _LOCAL_NAMES:
        return True
    address = parse_address(host)
    return address is not None and category(address) == LOOPBACK
