"""SPIFFE-ID syntax, by the rules of the SPIFFE-ID standard."""

from __future__ import annotations

import pytest

from strongroom.spiffe.ids import InvalidSpiffeId, SpiffeId, check_trust_domain


@pytest.mark.parametrize(
    ("text", "trust_domain", "path"),
    [
        ("spiffe://example.org", "example.org", ""),
        ("spiffe://example.org/workload/api-server", "example.org", "/workload/api-server"),
        ("spiffe://td_1.example-2.org/ns/prod/sa/A.b_c-d", "td_1.example-2.org", "/ns/prod/sa/A.b_c-d"),
        ("spiffe://10.0.0.1/x", "10.0.0.1", "/x"),
        ("spiffe://example.org/..a/.b", "example.org", "/..a/.b"),
    ],
)
def test_valid_spiffe_ids_parse(text: str, trust_domain: str, path: str) -> None:
    parsed = SpiffeId.parse(text)
    assert (parsed.trust_domain, parsed.path, str(parsed)) == (trust_domain, path, text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "starts with"),
        ("http://example.org/x", "starts with"),
        ("SPIFFE://example.org/x", "starts with"),
        ("spiffe://", "empty"),
        ("spiffe:///x", "empty"),
        ("spiffe://Example.org/x", "lower-case"),
        ("spiffe://example.org:8080/x", "no port"),
        ("spiffe://user@example.org/x", "no port, no user"),
        ("spiffe://example.org/", "empty segment"),
        ("spiffe://example.org//x", "empty segment"),
        ("spiffe://example.org/x/", "empty segment"),
        ("spiffe://example.org/./x", "'.' or '..'"),
        ("spiffe://example.org/x/..", "'.' or '..'"),
        ("spiffe://example.org/a%20b", "percent-encoding"),
        ("spiffe://example.org/a?b=c", "percent-encoding"),
        ("spiffe://example.org/a#frag", "percent-encoding"),
        ("spiffe://example.org/" + "a" * 2048, "longer than 2048"),
        ("spiffe://" + "a" * 256 + "/x", "longer than 255"),
    ],
)
def test_invalid_spiffe_ids_are_refused_with_the_rule_they_break(text: str, reason: str) -> None:
    with pytest.raises(InvalidSpiffeId, match=reason):
        SpiffeId.parse(text)


def test_trust_domain_rules() -> None:
    assert check_trust_domain("prod.example.org") == "prod.example.org"
    for bad in ("", "EXAMPLE.org", "example.org:443", "exa mple.org", "a" * 256):
        with pytest.raises(InvalidSpiffeId):
            check_trust_domain(bad)
