"""A fake news site: pages that tests change between polls, plus fixed hostile endpoints.

Run it under pytest-aiohttp (`news_server` fixture in tests/conftest.py). Conditional requests follow
RFC 9110 §13.1-13.2: If-None-Match (weak comparison) wins over If-Modified-Since.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web
from aiohttp.typedefs import Handler

DEFAULT_LAST_MODIFIED = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
RETRY_AFTER_SECONDS = 120
RETRY_AFTER_DATE = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # fixed_now + 30 min
HUGE_SIZE = 50 * 1024 * 1024
HUGE_CHUNK = 64 * 1024
JUNK_SIZE = 64 * 1024

_LOL_REFS = [(i, f"&lol{i - 1 if i > 1 else ''};") for i in range(1, 10)]
# The classic entity bomb: lol9 expands to 10**9 "lol"s if a parser resolves internal entities.
_LOL_ENTITIES = "\n".join(
    ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{_ref * 10}">' for i, _ref in _LOL_REFS]
)
BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE rss [
{_LOL_ENTITIES}
]>
<rss version="2.0"><channel><title>&lol9;</title><link>http://www.hnkfq.com.cn/</link>
<description>&lol9;</description>
<item><title>&lol9;</title><link>http://www.hnkfq.com.cn/news/info_itemid_1.html</link></item>
</channel></rss>
""".encode()

REDIRECT_TARGET_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>重定向终点</title><link>http://www.hnkfq.com.cn/</link>
<description>redirect chain end</description>
<item><title>永州经开区“五好”园区创建推进会召开</title>
<link>http://www.hnkfq.com.cn/news/info_itemid_5801.html</link>
<guid>http://www.hnkfq.com.cn/news/info_itemid_5801.html</guid>
<pubDate>Sun, 29 Nov 2026 09:00:00 +0800</pubDate></item>
</channel></rss>
""".encode()

_REDIRECT_CODES = (301, 302, 307, 308)


@dataclass(slots=True)
class Page:
    """One served resource and how the server treats conditional requests for it."""

    body: bytes
    content_type: str
    etag: str | None
    last_modified: datetime | None
    honour_validators: bool = True
    gzip: bool = False


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the site saw it; header names are Title-Cased (``If-None-Match``)."""

    path: str
    method: str
    headers: dict[str, str]
    time: datetime
    query: str = ""


@dataclass(frozen=True, slots=True)
class _Failure:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class _HugeStats:
    sent: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


