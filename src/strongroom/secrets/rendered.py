"""Secret reads rendered once and reused while nothing they show has changed.

A workload fleet reads the same few folders over and over; rendering a list
means opening every sealed value, expanding references and encoding JSON, for
an answer that is the same each time. So each rendered answer is kept, with
its ETag, under the read generation it was rendered at: a counter in the
database that triggers move forward on any change to secrets, their versions,
folders, imports, environments or projects (migration 0005). Each read gets
the counter first in its unit of work, with the access generation
(``strongroom.store.generations``), before anything the answer shows is read,
and takes a kept answer only if it was rendered at the same generation; a
change on any replica shows at once.

The answer is kept only after the request has passed every check (token,
trusted IPs, project role, read permission), which each request still runs;
the key holds everything else the answer depends on, none of it the caller's.
The cache is per process, bounded in bytes, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from strongroom.web.etag import etag_of, json_with_etag, respond_with_etag


@dataclass(frozen=True)
class Rendered:
    generation: int
    body: bytes
    etag: str


class RenderedReads:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: int) -> Rendered | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.generation != generation:
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, generation: int, body: bytes) -> Rendered:
        rendered = Rendered(generation, body, etag_of(body))
        if len(body) > self.max_bytes:
            return rendered
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._entries[key] = rendered
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)
        return rendered

    def respond(self, request: Request, generation: int, key: Hashable, render: Callable[[], Any]) -> Response:
        """The answer for ``key``: the kept one if nothing changed since it was rendered, else ``render()``'s.

        ``generation`` must have been read before anything ``render`` reads, so that an answer is never
        kept under a newer generation than the data it shows.
        """
        if not self.max_bytes:  # turned off
            return json_with_etag(request, render())
        rendered = self.get(key, generation)
        if rendered is None:
            rendered = self.put(key, generation, orjson.dumps(render()))
        return respond_with_etag(request, rendered.body, rendered.etag)
