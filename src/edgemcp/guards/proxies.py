"""Trusted reverse proxies: whose ``Forwarded`` (RFC 7239) and ``X-Forwarded-For`` /
``-Host`` / ``-Proto`` headers are believed.

Behind a load balancer the TCP peer is the balancer, and the ``Host`` it sends may be an
internal name: the client's host, address and scheme travel in these headers. Anyone can
send them, so they are read ONLY when the peer is a configured proxy (IPs or CIDRs), and
then only as far back as the chain of trusted proxies goes: walking from the nearest hop
outwards, each hop whose sender is trusted hands over to the address it names, and the
walk stops at the first untrusted address (the client). What a client wrote in these
headers itself sits further left and is never read.
"""

import ipaddress
import os
from dataclasses import dataclass
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What the trusted proxies say of the request: the host the client asked for, its
    address (an IP, or a proxy's obfuscated token such as ``_hidden``), its scheme."""

    host: str | None
    client: str | None
    proto: str | None


def parse_networks(entries: list[str]) -> list[Network]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"trusted proxy {entry!r}: expected an IP address or a CIDR block") from None
    return networks


def from_settings(configured: list[str] | None) -> "TrustedProxies | None":
    """The trusted proxies: ``configured``, else ``$EDGEMCP_TRUSTED_PROXIES`` (comma-separated);
    None when there are none (then no forwarded header is ever read)."""
    if configured is None:
        value = os.environ.get("EDGEMCP_TRUSTED_PROXIES", "")
        configured = [part for part in value.split(",") if part.strip()]
    return TrustedProxies(parse_networks(configured)) if configured else None


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _split(value: str, separator: str) -> list[str]:
    """Split on ``separator`` outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def parse_forwarded(value: str) -> list[dict[str, str]]:
    """RFC 7239 elements, in order (the nearest proxy's last); parameter names lower-cased."""
    elements = []
    for element in _split(value, ","):
        pairs: dict[str, str] = {}
        for pair in _split(element, ";"):
            name, sep, text = pair.partition("=")
            if sep and name.strip():
                pairs[name.strip().lower()] = _unquote(text)
        elements.append(pairs)
    return elements


def node_address(node: str | None) -> str | None:
    """The address in a node (``192.0.2.1:80``, ``[2001:db8::1]:80``, ``_hidden``): the IP
    without its port, else the token itself; None for ``unknown`` or nothing."""
    if not node or node.lower() == "unknown":
        return None
    node = node.strip()
    if node.startswith("["):
        return node[1:node.find("]")] if "]" in node else None
    if node.count(":") == 1:  # IPv4 with a port (a bare IPv6 address has several colons)
        node = node.partition(":")[0]
    return node


class TrustedProxies:
    def __init__(self, networks: list[Network]) -> None:
        self.networks = networks
        # A balancer connects from the same few addresses on every request.
        self.trusts = lru_cache(maxsize=1024)(self.trusts)  # type: ignore[method-assign]

    def trusts(self, address: str | None) -> bool:
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False  # an obfuscated token or garbage: not a proxy we know
        return any(ip in network for network in self.networks)

    def resolve(self, headers: dict[str, str], peer: str | None) -> Forwarded | None:
        """What the chain of trusted proxies in front of ``peer`` says; None when ``peer``
        is not one of them, or it forwarded nothing."""
        if not self.trusts(peer):
            return None
        forwarded = headers.get("forwarded")
        if forwarded is not None:
            hops = parse_forwarded(forwarded)
        elif "x-forwarded-for" in headers:
            hops = [{"for": part.strip()} for part in headers["x-forwarded-for"].split(",")]
        else:
            hops = []
        address, used, count = peer, None, 0
        for hop in reversed(hops):
            if not self.trusts(address):
                break
            used, count = hop, count + 1
            address = node_address(hop.get("for"))
        if forwarded is not None:
            host, proto = (used or {}).get("host"), (used or {}).get("proto")
        else:  # X-Forwarded-Host / -Proto: the value the outermost trusted proxy set
            host = _nth_from_right(headers.get("x-forwarded-host"), count)
            proto = _nth_from_right(headers.get("x-forwarded-proto"), count)
        if used is None and host is None and proto is None:
            return None
        return Forwarded(host or None, address if used is not None else None, proto.lower() if proto else None)


def _nth_from_right(value: str | None, count: int) -> str | None:
    """Of a comma-separated header each proxy may append to, the value ``count`` hops out
    (the only one when a proxy overwrote it)."""
    if not value:
        return None
    parts = [part.strip() for part in value.split(",")]
    return parts[max(0, len(parts) - max(count, 1))] or None
