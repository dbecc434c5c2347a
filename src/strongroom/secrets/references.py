"""Secret references: ``${KEY}`` (same folder) and ``${env.a.b.KEY}`` (environment ``env``, path ``/a/b``).

Expansion is recursive: a referenced value that itself holds references is
expanded in its own folder's context, to a depth of 10 (Infisical's limit).
Where Infisical silently leaves a dangling or cyclic reference as literal
text, Strongroom refuses with a 400 that names the secret and the reference:
a workload that receives the literal ``${DB_PASSWORD}`` as its password fails
later and far less clearly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from strongroom.secrets import paths

REFERENCE = re.compile(r"\$\{([A-Za-z0-9_.\-]+)\}")
MAX_DEPTH = 10


@dataclass(frozen=True)
class SecretAddress:
    environment: str
    path: str
    key: str

    def __str__(self) -> str:
        return f"{self.environment}:{self.path}:{self.key}"


class ReferenceProblem(Exception):
    """A reference that cannot be expanded: missing, cyclic or too deep. The text names it."""


# Given an environment slug and a path: that folder's secret values by key, or None if the folder does not exist.
FolderValues = Callable[[str, str], "dict[str, Callable[[], str]] | None"]


def target_of(reference: str, environment: str, path: str) -> SecretAddress:
    parts = reference.split(".")
    if len(parts) == 1:
        return SecretAddress(environment, path, reference)
    return SecretAddress(parts[0], paths.normalise("/".join(parts[1:-1])), parts[-1])


def references_in(value: str) -> list[str]:
    return REFERENCE.findall(value)


class ReferenceExpander:
    def __init__(self, folder_values: FolderValues) -> None:
        self._folder_values = folder_values

    def expand(self, value: str, origin: SecretAddress) -> str:
        return self._expand(value, origin, (origin,))

    def _expand(self, value: str, context: SecretAddress, chain: tuple[SecretAddress, ...]) -> str:
        if "${" not in value:
            return value

        def substitute(match: re.Match[str]) -> str:
            target = target_of(match.group(1), context.environment, context.path)
            if target in chain:
                cycle = " -> ".join(str(address) for address in (*chain[chain.index(target):], target))
                raise ReferenceProblem(f"Secret '{chain[0].key}' has a reference cycle: {cycle}")
            if len(chain) > MAX_DEPTH:
                raise ReferenceProblem(
                    f"Secret '{chain[0].key}' has references nested deeper than {MAX_DEPTH} levels"
                )
            values = self._folder_values(target.environment, target.path)
            if values is None or target.key not in values:
                raise ReferenceProblem(
                    f"Secret '{context.key}' in environment '{context.environment}' at path '{context.path}' "
                    f"references '${{{match.group(1)}}}', but there is no secret '{target.key}' in environment "
                    f"'{target.environment}' at path '{target.path}'"
                )
            return self._expand(values[target.key](), target, (*chain, target))

        # A function as the replacement: the value is inserted literally (no backslash or group handling).
        return REFERENCE.sub(substitute, value)


def rewrite_renamed(value: str, context: SecretAddress, renamed: SecretAddress, new_key: str) -> str:
    """``value`` with every reference to ``renamed`` pointing at ``new_key`` instead (same form kept)."""

    def substitute(match: re.Match[str]) -> str:
        reference = match.group(1)
        if target_of(reference, context.environment, context.path) != renamed:
            return match.group(0)
        parts = reference.split(".")
        return "${" + ".".join([*parts[:-1], new_key]) + "}"

    return REFERENCE.sub(substitute, value)


def encode_multiline(value: str) -> str:
    # Infisical's quirk for skipMultilineEncoding secrets whose expanded value spans lines: quoted, \n escaped.
    return '"' + value.replace("\n", "\\n") + '"'
