"""AES-256-GCM sealing of secret fields: a sealed field opens only in the place it was sealed for."""

from __future__ import annotations

import dataclasses
import os

import pytest

from strongroom.crypto.root_key import RootKey
from strongroom.crypto.sealing import NONCE_BYTES, SealBinding, SealBroken, SecretSealer

BINDING = SealBinding("project-1", "env-1", "/app/db", "DB_PASSWORD", "value")


@pytest.fixture
def sealer() -> SecretSealer:
    return SecretSealer(RootKey(os.urandom(32)).derive("secret-sealing"))


def test_sealed_field_opens_in_its_own_place(sealer: SecretSealer) -> None:
    sealed = sealer.seal("hunter2 ✓\n", BINDING)
    assert sealer.open(sealed, BINDING) == "hunter2 ✓\n"


def test_sealed_field_does_not_contain_the_plaintext(sealer: SecretSealer) -> None:
    sealed = sealer.seal("correct horse battery staple", BINDING)
    assert b"correct horse" not in sealed
    assert len(sealed) == 1 + NONCE_BYTES + len("correct horse battery staple") + 16


def test_every_seal_uses_a_fresh_nonce(sealer: SecretSealer) -> None:
    first, second = sealer.seal("same", BINDING), sealer.seal("same", BINDING)
    assert first[1 : 1 + NONCE_BYTES] != second[1 : 1 + NONCE_BYTES]
    assert first != second


@pytest.mark.parametrize("field", ["project_id", "environment_id", "folder_path", "secret_key", "column"])
def test_sealed_field_does_not_open_anywhere_else(sealer: SecretSealer, field: str) -> None:
    sealed = sealer.seal("hunter2", BINDING)
    elsewhere = dataclasses.replace(BINDING, **{field: getattr(BINDING, field) + "x"})
    with pytest.raises(SealBroken):
        sealer.open(sealed, elsewhere)


def test_binding_fields_cannot_be_shifted_into_each_other(sealer: SecretSealer) -> None:
    sealed = sealer.seal("v", SealBinding("p", "e", "/a", "b", "value"))
    with pytest.raises(SealBroken):
        sealer.open(sealed, SealBinding("p", "e", "/", "ab", "value"))


def test_altered_ciphertext_does_not_open(sealer: SecretSealer) -> None:
    sealed = bytearray(sealer.seal("hunter2", BINDING))
    sealed[-1] ^= 0x01
    with pytest.raises(SealBroken):
        sealer.open(bytes(sealed), BINDING)


def test_field_sealed_under_another_root_key_does_not_open(sealer: SecretSealer) -> None:
    other = SecretSealer(RootKey(os.urandom(32)).derive("secret-sealing"))
    with pytest.raises(SealBroken):
        sealer.open(other.seal("hunter2", BINDING), BINDING)


@pytest.mark.parametrize("garbage", [b"", b"\x01", b"\x02" + bytes(40), b"plaintext value"])
def test_malformed_field_is_refused(sealer: SecretSealer, garbage: bytes) -> None:
    with pytest.raises(SealBroken):
        sealer.open(garbage, BINDING)


def test_sealing_key_must_be_256_bits() -> None:
    with pytest.raises(ValueError):
        SecretSealer(os.urandom(16))
