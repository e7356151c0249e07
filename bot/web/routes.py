"""HTTP routes of the running service: /healthz, /metrics and /feed.xml."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from bot.platforms.layout import local_iso
from bot.service import Service
from bot.web.feed_xml import ASSOCIATION, FeedEntry, entries_from_items, etag_for, render_atom
from storage.announcements import announcements_since
from storage.errors import StorageError
from storage.items import newest_items

SERVICE = web.AppKey("service", Service)
FEED_ITEMS = 50
FEED_ANNOUNCEMENT_DAYS = 30


def add_routes(app: web.Application) -> None:
    """Register the service's routes."""
    app[FEED_CACHE] = FeedCache()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/feed.xml", feed)


async def healthz(request: web.Request) -> web.Response:
    """A summary that does not grow with the data: 200 "ok", or "degraded" while writes fail or sources
    or robots fail; 503 when the database cannot be read at all."""
    service = request.app[SERVICE]
    tz = service.config.bot.timezone
    try:
        status = await service.service_status()
    except (sqlite3.Error, StorageError, ValueError) as exc:  # aiosqlite raises ValueError once closed
        return web.json_response({"status": "error", "error": f"database unusable: {exc}"}, status=503)
    problems = [service.db.write_error] if service.db.write_error else []
    failing_sources, failing_subscribers = status.sources_failing, status.subscribers_failing
    problems += [f"{failing_sources} source(s) failing"] if failing_sources else []
    problems += [f"{failing_subscribers} subscriber(s) failing"] if failing_subscribers else []
    body = {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "sources": dict(status.source_health),
        "subscribers": {"total": status.subscribers, "failing": failing_subscribers},
        "outbox": {"pending": status.outbox_pending, "dead": status.outbox_dead},
        "last_poll": local_iso(status.last_poll, tz),
        "last_digest": local_iso(status.last_digest, tz),
    }
    return web.json_response(body, dumps=lambda data: json.dumps(data, ensure_ascii=False))


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus text format."""
    service = request.app[SERVICE]
    await service.refresh_gauges()
    body, content_type = service.metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """/feed.xml as last rendered, and what it was rendered from."""

    source: tuple[object, ...]
    body: bytes
    etag: str


class FeedCache:
    """The one rendered feed an application keeps (set up before the application is frozen)."""

    rendered: RenderedFeed | None = None


FEED_CACHE = web.AppKey("feed_cache", FeedCache)


async def feed(request: web.Request) -> web.Response:
    """Atom feed of the newest items and recent announcements, rendered once per change, with ETag/304."""
    service = request.app[SERVICE]
    # The feed changes with the data, the day (announcements age out) and the URL it is served at.
    source = (await service.db.version(), service.clock().date(), str(request.url))
    cache = request.app[FEED_CACHE]
    cached = cache.rendered
    if cached is None or cached.source != source:
        body = await _render_feed(service, str(request.url))
        cached = cache.rendered = RenderedFeed(source, body, etag_for(body))
    if cached.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers={"ETag": cached.etag})
    return web.Response(
        body=cached.body, headers={"ETag": cached.etag, "Content-Type": "application/atom+xml; charset=utf-8"}
    )


async def _render_feed(service: Service, url: str) -> bytes:
    config = service.config
    items = await newest_items(service.db, limit=FEED_ITEMS)
    entries = entries_from_items(items, {s.id: s.name for s in config.sources})
    since = service.clock() - timedelta(days=FEED_ANNOUNCEMENT_DAYS)
    entries += [
        FeedEntry(
            f"urn:parkbot:announcement:{a.id}", f"【公告】{a.title}", "", a.body, a.created_at, ASSOCIATION
        )
        for a in await announcements_since(service.db, since)
        if a.targets is None
    ]
    entries.sort(key=lambda e: e.updated, reverse=True)
    self_url = f"{config.server.public_url}/feed.xml" if config.server.public_url else url
    return render_atom(title=config.bot.name, self_url=self_url, entries=entries, generated=service.clock())
