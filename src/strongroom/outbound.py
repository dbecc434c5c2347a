"""The one HTTP client factory for requests Strongroom makes itself (discovery documents, key sets, bundles).

Every fetch is bounded in time and size, verifies TLS (against the auth
method's own CA when one is configured, the system roots otherwise: never
"no verification", Infisical's old behaviour) and does not follow redirects.

A discovery URL is operator input that makes the server send requests, so by
default it may not reach loopback, link-local (cloud metadata at
169.254.169.254), private or otherwise non-public addresses. The check is made
on the address actually connected to, after DNS resolution, for every fetch
(the ``jwks_uri`` a discovery document names included), so neither a DNS name
pointing inside nor a rebinding answer gets past it. Many SPIRE discovery
providers do live inside the cluster: ``STRONGROOM_ALLOW_INTERNAL_ISSUERS=true`` allows them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
import threading
from typing import Any, Iterable

import httpcore
import httpx
import orjson

ALLOW_INTERNAL_SETTING = "STRONGROOM_ALLOW_INTERNAL_ISSUERS"


class FetchError(Exception):
    pass


def is_internal_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global


class PublicAddressesOnly(httpcore.NetworkBackend):
    """Resolves the host itself and connects only to a public address it has checked."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"Could not resolve hostname {host!r}: {exc}") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        internal = [address for address in addresses if is_internal_address(address)]
        if internal:
            raise httpcore.ConnectError(
                f"{host} resolves to the internal address {internal[0]}; internal issuers are refused. "
                f"If this issuer is yours (a SPIRE discovery provider inside the cluster), set "
                f"{ALLOW_INTERNAL_SETTING}=true."
            )
        # Connect to the address that was checked, not to a fresh resolution of the name.
        return self._inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class HttpFetcher:
    def __init__(self, timeout_seconds: float, max_bytes: int, *, allow_internal: bool = False) -> None:
        self._timeout = httpx.Timeout(timeout_seconds)
        self._max_bytes = max_bytes
        self._allow_internal = allow_internal
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def _transport(self, verify: ssl.SSLContext) -> httpx.HTTPTransport:
        transport = httpx.HTTPTransport(verify=verify, trust_env=False)
        if not self._allow_internal:
            # httpx 0.28 (pinned) builds its pool from httpcore; give that pool our
            # network backend. tests/auth/test_outbound_guard.py fails if this stops working.
            transport._pool = httpcore.ConnectionPool(  # noqa: SLF001
                ssl_context=verify, network_backend=PublicAddressesOnly(), max_connections=10
            )
        return transport

    def _client(self, ca_cert: str) -> httpx.Client:
        key = hashlib.sha256(ca_cert.encode()).hexdigest()
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                # With a CA configured, trust only that CA (as Infisical's current version does).
                verify = ssl.create_default_context(cadata=ca_cert) if ca_cert else ssl.create_default_context()
                client = httpx.Client(
                    transport=self._transport(verify), timeout=self._timeout, follow_redirects=False,
                    trust_env=False, headers={"Accept": "application/json", "User-Agent": "strongroom"},
                )
                self._clients[key] = client
            return client

    def get_json(self, url: str, ca_cert: str = "") -> object:
        try:
            with self._client(ca_cert).stream("GET", url) as response:
                if response.status_code // 100 != 2:
                    raise FetchError(f"GET {url} answered HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise FetchError(f"GET {url} returned more than {self._max_bytes} bytes")
        except httpx.TimeoutException:
            raise FetchError(f"GET {url} timed out") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {url} failed: {exc}") from None
        except ssl.SSLError as exc:
            raise FetchError(f"GET {url} failed TLS verification: {exc}") from None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise FetchError(f"GET {url} did not return JSON") from None

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
