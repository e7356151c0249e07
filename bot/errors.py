"""Errors of the bot package."""


class ParkbotError(Exception):
    """Root of the bot package's errors."""


class UsageError(ParkbotError):
    """A command-line argument is wrong; exit code 2."""
