"""Where a tablet may sync from: only the networks set for its contract (C-S2.1, S6).

`GENCHI_TABLET_SYNC_NETWORKS` maps a contract code (or "*" for every other contract)
to a list of CIDR blocks. The demo default is the machine itself and the private ranges
of an office LAN; production names the office's own networks.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

DEFAULT_NETWORKS = [
    "127.0.0.1/32",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
]


def networks_for(contract_code: str | None) -> list[str]:
    configured = getattr(settings, "GENCHI_TABLET_SYNC_NETWORKS", None) or {"*": DEFAULT_NETWORKS}
    if contract_code and contract_code in configured:
        return list(configured[contract_code])
    return list(configured.get("*", []))


def allowed(ip: str, contract_code: str | None = None) -> bool:
    """Whether `ip` lies in one of the networks set for the contract (or the default)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for block in networks_for(contract_code):
        try:
            network = ipaddress.ip_network(block, strict=False)
        except ValueError:
            continue
        if address.version == network.version and address in network:
            return True
    return False
