"""Dates as Chinese news sites print them, read into timezone-aware UTC datetimes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo

_TIME = r"(?:\s*T?\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?!\d))?"
_ISO_ZONED = re.compile(
    r"(?<!\d)\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})(?!\d)",
    re.IGNORECASE,
)
_WITH_YEAR = re.compile(
    r"(?<!\d)(?P<y>\d{4})\s*(?:[-/.]|年)\s*(?P<m>\d{1,2})\s*(?:[-/.]|月)\s*(?P<d>\d{1,2})(?!\d)\s*[日号]?"
    + _TIME
)
_MONTH_DAY_CN = re.compile(r"(?<!\d)(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]" + _TIME)
# "12-13" alone is only trusted as the whole text (maybe after a label or in brackets): inside a
# title, "1-2月进出口" must not read as 2 January.
_MONTH_DAY_SHORT = re.compile(r"[^\d]*?[\[【(]?\s*(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME + r"\s*[\]】)]?")
_YEARS = range(1900, 2200)
_NO_YEAR_LOOKBACK = 8  # enough to step back over 29 February


def parse_date(text: str, *, now: datetime, tz: tzinfo) -> datetime | None:
    """Return the first date in `text` as aware UTC, or None; a year-less date is the latest not after now."""
    if not text or not text.strip():
        return None
    normal = unicodedata.normalize("NFKC", text).strip()
    finders: tuple[Callable[[str, datetime, tzinfo], datetime | None], ...] = (
        _find_iso,
        _find_with_year,
        _find_month_day,
    )
    for finder in finders:
        found = finder(normal, now, tz)
        if found is not None:
            return found
    return None


def _find_iso(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    for match in _ISO_ZONED.finditer(text):
        try:
            return datetime.fromisoformat(match.group(0).replace(" ", "T")).astimezone(UTC)
        except ValueError:
            continue
    return None


def _find_with_year(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    for match in _WITH_YEAR.finditer(text):
        year = int(match["y"])
        if year in _YEARS:
            found = _build(year, match, tz)
            if found is not None:
                return found
    return None


def _find_month_day(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    matches = [*_MONTH_DAY_CN.finditer(text)]
    short = _MONTH_DAY_SHORT.fullmatch(text)
    if short is not None:
        matches.append(short)
    for match in matches:
        year = _latest_year(int(match["m"]), int(match["d"]), now.astimezone(tz).date())
        if year is not None:
            found = _build(year, match, tz)
            if found is not None:
                return found
    return None


def _latest_year(month: int, day: int, today: date) -> int | None:
    for year in range(today.year, today.year - _NO_YEAR_LOOKBACK, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return year
    return None


def _build(year: int, match: re.Match[str], tz: tzinfo) -> datetime | None:
    try:
        local = datetime(
            year,
            int(match["m"]),
            int(match["d"]),
            int(match["H"] or 0),
            int(match["M"] or 0),
            int(match["S"] or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return local.astimezone(UTC)
