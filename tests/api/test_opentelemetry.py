"""STRONGROOM_OPENTELEMETRY: FastAPI's own request spans reach the configured provider only when it is on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Run in a process of its own: OpenTelemetry's global tracer provider can be set only once per process.
COUNT_SPANS = """
import asyncio
import sys
import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

from strongroom.app import app_from_env

async def main():
    transport = httpx.ASGITransport(app=app_from_env())
    async with httpx.AsyncClient(transport=transport, base_url="http://strongroom") as client:
        assert (await client.get(sys.argv[1])).status_code == int(sys.argv[2])

asyncio.run(main())
print(sorted({span.name for span in exporter.get_finished_spans()}))
"""


def spans_of_one_request(data_dir: Path, opentelemetry: str | None, path: str = "/api/status",
                         status: int = 200) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRONGROOM_")}
    env["STRONGROOM_DATA_DIR"] = str(data_dir)
    if opentelemetry is not None:
        env["STRONGROOM_OPENTELEMETRY"] = opentelemetry
    finished = subprocess.run([sys.executable, "-c", COUNT_SPANS, path, str(status)], env=env, capture_output=True, text=True,
                              timeout=60)
    assert finished.returncode == 0, finished.stderr
    return finished.stdout.strip()


@pytest.mark.parametrize("opentelemetry", [None, "false"])
def test_no_spans_by_default_even_with_a_provider_configured(tmp_path: Path, opentelemetry: str | None) -> None:
    assert spans_of_one_request(tmp_path, opentelemetry) == "[]"


def test_turned_on_the_request_is_traced(tmp_path: Path) -> None:
    assert "GET /api/status" in spans_of_one_request(tmp_path, "true")


def test_turned_on_a_directly_called_route_is_traced_by_fastapi_too(tmp_path: Path) -> None:
    # A secret read is called without FastAPI's dependency solving (strongroom.web.direct_calls),
    # except while FastAPI's telemetry watches: then its steps are traced as FastAPI documents.
    spans = spans_of_one_request(tmp_path, "true", "/api/v3/secrets/raw?workspaceId=p&environment=dev", 401)
    assert "GET /api/v3/secrets/raw" in spans
    assert "fastapi.dependencies" in spans
