"""The service's logs: malformed requests to the HTTP server cost one line each, a few a minute at most."""

import asyncio
import logging
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from bot.logs import BAD_REQUESTS_PER_MINUTE, BadRequestFilter, setup_logging

MALFORMED = b"GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n"


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """Put back the logging set-up that setup_logging replaces, for the tests that follow."""
    root, server = logging.getLogger(), logging.getLogger("aiohttp.server")
    handlers, level, filters = root.handlers[:], root.level, server.filters[:]
    yield
    root.handlers[:], server.filters[:] = handlers, filters
    root.setLevel(level)


async def send_raw(server, data: bytes) -> bytes:
    """Send bytes over a loopback socket and read the answer until the server closes."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(data)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


async def hello(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_malformed_requests_are_one_line_each_and_rate_limited(
    aiohttp_server, capsys, logging_restored
):
    setup_logging([])
    app = web.Application()
    app.router.add_get("/", hello)
    server = await aiohttp_server(app)
    sent = BAD_REQUESTS_PER_MINUTE * 3
    for _ in range(sent):
        assert (await send_raw(server, MALFORMED)).split(b"\r\n")[0].endswith(b"400 Bad Request")
    logged = capsys.readouterr().err.splitlines()
    assert "Traceback" not in "\n".join(logged)
    bad = [line for line in logged if "aiohttp.server" in line]
    assert len(bad) == BAD_REQUESTS_PER_MINUTE, logged
    assert all("bad request from 127.0.0.1" in line and "BadHttpMessage" in line for line in bad), bad
    assert all(len(line) < 400 for line in bad)


def record(exc: BaseException | None, message: str = "Error handling request from %s") -> logging.LogRecord:
    """A record as aiohttp's server logs it."""
    info = (type(exc), exc, None) if exc else None
    return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, message, ("10.0.0.7",), info)


def test_lines_dropped_in_a_minute_are_counted_on_the_next_line():
    now = [0.0]
    keep = BadRequestFilter(per_minute=2, clock=lambda: now[0])
    bad = BadHttpMessage("Invalid header token:\n\n  b'this is not a header'\n        ^")
    assert [keep.filter(record(bad)) for _ in range(5)] == [True, True, False, False, False]
    now[0] = 60.0
    shown = record(bad)
    assert keep.filter(shown) and shown.exc_info is None and shown.levelname == "WARNING"
    assert shown.getMessage() == (
        "bad request from 10.0.0.7: BadHttpMessage: Invalid header token: b'this is not a header' ^"
        " (3 more dropped)"
    )
    again = record(bad)
    assert keep.filter(again) and "dropped" not in again.getMessage()


def test_other_server_errors_keep_their_traceback():
    keep = BadRequestFilter(per_minute=1)
    for _ in range(3):
        bug = record(RuntimeError("a bug in a handler"))
        assert keep.filter(bug) and bug.exc_info is not None
        assert bug.getMessage() == "Error handling request from 10.0.0.7"
