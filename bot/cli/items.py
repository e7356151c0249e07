"""`parkbot items`: stored items newest first, as a table or JSON, searchable in Chinese."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo

from bot.cli.tables import render_table
from bot.config.types import Config
from bot.database import open_database
from bot.errors import UsageError
from bot.platforms.layout import local_iso
from storage.errors import SearchError
from storage.items import StoredItem, newest_items
from storage.search import search_items, search_terms

MAX_LIMIT = 1000


async def run_items(
    config: Config, now: datetime, *, source: str | None, search: str | None, limit: int, as_json: bool
) -> str:
    """List stored items newest first, as a table or as JSON."""
    if source is not None and source not in {s.id for s in config.sources}:
        raise UsageError(f"--source: no source {source!r} in {config.path.name}")
    if not 1 <= limit <= MAX_LIMIT:  # SQLite's integers end at 2**63, and a terminal long before
        raise UsageError(f"--limit: must be between 1 and {MAX_LIMIT}")
    if search is not None:
        try:
            search_terms(search)
        except SearchError as exc:
            raise UsageError(f"--search: {exc}") from exc
    db = await open_database(config, now, read_only=True)
    try:
        if search:
            found = await search_items(db, search, source_id=source, limit=limit)
        else:
            found = await newest_items(db, source_id=source, limit=limit)
    finally:
        await db.close()
    tz = config.bot.timezone
    if as_json:
        return json.dumps([_item_json(item, tz) for item in found], ensure_ascii=False, indent=2)
    if not found:
        return "no items"
    rows = [
        [_local(i.published_at or i.fetched_at, tz, "%m-%d %H:%M"), i.source_id, i.title, i.link]
        for i in found
    ]
    return render_table(["date", "source", "title", "link"], rows)


def _item_json(item: StoredItem, tz: tzinfo) -> dict[str, object]:
    return {
        "id": item.id,
        "source": item.source_id,
        "title": item.title,
        "link": item.link,
        "summary": item.summary,
        "published": local_iso(item.published_at, tz),
        "fetched": local_iso(item.fetched_at, tz),
    }


def _local(moment: datetime, tz: tzinfo, fmt: str) -> str:
    return moment.astimezone(tz).strftime(fmt)
