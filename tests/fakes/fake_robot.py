"""Shared machinery of the fake chat-robot servers: clock, attempt log, scripted answers, windows.

Every request is logged in `attempts` with the answer it got; only accepted messages (answer code 0)
go to `received` and count toward the rate-limit windows. Windows are sliding and judged by the
injected clock: a message at `t` counts against a window of length `w` while `now - t < w`, so a
message exactly `w` after the first one of a full window is accepted again.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from aiohttp import web

Clock = Callable[[], datetime]
Json = dict[str, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ManualClock:
    """An aware UTC clock that only moves when a test moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        """Return the current fake time."""
        return self.now

    def advance(self, seconds: float = 0, *, minutes: float = 0) -> datetime:
        """Move the clock forward and return the new time."""
        self.now += timedelta(seconds=seconds, minutes=minutes)
        return self.now


class Attempt(TypedDict):
    """One request as a fake saw it, with the answer it gave; header names are Title-Cased."""

    key: str
    time: datetime
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    body: Json | None
    http_status: int
    code: int


@dataclass(frozen=True, slots=True)
class Incoming:
    """What a platform fake judges: the robot key, the request parts and the fake's time."""

    key: str
    method: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    body: Json | None
    now: datetime


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer: status, the platform code recorded in attempts, JSON payload and headers."""

    http_status: int
    code: int
    payload: Json
    headers: dict[str, str] = field(default_factory=dict)


def max_in_window(timestamps: Iterable[datetime], window: timedelta | float) -> int:
    """Return the most timestamps inside any half-open window [t, t + window)."""
    span = window if isinstance(window, timedelta) else timedelta(seconds=window)
    times = sorted(timestamps)
    return max((bisect_left(times, start + span) - i for i, start in enumerate(times)), default=0)


def epoch_millis(moment: datetime) -> int:
    """Return whole milliseconds since the Unix epoch, without float rounding."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def parse_object(raw: bytes) -> Json | None:
    """Decode a UTF-8 JSON object, or return None when the body is anything else."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def utf8_len(text: str) -> int:
    """Count UTF-8 bytes, the unit every platform limit is stated in."""
    return len(text.encode("utf-8"))


def _title_case(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


class FakeRobotServer:
    """Base of the platform fakes: robot registry, scripted answers, attempt log and accepted times."""

    route = "/"

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        self.received: list[Json] = []
        self.attempts: list[Attempt] = []
        self.secrets: dict[str, str | None] = {}
        self._scripted: dict[str, deque[Answer]] = defaultdict(deque)
        self._accepted: dict[str, list[datetime]] = defaultdict(list)
        self.latency = timedelta(0)  # how far each request moves the injected clock (a slow robot)

    def add_robot(self, key: str, *, secret: str | None = None) -> None:
        """Register a valid robot key (token), optionally with its signing secret."""
        self.secrets[key] = secret

    def received_by(self, key: str) -> list[Json]:
        """Return the accepted bodies sent to one robot, oldest first."""
        return [
            a["body"] for a in self.attempts if a["key"] == key and a["code"] == 0 and a["body"] is not None
        ]

    def accepted_times(self, key: str) -> list[datetime]:
        """Return the fake-clock times of the messages one robot accepted."""
        return list(self._accepted[key])

    def app(self) -> web.Application:
        """Build the aiohttp application; non-POST methods reach the handler too, to be logged."""
        app = web.Application()
        app.router.add_route("*", self.route, self._handle)
        return app

    def recent(self, key: str, now: datetime, window: timedelta) -> int:
        """Count the messages this robot accepted in the window ending at now."""
        return sum(1 for t in self._accepted[key] if now - t < window)

    def script(self, key: str, count: int, answer: Answer) -> None:
        """Queue an answer for the next `count` requests to key, ahead of any check."""
        self._scripted[key].extend([answer] * count)

    def key_of(self, request: web.Request) -> str:
        """Return the robot key a request addresses."""
        raise NotImplementedError

    def judge(self, incoming: Incoming) -> Answer:
        """Decide the platform's answer to a request."""
        raise NotImplementedError

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        incoming = Incoming(
            key=self.key_of(request),
            method=request.method,
            query=dict(request.query),
            headers={_title_case(name): value for name, value in request.headers.items()},
            raw=raw,
            body=parse_object(raw),
            now=self.clock(),
        )
        queue = self._scripted[incoming.key]
        answer = queue.popleft() if queue else self.judge(incoming)
        self._record(request.path, incoming, answer)
        if self.latency:
            self.clock.advance(self.latency.total_seconds())
        return web.json_response(answer.payload, status=answer.http_status, headers=answer.headers)

    def _record(self, path: str, incoming: Incoming, answer: Answer) -> None:
        self.attempts.append(
            Attempt(
                key=incoming.key,
                time=incoming.now,
                method=incoming.method,
                path=path,
                query=incoming.query,
                headers=incoming.headers,
                raw=incoming.raw,
                body=incoming.body,
                http_status=answer.http_status,
                code=answer.code,
            )
        )
        if answer.code == 0 and incoming.body is not None:
            self.received.append(incoming.body)
            self._accepted[incoming.key].append(incoming.now)