def _title_case(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _etag_matches(header: str, etag: str | None) -> bool:
    """Weak comparison of an If-None-Match list (RFC 9110 §13.1.2)."""
    if header.strip() == "*":
        return True  # the page exists, so "*" matches whether or not it has an ETag
    if etag is None:
        return False
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def _not_modified_since(header: str, last_modified: datetime | None) -> bool:
    if last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False  # RFC 9110 §13.1.3: an invalid date is ignored
    if since.tzinfo is None:
        return False
    return last_modified.replace(microsecond=0) <= since


def is_not_modified(page: Page, headers: dict[str, str]) -> bool:
    """Decide 304 for a page and request headers (RFC 9110 §13.2.2 precedence)."""
    if not page.honour_validators:
        return False
    if "If-None-Match" in headers:
        return _etag_matches(headers["If-None-Match"], page.etag)
    if "If-Modified-Since" in headers:
        return _not_modified_since(headers["If-Modified-Since"], page.last_modified)
    return False


class NewsSite:
    """An aiohttp news site whose pages, failures and request log belong to the test."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[RecordedRequest] = []
        self.huge = _HugeStats()
        self._failures: dict[str, deque[_Failure]] = {}
        self._closing = asyncio.Event()

    def set_page(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        *,
        encoding: str = "utf-8",
        etag: bool | str = True,
        last_modified: datetime | None = DEFAULT_LAST_MODIFIED,
        honour_validators: bool = True,
        gzip: bool = False,
    ) -> None:
        """Serve body at path; a str body is encoded with `encoding`, whatever content_type says."""
        data = body.encode(encoding) if isinstance(body, str) else body
        if etag is True:
            tag: str | None = f'"{hashlib.sha1(data).hexdigest()}"'
        else:
            tag = etag or None
        self.pages[path] = Page(data, content_type, tag, last_modified, honour_validators, gzip)

    def fail_next(
        self,
        path: str,
        count: int,
        status: int,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Answer the next `count` requests to path with this status, headers and body."""
        failure = _Failure(status, dict(headers or {}), body)
        self._failures.setdefault(path, deque()).extend([failure] * count)

    def hits(self, path: str) -> int:
        """Count the requests made to path (any method, any outcome)."""
        return sum(1 for request in self.requests if request.path == path)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Return the recorded requests to path, oldest first."""
        return [request for request in self.requests if request.path == path]

    def app(self) -> web.Application:
        """Build the aiohttp application serving this site."""
        app = web.Application(middlewares=[self._record_and_fail])
        app.on_shutdown.append(self._on_shutdown)
        app.router.add_get("/hostile/slow", self._slow)
        app.router.add_get("/hostile/huge", self._huge)
        app.router.add_get("/hostile/redirect-loop", self._redirect_loop)
        app.router.add_get(r"/hostile/redirect/{n:\d+}", self._redirect_chain)
        app.router.add_get("/hostile/billion-laughs.xml", _billion_laughs)
        app.router.add_get("/hostile/junk.xml", _junk)
        app.router.add_get("/hostile/500", _error_500)
        app.router.add_get("/hostile/429", _too_many_requests)
        app.router.add_get("/hostile/503-date", _unavailable_until_date)
        app.router.add_get("/{tail:.*}", self._page)
        return app

    @web.middleware
    async def _record_and_fail(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        headers = {_title_case(name): value for name, value in request.headers.items()}
        self.requests.append(
            RecordedRequest(request.path, request.method, headers, datetime.now(UTC), request.query_string)
        )
        queue = self._failures.get(request.path)
        if queue:
            failure = queue.popleft()
            return web.Response(status=failure.status, headers=failure.headers, body=failure.body)
        return await handler(request)

    async def _on_shutdown(self, _app: web.Application) -> None:
        self._closing.set()

    async def _page(self, request: web.Request) -> web.Response:
        page = self.pages.get(request.path)
        if page is None:
            raise web.HTTPNotFound(text="404 Not Found")
        headers = {"Content-Type": page.content_type}
        if page.etag is not None:
            headers["ETag"] = page.etag
        if page.last_modified is not None:
            headers["Last-Modified"] = _http_date(page.last_modified)
        request_headers = {_title_case(name): value for name, value in request.headers.items()}
        if is_not_modified(page, request_headers):
            headers.pop("Content-Type")
            return web.Response(status=304, headers=headers)
        body = page.body
        if page.gzip and "gzip" in request.headers.get("Accept-Encoding", "").lower():
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        return web.Response(body=body, headers=headers)

    async def _slow(self, request: web.Request) -> web.Response:
        # Never sends headers; released only when the server shuts down.
        await self._closing.wait()
        return web.Response(status=503)

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        self.huge = _HugeStats()
        response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        response.enable_chunked_encoding()  # no Content-Length, like a runaway CMS page
        chunk = _junk_bytes(HUGE_CHUNK, seed=2).hex().encode()[:HUGE_CHUNK]
        try:
            await response.prepare(request)
            while self.huge.sent < HUGE_SIZE and _still_connected(request):
                await response.write(chunk)
                self.huge.sent += len(chunk)
            if self.huge.sent >= HUGE_SIZE:
                await response.write_eof()
        except ConnectionError:
            pass  # the client hung up mid-write: stop streaming
        finally:
            self.huge.done.set()
        return response

    async def _redirect_loop(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": request.path})

    async def _redirect_chain(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n == 0:
            return web.Response(body=REDIRECT_TARGET_FEED, headers={"Content-Type": "application/rss+xml"})
        status = _REDIRECT_CODES[n % len(_REDIRECT_CODES)]
        return web.Response(status=status, headers={"Location": f"/hostile/redirect/{n - 1}"})


def _still_connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _junk_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


async def _billion_laughs(request: web.Request) -> web.Response:
    return web.Response(body=BILLION_LAUGHS, headers={"Content-Type": "application/rss+xml"})


async def _junk(request: web.Request) -> web.Response:
    return web.Response(body=_junk_bytes(JUNK_SIZE, seed=1), headers={"Content-Type": "application/xml"})


async def _error_500(request: web.Request) -> web.Response:
    return web.Response(status=500, text="<h1>500 Internal Server Error</h1>", content_type="text/html")


async def _too_many_requests(request: web.Request) -> web.Response:
    return web.Response(status=429, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _unavailable_until_date(request: web.Request) -> web.Response:
    return web.Response(status=503, headers={"Retry-After": _http_date(RETRY_AFTER_DATE)})
