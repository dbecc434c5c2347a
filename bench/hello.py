"""The Python ceiling: a bare FastAPI app answering ``GET /api/status`` on one uvicorn process.

It runs on the same stack as ``strongroom server`` (uvicorn with uvloop and
httptools, one process, no access log, no server header), so its requests per
second are what any FastAPI app on this machine could do at this moment; every
Strongroom figure is also reported as a fraction of it.

    python bench/hello.py --port 8090
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/api/status")
async def status() -> dict[str, str]:
    return {"message": "Ok"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
