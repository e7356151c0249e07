import asyncio
import gzip
import hashlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from feeds.errors import FetchError
from feeds.fetch import (
    BodyTooLarge,
    ConnectError,
    Fetcher,
    FetchResult,
    FetchStatus,
    FetchTimeout,
    HTTPStatusError,
    InvalidURLError,
    TooManyRedirects,
    parse_retry_after,
)

NOW = datetime(2026, 1, 2, 0, 0, tzinfo=UTC)
USER_AGENT = "parkbot-test/1.0 (+https://example.org/parkbot)"
PAGE = "<html><head><title>园区快讯</title></head><body>新闻</body></html>".encode()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def serve(aiohttp_server: ServerFactory) -> Callable[..., Awaitable[TestServer]]:
    async def start(**routes: Handler) -> TestServer:
        app = web.Application()
        for name, handler in routes.items():
            app.router.add_get("/" + name.replace("__", "/"), handler)
        return await aiohttp_server(app)

    return start


def make_fetcher(session: aiohttp.ClientSession, **options: object) -> Fetcher:
    settings: dict = {
        "timeout": 2.0,
        "max_body": 1_000_000,
        "per_host": 2,
        "user_agent": USER_AGENT,
        "now": lambda: NOW,
    }
    return Fetcher(session, **{**settings, **options})


def url_of(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


def failed_with(result: FetchResult, kind: type[FetchError]) -> FetchError:
    assert result.status is FetchStatus.ERROR
    assert isinstance(result.error, kind), result.error
    assert result.body == b""
    return result.error


async def test_ok_then_not_modified_round_trip(serve, session) -> None:
    seen: list[dict[str, str]] = []

    async def page(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)  # validators omitted on purpose
        headers = {"ETag": '"v1"', "Last-Modified": "Thu, 01 Jan 2026 08:00:00 GMT"}
        return web.Response(body=PAGE, content_type="text/html", charset="gbk", headers=headers)

    server = await serve(news=page)
    fetcher = make_fetcher(session)
    first = await fetcher.fetch(url_of(server, "/news"))
    assert first.status is FetchStatus.OK
    assert not first.not_modified
    assert (first.http_status, first.body, first.error) == (200, PAGE, None)
    assert first.content_type == "text/html; charset=gbk"
    assert (first.etag, first.last_modified) == ('"v1"', "Thu, 01 Jan 2026 08:00:00 GMT")
    assert first.body_hash == hashlib.sha256(PAGE).hexdigest()
    assert first.final_url == first.url == url_of(server, "/news")
    assert first.elapsed >= 0
    assert "If-None-Match" not in seen[0] and "If-Modified-Since" not in seen[0]

    second = await fetcher.fetch(
        first.url, etag=first.etag, last_modified=first.last_modified, previous_hash=first.body_hash
    )
    assert second.status is FetchStatus.NOT_MODIFIED
    assert second.not_modified
    assert (second.http_status, second.body, second.error) == (304, b"", None)
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    assert second.body_hash == first.body_hash
    assert seen[1]["If-None-Match"] == '"v1"'
    assert seen[1]["If-Modified-Since"] == "Thu, 01 Jan 2026 08:00:00 GMT"


async def test_not_modified_takes_new_validators_when_sent(serve, session) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(status=304, headers={"ETag": '"v2"'})

    server = await serve(news=page)
    result = await make_fetcher(session).fetch(url_of(server, "/news"), etag='"v1"', last_modified="x")
    assert (result.status, result.etag, result.last_modified) == (FetchStatus.NOT_MODIFIED, '"v2"', "x")


async def test_same_body_hash_is_unchanged(serve, session) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=PAGE, headers={"ETag": '"e"'})

    server = await serve(news=page)
    fetcher = make_fetcher(session)
    digest = hashlib.sha256(PAGE).hexdigest()
    same = await fetcher.fetch(url_of(server, "/news"), previous_hash=digest)
    assert (same.status, same.body, same.body_hash, same.etag) == (FetchStatus.UNCHANGED, b"", digest, '"e"')
    assert same.not_modified
    changed = await fetcher.fetch(url_of(server, "/news"), previous_hash="0" * 64)
    assert (changed.status, changed.body, changed.body_hash) == (FetchStatus.OK, PAGE, digest)


async def test_user_agent_and_accept_encoding_are_sent(serve, session) -> None:
    seen: list[dict[str, str]] = []

    async def page(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(body=PAGE)

    server = await serve(news=page)
    await make_fetcher(session).fetch(url_of(server, "/news"))
    assert seen[0]["User-Agent"] == USER_AGENT
    assert seen[0]["Accept-Encoding"] == "gzip, deflate"


async def test_gzip_body_is_decompressed(serve, session) -> None:
    original = PAGE * 5000

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(original), headers={"Content-Encoding": "gzip"})

    server = await serve(news=page)
    result = await make_fetcher(session).fetch(url_of(server, "/news"))
    assert (result.status, result.body) == (FetchStatus.OK, original)
    assert result.body_hash == hashlib.sha256(original).hexdigest()


async def test_cap_applies_to_decompressed_size(serve, session) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)  # about 20 KB on the wire

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    server = await serve(news=page)
    result = await make_fetcher(session, max_body=1_000_000).fetch(url_of(server, "/news"))
    error = failed_with(result, BodyTooLarge)
    assert error.limit == 1_000_000
    assert result.http_status == 200


async def test_declared_length_over_cap_fails_without_reading(serve, session) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 2_000_000)

    server = await serve(news=page)
    result = await make_fetcher(session, max_body=1_000_000).fetch(url_of(server, "/news"))
    failed_with(result, BodyTooLarge)


