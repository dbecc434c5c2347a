"""The CLI's HTTP client for Strongroom's (Infisical-compatible) API.

Every call has a time limit. A server that cannot be reached raises
``ServerUnreachable``; an answer that is an API error raises ``ApiRefused``
with the server's own message, which names the problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from strongroom.cli.failures import CliError

DEFAULT_API_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT_SECONDS = 10.0
LOGIN_METHODS = ("oidc-auth", "spiffe-auth")


class ServerUnreachable(CliError):
    """No answer from the server (refused, timed out, or a 502/503/504 from a proxy): retrying may help."""


class ApiRefused(CliError):
    """The server answered with an error."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(f"{message} ({status} {error})" if error else f"{message} ({status})")
        self.status = status
        self.error = error
        self.server_message = message

    @property
    def is_token_problem(self) -> bool:
        """The access token is expired, revoked or replaced: a new login fixes it."""
        return self.status == 401 or self.error == "TokenError"


@dataclass(frozen=True)
class AccessGrant:
    """An access token as a login or renewal returned it, and when (monotonic seconds) we received it."""

    access_token: str
    expires_in: int  # seconds; 0 means the token does not expire
    max_ttl: int  # seconds from login that renewals may reach; 0 means no limit
    received_at: float = field(default_factory=time.monotonic)

    @property
    def expires_at(self) -> float | None:
        return self.received_at + self.expires_in if self.expires_in else None

    def as_response(self) -> dict[str, Any]:
        return {"accessToken": self.access_token, "expiresIn": self.expires_in,
                "accessTokenMaxTTL": self.max_ttl, "tokenType": "Bearer"}


@dataclass(frozen=True)
class SecretLocation:
    project_id: str
    environment: str
    path: str = "/"

    def query(self) -> dict[str, str]:
        return {"workspaceId": self.project_id, "environment": self.environment, "secretPath": self.path}

    def body(self) -> dict[str, str]:
        return {"workspaceId": self.project_id, "environment": self.environment, "secretPath": self.path}


@dataclass(frozen=True)
class Secret:
    key: str
    value: str
    comment: str = ""


@dataclass(frozen=True)
class SecretListing:
    """A folder's secrets and the secrets of its imports, as one read returned them."""

    secrets: list[Secret]
    imports: list[list[Secret]]
    etag: str | None

    def merged(self) -> dict[str, str]:
        """The values a program sees: an imported value is overridden by a later import and by the folder's own."""
        values: dict[str, str] = {}
        for imported in self.imports:
            for secret in imported:
                values[secret.key] = secret.value
        for secret in self.secrets:
            values[secret.key] = secret.value
        return values


def normalise_api_url(url: str) -> str:
    url = url.strip().rstrip("/")
    # Infisical's CLI takes its domain with the /api suffix (https://app.infisical.com/api); accept that form too.
    if url.endswith("/api"):
        url = url[: -len("/api")]
    if not url.startswith(("http://", "https://")):
        raise CliError(f"the Strongroom URL {url!r} must start with http:// or https://")
    return url


def _secrets_of(entries: Any) -> list[Secret]:
    return [Secret(entry["secretKey"], entry.get("secretValue", ""), entry.get("secretComment") or "")
            for entry in entries or []]


class StrongroomClient:
    def __init__(self, base_url: str = DEFAULT_API_URL, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.base_url = normalise_api_url(base_url)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "StrongroomClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------

    def _request(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise ServerUnreachable(f"Strongroom at {self.base_url} did not answer in time") from None
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise ServerUnreachable(f"cannot reach Strongroom at {self.base_url}: {reason}") from None
        if response.status_code in (502, 503, 504):
            raise ServerUnreachable(f"Strongroom at {self.base_url} is unavailable ({response.status_code})")
        if response.status_code >= 400:
            raise self._refusal(response)
        return response

    @staticmethod
    def _refusal(response: httpx.Response) -> ApiRefused:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "message" in body:
            message = body["message"]
            if not isinstance(message, str):  # validation errors carry a list of problems
                message = "; ".join(
                    f"{'.'.join(map(str, item.get('path', [])))}: {item.get('message')}".lstrip(": ")
                    if isinstance(item, dict) else str(item)
                    for item in (message if isinstance(message, list) else [message])
                )
            return ApiRefused(response.status_code, str(body.get("error", "")), message)
        return ApiRefused(response.status_code, "", response.text[:200] or response.reason_phrase)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise CliError(f"Strongroom answered {response.status_code} with a body that is not JSON") from None

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> Any:
        """Any API call; its JSON answer."""
        return self._json(self._request(method, path, token=token, **kwargs))

    # -- tokens ----------------------------------------------------------------------

    def login(self, method: str, identity_id: str, jwt: str) -> AccessGrant:
        if method not in LOGIN_METHODS:
            raise CliError(f"unknown login method {method!r}; use one of {', '.join(LOGIN_METHODS)}")
        response = self._request("POST", f"/api/v1/auth/{method}/login", json={"identityId": identity_id, "jwt": jwt})
        return self._grant(response)

    def renew(self, access_token: str) -> AccessGrant:
        return self._grant(self._request("POST", "/api/v1/auth/token/renew", json={"accessToken": access_token}))

    def _grant(self, response: httpx.Response) -> AccessGrant:
        body = self._json(response)
        try:
            return AccessGrant(str(body["accessToken"]), int(body.get("expiresIn") or 0),
                               int(body.get("accessTokenMaxTTL") or 0))
        except (KeyError, TypeError, ValueError):
            raise CliError("Strongroom's login answer has no access token") from None

    # -- secrets ---------------------------------------------------------------------

    def list_secrets(self, token: str, where: SecretLocation, *, expand: bool = True, include_imports: bool = True,
                     etag: str | None = None) -> SecretListing | None:
        """The folder's secrets; None when ``etag`` still matches (nothing changed)."""
        params = {**where.query(), "expandSecretReferences": str(expand).lower(),
                  "include_imports": str(include_imports).lower()}
        headers = {"If-None-Match": etag} if etag else {}
        response = self._request("GET", "/api/v3/secrets/raw", token=token, params=params, headers=headers)
        if response.status_code == 304:
            return None
        body = self._json(response)
        return SecretListing(
            secrets=_secrets_of(body.get("secrets")),
            imports=[_secrets_of(entry.get("secrets")) for entry in body.get("imports") or []],
            etag=response.headers.get("ETag"),
        )

    def get_secret(self, token: str, where: SecretLocation, key: str, *, expand: bool = True) -> Secret:
        params = {**where.query(), "expandSecretReferences": str(expand).lower(), "include_imports": "true"}
        body = self._json(self._request("GET", f"/api/v3/secrets/raw/{_name(key)}", token=token, params=params))
        return _secrets_of([body["secret"]])[0]

    def set_secrets(self, token: str, where: SecretLocation, values: dict[str, str]) -> None:
        """Create or update ``values`` in one atomic request."""
        items = [{"secretKey": key, "secretValue": value} for key, value in values.items()]
        self._request("PATCH", "/api/v3/secrets/batch/raw", token=token,
                      json={**where.body(), "mode": "upsert", "secrets": items})

    def delete_secrets(self, token: str, where: SecretLocation, keys: list[str]) -> None:
        self._request("DELETE", "/api/v3/secrets/batch/raw", token=token,
                      json={**where.body(), "secrets": [{"secretKey": key} for key in keys]})


def _name(key: str) -> str:
    from urllib.parse import quote

    return quote(key, safe="")
