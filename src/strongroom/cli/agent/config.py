"""The agent's configuration file (TOML, read with the standard library's tomllib).

```toml
[strongroom]
url = "http://127.0.0.1:8080"            # default: STRONGROOM_API_URL, else http://127.0.0.1:8080

[auth]
method = "oidc-auth"                     # or "spiffe-auth"
identity-id = "0b6f…"
audience = "strongroom"                  # of the JWT-SVIDs fetched from the Workload API
spiffe-socket = "unix:///tmp/spire-agent/public/api.sock"   # default: SPIFFE_ENDPOINT_SOCKET
# jwt-file = "/run/spire/jwt-svid"       # instead of the Workload API: a file SPIRE's helper keeps fresh
# token-file = "/run/strongroom/token"   # optional: the current access token, rewritten as it changes

[retry]
initial-backoff = "1s"                   # first wait after a failure; doubles up to max-backoff
max-backoff = "30s"

[[templates]]
project = "5a0e…"
environment = "prod"
path = "/"
source = "app.env.tmpl"                  # a template file, or inline: template = "DB=${DATABASE_URL}\n"
destination = "/run/app/app.env"         # rewritten atomically (mode 0600) only when its content changes
poll-interval = "60s"
```

Relative paths are relative to the config file's folder. Templates use
Python's ``string.Template``: ``${KEY}`` (or ``$KEY``) is the value of the
secret ``KEY`` in that project, environment and folder (with its imports,
references expanded); ``$$`` is a literal ``$``; a key that is not a plain
identifier (``db.password``, ``api-key``) is written ``${db.password}``. A
placeholder naming a secret that does not exist is an error, and the file is
left as it was.
"""

from __future__ import annotations

import os
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.cli.api_client import DEFAULT_API_URL, LOGIN_METHODS, SecretLocation, normalise_api_url
from strongroom.cli.credentials import DEFAULT_AUDIENCE
from strongroom.cli.durations import parse_duration
from strongroom.cli.failures import CliError


class SecretTemplate(string.Template):
    # In braces, a key may also hold '.' and '-' (Infisical allows them in names); bare $KEY stays an identifier.
    braceidpattern = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"


@dataclass(frozen=True)
class TemplateConfig:
    where: SecretLocation
    template: SecretTemplate
    origin: str  # the source file, or "inline template n"
    destination: Path
    poll_interval: float
    mode: int


@dataclass(frozen=True)
class AuthConfig:
    method: str
    identity_id: str
    audience: str
    spiffe_socket: str | None
    jwt_file: Path | None
    token_file: Path | None


@dataclass(frozen=True)
class AgentConfig:
    api_url: str
    auth: AuthConfig
    initial_backoff: float
    max_backoff: float
    templates: list[TemplateConfig]


_SECTIONS = {"strongroom", "auth", "retry", "templates"}
_KEYS = {
    "strongroom": {"url"},
    "auth": {"method", "identity-id", "audience", "spiffe-socket", "jwt-file", "token-file"},
    "retry": {"initial-backoff", "max-backoff"},
    "templates": {"project", "environment", "path", "source", "template", "destination", "poll-interval", "mode"},
}


def _unknown_keys(section: str, table: dict[str, Any], where: str) -> None:
    unknown = sorted(set(table) - _KEYS[section])
    if unknown:
        raise CliError(f"{where}: unknown setting {', '.join(unknown)} (known: {', '.join(sorted(_KEYS[section]))})")


