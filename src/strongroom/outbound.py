"""The one HTTP client factory for requests Strongroom makes itself (discovery documents, key sets).

Every fetch is bounded in time and size, verifies TLS (against the auth
method's own CA when one is configured, the system roots otherwise: never
"no verification", Infisical's old behaviour) and does not follow redirects.
"""

from __future__ import annotations

import hashlib
import ssl
import threading

import httpx
import orjson


class FetchError(Exception):
    pass


class HttpFetcher:
    def __init__(self, timeout_seconds: float, max_bytes: int) -> None:
        self._timeout = httpx.Timeout(timeout_seconds)
        self._max_bytes = max_bytes
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, ca_cert: str) -> httpx.Client:
        key = hashlib.sha256(ca_cert.encode()).hexdigest()
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                # With a CA configured, trust only that CA (as Infisical's current version does).
                verify: ssl.SSLContext | bool = (
                    ssl.create_default_context(cadata=ca_cert) if ca_cert else ssl.create_default_context()
                )
                client = httpx.Client(
                    verify=verify, timeout=self._timeout, follow_redirects=False, trust_env=False,
                    headers={"Accept": "application/json", "User-Agent": "strongroom"},
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
