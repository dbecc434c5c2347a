"""Trusted IP ranges of an access token: parsing, the stored form, and the check."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from typing import Any, Iterable

from strongroom.errors import BadRequest

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_TRUSTED_IPS: tuple[str, ...] = ("0.0.0.0/0", "::/0")
INVALID_IP_MESSAGE = "The IP is not a valid IPv4, IPv6, or CIDR block"


def parse_trusted_ip(text: str) -> dict[str, Any]:
    """``"10.0.0.0/8"`` → ``{"ipAddress": "10.0.0.0", "type": "ipv4", "prefix": 8}`` (Infisical's stored form)."""
    text = text.strip()
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            return {
                "ipAddress": str(network.network_address),
                "type": f"ipv{network.version}",
                "prefix": network.prefixlen,
            }
        # An IPv4-mapped IPv6 address is the IPv4 client it maps, as the check sees it.
        address = normalise_address(ipaddress.ip_address(text))
    except ValueError as exc:
        raise BadRequest(f"{INVALID_IP_MESSAGE}: {text!r}") from exc
    return {"ipAddress": str(address), "type": f"ipv{address.version}"}


def parse_trusted_ips(entries: Iterable[str]) -> list[dict[str, Any]]:
    parsed = [parse_trusted_ip(entry) for entry in entries]
    if not parsed:
        raise BadRequest("At least one trusted IP range is required")
    return parsed


def _network(entry: dict[str, Any]) -> IpNetwork:
    if "prefix" in entry and entry["prefix"] is not None:
        return ipaddress.ip_network(f"{entry['ipAddress']}/{entry['prefix']}", strict=False)
    return ipaddress.ip_network(entry["ipAddress"])


def normalise_address(address: IpAddress) -> IpAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=1024)
def _networks(stored: str) -> tuple[IpNetwork, ...]:
    # Every authenticated request checks its method's list: each distinct list is decoded and parsed once.
    return tuple(_network(entry) for entry in json.loads(stored))


def ip_allowed(client_ip: str | None, stored: str) -> bool:
    """Whether ``client_ip`` is in the trusted ranges ``stored`` (the list in its stored form, as JSON text)."""
    networks = _networks(stored)
    if all(network.prefixlen == 0 for network in networks):
        # The wildcard ranges allow everyone, including clients whose address is unknown.
        return bool(networks)
    if client_ip is None:
        return False
    try:
        address = normalise_address(ipaddress.ip_address(client_ip))
    except ValueError:
        return False
    return any(address.version == network.version and address in network for network in networks)
