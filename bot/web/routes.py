"""HTTP routes of the running service: /healthz, /metrics and /feed.xml."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

from aiohttp import web

from bot.platforms.layout import local_iso
from bot.service import Service
from bot.web.feed_xml import ASSOCIATION, FeedEntry, entries_from_items, etag_for, render_atom
from storage.announcements import announcements_since
from storage.errors import StorageError
from storage.items import newest_items
from storage.outbox import outbox_counts
from storage.sources import SourceState, all_sources
from storage.subscribers import all_subscribers

SERVICE = web.AppKey("service", Service)
FEED_ITEMS = 50
FEED_ANNOUNCEMENT_DAYS = 30


def add_routes(app: web.Application) -> None:
    """Register the service's routes."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/feed.xml", feed)


async def healthz(request: web.Request) -> web.Response:
    """200 with source health, outbox backlog, last poll and last digest; 503 if the database is unusable."""
    service = request.app[SERVICE]
    try:
        sources = await all_sources(service.db)
        counts = await outbox_counts(service.db)
        subscribers = await all_subscribers(service.db)
    except (sqlite3.Error, StorageError, ValueError) as exc:  # aiosqlite raises ValueError once closed
        return web.json_response({"status": "error", "error": f"database unusable: {exc}"}, status=503)
    configured = {s.id for s in service.config.sources}
    digests = [s.last_digest_at for s in subscribers if s.last_digest_at]
    body = {
        "status": "ok",
        "sources": [_source_health(s, service) for s in sources if s.id in configured],
        "outbox": {
            "pending": sum(c.pending + c.sending for c in counts),
            "dead": sum(c.dead for c in counts),
        },
        "subscribers": [{"id": s.id, "health": s.health, "reason": s.failing_reason} for s in subscribers],
        "last_poll": local_iso(service.last_poll_at, service.config.bot.timezone),
        "last_digest": local_iso(max(digests, default=None), service.config.bot.timezone),
    }
    return web.json_response(body, dumps=lambda data: json.dumps(data, ensure_ascii=False))


def _source_health(source: SourceState, service: Service) -> dict[str, object]:
    return {
        "id": source.id,
        "status": source.last_status or "new",
        "error_count": source.error_count,
        "error": source.last_error,
        "last_success": local_iso(source.last_success_at, service.config.bot.timezone),
        "next_poll": local_iso(source.next_poll_at, service.config.bot.timezone),
        "items": source.item_count,
    }


async def metrics(request: web.Request) -> web.Response:
    """The Prometheus text format."""
    service = request.app[SERVICE]
    await service.refresh_gauges()
    body, content_type = service.metrics.render()
    return web.Response(body=body, headers={"Content-Type": content_type})


async def feed(request: web.Request) -> web.Response:
    """Atom feed of the newest items and recent announcements, with ETag and 304."""
    service = request.app[SERVICE]
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
    self_url = f"{config.server.public_url}/feed.xml" if config.server.public_url else str(request.url)
    body = render_atom(title=config.bot.name, self_url=self_url, entries=entries, generated=service.clock())
    etag = etag_for(body)
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(
        body=body, headers={"ETag": etag, "Content-Type": "application/atom+xml; charset=utf-8"}
    )
