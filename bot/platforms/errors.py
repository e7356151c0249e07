"""Why a push failed, with what the retry policy needs to decide."""

from __future__ import annotations

from datetime import timedelta


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
