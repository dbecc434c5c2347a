"""Request normalisation Infisical's clients rely on, done once before routing.

- Trailing slashes are ignored (the CLI posts to ``/api/v1/auth/universal-auth/login/``).
- Empty query values are absent (the Go SDK sends ``workspaceSlug=&version=``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send


class NormaliseRequest:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            query: bytes = scope.get("query_string", b"")
            if len(path) > 1 and path.endswith("/") or query and (b"=&" in query or query.endswith(b"=")):
                scope = dict(scope)
                if len(path) > 1 and path.endswith("/"):
                    scope["path"] = path.rstrip("/") or "/"
                    scope["raw_path"] = scope["path"].encode()
                if query:
                    pairs = [(k, v) for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if v != ""]
                    scope["query_string"] = urlencode(pairs).encode("latin-1")
        await self.app(scope, receive, send)
