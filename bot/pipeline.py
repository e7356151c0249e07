"""One poll cycle per source, in named steps: fetch, parse, classify, store, record."""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo

import aiohttp

from bot.config.types import PollingConfig, SourceConfig
from bot.parse_workers import FORK_SERVER_GUARD, init_worker
from feeds.charset import decode_html
from feeds.errors import ParseError
from feeds.fetch import Fetcher, FetchResult
from feeds.html_list import parse_list_page
from feeds.models import ParsedFeed, ParsedItem
from feeds.parse import parse_feed
from feeds.redesign import is_redesign
from handlers import messages
from storage.alerts import clear_alerts, raise_alert
from storage.db import Database
from storage.errors import WriteFailed
from storage.items import PushState, StoredItem, insert_new_items, recent_titles, unseen_uids
from storage.sources import SourceState, record_poll_failure, record_poll_success, source_by_id

log = logging.getLogger(__name__)

FAILURES_BEFORE_ALERT = 10
EMPTY_POLLS_BEFORE_ALERT = 3
STALE_AFTER = timedelta(days=7)
MAX_BACKOFF = timedelta(days=1)
JITTER = 0.05  # ± share of the interval
# Two cores on the reference machine. Threads were measured too: one parse thread costs the same CPU
# but doubles the wall time of a 1,000-source poll, and two threads fight the event loop for the GIL.
PARSE_WORKERS = 2


def build_fetcher(session: aiohttp.ClientSession, polling: PollingConfig) -> Fetcher:
    """Return a fetcher with the configured timeout, body cap, per-host limit and user agent."""
    return Fetcher(
        session,
        timeout=polling.timeout.total_seconds(),
        max_body=polling.max_body,
        per_host=polling.per_host,
        user_agent=polling.user_agent,
    )


def parse_pool(workers: int = PARSE_WORKERS) -> ProcessPoolExecutor:
    """Return a process pool started by a fork server (forking a process that has threads is unsafe)
    whose processes die with this one, even on SIGKILL (Linux)."""
    context = multiprocessing.get_context("forkserver")
    # The guard goes first, so the fork server is tied to us before its slow imports. Linux ties it to
    # the thread that starts it: the event loop's, where the first job is submitted.
    context.set_forkserver_preload([FORK_SERVER_GUARD, "__main__"])
    return ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker)


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of one source did."""

    source_id: str
    status: str  # ok | not_modified | unchanged | error
    new: tuple[StoredItem, ...] = ()
    updated: int = 0
    error: str | None = None
    elapsed: float = 0.0
    alerts: tuple[str, ...] = ()  # staff alerts newly raised by this poll


class _PollFailed(Exception):
    """A poll step failed in an ordinary way; the text goes on the source's row."""

    def __init__(self, text: str, *, empty: bool = False, retry_after: timedelta | None = None) -> None:
        super().__init__(text)
        self.empty = empty
        self.retry_after = retry_after


def parse_body(source: SourceConfig, fetched: FetchResult, tz: tzinfo, now: datetime) -> ParsedFeed:
    """Turn a fetched body into items (CPU-bound; run it off the event loop)."""
    if source.type == "feed":
        return parse_feed(
            fetched.body,
            url=fetched.final_url,
            content_type=fetched.content_type,
            tz=tz,
            encoding=source.encoding,
            now=now,
        )
    text, _ = decode_html(fetched.body, fetched.content_type, source.encoding)
    assert source.select is not None  # config guarantees selectors for html sources
    return parse_list_page(text, url=fetched.final_url, select=source.select, now=now, tz=tz)


def backoff(interval: timedelta, failures: int, retry_after: timedelta | None = None) -> timedelta:
    """Return the wait after the given number of consecutive failures: doubling, capped at a day."""
    wait = min(interval * 2 ** max(failures - 1, 0), MAX_BACKOFF)
    return max(wait, retry_after) if retry_after else wait


