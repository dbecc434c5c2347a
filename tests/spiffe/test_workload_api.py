"""The stand-in's SPIFFE Workload API, spoken to by the real py-spiffe client (and by raw gRPC where py-spiffe
would refuse to send the request)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import jwt
import orjson
import pytest
from spiffe import JwtBundleSet, JwtSvid, TrustDomain, WorkloadApiClient
from spiffe._proto import workload_pb2, workload_pb2_grpc
from spiffe.workloadapi.errors import ValidateJwtSvidError

from strongroom.spiffe.dev_spire import AuthorityKey, JwtSvidAuthority
from strongroom.spiffe.rotation import KeyRotator
from strongroom.spiffe.workload_api import SocketInUse, WorkloadApiServer
from tests.conftest import SPIFFE_ID

TRUST_DOMAIN = TrustDomain("example.org")
HEADER = (("workload.spiffe.io", "true"),)


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="sr-", dir="/tmp"))  # short: sun_path holds ~100 bytes
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def authority() -> JwtSvidAuthority:
    return JwtSvidAuthority(trust_domain="example.org")


@pytest.fixture
def server(authority: JwtSvidAuthority, socket_dir: Path) -> Iterator[WorkloadApiServer]:
    with WorkloadApiServer(authority, socket_dir / "api.sock", spiffe_id=SPIFFE_ID, svid_ttl_seconds=120) as running:
        yield running


@pytest.fixture
def client(server: WorkloadApiServer) -> Iterator[WorkloadApiClient]:
    workload = WorkloadApiClient(socket_path=server.endpoint, default_timeout=5)
    yield workload
    workload.close()


@pytest.fixture
def raw_stub(server: WorkloadApiServer) -> Iterator[workload_pb2_grpc.SpiffeWorkloadAPIStub]:
    """A stub without py-spiffe's interceptor: it sends only the metadata a test gives it."""
    channel = grpc.insecure_channel(f"unix:{server.socket_path}")
    yield workload_pb2_grpc.SpiffeWorkloadAPIStub(channel)
    channel.close()


def test_real_client_gets_a_spire_shaped_jwt_svid_for_the_configured_id(
        client: WorkloadApiClient, authority: JwtSvidAuthority) -> None:
    svid = client.fetch_jwt_svid(audience={"strongroom", "other"})
    assert str(svid.spiffe_id) == SPIFFE_ID
    assert svid.audience == {"strongroom", "other"}
    assert svid.expiry - time.time() == pytest.approx(120, abs=3)
    header = jwt.get_unverified_header(svid.token)
    assert authority.active is not None
    assert header == {"alg": "ES256", "kid": authority.active.kid, "typ": "JWT"}
    claims = jwt.decode(svid.token, options={"verify_signature": False})
    assert isinstance(claims["aud"], list) and set(claims) == {"sub", "aud", "iat", "exp"}  # no iss: none configured


def test_svid_validates_against_the_bundle_from_the_workload_api(client: WorkloadApiClient) -> None:
    svid = client.fetch_jwt_svid(audience={"strongroom"})
    bundles = client.fetch_jwt_bundles()
    bundle = bundles.get_bundle_for_trust_domain(TRUST_DOMAIN)
    assert bundle is not None
    validated = JwtSvid.parse_and_validate(svid.token, bundle, {"strongroom"})
    assert str(validated.spiffe_id) == SPIFFE_ID


def test_bundle_is_a_plain_jwks_as_spire_agent_sends_it(raw_stub: workload_pb2_grpc.SpiffeWorkloadAPIStub,
                                                         authority: JwtSvidAuthority) -> None:
    first = next(raw_stub.FetchJWTBundles(workload_pb2.JWTBundlesRequest(), metadata=HEADER, timeout=5))
    assert list(first.bundles) == ["spiffe://example.org"]
    keys = orjson.loads(first.bundles["spiffe://example.org"])["keys"]
    assert authority.active is not None
    assert [key["kid"] for key in keys] == [authority.active.kid]
    assert set(keys[0]) == {"kty", "crv", "x", "y", "kid"}  # no alg, no use: bundleutil's StandardJWKS


