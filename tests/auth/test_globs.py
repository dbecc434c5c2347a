"""Exact-or-glob matching with picomatch's semantics (Infisical's), directly and through real logins."""

from __future__ import annotations

import pytest

from strongroom.auth.verify.globs import matches, normalise_pattern_list, split_patterns
from strongroom.spiffe.dev_spire import DiscoveryProvider, JwtSvidAuthority
from tests.conftest import AUDIENCE, Api
from tests.support import assert_api_error

API = "spiffe://example.org/ns/prod/sa/api"

# (value, pattern, expected)
CASES: dict[str, tuple[str, str, bool]] = {
    # The reference's SPIFFE table.
    "spiffe-exact": (API, API, True),
    "spiffe-star-within-one-segment": (API, "spiffe://example.org/ns/*/sa/api", True),
    "spiffe-star-does-not-cross-slash": (API, "spiffe://example.org/*", False),
    "spiffe-globstar-crosses-slashes": (API, "spiffe://example.org/**", True),
    "audience-prefix-star": ("infisical", "infi*", True),
    # SPIFFE IDs as operators bind them.
    "workload-star-admits-direct-child": ("spiffe://example.org/workload/api-server", "spiffe://example.org/workload/*", True),
    "workload-star-refuses-grandchild": ("spiffe://example.org/workload/team/api", "spiffe://example.org/workload/*", False),
    "workload-globstar-admits-grandchild": ("spiffe://example.org/workload/team/api", "spiffe://example.org/workload/**", True),
    "globstar-stays-in-trust-domain": ("spiffe://evil.org/workload/api", "spiffe://example.org/**", False),
    "trust-domain-suffix-is-not-a-match": ("spiffe://example.org.evil.com/x", "spiffe://example.org/**", False),
    "star-for-trust-domain": ("spiffe://example.org/workload/api", "spiffe://*/workload/api", True),
    "no-implicit-prefix-match": ("spiffe://example.org/workload/api-server", "spiffe://example.org/workload/api", False),
    "no-implicit-suffix-match": ("spiffe://example.org/workload/api", "spiffe://example.org/workload/api-server", False),
    # Star and question mark.
    "star-alone-refuses-slash": ("a/b", "*", False),
    "globstar-alone-admits-slash": ("a/b", "**", True),
    "star-matches-empty-tail": ("infi", "infi*", True),
    "star-does-not-match-leading-slash": ("/abc", "*abc", False),
    "double-star-inside-segment-acts-as-star": ("ab/c", "a**/c", True),
    "double-star-inside-segment-stays-in-segment": ("ab/c", "a**", False),
    "question-mark-one-character": ("abc", "a?c", True),
    "question-mark-not-two-characters": ("abbc", "a?c", False),
    "question-mark-not-slash": ("a/c", "a?c", False),
    # Braces and classes.
    "brace-first-alternative": ("api.prod", "api.{prod,staging}", True),
    "brace-second-alternative": ("api.staging", "api.{prod,staging}", True),
    "brace-no-alternative": ("api.dev", "api.{prod,staging}", False),
    "brace-range": ("node2", "node{1..3}", True),
    "brace-range-outside": ("node4", "node{1..3}", False),
    "class-range": ("b", "[a-c]", True),
    "class-range-outside": ("d", "[a-c]", False),
    "class-negated-bang": ("d", "[!a-c]", True),
    "class-negated-caret": ("b", "[^a-c]", False),
    # Extglobs and negation.
    "extglob-at": ("prod", "@(prod|staging)", True),
    "extglob-at-outside": ("dev", "@(prod|staging)", False),
    "extglob-not": ("dev", "!(prod|staging)", True),
    "extglob-not-inside": ("prod", "!(prod|staging)", False),
    "extglob-plus": ("aaa", "+(a)", True),
    "leading-bang-negates": ("spiffe://example.org/workload/web", "!spiffe://example.org/workload/api", True),
    "leading-bang-negates-the-match": ("spiffe://example.org/workload/api", "!spiffe://example.org/workload/**", False),
    # Dot segments are matched only when the pattern spells the dot.
    "star-skips-dotfile": (".hidden", "*", False),
    "star-skips-dot-segment": ("a/.hidden", "a/*", False),
    "globstar-skips-dot-segment": ("spiffe://example.org/.hidden/x", "spiffe://example.org/**", False),
    "explicit-dot-matches": ("a/.hidden", "a/.*", True),
    # Case and escapes.
    "case-sensitive": ("Prod", "prod", False),
    "case-sensitive-glob": ("PROD-1", "prod-*", False),
    "escaped-star-is-literal": ("a*", "a\\*", True),
    "escaped-star-is-not-a-wildcard": ("ab", "a\\*", False),
    # An empty pattern admits nothing (Infisical crashes on it).
    "empty-pattern": ("anything", "", False),
    "empty-pattern-empty-value": ("", "", False),
    "star-needs-something": ("", "*", False),
}


