"""BASE_HTTP: a bare Starlette app on uvicorn, the ceiling any HTTP endpoint in this stack can reach.

``POST /messages`` reads its JSON body and answers 201 with a small JSON object; ``GET /messages``
answers a small JSON page; ``GET /ping`` is the readiness probe. Run directly with
``python -m bench.baseline_http --port N``; benchmarks start it through ``measure``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench import procs
from bench.config import BenchConfig
from bench.loadgen import LoadResult, Request, run_load
from bench.payloads import JSON_HEADERS, message_body
from bench.report import BenchResult

NAME = "base_http"
TITLE = "BASE_HTTP: bare Starlette + uvicorn (uvloop, httptools)"
POST_PATH = "/messages"
GET_PATH = "/messages"

_counter = itertools.count(1)


async def _post(request: HttpRequest) -> JSONResponse:
    payload = await request.json()
    return JSONResponse({"seq": next(_counter), "length": len(payload["content"])}, status_code=201)


async def _get(_: HttpRequest) -> JSONResponse:
    return JSONResponse({"items": [], "has_more": False})


async def _ping(_: HttpRequest) -> JSONResponse:
    return JSONResponse({"status": "ready"})


app = Starlette(
    routes=[
        Route(POST_PATH, _post, methods=["POST"]),
        Route(GET_PATH, _get, methods=["GET"]),
        Route("/ping", _ping, methods=["GET"]),
    ]
)


def posts(count: int, headers: dict[str, str]) -> Iterator[Request]:
    """The same ~200-byte JSON POSTs a Threadline append benchmark sends, aimed at the baseline."""
    return (Request("POST", POST_PATH, headers, message_body(i)) for i in range(count))


def gets(count: int, headers: dict[str, str]) -> Iterator[Request]:
    return (Request("GET", GET_PATH, headers) for _ in range(count))


async def measure(requests: Iterator[Request], config: BenchConfig) -> LoadResult:
    """Run ``requests`` against a fresh baseline with the benchmark's connection count and time limit."""
    async with procs.running_baseline(__name__) as server:
        return await run_load(
            server.host, server.port, requests, connections=config.connections, time_limit=config.time_limit
        )


async def run(config: BenchConfig) -> BenchResult:
    """The baseline alone, for checking the harness and the machine."""
    result = BenchResult(NAME, TITLE)
    count = config.base_http_requests
    for label, requests in (("POST", posts(count, JSON_HEADERS)), ("GET", gets(count, {}))):
        result.add_load(label, await measure(requests, config), "req/s")
    result.notes.append(f"{config.connections} connections, {count:,} requests per method")
    return result


if __name__ == "__main__":
    procs.serve_baseline(app)
