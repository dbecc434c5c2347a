"""Exact-or-glob matching with picomatch's semantics, as Infisical applies to subjects, audiences and claims.

``*`` and ``?`` stay inside one ``/`` segment, ``**`` crosses segments, braces,
classes and extglobs work, a leading ``!`` negates, and segments starting with a
dot are matched only when the pattern spells the dot. ``fnmatch`` would be
wrong here: its ``*`` crosses ``/``, so ``spiffe://example.org/*`` would admit
every workload of the trust domain.
"""

from __future__ import annotations

from functools import lru_cache

from wcmatch import glob

_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.EXTGLOB | glob.NEGATE | glob.NEGATEALL


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> glob.WcMatcher:  # type: ignore[name-defined]
    return glob.compile(pattern, flags=_FLAGS)


# Every login matches the same few subjects and audiences against the same patterns: the answers are
# kept (a pure function of the two strings; only claims of tokens whose signature verified get here).
@lru_cache(maxsize=1024)
def matches(value: str, pattern: str) -> bool:
    if not pattern:
        # Infisical crashes on an empty pattern; an empty pattern admits nothing.
        return False
    if value == pattern:
        return True
    return bool(compile_pattern(pattern).match(value))


@lru_cache(maxsize=1024)
def split_patterns(joined: str) -> tuple[str, ...]:
    """Stored lists are ``", "``-joined (Infisical's normal form); empty parts are dropped."""
    return tuple(part.strip() for part in joined.split(",") if part.strip())


def normalise_pattern_list(text: str) -> str:
    return ", ".join(split_patterns(text))
