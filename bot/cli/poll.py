"""`parkbot poll`: poll sources now, once, and report one row per source."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from bot.app import build_service, client_session
from bot.cli.progress import ProgressBar
from bot.cli.sending import SERVICE_SENDS, send_queued
from bot.cli.tables import render_table
from bot.config.types import Config, SourceConfig
from bot.database import open_database
from bot.errors import UsageError
from bot.pipeline import PollResult, parse_pool
from storage.outbox import outbox_counts


def choose_sources(config: Config, wanted: list[str] | None) -> list[SourceConfig]:
    """Return the sources named with --source (any, even disabled), else every enabled one."""
    if not wanted:
        return [s for s in config.sources if s.enabled]
    known = {s.id: s for s in config.sources}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise UsageError(f"--source: no source {unknown[0]!r} in {config.path.name}")
    return [known[w] for w in dict.fromkeys(wanted)]


async def run_poll(config: Config, *, wanted: list[str] | None, as_json: bool) -> tuple[str, int]:
    """Poll now through the service's own path (instant pushes and staff alerts included), send what
    that queued unless the running service does; return what to print and the exit code (1 when every
    source failed)."""
    sources = choose_sources(config, wanted)
    db = await open_database(config, datetime.now(UTC))
    bar = ProgressBar(len(sources), sys.stderr)
    try:
        async with client_session() as session:
            with parse_pool() as executor:
                service = build_service(
                    config, db, session, clock=lambda: datetime.now(UTC), executor=executor
                )
                results = await service.poll_sources(sources, on_done=lambda r: bar.advance(r.source_id))
            bar.close()
            by_service = not await send_queued(service.deliverer)
        queued = sum(c.pending + c.sending for c in await outbox_counts(db))
    finally:
        bar.close()
        await db.close()
    failed_all = bool(results) and all(r.status == "error" for r in results)
    shown = _as_json(results) if as_json else _as_table(results)
    if by_service and queued and not as_json:
        shown = f"{shown}\n{SERVICE_SENDS}"
    return shown, 1 if failed_all else 0


def _as_json(results: list[PollResult]) -> str:
    return json.dumps(
        [
            {
                "source": r.source_id,
                "status": r.status,
                "new": len(r.new),
                "updated": r.updated,
                "error": r.error,
                "elapsed": round(r.elapsed, 3),
                "alerts": list(r.alerts),
            }
            for r in results
        ],
        ensure_ascii=False,
        indent=2,
    )


def _as_table(results: list[PollResult]) -> str:
    rows = [[r.source_id, r.status, str(len(r.new)), f"{r.elapsed:.2f}s", r.error or ""] for r in results]
    table = render_table(["source", "status", "new", "time", "error"], rows, max_width=70)
    alerts = [f"alert: {text}" for r in results for text in r.alerts]
    return "\n".join([table, *alerts])
