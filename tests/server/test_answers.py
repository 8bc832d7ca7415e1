"""Each HTTP response starts after a pass of the event loop: the handlers of the requests
that are ready run first, then their answers go out, in order; the messages themselves are
passed on unchanged, and other scopes are not touched."""

from __future__ import annotations

import anyio
import pytest
from starlette.types import Message, Receive, Scope, Send

from neuropil.server.answers import AnswersAfterPass

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _recorder(events: list[str]) -> object:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"]
        events.append(f"handler {name}")  # a short read: no await before its answer
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": name.encode()})

    return app


async def _serve(app: object, names: list[str], events: list[str]) -> dict[str, list[Message]]:
    sent: dict[str, list[Message]] = {n: [] for n in names}

    async def one(name: str) -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            events.append(f"{message['type']} {name}")
            sent[name].append(message)

        await app({"type": "http", "path": name}, receive, send)  # type: ignore[operator]

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(one, name)
    return sent


async def test_ready_handlers_run_before_any_answer_starts() -> None:
    events: list[str] = []
    app = AnswersAfterPass(_recorder(events))  # type: ignore[arg-type]
    sent = await _serve(app, ["/a", "/b", "/c"], events)
    assert events[:3] == ["handler /a", "handler /b", "handler /c"]
    starts = [e for e in events if e.startswith("http.response.start")]
    assert starts == ["http.response.start /a", "http.response.start /b", "http.response.start /c"]
    for name, messages in sent.items():
        assert messages == [
            {"type": "http.response.start", "status": 200, "headers": []},
            {"type": "http.response.body", "body": name.encode()},
        ]


async def test_without_it_each_handler_answers_before_the_next_runs() -> None:
    """The behaviour the wrapper changes (so the test above tests the wrapper)."""
    events: list[str] = []
    await _serve(_recorder(events), ["/a", "/b"], events)
    assert events[:3] == ["handler /a", "http.response.start /a", "http.response.body /a"]


async def test_other_scopes_pass_through() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await send({"type": "lifespan.startup.complete"})

    got: list[Message] = []

    async def send(message: Message) -> None:
        got.append(message)

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    wrapped = AnswersAfterPass(app)
    await wrapped({"type": "lifespan"}, receive, send)
    assert seen == [{"type": "lifespan"}]
    assert got == [{"type": "lifespan.startup.complete"}]