class Poller:
    """Polls sources into storage; one failing source never breaks or delays the others."""

    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        polling: PollingConfig,
        tz: tzinfo,
        *,
        parse_executor: Executor | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.db, self.fetcher, self.polling, self.tz = db, fetcher, polling, tz
        self.rng = rng or random.Random()
        self.parse_executor = parse_executor
        self.clock = clock

    def reconfigure(self, fetcher: Fetcher, polling: PollingConfig, tz: tzinfo) -> None:
        """Use a reloaded configuration's polling settings (a new fetcher carries timeout, cap, limits)."""
        self.fetcher, self.polling, self.tz = fetcher, polling, tz

    async def poll_all(
        self,
        sources: Sequence[SourceConfig],
        *,
        concurrency: int = 32,
        on_done: Callable[[PollResult], None] | None = None,
    ) -> list[PollResult]:
        """Poll the sources concurrently; results in the order given."""
        gate = asyncio.Semaphore(concurrency)

        async def one(source: SourceConfig) -> PollResult:
            async with gate:
                result = await self.poll(source)
            if on_done:
                on_done(result)
            return result

        return list(await asyncio.gather(*(one(s) for s in sources)))

    async def poll(self, source: SourceConfig) -> PollResult:
        """Run one poll cycle for a source and record its outcome; never raises, so one source's
        failure (even one that cannot be recorded, such as a locked database) never touches another's."""
        started, now = time.perf_counter(), self.clock()
        try:
            result = await self._poll(source, now)
        except WriteFailed as exc:  # an operational condition, not a bug: one line, no traceback
            log.error("poll not stored source_id=%s error=%s", source.id, exc)
            result = PollResult(source.id, "error", error=str(exc))
        except Exception as exc:  # the poll loop's one broad except: log it, keep the others going
            log.exception("poll failed source_id=%s", source.id)
            result = PollResult(source.id, "error", error=f"internal error: {exc!r}")
        result = _with_elapsed(result, time.perf_counter() - started)
        log.info(
            "poll source_id=%s status=%s new=%d updated=%d elapsed=%.3f error=%s",
            source.id,
            result.status,
            len(result.new),
            result.updated,
            result.elapsed,
            result.error,
        )
        return result

    async def _poll(self, source: SourceConfig, now: datetime) -> PollResult:
        state = await source_by_id(self.db, source.id, with_counts=False)
        try:
            return await self._cycle(source, state, now)
        except _PollFailed as exc:
            return await self._record_failure(source, exc, now)
        except WriteFailed:
            raise
        except Exception as exc:  # a bug or an odd page: record it on the row, so the source backs off
            log.exception("poll crashed source_id=%s", source.id)
            return await self._record_failure(source, _PollFailed(f"internal error: {exc!r}"), now)

    async def _cycle(self, source: SourceConfig, state: SourceState, now: datetime) -> PollResult:
        fetched = await self.fetcher.fetch(
            source.url, etag=state.etag, last_modified=state.last_modified, previous_hash=state.body_hash
        )
        if fetched.error is not None:
            raise _PollFailed(_describe(fetched), retry_after=fetched.retry_after)
        if fetched.not_modified:
            await self._record_success(source, state, fetched, now)
            return PollResult(source.id, fetched.status.value)
        parsed = await self._parse(source, fetched, now)
        if source.type == "html" and not parsed.items:
            raise _PollFailed(f"item selector {_item_selector(source)!r} matched nothing", empty=True)
        new, updated, alerts = await self._store(source, state, parsed.items, now)
        await self._record_success(source, state, fetched, now)
        return PollResult(source.id, "ok", new, updated, alerts=alerts)

    async def _parse(self, source: SourceConfig, fetched: FetchResult, now: datetime) -> ParsedFeed:
        job = functools.partial(parse_body, source, fetched, self.tz, now)
        try:
            return await asyncio.get_running_loop().run_in_executor(self.parse_executor, job)
        except ParseError as exc:
            raise _PollFailed(f"parse error: {exc}") from exc

    async def _store(
        self, source: SourceConfig, state: SourceState, items: Sequence[ParsedItem], now: datetime
    ) -> tuple[tuple[StoredItem, ...], int, tuple[str, ...]]:
        unseen = await unseen_uids(self.db, source.id, (i.uid for i in items))
        alerts: tuple[str, ...] = ()
        fresh = [i for i in items if i.uid in unseen]
        # only an established source can be redesigned; its first fetch is seeded anyway
        held = state.seeded_at is not None and is_redesign(
            items, fresh, await recent_titles(self.db, source.id), self.tz, now
        )
        if held:
            alerts = await self._alert(
                f"source-redesign:{source.id}:{now:%Y%m%d%H%M}",
                messages.source_redesigned(source.name, len(unseen), len(items)),
                now,
            )
        seeding = state.seeded_at is None and self.polling.first_fetch == "seed"
        # Items already seen go through too: an edited title or summary is updated in place.
        batch = [
            (i, self._push_state(i, now, seeding=seeding, held=held) if i.uid in unseen else PushState.PUSH)
            for i in oldest_first(items)
        ]
        outcome = await insert_new_items(self.db, source.id, batch, now)
        return outcome.new, outcome.updated, alerts

    @staticmethod
    def _push_state(item: ParsedItem, now: datetime, *, seeding: bool, held: bool) -> PushState:
        if seeding:
            return PushState.SEEDED
        if held:
            return PushState.HELD
        if item.published_at is not None and item.published_at < now - STALE_AFTER:
            return PushState.STALE
        return PushState.PUSH

    async def _record_success(
        self, source: SourceConfig, state: SourceState, fetched: FetchResult, now: datetime
    ) -> None:
        await record_poll_success(
            self.db,
            source.id,
            status=fetched.status.value,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_hash=fetched.body_hash,
            now=now,
            # a little jitter, so sources added together do not stay in lockstep
            next_poll_at=now + source.interval * self.rng.uniform(1 - JITTER, 1 + JITTER),
        )
        if state.error_count:
            await clear_alerts(self.db, f"source-failing:{source.id}", f"source-empty:{source.id}")

    async def _record_failure(self, source: SourceConfig, failure: _PollFailed, now: datetime) -> PollResult:
        state = await source_by_id(self.db, source.id, with_counts=False)
        wait = backoff(source.interval, state.error_count + 1, failure.retry_after)
        state = await record_poll_failure(
            self.db, source.id, error=str(failure), empty=failure.empty, now=now, next_poll_at=now + wait
        )
        alerts: tuple[str, ...] = ()
        if failure.empty and state.empty_polls >= EMPTY_POLLS_BEFORE_ALERT:
            text = messages.source_matches_nothing(source.name, _item_selector(source), state.empty_polls)
            alerts = await self._alert(f"source-empty:{source.id}", text, now)
        elif not failure.empty and state.error_count >= FAILURES_BEFORE_ALERT:
            text = messages.source_failing(source.name, state.error_count, str(failure))
            alerts = await self._alert(f"source-failing:{source.id}", text, now)
        return PollResult(source.id, "error", error=str(failure), alerts=alerts)

    async def _alert(self, key: str, text: str, now: datetime) -> tuple[str, ...]:
        if await raise_alert(self.db, key, text, now):
            log.warning("staff alert key=%s", key)
            return (text,)
        return ()


def oldest_first(items: Sequence[ParsedItem]) -> list[ParsedItem]:
    """Order items oldest first; pages list newest first, so undated items keep that order reversed."""
    undated_last = datetime.max.replace(tzinfo=UTC)
    return sorted(reversed(items), key=lambda i: i.published_at or undated_last)


def _item_selector(source: SourceConfig) -> str:
    return source.select.item if source.select else ""


def _describe(fetched: FetchResult) -> str:
    error = fetched.error
    return f"{type(error).__name__}: {error}" if error else "unknown fetch error"


def _with_elapsed(result: PollResult, elapsed: float) -> PollResult:
    return replace(result, elapsed=elapsed)
