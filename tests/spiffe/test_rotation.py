"""The stand-in rotates its keys on SPIRE Server's timetable: publish at 1/2 of a key's life, sign from 5/6,
prune a key one lifetime after it expired; SVIDs never outlive their key."""

from __future__ import annotations

import jwt
import pytest

from strongroom.spiffe.dev_spire import JwtSvidAuthority
from strongroom.spiffe.rotation import KeyRotator, RotationEvent
from tests.conftest import SPIFFE_ID


def test_keys_are_published_activated_and_pruned_on_spires_schedule() -> None:
    authority = JwtSvidAuthority()
    rotator = KeyRotator(authority, key_ttl=60, clock=lambda: 0.0)
    first = authority.active
    assert first is not None and (first.not_before, first.not_after) == (0.0, 60.0)

    timeline: list[tuple[int, str, str]] = []
    names: dict[str, str] = {first.kid: "k0"}
    for second in range(0, 131):
        for event in rotator.tick(float(second)):
            names.setdefault(event.kid, f"k{len(names)}")
            timeline.append((second, event.action, names[event.kid]))

    assert timeline == [
        (30, "prepared", "k1"),   # k0 (0..60) has half its life left
        (50, "activated", "k1"),  # k0 has a sixth left
        (60, "prepared", "k2"),   # k1 (30..90) has half left
        (80, "activated", "k2"),
        (90, "prepared", "k3"),   # k2 (60..120)
        (110, "activated", "k3"),
        (120, "prepared", "k4"),  # k3 (90..150)
        (120, "pruned", "k0"),    # k0 expired at 60, kept a further lifetime
    ]


def test_a_prepared_key_is_published_before_it_signs() -> None:
    authority = JwtSvidAuthority()
    rotator = KeyRotator(authority, key_ttl=60, clock=lambda: 0.0)
    first = authority.active
    assert first is not None
    rotator.tick(30.0)
    published = [key["kid"] for key in authority.jwks()["keys"]]
    assert len(published) == 2 and first.kid in published
    assert jwt.get_unverified_header(authority.mint(SPIFFE_ID, ["strongroom"]))["kid"] == first.kid
    rotator.tick(50.0)
    assert authority.active is not None and authority.active.kid != first.kid
    assert jwt.get_unverified_header(authority.mint(SPIFFE_ID, ["strongroom"]))["kid"] == authority.active.kid


def test_an_svid_never_outlives_its_signing_key() -> None:
    authority = JwtSvidAuthority()
    KeyRotator(authority, key_ttl=60, clock=lambda: 1000.0)
    token = authority.mint(SPIFFE_ID, ["strongroom"], ttl_seconds=300, now=1050.0)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["iat"], claims["exp"]) == (1050, 1060)  # capped at the key's NotAfter, as SPIRE does


def test_every_change_of_keys_advances_the_generation_streams_wait_on() -> None:
    authority = JwtSvidAuthority()
    events: list[RotationEvent] = []
    rotator = KeyRotator(authority, key_ttl=6, clock=lambda: 0.0, on_event=events.append)
    seen = authority.generation
    assert authority.wait_for_change(seen, timeout=0.01) == seen  # nothing changed: times out
    rotator.tick(3.0)
    assert authority.wait_for_change(seen, timeout=0.01) == seen + 1
    assert [event.action for event in events] == ["prepared"]


def test_a_key_lifetime_must_be_positive() -> None:
    with pytest.raises(ValueError):
        KeyRotator(JwtSvidAuthority(), key_ttl=0)
