"""The whole development SPIRE stand-in in one object. FOR DEVELOPMENT AND TESTS ONLY.

One ``JwtSvidAuthority`` (the SPIRE Server part: keys, minting, rotation on
SPIRE's timetable), seen through the two doors a relying party and a workload
use: SPIRE's OIDC discovery provider over HTTP, and the SPIFFE Workload API on
a unix socket. ``strongroom dev spire`` and ``strongroom demo`` run it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from strongroom.spiffe.ids import SpiffeId
from strongroom.spiffe.rotation import KeyRotator, RotationEvent

DEFAULT_SPIFFE_ID = "spiffe://example.org/workload/api-server"


def default_socket_path(name: str = "strongroom-dev-spire") -> Path:
    # Short and per user: a unix socket path must stay under ~100 bytes, and /tmp is shared.
    return Path("/tmp") / f"{name}-{os.getuid()}" / "api.sock"


class SpireStandIn:
    def __init__(self, *, spiffe_id: str = DEFAULT_SPIFFE_ID, host: str = "127.0.0.1", port: int = 0,
                 socket_path: Path | None = None, key_ttl: float = 24 * 3600.0, svid_ttl: int = 300,
                 on_rotation: Callable[[RotationEvent], None] | None = None) -> None:
        # Imported here: grpc is slow to import, and the CLI's other commands import this module.
        from strongroom.spiffe.workload_api import WorkloadApiServer

        trust_domain = SpiffeId.parse(spiffe_id).trust_domain
        self.authority = JwtSvidAuthority(trust_domain=trust_domain)
        self.provider = DiscoveryProvider(self.authority, host=host, port=port, mint_endpoint=True,
                                          default_spiffe_id=spiffe_id)
        # As a SPIRE Server whose jwt_issuer is the discovery provider's public URL (the recommended setup).
        self.authority.issuer = self.provider.url
        self.workload_api = WorkloadApiServer(self.authority, socket_path or default_socket_path(),
                                              spiffe_id=spiffe_id, svid_ttl_seconds=svid_ttl)
        self.rotator = KeyRotator(self.authority, key_ttl, on_event=on_rotation)
        self.spiffe_id = spiffe_id

    @property
    def discovery_url(self) -> str:
        return self.provider.url

    @property
    def endpoint(self) -> str:
        """The value for ``SPIFFE_ENDPOINT_SOCKET``."""
        return self.workload_api.endpoint

    def start(self) -> "SpireStandIn":
        self.workload_api.start()
        try:
            self.provider.start()
            self.rotator.start()
        except BaseException:
            self.workload_api.stop()
            raise
        return self

    def stop(self) -> None:
        self.rotator.stop()
        self.provider.stop()
        self.workload_api.stop()

    def __enter__(self) -> "SpireStandIn":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
