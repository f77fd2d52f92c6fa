"""BASE_FASTAPI: the same requests answered by FastAPI with Threadline's own models, and nothing else.

Not a target, a reference: the ceiling of the framework Threadline is built on, for these request shapes.
``POST /v1/conversations/{id}/messages`` takes a bearer token through the same OAuth2 dependency class,
validates the body into ``PostMessageRequest`` and answers a fixed ``MessageResponse``;
``GET /v1/conversations/{id}/messages`` answers a fixed page of 50 ``MessageResponse`` items through
``MessageWindowResponse``. There is no database, no event and no middleware, so the distance between
this and Threadline is what Threadline itself spends; the distance between this and BASE_HTTP is what the
framework and the models spend. Run directly with ``python -m bench.baseline_fastapi --port N``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import Depends, FastAPI
from fastapi.security import OAuth2PasswordBearer

from bench import procs
from bench.api import messages_path
from bench.config import BenchConfig
from bench.loadgen import LoadResult, Request, run_load
from bench.payloads import message_body
from bench.report import BenchResult
from bench.stats import ratio
from threadline.models.api.request.messages import PostMessageRequest
from threadline.models.api.response.messages import MessageResponse, MessageWindowResponse
from threadline.models.domain.conversation import MessageRole
from threadline.models.domain.reply import MessageStatus

PAGE = 50
CONVERSATION_ID = uuid4()

_bearer = OAuth2PasswordBearer(tokenUrl="/token")
_now = datetime.now(UTC)


def _message(seq: int, content: str) -> MessageResponse:
    return MessageResponse(
        id=uuid4(),
        conversation_id=CONVERSATION_ID,
        seq=seq,
        role=MessageRole.USER,
        content=content,
        metadata={},
        author_id=uuid4(),
        status=MessageStatus.COMPLETE,
        created_at=_now,
        updated_at=_now,
    )


_PAGE = MessageWindowResponse(items=[_message(seq, "x" * 200) for seq in range(1, PAGE + 1)], has_more=True)

app = FastAPI()


@app.post(messages_path("{conversation_id}"), status_code=201)
async def post_message(
    conversation_id: UUID, body: PostMessageRequest, token: Annotated[str, Depends(_bearer)]
) -> MessageResponse:
    return _message(1, body.content)


@app.get(messages_path("{conversation_id}"))
async def list_messages(
    conversation_id: UUID, token: Annotated[str, Depends(_bearer)]
) -> MessageWindowResponse:
    return _PAGE


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ready"}


def posts(count: int, headers: dict[str, str]) -> Iterator[Request]:
    path = messages_path(str(CONVERSATION_ID))
    return (Request("POST", path, headers, message_body(i)) for i in range(count))


def gets(count: int, headers: dict[str, str]) -> Iterator[Request]:
    path = f"{messages_path(str(CONVERSATION_ID))}?limit={PAGE}"
    return (Request("GET", path, headers) for _ in range(count))


def report(result: BenchResult, method: str, framework: LoadResult, base: LoadResult) -> None:
    """BASE_FASTAPI's figures, and its own ratio to BASE_HTTP: the best ratio any endpoint built on it
    could reach."""
    result.add_load(f"BASE_FASTAPI {method}", framework, "req/s")
    result.add(f"BASE_FASTAPI {method}: ratio to BASE_HTTP", ratio(framework.throughput, base.throughput))


async def measure(requests: Iterator[Request], config: BenchConfig) -> LoadResult:
    """Run ``requests`` against a fresh BASE_FASTAPI with the benchmark's connections and time limit."""
    async with procs.running_baseline(__name__) as server:
        return await run_load(
            server.host, server.port, requests, connections=config.connections, time_limit=config.time_limit
        )


if __name__ == "__main__":
    procs.serve_baseline(app)