def test_bundle_stream_pushes_each_rotation_and_new_svids_use_the_new_key(
        client: WorkloadApiClient, authority: JwtSvidAuthority) -> None:
    received: list[JwtBundleSet] = []
    arrived = threading.Condition()

    def on_bundles(bundles: JwtBundleSet) -> None:
        with arrived:
            received.append(bundles)
            arrived.notify_all()

    def kids(bundles: JwtBundleSet) -> set[str]:
        bundle = bundles.get_bundle_for_trust_domain(TRUST_DOMAIN)
        assert bundle is not None
        return set(bundle.jwt_authorities)

    stream = client.stream_jwt_bundles(on_bundles, lambda error: pytest.fail(f"stream failed: {error}"))
    try:
        with arrived:
            assert arrived.wait_for(lambda: len(received) == 1, timeout=5)
        first_key = authority.active
        assert first_key is not None and kids(received[0]) == {first_key.kid}

        # A 3-second key: the next is published at 1.5s and signs from 2.5s, on SPIRE's 1/2 and 5/6 marks.
        started = time.time()
        with KeyRotator(authority, key_ttl=3.0):
            with arrived:
                assert arrived.wait_for(lambda: len(received) >= 2, timeout=10)
            published_after = time.time() - started
            next_kid = (kids(received[1]) - {first_key.kid}).pop()
            assert kids(received[1]) == {first_key.kid, next_kid}  # published before it signs
            assert published_after == pytest.approx(1.5, abs=0.6)
            assert jwt.get_unverified_header(client.fetch_jwt_svid({"strongroom"}).token)["kid"] == first_key.kid

            deadline = time.monotonic() + 10
            while authority.active is first_key and time.monotonic() < deadline:
                time.sleep(0.05)
            assert time.time() - started == pytest.approx(2.5, abs=0.6)
            token = client.fetch_jwt_svid({"strongroom"}).token
            assert jwt.get_unverified_header(token)["kid"] == next_kid
            bundle = received[-1].get_bundle_for_trust_domain(TRUST_DOMAIN)
            assert bundle is not None
            JwtSvid.parse_and_validate(token, bundle, {"strongroom"})  # the pushed bundle validates it
    finally:
        stream.cancel()


def test_validate_accepts_a_good_svid_and_returns_its_id(client: WorkloadApiClient) -> None:
    token = client.fetch_jwt_svid({"strongroom"}).token
    assert str(client.validate_jwt_svid(token, "strongroom").spiffe_id) == SPIFFE_ID


@pytest.mark.parametrize("case", ["wrong audience", "unknown key", "expired", "other trust domain", "hs256"])
def test_validate_refuses_bad_svids_with_invalid_argument(
        client: WorkloadApiClient, raw_stub: workload_pb2_grpc.SpiffeWorkloadAPIStub,
        authority: JwtSvidAuthority, case: str) -> None:
    audience = "strongroom"
    if case == "wrong audience":
        token = authority.mint(SPIFFE_ID, ["someone-else"])
    elif case == "unknown key":
        token = authority.mint(SPIFFE_ID, [audience], key=AuthorityKey.generate())
    elif case == "expired":
        token = authority.mint(SPIFFE_ID, [audience], now=time.time() - 600, ttl_seconds=300)
    elif case == "other trust domain":
        token = authority.mint("spiffe://evil.org/workload/x", [audience])
    else:
        token = jwt.encode({"sub": SPIFFE_ID, "aud": [audience], "exp": int(time.time()) + 60}, "k" * 32,
                           algorithm="HS256", headers={"kid": "x"})
    with pytest.raises(grpc.RpcError) as raised:
        raw_stub.ValidateJWTSVID(workload_pb2.ValidateJWTSVIDRequest(audience=audience, svid=token),
                                 metadata=HEADER, timeout=5)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(ValidateJwtSvidError):
        client.validate_jwt_svid(token, audience)