@pytest.mark.parametrize("value,pattern,expected", CASES.values(), ids=CASES.keys())
def test_matches_follows_picomatch(value: str, pattern: str, expected: bool) -> None:
    assert matches(value, pattern) is expected


def test_an_exact_value_matches_even_when_it_looks_like_a_pattern() -> None:
    # Infisical's rule is "entry === value || isMatch(value, entry)".
    assert matches("a[b", "a[b")
    assert matches("!x", "!x")


def test_pattern_lists_are_split_on_commas_and_trimmed() -> None:
    assert split_patterns(" a, b ,,c ,") == ("a", "b", "c")
    assert normalise_pattern_list("a,b ,  c") == "a, b, c"
    assert normalise_pattern_list(" , ") == ""


# -- through real logins -----------------------------------------------------------------------


LOGIN_CASES: dict[str, tuple[str, str, bool]] = {
    "star-admits-direct-child": ("spiffe://example.org/workload/*", "spiffe://example.org/workload/api-server", True),
    "star-refuses-grandchild": ("spiffe://example.org/workload/*", "spiffe://example.org/workload/team/api", False),
    "globstar-admits-grandchild": ("spiffe://example.org/**", "spiffe://example.org/workload/team/api", True),
    "globstar-refuses-other-trust-domain": ("spiffe://example.org/**", "spiffe://evil.org/workload/api", False),
    "braces-in-subject": ("spiffe://example.org/ns/{prod,staging}/sa/api", "spiffe://example.org/ns/staging/sa/api", True),
    "braces-in-subject-outside": ("spiffe://example.org/ns/{prod,staging}/sa/api", "spiffe://example.org/ns/dev/sa/api", False),
    "negated-subject": ("!spiffe://example.org/workload/untrusted", "spiffe://example.org/workload/api-server", True),
    "case-sensitive-subject": ("spiffe://example.org/workload/api", "spiffe://example.org/workload/API", False),
}


@pytest.mark.parametrize("bound_subject,subject,admitted", LOGIN_CASES.values(), ids=LOGIN_CASES.keys())
def test_bound_subject_is_matched_as_a_glob_at_login(api: Api, provider: DiscoveryProvider, authority: JwtSvidAuthority,
                                                     bound_subject: str, subject: str, admitted: bool) -> None:
    identity_id = api.identity_with_oidc(provider, boundSubject=bound_subject)
    response = api.login(identity_id, authority.mint(subject, [AUDIENCE]))
    if admitted:
        assert response.status_code == 200, response.text
    else:
        assert_api_error(response, 403, "ForbiddenError", "subject not allowed")


def test_bound_audiences_are_matched_as_globs_at_login(api: Api, provider: DiscoveryProvider,
                                                       authority: JwtSvidAuthority) -> None:
    identity_id = api.identity_with_oidc(provider, boundAudiences="vault, strongroom-*")
    subject = "spiffe://example.org/workload/api-server"
    assert api.login(identity_id, authority.mint(subject, ["strongroom-eu"])).status_code == 200
    assert_api_error(api.login(identity_id, authority.mint(subject, ["strongroom"])), 401, "UnauthorizedError", "audience")
    assert_api_error(api.login(identity_id, authority.mint(subject, ["strongroom-eu/x"])), 401, "UnauthorizedError")
