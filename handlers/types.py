"""What a chat command receives and returns, the same for every platform."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One text message sent to the bot, already verified and decrypted by its platform."""

    platform: str  # "wecom", "dingtalk", "feishu", "webhook" or "cli"
    chat_id: str
    sender_id: str
    text: str
    sender_name: str = ""
    chat_title: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot answers; `markdown` says whether `text` uses markdown links and emphasis."""

    text: str
    markdown: bool = False
