"""Config value parsers (durations, sizes, times, rate limits, URLs, ${VAR}) and a typed TOML table reader.

Parsers raise ValueError whose text completes the sentence `"<value>" ...`; the reader turns that into one
problem line. Sizes are binary: 1 KB = 1024 bytes, 1 MB = 1024 KB, 1 GB = 1024 MB.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.platforms.base import RateLimit
from bot.redact import Secret
from feeds.charset import canonical_encoding

REQUIRED: Any = object()

_DURATION = re.compile(r"(?:\d+[smhd])+")
_DURATION_PART = re.compile(r"(\d+)([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)")
_SIZE_POWER = {"b": 0, "k": 1, "m": 2, "g": 3}
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_RATE = re.compile(r"(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)")
_ID = re.compile(r"[a-z0-9-]+")
_REFERENCE = re.compile(r"\$\$|\$\{([^}]*)(\}?)")
_VARIABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


def parse_duration(text: str) -> timedelta:
    """Read "90s", "15m", "2h", "1d" or a combination such as "1h30m"."""
    text = text.strip().lower()
    if not _DURATION.fullmatch(text):
        raise ValueError('is not a duration (use e.g. "90s", "15m", "2h", "1d")')
    seconds = sum(int(n) * _SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return timedelta(seconds=seconds)


def parse_size(text: str) -> int:
    """Read "100B", "512KB", "5MB" or "1GB" as a byte count (binary units)."""
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError('is not a size (use e.g. "512KB", "5MB")')
    size = int(float(match.group(1)) * 1024 ** _SIZE_POWER[match.group(2)[0]])
    if size <= 0:
        raise ValueError("must be larger than zero")
    return size


def parse_time(text: str) -> time | None:
    """Read a 24-hour "HH:MM" clock time, or "off" for none."""
    if text.strip().lower() == "off":
        return None
    match = _TIME.fullmatch(text.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError('is not a time of day (use "HH:MM", e.g. "08:30", or "off")')
    return time(int(match.group(1)), int(match.group(2)))


def parse_rate_limit(text: str) -> RateLimit:
    """Read "20/min", "5/s", "1000/h" or "20/1m" as a count per period."""
    match = _RATE.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError('is not a rate limit (use e.g. "20/min", "5/s", "1000/h")')
    count, periods = int(match.group(1)), int(match.group(2) or 1)
    if count <= 0 or periods <= 0:
        raise ValueError("must allow at least one message per period")
    return RateLimit(count, timedelta(seconds=periods * _SECONDS[match.group(3)[0]]))


def parse_timezone(text: str) -> ZoneInfo:
    """Read an IANA time zone name such as "Asia/Shanghai"."""
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder name such as "Asia" is found but is not a zone file.
        raise ValueError('is not a known IANA time zone (e.g. "Asia/Shanghai")') from None


def check_http_url(text: str) -> str:
    """Return text if it is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        host = None
    if host is None or parts.scheme not in ("http", "https") or any(c.isspace() for c in text):
        raise ValueError("is not an http(s) URL")
    return text


def check_id(text: str) -> str:
    """Return text if it is a valid id: lowercase letters, digits and hyphens."""
    if not _ID.fullmatch(text):
        raise ValueError("is not a valid id (use only a-z, 0-9 and -)")
    return text


def check_encoding(text: str) -> str:
    """Return text if the feeds package can decode with it (gbk and gb2312 are read as gb18030)."""
    try:
        canonical_encoding(text)
    except LookupError:
        raise ValueError('is not a known text encoding (e.g. "gb18030", "utf-8")') from None
    return text


def check_not_empty(text: str) -> str:
    """Return text unless it is empty or blank."""
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def one_of(*choices: str) -> Callable[[str], str]:
    """Build a parser that accepts only the given words."""

    def parse(text: str) -> str:
        if text not in choices:
            listed = ", ".join(f'"{c}"' for c in choices)
            raise ValueError(f"must be one of {listed}" + did_you_mean(text, choices))
        return text

    return parse


