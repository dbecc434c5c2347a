"""The one place that decides a request's client address.

Infisical believes ``X-Forwarded-For`` and a dozen similar headers from any
peer, so any client can claim any address and walk past a trusted-IP range.
Strongroom uses the socket peer unless that peer is one of the operator's
trusted proxies (``STRONGROOM_TRUSTED_PROXIES``); only then are the forwarded
headers read, in Infisical's order, or only those named in
``STRONGROOM_FORWARDED_HEADERS``. Narrowing the list matters even behind a
trusted proxy: a proxy that sets ``X-Forwarded-For`` but passes
``X-Client-IP`` through untouched forwards whatever the client wrote there,
and that header comes first in Infisical's order.
"""

from __future__ import annotations

import ipaddress
from typing import Sequence

from starlette.requests import Request

from strongroom.auth.trusted_ips import IpNetwork, normalise_address

# Infisical's order (backend/src/server/plugins/ip.ts); the first header present wins.
FORWARDED_HEADERS: tuple[str, ...] = (
    "cf-connecting-ip",
    "cf-pseudo-ipv4",
    "x-client-ip",
    "x-envoy-external-address",
    "x-forwarded-for",
    "fastly-client-ip",
    "true-client-ip",
    "x-real-ip",
    "x-cluster-client-ip",
    "forwarded-for",
    "x-forwarded",
    "forwarded",
    "x-appengine-user-ip",
)


def _is_trusted(address: str, proxies: Sequence[IpNetwork]) -> bool:
    try:
        parsed = normalise_address(ipaddress.ip_address(address))
    except ValueError:
        return False
    return any(parsed.version == proxy.version and parsed in proxy for proxy in proxies)


def _forwarded_for(value: str) -> str:
    # RFC 7239 "Forwarded: for=1.2.3.4;proto=https" as well as plain address lists.
    for part in value.split(";"):
        part = part.strip()
        if part.lower().startswith("for="):
            return part[4:].strip('"[]')
    return value


def client_ip(request: Request, trusted_proxies: Sequence[IpNetwork],
              forwarded_headers: Sequence[str] | None = None) -> str | None:
    peer = request.client.host if request.client else None
    if peer is None or not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return peer
    headers = request.headers
    for name in forwarded_headers or FORWARDED_HEADERS:
        # Every line of the header, in order: HAProxy's `option forwardfor` adds a line of its own
        # after the client's, so reading only the first line would read the client's words.
        value = ",".join(headers.getlist(name))
        if not value:
            continue
        hops = [_forwarded_for(hop.strip()) for hop in value.split(",") if hop.strip()]
        # Walk from the nearest hop outwards: the first address that is not one of
        # our proxies is the client. Anything left of it was written by the client.
        for hop in reversed(hops):
            if not _is_trusted(hop, trusted_proxies):
                return hop
        return hops[0] if hops else peer
    return peer