async def test_huge_streamed_body_is_abandoned_early(serve, session) -> None:
    total = 50 * 1024 * 1024
    sent = 0

    async def page(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()
        await response.prepare(request)  # chunked: no Content-Length to refuse up front
        chunk = b"x" * 65536
        try:
            while sent < total:
                await response.write(chunk)
                sent += len(chunk)
        except ConnectionResetError:
            pass
        return response

    server = await serve(big=page)
    result = await make_fetcher(session, max_body=1024 * 1024).fetch(url_of(server, "/big"))
    failed_with(result, BodyTooLarge)
    assert sent < total // 2  # the client hung up; socket buffers account for the rest


async def test_server_that_never_answers_times_out(serve, session) -> None:
    release = asyncio.Event()

    async def page(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(body=PAGE)

    server = await serve(slow=page)
    try:
        result = await make_fetcher(session, timeout=0.2).fetch(url_of(server, "/slow"))
    finally:
        release.set()
    error = failed_with(result, FetchTimeout)
    assert isinstance(error, TimeoutError)


async def test_trickling_body_still_ends_within_the_total_timeout(serve, session) -> None:
    async def page(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:  # one byte at a time, each well inside any per-read timeout
                await response.write(b"x")
                await asyncio.sleep(0.02)
        except ConnectionResetError:
            return response

    server = await serve(trickle=page)
    result = await make_fetcher(session, timeout=0.2).fetch(url_of(server, "/trickle"))
    failed_with(result, FetchTimeout)


async def redirect(request: web.Request) -> web.Response:
    hops = int(request.match_info["n"])
    if hops == 0:
        return web.Response(body=PAGE)
    raise web.HTTPFound(f"/r/{hops - 1}")


async def loop(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/loop")


async def test_redirects_up_to_the_limit(serve, session) -> None:
    server = await serve(**{"r__{n}": redirect, "loop": loop})
    fetcher = make_fetcher(session, max_redirects=5)
    five = await fetcher.fetch(url_of(server, "/r/5"))
    assert (five.status, five.body) == (FetchStatus.OK, PAGE)
    assert five.final_url == url_of(server, "/r/0")
    assert five.url == url_of(server, "/r/5")
    failed_with(await fetcher.fetch(url_of(server, "/r/6")), TooManyRedirects)
    failed_with(await fetcher.fetch(url_of(server, "/loop")), TooManyRedirects)


async def test_no_redirects_allowed(serve, session) -> None:
    server = await serve(**{"r__{n}": redirect})
    fetcher = make_fetcher(session, max_redirects=0)
    assert (await fetcher.fetch(url_of(server, "/r/0"))).status is FetchStatus.OK
    failed_with(await fetcher.fetch(url_of(server, "/r/1")), TooManyRedirects)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (429, "120", timedelta(seconds=120)),
        (503, "Fri, 02 Jan 2026 00:05:00 GMT", timedelta(minutes=5)),
        (503, None, None),
        (500, "30", None),  # Retry-After is only read where RFC 9110 / RFC 6585 define it
        (404, None, None),
    ],
)
async def test_http_errors_carry_status_and_retry_after(
    serve, session, status: int, retry_after: str | None, expected: timedelta | None
) -> None:
    async def page(request: web.Request) -> web.Response:
        headers = {"Retry-After": retry_after} if retry_after else {}
        return web.Response(status=status, body=b"busy", headers=headers)

    server = await serve(news=page)
    result = await make_fetcher(session).fetch(url_of(server, "/news"))
    error = failed_with(result, HTTPStatusError)
    assert (error.status, error.retry_after) == (status, expected)
    assert (result.http_status, result.retry_after) == (status, expected)
    assert result.etag is None and result.body_hash is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", timedelta(0)),
        (" 3600 ", timedelta(hours=1)),
        ("Fri, 02 Jan 2026 01:00:00 GMT", timedelta(hours=1)),
        ("Friday, 02-Jan-26 01:00:00 GMT", timedelta(hours=1)),  # obsolete RFC 850 form
        ("Thu, 01 Jan 2026 00:00:00 GMT", timedelta(0)),  # already past
        ("", None),
        (None, None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(value, NOW) == expected


async def test_connection_refused(session) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await make_fetcher(session).fetch(f"http://127.0.0.1:{port}/news")
    error = failed_with(result, ConnectError)
    assert isinstance(error, ConnectionError)
    assert result.http_status is None


@pytest.mark.parametrize(
    "url", ["ftp://example.org/feed.xml", "file:///etc/passwd", "javascript:alert(1)", "http://", "", "新闻"]
)
async def test_invalid_urls_are_error_results(session, url: str) -> None:
    result = await make_fetcher(session).fetch(url)
    failed_with(result, InvalidURLError)
    assert result.url == url


async def test_per_host_limit(serve, session) -> None:
    active = peak = 0
    arrivals: asyncio.Queue[asyncio.Event] = asyncio.Queue()

    async def page(request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        gate = asyncio.Event()
        await arrivals.put(gate)
        await gate.wait()
        active -= 1
        return web.Response(body=PAGE)

    server = await serve(news=page)
    fetcher = make_fetcher(session, per_host=2)
    tasks = [asyncio.create_task(fetcher.fetch(url_of(server, f"/news?n={n}"))) for n in range(5)]
    held: list[asyncio.Event] = []
    for _ in range(5):
        held.append(await arrivals.get())
        if len(held) == 2:  # both slots busy: let the older one finish so the next may start
            held.pop(0).set()
    for gate in held:
        gate.set()
    results = await asyncio.gather(*tasks)
    assert [result.status for result in results] == [FetchStatus.OK] * 5
    assert peak == 2
