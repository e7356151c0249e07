"""Per-robot sliding-window rate limits, shared by every kind of message to that robot."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from bot.platforms.base import RateLimit

# Our clock and the platform's differ a little; counting each window a bit longer keeps us under.
MAX_SAFETY = timedelta(seconds=1)


class Slot:
    """One send counted against a robot: reserved when planned, stamped when the request goes out."""

    __slots__ = ("at",)

    def __init__(self, at: datetime) -> None:
        self.at = at

    def stamp(self, at: datetime) -> None:
        """Record the moment the request actually went out (never earlier than planned)."""
        self.at = max(self.at, at)


class RateLimiter:
    """Remembers recent sends to one robot and says when the next one is allowed."""

    def __init__(self, limits: Sequence[RateLimit]) -> None:
        self.limits = tuple(limits)
        depth = max((limit.count for limit in self.limits), default=0)
        self._sent: deque[Slot] = deque(maxlen=depth or None)
        self._locked_until: datetime | None = None

    def next_free(self, now: datetime) -> datetime:
        """Return the earliest time a message may go out (now, if one may go now)."""
        earliest = now
        for limit in self.limits:
            if len(self._sent) >= limit.count:
                # the limit.count-th most recent send must have left the window first
                safety = min(MAX_SAFETY, limit.per / 10)
                earliest = max(earliest, self._sent[-limit.count].at + limit.per + safety)
        if self._locked_until is not None:
            earliest = max(earliest, self._locked_until)
        return earliest

    def record(self, at: datetime) -> Slot:
        """Count a send planned at `at`; stamp the returned slot when the request goes out, since a send
        that waits behind others would otherwise open the window early."""
        slot = Slot(at)
        if self._sent.maxlen:
            self._sent.append(slot)
        return slot

    def lock(self, until: datetime) -> None:
        """Send nothing before `until` (the platform locked the robot, e.g. DingTalk's 10 minutes)."""
        self._locked_until = max(until, self._locked_until or until)


class RateLimiters:
    """One limiter per robot key, created on first use with that robot's limits."""

    def __init__(self) -> None:
        self._limiters: dict[str, RateLimiter] = {}

    def get(self, key: str, limits: Sequence[RateLimit]) -> RateLimiter:
        """Return the robot's limiter."""
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = RateLimiter(limits)
        return limiter

    def seed(self, key: str, limits: Sequence[RateLimit], sent: Iterable[datetime]) -> None:
        """Count sends made before a restart, so a restart cannot double the rate."""
        limiter = self.get(key, limits)
        for at in sorted(sent):
            limiter.record(at)
