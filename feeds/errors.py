"""Errors raised inside the feeds package."""


class ParkbotError(Exception):
    """Root of the feeds package's errors."""


class FetchError(ParkbotError):
    """A source could not be fetched."""


class ParseError(ParkbotError):
    """A fetched body could not be read as a feed or list page."""
