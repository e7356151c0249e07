"""How times are shown to people and scripts: always in [bot].timezone."""

from __future__ import annotations

from datetime import datetime, tzinfo


def local_iso(moment: datetime | None, tz: tzinfo) -> str | None:
    """Return ISO 8601 with the zone's offset (`2026-11-29T16:20:00+08:00`), or None for no time."""
    return moment.astimezone(tz).isoformat() if moment else None