@pytest.mark.parametrize("call", ["FetchJWTSVID", "FetchJWTBundles", "ValidateJWTSVID", "FetchX509SVID"])
def test_requests_without_the_security_header_are_refused(
        raw_stub: workload_pb2_grpc.SpiffeWorkloadAPIStub, server: WorkloadApiServer, call: str) -> None:
    requests = {
        "FetchJWTSVID": lambda metadata: raw_stub.FetchJWTSVID(
            workload_pb2.JWTSVIDRequest(audience=["strongroom"]), metadata=metadata, timeout=5),
        "FetchJWTBundles": lambda metadata: next(raw_stub.FetchJWTBundles(
            workload_pb2.JWTBundlesRequest(), metadata=metadata, timeout=5)),
        "ValidateJWTSVID": lambda metadata: raw_stub.ValidateJWTSVID(
            workload_pb2.ValidateJWTSVIDRequest(audience="strongroom", svid="x.y.z"), metadata=metadata, timeout=5),
        "FetchX509SVID": lambda metadata: next(raw_stub.FetchX509SVID(
            workload_pb2.X509SVIDRequest(), metadata=metadata, timeout=5)),
    }
    for metadata in [(), (("workload.spiffe.io", "false"),)]:
        with pytest.raises(grpc.RpcError) as raised:
            requests[call](metadata)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "security header" in (raised.value.details() or "")
    assert server.calls.get("bundles-sent", 0) == 0  # nothing was handed out


def test_empty_audience_is_an_invalid_argument(raw_stub: workload_pb2_grpc.SpiffeWorkloadAPIStub) -> None:
    for audience in ([], [""]):
        with pytest.raises(grpc.RpcError) as raised:
            raw_stub.FetchJWTSVID(workload_pb2.JWTSVIDRequest(audience=audience), metadata=HEADER, timeout=5)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert raised.value.details() == "audience must be specified"
    with pytest.raises(grpc.RpcError) as raised:
        raw_stub.ValidateJWTSVID(workload_pb2.ValidateJWTSVIDRequest(audience="", svid="a.b.c"),
                                 metadata=HEADER, timeout=5)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_id_the_workload_is_not_entitled_to_is_permission_denied(
        raw_stub: workload_pb2_grpc.SpiffeWorkloadAPIStub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        raw_stub.FetchJWTSVID(workload_pb2.JWTSVIDRequest(audience=["strongroom"], spiffe_id="spiffe://example.org/db"),
                              metadata=HEADER, timeout=5)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    answer = raw_stub.FetchJWTSVID(workload_pb2.JWTSVIDRequest(audience=["strongroom"], spiffe_id=SPIFFE_ID),
                                   metadata=HEADER, timeout=5)
    assert [svid.spiffe_id for svid in answer.svids] == [SPIFFE_ID]


def test_x509_calls_are_unimplemented(raw_stub: workload_pb2_grpc.SpiffeWorkloadAPIStub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        next(raw_stub.FetchX509SVID(workload_pb2.X509SVIDRequest(), metadata=HEADER, timeout=5))
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_stale_socket_is_replaced_and_a_live_one_is_not_stolen(authority: JwtSvidAuthority,
                                                                 socket_dir: Path) -> None:
    path = socket_dir / "api.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: what a crashed agent leaves behind
    with WorkloadApiServer(authority, path, spiffe_id=SPIFFE_ID) as first:
        client = WorkloadApiClient(socket_path=first.endpoint, default_timeout=5)
        assert str(client.fetch_jwt_svid({"strongroom"}).spiffe_id) == SPIFFE_ID
        client.close()
        with pytest.raises(SocketInUse):
            WorkloadApiServer(authority, path, spiffe_id=SPIFFE_ID).start()
    assert not path.exists()  # removed on stop


def test_socket_paths_too_long_for_sun_path_are_refused_up_front(authority: JwtSvidAuthority) -> None:
    with pytest.raises(ValueError, match="too long"):
        WorkloadApiServer(authority, "/tmp/" + "x" * 120 + "/api.sock", spiffe_id=SPIFFE_ID)
