"""A SPIFFE Workload API on a unix socket, for the development stand-in. FOR DEVELOPMENT AND TESTS ONLY.

It answers the JWT profile of the Workload API the way SPIRE Agent does, for
one SPIFFE ID, with SVIDs minted by a ``JwtSvidAuthority``:

- every call must carry the metadata ``workload.spiffe.io: true`` (the
  Workload Endpoint spec's SSRF guard); without it the answer is
  ``INVALID_ARGUMENT``, which clients must not retry;
- ``FetchJWTSVID`` refuses an empty audience (``INVALID_ARGUMENT``, SPIRE's
  "audience must be specified") and a SPIFFE ID it does not issue
  (``PERMISSION_DENIED``);
- ``FetchJWTBundles`` is a long-lived stream: the complete bundle set first,
  then again whenever the authority's keys change (prepare, activate, prune);
- ``ValidateJWTSVID`` checks signature, audience, expiry and subject against
  the published keys, and answers ``INVALID_ARGUMENT`` for a bad token;
- the X.509 calls answer ``UNIMPLEMENTED``: the stand-in issues JWT-SVIDs only.

There is no workload attestation: whoever can open the socket gets an SVID.

It uses py-spiffe's generated stubs: py-spiffe's own messages are registered in
protobuf's default pool, and a second copy generated from SPIFFE's proto file
would clash with them in one process.
"""

from __future__ import annotations

import os
import socket
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import jwt
import orjson
from google.protobuf import struct_pb2
from spiffe._proto import workload_pb2, workload_pb2_grpc

from strongroom.spiffe.dev_spire import JwtSvidAuthority
from strongroom.spiffe.ids import InvalidSpiffeId, SpiffeId

HEADER_KEY = "workload.spiffe.io"
HEADER_VALUE = "true"
# The JWT-SVID spec's algorithms; anything else is refused before a key is looked up.
JWT_SVID_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
MAX_SUN_PATH = 104  # the smallest sun_path among the platforms we run on (macOS); Linux allows 108
STREAM_POLL_SECONDS = 0.5  # how often an idle bundle stream looks whether its client or the server has gone


class SocketInUse(RuntimeError):
    pass


class _WorkloadApi(workload_pb2_grpc.SpiffeWorkloadAPIServicer):
    def __init__(self, server: "WorkloadApiServer") -> None:
        self._server = server

    # -- every call ------------------------------------------------------------------

    def _admit(self, context: grpc.ServicerContext, method: str) -> None:
        self._server.count(method)
        metadata = dict(context.invocation_metadata())
        if metadata.get(HEADER_KEY) != HEADER_VALUE:
            # SPIFFE Workload Endpoint: a request without the header is refused, and not retried.
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "security header missing from request")

    # -- X.509: not offered ------------------------------------------------------------

    def FetchX509SVID(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802 - gRPC's names
        self._admit(context, "FetchX509SVID")
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "the development stand-in issues JWT-SVIDs only")

    def FetchX509Bundles(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._admit(context, "FetchX509Bundles")
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "the development stand-in issues JWT-SVIDs only")

    # -- JWT ---------------------------------------------------------------------------

    def FetchJWTSVID(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._admit(context, "FetchJWTSVID")
        audience = list(request.audience)
        if not audience or any(not entry for entry in audience):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "audience must be specified")
        spiffe_id = self._server.spiffe_id
        if request.spiffe_id and request.spiffe_id != spiffe_id:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"no identity issued for {request.spiffe_id}")
        token = self._server.authority.mint(spiffe_id, audience, ttl_seconds=self._server.svid_ttl_seconds)
        return workload_pb2.JWTSVIDResponse(svids=[workload_pb2.JWTSVID(spiffe_id=spiffe_id, svid=token)])

    def FetchJWTBundles(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:  # noqa: N802
        self._admit(context, "FetchJWTBundles")
        authority = self._server.authority
        generation, bundle = authority.workload_bundle()
        yield self._bundles_response(bundle)
        while context.is_active() and not self._server.stopping.is_set():
            if authority.wait_for_change(generation, timeout=STREAM_POLL_SECONDS) == generation:
                continue
            sent = bundle
            generation, bundle = authority.workload_bundle()
            # Activating a key changes which key signs, not which keys are published: nothing to send.
            if bundle != sent and context.is_active():
                yield self._bundles_response(bundle)

    def _bundles_response(self, bundle: dict[str, Any]) -> Any:
        trust_domain_id = f"spiffe://{self._server.authority.trust_domain}"
        self._server.count("bundles-sent")
        return workload_pb2.JWTBundlesResponse(bundles={trust_domain_id: orjson.dumps(bundle)})

    def ValidateJWTSVID(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._admit(context, "ValidateJWTSVID")
        if not request.audience:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "audience must be specified")
        if not request.svid:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "svid must be specified")
        try:
            spiffe_id, claims = self._server.validate(request.svid, request.audience)
        except InvalidJwtSvid as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        struct = struct_pb2.Struct()
        struct.update(claims)
        return workload_pb2.ValidateJWTSVIDResponse(spiffe_id=spiffe_id, claims=struct)


