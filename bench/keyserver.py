"""A static stand-in for SPIRE's oidc-discovery-provider: two pre-rendered documents, served fast.

The benchmark's JWT-SVIDs are minted in the harness by ``JwtSvidAuthority``;
this process only publishes the matching documents, in the shape SPIRE's
provider gives them:

- ``GET /.well-known/openid-configuration``: ``issuer`` and ``jwks_uri``;
- ``GET /keys``: the JWKS (``kid``, ``kty``, ``crv``, ``x``, ``y``, ``alg``).

It runs as its own process so that, should Strongroom fetch keys while it is
being measured, the fetch is answered at once and costs the harness nothing.
Anything else gets 404. HTTP/1.1 keep-alive is honoured; bodies are not read
(only GETs are expected).

    python bench/keyserver.py --port 8091 --discovery discovery.json --keys keys.json
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

MAX_HEADER_BYTES = 16 * 1024


def render(status: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-cache, no-store, must-revalidate\r\n"  # as SPIRE's provider sends
        "\r\n"
    )
    return head.encode("ascii") + body


class StaticDocuments:
    def __init__(self, documents: dict[str, bytes]) -> None:
        self._responses = {path: render("200 OK", body, "application/json") for path, body in documents.items()}
        self._not_found = render("404 Not Found", b"not found", "text/plain")

    def response_for(self, path: str) -> bytes:
        return self._responses.get(path.split("?", 1)[0], self._not_found)

    async def serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, _, header_block = head.decode("latin-1").partition("\r\n")
                parts = request_line.split(" ")
                if len(parts) != 3:
                    break
                writer.write(self.response_for(parts[1]))
                await writer.drain()
                if parts[2] == "HTTP/1.0" or "connection: close" in header_block.lower():
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()


async def serve(host: str, port: int, documents: StaticDocuments) -> None:
    server = await asyncio.start_server(documents.serve_connection, host, port, limit=MAX_HEADER_BYTES)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--discovery", type=Path, required=True, help="JSON of the discovery document")
    parser.add_argument("--keys", type=Path, required=True, help="JSON of the key set")
    args = parser.parse_args()
    documents = StaticDocuments({
        "/.well-known/openid-configuration": args.discovery.read_bytes(),
        "/keys": args.keys.read_bytes(),
    })
    try:
        asyncio.run(serve(args.host, args.port, documents))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
