"""Errors raised inside the feeds package; fetch errors come back inside a FetchResult, not raised."""

from datetime import timedelta


class ParkbotError(Exception):
    """Root of the feeds package's errors."""


class FetchError(ParkbotError):
    """A source could not be fetched."""


class FetchTimeout(FetchError, TimeoutError):
    """No complete answer (headers and body) within the timeout."""


class HTTPStatusError(FetchError):
    """The server answered with a status other than 2xx or 304."""

    def __init__(self, status: int, retry_after: timedelta | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class BodyTooLarge(FetchError):
    """The decompressed body grew past the configured cap."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"body larger than {limit} bytes")
        self.limit = limit


class TooManyRedirects(FetchError):
    """The redirect chain was longer than allowed, or looped."""


class ConnectError(FetchError, ConnectionError):
    """The connection could not be made or broke."""


class InvalidURLError(FetchError, ValueError):
    """The URL is malformed or not http(s)."""


class ParseError(ParkbotError):
    """A fetched body could not be read as a feed or list page."""
