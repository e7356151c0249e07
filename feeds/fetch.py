"""One conditional HTTP GET per source: a total timeout, a body cap, a per-host limit and Retry-After."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

import aiohttp
from aiohttp import hdrs
from yarl import URL

from feeds.errors import (
    BodyTooLarge,
    ConnectError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURLError,
    TooManyRedirects,
)

_CHUNK = 64 * 1024
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
_SCHEMES = frozenset({"http", "https"})
# RFC 9110 §10.2.3: servers send Retry-After with 503, and RFC 6585 §4 with 429.
_RETRY_AFTER_STATUSES = frozenset({429, 503})


class FetchStatus(StrEnum):
    """What a fetch found."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"  # the server said 304
    UNCHANGED = "unchanged"  # 200, but the body hash equals the previous one
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one fetch; ordinary failures are results with `error` set, never raised."""

    url: str
    final_url: str
    status: FetchStatus
    http_status: int | None = None
    body: bytes = b""  # empty unless status is OK
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # sha256 hex of the decompressed body
    retry_after: timedelta | None = None
    error: FetchError | None = None
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        """True when there is nothing new to parse (a 304, or the same body as last time)."""
        return self.status in (FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Read a Retry-After header (delta-seconds or HTTP-date, RFC 9110 §10.2.3) as a delay from `now`."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP-dates are always GMT (RFC 9110 §5.6.7)
    return max(when - now, timedelta(0))


class Fetcher:
    """Fetches sources through one shared session, at most `per_host` at a time per host."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout: float,
        max_body: int,
        per_host: int,
        user_agent: str,
        max_redirects: int = 5,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._max_body = max_body
        self._per_host = per_host
        self._user_agent = user_agent
        self._max_redirects = max_redirects
        self._now = now
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_hash: str | None = None,
    ) -> FetchResult:
        """GET `url` with conditional headers; never raises for network or HTTP failures."""
        try:
            target = _check_url(url)
        except InvalidURLError as exc:
            return FetchResult(url=url, final_url=url, status=FetchStatus.ERROR, error=exc)
        async with self._host_slot(target.host or ""):
            started = time.perf_counter()
            try:
                result = await self._get(url, target, etag, last_modified, previous_hash)
            except FetchError as exc:
                result = FetchResult(url=url, final_url=url, status=FetchStatus.ERROR, error=exc)
            return replace(result, elapsed=time.perf_counter() - started)

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self._per_host)
        return slot

    def _headers(self, etag: str | None, last_modified: str | None) -> dict[str, str]:
        headers: dict[str, str] = {
            hdrs.USER_AGENT: self._user_agent,
            hdrs.ACCEPT: _ACCEPT,
            # Only encodings aiohttp always decodes itself, so the cap sees decompressed bytes.
            hdrs.ACCEPT_ENCODING: "gzip, deflate",
        }
        if etag:
            headers[hdrs.IF_NONE_MATCH] = etag
        if last_modified:
            headers[hdrs.IF_MODIFIED_SINCE] = last_modified
        return headers

    async def _get(
        self,
        url: str,
        target: URL,
        etag: str | None,
        last_modified: str | None,
        previous_hash: str | None,
    ) -> FetchResult:
        try:
            async with self._session.get(
                target,
                headers=self._headers(etag, last_modified),
                timeout=self._timeout,
                # aiohttp gives up when the count *reaches* its limit; we allow max_redirects hops.
                max_redirects=self._max_redirects + 1,
            ) as resp:
                return await self._interpret(resp, url, etag, last_modified, previous_hash)
        except TimeoutError as exc:  # before ClientError: aiohttp's timeouts are both
            raise FetchTimeout(f"no complete answer within {self._timeout.total}s") from exc
        except aiohttp.TooManyRedirects as exc:
            raise TooManyRedirects(f"more than {self._max_redirects} redirects") from exc
        except aiohttp.ClientConnectionError as exc:
            raise ConnectError(str(exc) or type(exc).__name__) from exc
        except aiohttp.ClientError as exc:
            raise FetchError(str(exc) or type(exc).__name__) from exc

    async def _interpret(
        self,
        resp: aiohttp.ClientResponse,
        url: str,
        etag: str | None,
        last_modified: str | None,
        previous_hash: str | None,
    ) -> FetchResult:
        seen = FetchResult(
            url=url,
            final_url=str(resp.url),
            status=FetchStatus.ERROR,
            http_status=resp.status,
            content_type=resp.headers.get(hdrs.CONTENT_TYPE),
        )
        new_etag, new_modified = resp.headers.get(hdrs.ETAG), resp.headers.get(hdrs.LAST_MODIFIED)
        if resp.status == 304:
            # RFC 9110 §15.4.5: a 304 may omit validators; the stored ones still describe our copy.
            return replace(
                seen,
                status=FetchStatus.NOT_MODIFIED,
                etag=new_etag or etag,
                last_modified=new_modified or last_modified,
                body_hash=previous_hash,
            )
        if not 200 <= resp.status < 300:
            return self._status_error(resp, seen)
        try:
            body = await _read_capped(resp, self._max_body)
        except BodyTooLarge as exc:
            return replace(seen, error=exc)
        digest = hashlib.sha256(body).hexdigest()
        unchanged = digest == previous_hash
        return replace(
            seen,
            status=FetchStatus.UNCHANGED if unchanged else FetchStatus.OK,
            body=b"" if unchanged else body,
            etag=new_etag,
            last_modified=new_modified,
            body_hash=digest,
        )

    def _status_error(self, resp: aiohttp.ClientResponse, seen: FetchResult) -> FetchResult:
        retry_after = None
        if resp.status in _RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(resp.headers.get(hdrs.RETRY_AFTER), self._now())
        return replace(seen, retry_after=retry_after, error=HTTPStatusError(resp.status, retry_after))


def _check_url(url: str) -> URL:
    try:
        target = URL(url.strip())
    except (TypeError, ValueError) as exc:
        raise InvalidURLError(f"not a URL: {url!r}") from exc
    if target.scheme.lower() not in _SCHEMES or not target.host:
        raise InvalidURLError(f"not an http(s) URL: {url!r}")
    return target


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read the decompressed body, giving up (and dropping the connection) once it passes `limit`."""
    declared = resp.content_length
    if declared is not None and declared > limit and not resp.headers.get(hdrs.CONTENT_ENCODING):
        resp.close()
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in resp.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            resp.close()
            raise BodyTooLarge(limit)
    return bytes(body)
