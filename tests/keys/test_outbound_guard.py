"""Discovery and key URLs may not reach internal addresses unless the operator allows it."""

from __future__ import annotations

import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from strongroom.outbound import FetchError, HttpFetcher, is_internal_address
from strongroom.settings import Settings
from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, SPIFFE_ID, Api, bootstrap, make_settings, start_server


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("169.254.169.254", True),  # cloud metadata
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("100.64.0.1", True),  # carrier-grade NAT
        ("0.0.0.0", True),
        ("fd00::1", True),
        ("fe80::1", True),
        ("::ffff:127.0.0.1", True),
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
    ],
)
def test_internal_address_classification(address: str, internal: bool) -> None:
    assert is_internal_address(address) is internal


def test_fetcher_refuses_loopback_by_default_and_names_the_setting(provider: DiscoveryProvider) -> None:
    fetcher = HttpFetcher(2, 1024 * 1024)
    with pytest.raises(FetchError, match="STRONGROOM_ALLOW_INTERNAL_ISSUERS=true"):
        fetcher.get_json(f"{provider.url}/keys")
    assert provider.fetches("/keys") == 0  # refused before connecting


def test_fetcher_refuses_a_name_that_resolves_to_loopback(provider: DiscoveryProvider) -> None:
    port = provider.url.rsplit(":", 1)[1]
    with pytest.raises(FetchError, match="internal address 127.0.0.1"):
        HttpFetcher(2, 1024 * 1024).get_json(f"http://localhost:{port}/keys")
    assert provider.fetches("/keys") == 0


def test_fetcher_refuses_the_metadata_address_without_sending_anything() -> None:
    with pytest.raises(FetchError, match="169.254.169.254"):
        HttpFetcher(2, 1024 * 1024).get_json("http://169.254.169.254/latest/meta-data/")


def test_fetcher_allows_internal_addresses_with_the_setting(provider: DiscoveryProvider) -> None:
    document = HttpFetcher(2, 1024 * 1024, allow_internal=True).get_json(f"{provider.url}/keys")
    assert isinstance(document, dict) and len(document["keys"]) == 1


class _Redirecting(BaseHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_redirects_are_not_followed(redirecting_server: str) -> None:
    with pytest.raises(FetchError, match="HTTP 302"):
        HttpFetcher(2, 1024 * 1024, allow_internal=True).get_json(redirecting_server)


@pytest.fixture(scope="module")
def guarded_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = replace(make_settings(tmp_path_factory.mktemp("guarded"), None), allow_internal_issuers=False)
    server = start_server(settings)
    api = bootstrap(server)
    yield api
    server.stop()


def test_login_against_a_loopback_issuer_is_refused_by_default(
    guarded_api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority
) -> None:
    identity_id = guarded_api.identity_with_oidc(provider)
    response = guarded_api.login(identity_id, authority.mint(SPIFFE_ID, [AUDIENCE]))
    assert response.status_code == 401
    assert "STRONGROOM_ALLOW_INTERNAL_ISSUERS=true" in response.json()["message"]
    assert provider.fetches("/.well-known/openid-configuration") == 0


def test_settings_read_the_internal_issuer_flag(tmp_path: Path) -> None:
    assert Settings.from_env({"STRONGROOM_DATA_DIR": str(tmp_path)}).allow_internal_issuers is False
    assert Settings.from_env({"STRONGROOM_ALLOW_INTERNAL_ISSUERS": "true"}).allow_internal_issuers is True
    with pytest.raises(ValueError, match="true or false"):
        Settings.from_env({"STRONGROOM_ALLOW_INTERNAL_ISSUERS": "maybe"})