def close_match(word: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate closest to a misspelt word, if any is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Return ' (did you mean "x"?)' for the closest candidate, or ""."""
    match = close_match(word, candidates)
    return f' (did you mean "{match}"?)' if match else ""


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Replace ${NAME} and ${NAME:-default}; "$$" and a "$" not followed by "{" stay as they are."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$$"
        reference = _VARIABLE.fullmatch(match.group(1)) if match.group(2) else None
        if reference is None:
            raise ValueError("has a malformed ${...} reference (use ${NAME} or ${NAME:-default})")
        name, default = reference.groups()
        value = environ.get(name)
        # As in POSIX sh, ":-" also covers a variable that is set but empty.
        if default is not None and not value:
            return default
        if value is None:
            raise ValueError(f"environment variable {name} is not set")
        return value

    return _REFERENCE.sub(replace, text)


def show(text: str, secret: bool) -> str:
    """Quote a value for a problem line, masked when it is a secret."""
    return json.dumps(Secret(text).masked() if secret else text, ensure_ascii=False)


def kind_of(value: object) -> str:
    """Name a TOML value's type the way the TOML spec does."""
    kinds = (
        (bool, "boolean"),
        (int, "integer"),
        (float, "float"),
        (str, "string"),
        (list, "array"),
        (dict, "table"),
        (datetime, "date-time"),
        (date, "date"),
        (time, "time"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


class Problems:
    """Problem lines collected while reading one config file, plus what reading needs."""

    def __init__(self, file: str, environ: Mapping[str, str]) -> None:
        self.file = file
        self.environ = environ
        self.lines: list[str] = []

    def add(self, key_path: str, message: str) -> None:
        """Record one problem at a key path."""
        self.lines.append(f"{self.file}: {key_path}: {message}")


class Table:
    """One TOML table: typed getters that record a problem and return None instead of raising."""

    def __init__(self, data: dict[str, Any], path: str, problems: Problems, allowed: Iterable[str]) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        allowed = tuple(allowed)
        self.misspelled: set[str] = set()
        for key in data:
            if key not in allowed:
                self.problem(key, "unknown key" + did_you_mean(key, allowed))
                self.misspelled.add(close_match(key, allowed) or "")

    def key_path(self, key: str) -> str:
        """Return the full dotted path of one of this table's keys."""
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, message: str) -> None:
        """Record a problem with one of this table's keys."""
        self.problems.add(self.key_path(key), message)

    def _typed(self, key: str, kind: type, value: Any) -> Any:
        is_kind = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not is_kind:
            expected = {str: "a string", int: "an integer", bool: "a boolean", list: "an array"}[kind]
            self.problem(key, f"expected {expected}, got {kind_of(value)}")
            return None
        return value

    def _text(self, key: str, raw: str) -> str | None:
        try:
            return interpolate(raw, self.problems.environ)
        except ValueError as error:
            self.problem(key, str(error))
            return None

    def string(
        self,
        key: str,
        default: Any = REQUIRED,
        *,
        parse: Callable[[str], Any] | None = None,
        secret: bool = False,
    ) -> Any:
        """Read a string, expand ${VAR}, then parse it (a string default is parsed too)."""
        if key in self.data:
            raw = self._typed(key, str, self.data[key])
            text = None if raw is None else self._text(key, raw)
        elif default is REQUIRED:
            if key not in self.misspelled:  # the typo's did-you-mean already points here
                self.problem(key, "is required")
            return None
        else:
            text = default
        if text is None or parse is None:
            return text
        try:
            return parse(text)
        except ValueError as error:
            self.problem(key, f"{show(text, secret)} {error}")
            return None

    def integer(self, key: str, default: int, low: int, high: int | None = None) -> int:
        """Read an integer within low..high (booleans are not integers); a problem is recorded and the
        default returned, since a configuration with problems is never used."""
        value = self._typed(key, int, self.data[key]) if key in self.data else default
        if value is None:
            return default
        if not (low <= value and (high is None or value <= high)):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.problem(key, f"{value} is out of range: must be {bounds}")
            return default
        return int(value)

    def boolean(self, key: str, default: bool) -> bool:
        """Read true or false (on a problem, the default; the configuration is refused anyway)."""
        value = self._typed(key, bool, self.data[key]) if key in self.data else default
        return default if value is None else bool(value)

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        """Read an array of strings, expanding ${VAR} in each."""
        if key not in self.data:
            return default
        values = self._typed(key, list, self.data[key]) or []
        out = []
        for index, raw in enumerate(values):
            item = f"{key}[{index}]"
            text = self._typed(item, str, raw)
            text = None if text is None else self._text(item, text)
            if text is not None:
                out.append(text)
        return tuple(out)

    def table(self, key: str, allowed: Iterable[str]) -> Table:
        """Read a sub-table; an absent or mistyped one reads as empty."""
        data = self.data.get(key, {})
        if not isinstance(data, dict):
            self.problem(key, f"expected a table, got {kind_of(data)}")
            data = {}
        return Table(data, self.key_path(key), self.problems, allowed)

    def tables(self, key: str, allowed: Iterable[str]) -> list[Table]:
        """Read an array of tables ([[key]])."""
        values = self.data.get(key, [])
        if not isinstance(values, list):
            self.problem(key, f"expected an array of tables ([[{key}]]), got {kind_of(values)}")
            return []
        tables = []
        for index, value in enumerate(values):
            if isinstance(value, dict):
                tables.append(Table(value, f"{self.key_path(key)}[{index}]", self.problems, allowed))
            else:
                self.problem(f"{key}[{index}]", f"expected a table, got {kind_of(value)}")
        return tables
