"""Request normalisation Infisical's clients rely on, done once before routing.

- Trailing slashes are ignored (the CLI posts to ``/api/v1/auth/universal-auth/login/``).
- Empty query values are absent (the Go SDK sends ``workspaceSlug=&version=``).
- A NUL character in the path or query is refused with 400: PostgreSQL cannot compare
  text holding one, and its error would otherwise surface as a 500.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from strongroom.errors import BadRequest, new_request_id
from strongroom.web.responses import JsonResponse


class NormaliseRequest:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            query: bytes = scope.get("query_string", b"")
            # Percent-decoding yields a NUL only from "%00": no need to decode the whole query to find one.
            if "\x00" in path or b"\x00" in query or b"%00" in query:
                error = BadRequest("The URL must not contain NUL characters")
                await JsonResponse(error.body(new_request_id()), status_code=error.status_code)(scope, receive, send)
                return
            if len(path) > 1 and path.endswith("/") or query and (b"=&" in query or query.endswith(b"=")):
                scope = dict(scope)
                if len(path) > 1 and path.endswith("/"):
                    scope["path"] = path.rstrip("/") or "/"
                    scope["raw_path"] = scope["path"].encode()
                if query:
                    pairs = [(k, v) for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if v != ""]
                    scope["query_string"] = urlencode(pairs).encode("latin-1")
        await self.app(scope, receive, send)