def _text(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise CliError(f"{where}: {key} is required")
    if not isinstance(value, str) or not value.strip():
        raise CliError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _duration(table: dict[str, Any], key: str, where: str, default: str) -> float:
    try:
        return parse_duration(table.get(key, default), name=f"{where}: {key}")
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _path(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def load(path: Path, *, env: dict[str, str] | None = None) -> AgentConfig:
    env = dict(os.environ) if env is None else env
    try:
        document = tomllib.loads(path.read_text())
    except OSError as exc:
        raise CliError(f"cannot read the agent config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(document) - _SECTIONS)
    if unknown:
        raise CliError(f"{path}: unknown section {', '.join(unknown)} (known: {', '.join(sorted(_SECTIONS))})")
    base = path.parent.absolute()

    server = document.get("strongroom", {})
    _unknown_keys("strongroom", server, f"{path} [strongroom]")
    api_url = normalise_api_url(_text(server, "url", f"{path} [strongroom]",
                                      env.get("STRONGROOM_API_URL") or DEFAULT_API_URL))

    auth_table = document.get("auth")
    if not isinstance(auth_table, dict):
        raise CliError(f"{path}: an [auth] section is required (method, identity-id, and a JWT-SVID source)")
    where = f"{path} [auth]"
    _unknown_keys("auth", auth_table, where)
    method = _text(auth_table, "method", where, "oidc-auth")
    if method not in LOGIN_METHODS:
        raise CliError(f"{where}: method must be one of {', '.join(LOGIN_METHODS)}")
    jwt_file = auth_table.get("jwt-file")
    if jwt_file is not None and "spiffe-socket" in auth_table:
        raise CliError(f"{where}: give spiffe-socket or jwt-file, not both")
    token_file = auth_table.get("token-file")
    auth = AuthConfig(
        method=method,
        identity_id=_text(auth_table, "identity-id", where),
        audience=_text(auth_table, "audience", where, DEFAULT_AUDIENCE),
        spiffe_socket=_text(auth_table, "spiffe-socket", where) if "spiffe-socket" in auth_table else None,
        jwt_file=_path(base, _text(auth_table, "jwt-file", where)) if jwt_file is not None else None,
        token_file=_path(base, _text(auth_table, "token-file", where)) if token_file is not None else None,
    )

    retry = document.get("retry", {})
    _unknown_keys("retry", retry, f"{path} [retry]")
    initial_backoff = _duration(retry, "initial-backoff", f"{path} [retry]", "1s")
    max_backoff = _duration(retry, "max-backoff", f"{path} [retry]", "30s")
    if max_backoff < initial_backoff:
        raise CliError(f"{path} [retry]: max-backoff is shorter than initial-backoff")

    entries = document.get("templates", [])
    if not isinstance(entries, list) or not entries:
        raise CliError(f"{path}: at least one [[templates]] entry is required")
    templates = [_template(base, entry, f"{path} [[templates]] #{number}")
                 for number, entry in enumerate(entries, start=1)]
    destinations = [template.destination for template in templates]
    if len(set(destinations)) != len(destinations):
        raise CliError(f"{path}: two templates write the same destination")
    return AgentConfig(api_url, auth, initial_backoff, max_backoff, templates)


def _template(base: Path, entry: Any, where: str) -> TemplateConfig:
    if not isinstance(entry, dict):
        raise CliError(f"{where}: must be a table")
    _unknown_keys("templates", entry, where)
    if ("source" in entry) == ("template" in entry):
        raise CliError(f"{where}: give exactly one of source (a file) and template (inline text)")
    if "source" in entry:
        source = _path(base, _text(entry, "source", where))
        try:
            text = source.read_text()
        except OSError as exc:
            raise CliError(f"{where}: cannot read the template {source}: {exc.strerror or exc}") from None
        origin = str(source)
    else:
        text = entry["template"]
        if not isinstance(text, str):
            raise CliError(f"{where}: template must be a string")
        origin = f"the inline template of {where}"
    template = SecretTemplate(text)
    if not template.is_valid():
        raise CliError(f"{where}: {origin} has a malformed placeholder (write ${{KEY}}, and $$ for a literal $)")
    mode_text = entry.get("mode", "0600")
    try:
        mode = int(mode_text, 8) if isinstance(mode_text, str) else -1
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        raise CliError(f"{where}: mode must be an octal string such as \"0600\"")
    return TemplateConfig(
        where=SecretLocation(_text(entry, "project", where), _text(entry, "environment", where),
                             _text(entry, "path", where, "/")),
        template=template,
        origin=origin,
        destination=_path(base, _text(entry, "destination", where)),
        poll_interval=_duration(entry, "poll-interval", where, "60s"),
        mode=mode,
    )
