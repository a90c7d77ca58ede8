"""The address of the person at the other end of a request, for the audit log and the
tablets' network rule (C-S2.1).

Behind a reverse proxy, `REMOTE_ADDR` is the proxy's own address and the client's is in
`X-Forwarded-For`. That header is written by whoever sends the request, so only the
entries added by proxies we trust count: the client is the rightmost address that is not
a trusted proxy (nginx's `$proxy_add_x_forwarded_for` appends the address it saw; what a
client put in front of it is ignored). No trusted proxies (the default outside
production): `REMOTE_ADDR` alone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """`"127.0.0.1/32, 10.0.0.0/8"` → networks; ValueError names a bad entry."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"信頼するプロキシのアドレスが正しくありません: {part!r}") from exc
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, proxies: Iterable[Network]) -> bool:
    return any(address in network for network in proxies)


def resolve_client(remote_addr: str, forwarded_for: str, proxies: Iterable[Network]) -> str:
    """The client's address, given the connection's peer and the X-Forwarded-For header."""
    proxies = tuple(proxies)
    peer = _address(remote_addr)
    if peer is None:
        return remote_addr
    if not proxies or not forwarded_for or not _trusted(peer, proxies):
        return str(peer)
    client = peer
    for entry in reversed(forwarded_for.split(",")):
        if not _trusted(client, proxies):
            break
        hop = _address(entry)
        if hop is None:  # a garbled entry: the last address we could vouch for
            break
        client = hop
    return str(client)


def client_ip(request) -> str:
    from django.conf import settings

    return resolve_client(
        request.META.get("REMOTE_ADDR", ""),
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        settings.GENCHI_TRUSTED_PROXIES,
    )
