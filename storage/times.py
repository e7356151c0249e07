"""How times are written to and read from SQLite: ISO-8601 UTC text, which sorts as it compares."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def to_db(moment: datetime) -> str: ...
@overload
def to_db(moment: None) -> None: ...
def to_db(moment: datetime | None) -> str | None:
    """Return the stored form of an aware datetime (None stays None)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to storage")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@overload
def from_db(text: str) -> datetime: ...
@overload
def from_db(text: None) -> None: ...
def from_db(text: str | None) -> datetime | None:
    """Return the aware UTC datetime of a stored time (None stays None)."""
    return None if text is None else datetime.fromisoformat(text)
