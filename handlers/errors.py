"""Errors of the handlers package; `UserError` is the only one whose text reaches a chat."""

from __future__ import annotations


class ParkbotError(Exception):
    """Root of the handlers package's errors."""


class UserError(ParkbotError):
    """Something the person asking can fix; its Chinese text is the reply, as is."""

    def __init__(self, message_zh: str, cause: str | None = None) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.cause = cause  # for the log only, never shown in the chat