class InvalidJwtSvid(ValueError):
    pass


class WorkloadApiServer:
    """The Workload API of ``authority`` on the unix socket ``socket_path``, served from a gRPC thread pool."""

    def __init__(self, authority: JwtSvidAuthority, socket_path: str | os.PathLike[str], *,
                 spiffe_id: str = "spiffe://example.org/workload/api-server", svid_ttl_seconds: int = 300,
                 max_workers: int = 32) -> None:
        self.authority = authority
        self.socket_path = Path(socket_path).absolute()
        if len(str(self.socket_path).encode()) >= MAX_SUN_PATH:
            raise ValueError(f"socket path {self.socket_path} is too long for a unix socket (max {MAX_SUN_PATH - 1})")
        parsed = SpiffeId.parse(spiffe_id)
        if parsed.trust_domain != authority.trust_domain:
            raise ValueError(f"{spiffe_id} is not in the trust domain {authority.trust_domain}")
        self.spiffe_id = spiffe_id
        self.svid_ttl_seconds = svid_ttl_seconds
        self.stopping = threading.Event()
        self.calls: dict[str, int] = {}
        self._calls_lock = threading.Lock()
        # Each open FetchJWTBundles stream holds a worker for its whole life.
        self._server = grpc.server(ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="workload-api"))
        workload_pb2_grpc.add_SpiffeWorkloadAPIServicer_to_server(_WorkloadApi(self), self._server)

    @property
    def endpoint(self) -> str:
        """The value for ``SPIFFE_ENDPOINT_SOCKET``."""
        return f"unix://{self.socket_path}"

    def count(self, name: str) -> None:
        with self._calls_lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def validate(self, token: str, audience: str) -> tuple[str, dict[str, Any]]:
        """(SPIFFE ID, claims) of a JWT-SVID signed by one of the published keys; InvalidJwtSvid otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidJwtSvid(f"malformed token: {exc}") from None
        if header.get("alg") not in JWT_SVID_ALGORITHMS:
            raise InvalidJwtSvid(f"unsupported token signature algorithm {header.get('alg')!r}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidJwtSvid("token header missing key id")
        key = self.authority.find_key(kid)
        if key is None:
            raise InvalidJwtSvid(f'no JWT authority found for key "{kid}"')
        if header["alg"] != key.alg:
            raise InvalidJwtSvid(f"token algorithm {header['alg']} does not fit key {kid}")
        try:
            claims = jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=[key.alg],  # the algorithm of the key the kid names, nothing else
                audience=audience,  # the caller's audience must be one of the token's
                options={"require": ["sub", "aud", "exp"], "verify_exp": True, "verify_aud": True},
                leeway=0,
            )
        except jwt.PyJWTError as exc:
            raise InvalidJwtSvid(f"token is invalid: {exc}") from None
        try:
            subject = SpiffeId.parse(claims["sub"])
        except InvalidSpiffeId as exc:
            raise InvalidJwtSvid(f"token has an invalid subject claim: {exc}") from None
        if subject.trust_domain != self.authority.trust_domain:
            raise InvalidJwtSvid(f"no keys found for trust domain {subject.trust_domain!r}")
        return str(subject), claims

    def start(self) -> "WorkloadApiServer":
        self._claim_socket_path()
        if self._server.add_insecure_port(f"unix:{self.socket_path}") == 0:
            raise SocketInUse(f"cannot listen on {self.socket_path}")
        self._server.start()
        return self

    def _claim_socket_path(self) -> None:
        self.socket_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.path.lexists(self.socket_path):
            return
        if not stat.S_ISSOCK(os.lstat(self.socket_path).st_mode):
            raise SocketInUse(f"{self.socket_path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(1)
            probe.connect(str(self.socket_path))
        except OSError:
            os.unlink(self.socket_path)  # a stale socket left by a process that died
        else:
            raise SocketInUse(f"another process is serving on {self.socket_path}")
        finally:
            probe.close()

    def stop(self, grace: float = 0.5) -> None:
        self.stopping.set()
        self._server.stop(grace).wait(timeout=grace + 5)
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "WorkloadApiServer":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
