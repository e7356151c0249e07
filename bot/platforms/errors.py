"""Why a push failed, with what the retry policy needs to decide."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any


class PushError(Exception):
    """A platform refused or did not take a message; `permanent` means retrying cannot help."""

    def __init__(
        self,
        platform: str,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        permanent: bool = False,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(f"{platform}: {message}" if code is None else f"{platform} {code}: {message}")
        self.platform = platform
        self.status = status
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after


def judge(
    platform: str,
    status: int,
    code: int | str | None,
    reason: str,
    *,
    transient: Collection[int | str],
    penalties: Mapping[Any, timedelta],  # keyed by the platform's codes, int or str
    hints: Mapping[Any, str],
) -> None:
    """Raise the PushError a body code means; return for code 0.

    No code at all, or a code in `transient`, is retried; a code in `penalties` is retried after that
    penalty; any other code is permanent (retrying a bad key or signature only hammers the platform).
    """
    if code == 0:
        return
    reason = reason[:200]
    if code in penalties:
        raise PushError(
            platform, reason or "rate limited", status=status, code=code, retry_after=penalties[code]
        )
    if code is None or code in transient:
        raise PushError(platform, reason or f"HTTP {status} without a code", status=status, code=code)
    hint = hints.get(code)
    message = f"{hint}: {reason}" if hint else reason or "rejected"
    raise PushError(platform, message, status=status, code=code, permanent=True)
