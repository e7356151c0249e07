"""Polling state on the source row, due sources, and raise-once alerts."""

from datetime import UTC, datetime, timedelta

from storage.alerts import clear_alerts, open_alerts, raise_alert
from storage.sources import (
    record_poll_failure,
    record_poll_success,
    source_by_id,
    sources_due,
    sync_sources,
)

NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


async def test_due_sources_never_polled_first_then_by_time(db):
    await sync_sources(db, [("a", "http://a/"), ("b", "http://b/"), ("c", "http://c/")], NOW)
    await record_poll_success(
        db,
        "a",
        status="ok",
        etag=None,
        last_modified=None,
        body_hash="h",
        now=NOW,
        next_poll_at=NOW + timedelta(minutes=5),
    )
    await record_poll_success(
        db,
        "b",
        status="ok",
        etag=None,
        last_modified=None,
        body_hash="h",
        now=NOW,
        next_poll_at=NOW + timedelta(minutes=1),
    )
    assert await sources_due(db, NOW) == ["c"]
    assert await sources_due(db, NOW + timedelta(minutes=10)) == ["c", "b", "a"]
    assert await sources_due(db, NOW + timedelta(minutes=10), limit=1) == ["c"]


async def test_failure_counts_and_success_resets(db):
    await sync_sources(db, [("a", "http://a/")], NOW)
    state = await record_poll_failure(db, "a", error="HTTP 500", empty=False, now=NOW, next_poll_at=NOW)
    state = await record_poll_failure(db, "a", error="matched nothing", empty=True, now=NOW, next_poll_at=NOW)
    assert (state.error_count, state.empty_polls, state.last_error) == (2, 1, "matched nothing")
    assert state.seeded_at is None and state.last_status == "error"
    await record_poll_success(
        db,
        "a",
        status="ok",
        etag='"e"',
        last_modified="Sun, 29 Nov 2026 08:00:00 GMT",
        body_hash="h",
        now=NOW,
        next_poll_at=NOW + timedelta(hours=1),
    )
    state = await source_by_id(db, "a")
    assert (state.error_count, state.empty_polls, state.last_error, state.etag) == (0, 0, None, '"e"')
    assert state.seeded_at == NOW and state.last_success_at == NOW


async def test_alert_is_raised_once_until_cleared(db):
    assert await raise_alert(db, "source-failing:a", "来源失败", NOW)
    assert not await raise_alert(db, "source-failing:a", "来源失败", NOW + timedelta(hours=1))
    assert [a.key for a in await open_alerts(db)] == ["source-failing:a"]
    await clear_alerts(db, "source-failing:a", "source-empty:a")
    assert await open_alerts(db) == []
    assert await raise_alert(db, "source-failing:a", "来源失败", NOW)
