"""Errors raised by the storage package."""


class ParkbotError(Exception):
    """Root of the storage package's errors."""


class StorageError(ParkbotError):
    """The database cannot be opened, migrated or written."""


class WriteFailed(StorageError):
    """SQLite refused a write: another process holds the lock past the busy timeout, the disk is full."""


class NotFound(StorageError, LookupError):
    """The row asked for does not exist."""


class SearchError(ParkbotError, ValueError):
    """Search text no query is built from: too many or too long terms, or not text at all."""
