"""Writing secrets out: dotenv, JSON and YAML for ``strongroom export``, and an environment for ``strongroom run``.

- dotenv: ``KEY='value'``, one per line; inside the single quotes ``\\`` and
  ``'`` are escaped with a backslash and a multi-line value keeps its
  newlines, which python-dotenv and docker compose both read back verbatim.
  Single quotes also stop ``${…}`` in a value from being expanded again.
- JSON: one object, ``{"KEY": "value"}``.
- YAML: one mapping, keys and values as double-quoted scalars with JSON's
  escapes (valid YAML 1.1 and 1.2), so no value is ever read back as a
  number, a boolean or null.
"""

from __future__ import annotations

import json
import re

FORMATS = ("dotenv", "json", "yaml")
# A name a shell, dotenv files and execve all accept.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_env_name(key: str) -> bool:
    return bool(_ENV_NAME.match(key))


def dotenv(values: dict[str, str]) -> str:
    lines = []
    for key, value in values.items():
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"{key}='{escaped}'")
    return "".join(line + "\n" for line in lines)


def as_json(values: dict[str, str]) -> str:
    return json.dumps(values, indent=2, ensure_ascii=False) + "\n"


# Characters YAML does not allow unescaped in a stream (outside its printable set), beyond the C0 controls
# json.dumps escapes already: DEL, the C1 controls but NEL, surrogates, the byte-order mark and U+FFFE/U+FFFF.
_NOT_YAML_PRINTABLE = re.compile("[\x7f-\x84\x86-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")


def _yaml_quoted(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _NOT_YAML_PRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


def yaml(values: dict[str, str]) -> str:
    if not values:
        return "{}\n"
    return "".join(f"{_yaml_quoted(key)}: {_yaml_quoted(value)}\n" for key, value in values.items())


def render(values: dict[str, str], format_name: str) -> str:
    if format_name == "dotenv":
        return dotenv(values)
    if format_name == "json":
        return as_json(values)
    if format_name == "yaml":
        return yaml(values)
    raise ValueError(f"unknown format {format_name!r}")
