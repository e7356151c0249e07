"""Chat commands: the pure parser, per-module routers, and the dispatcher that runs one command."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from handlers import messages
from handlers.context import HandlerContext
from handlers.errors import UserError
from handlers.types import Reply

log = logging.getLogger(__name__)

DEFAULT_PREFIXES = frozenset({"/", ""})
# Leading @mentions: WeCom puts U+2005 after one, others a space or nothing (the platform may strip it).
_MENTION = re.compile(r"^(?:[@＠]\S*[\s\u2005]*)+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
# Full-width forms people type on Chinese keyboards, read as their ASCII twins in prefixes and words.
_FULL_WIDTH = str.maketrans({"／": "/", "？": "?"})


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command: its canonical name, the word that named it and the text after it."""

    name: str
    word: str
    args: str

    @property
    def argv(self) -> tuple[str, ...]:
        """The arguments split on any white space, full-width spaces included."""
        return tuple(self.args.split())


Handler = Callable[[Command, HandlerContext], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One registered command: the words that name it (Chinese first), its handler and its help line."""

    name: str
    words: tuple[str, ...]
    handler: Handler
    summary: str


def strip_mention(text: str) -> str:
    """Return the text without leading @mentions and surrounding white space."""
    return _MENTION.sub("", text.strip()).strip()


def parse_command(
    text: str, words: Mapping[str, str], prefixes: Iterable[str] = DEFAULT_PREFIXES
) -> Command | None:
    """Return the command that the text names (longest prefix, then longest word), or None."""
    body = strip_mention(text)
    folded = body.translate(_FULL_WIDTH).casefold()
    for prefix in sorted(prefixes, key=len, reverse=True):
        if not folded.startswith(prefix):
            continue
        rest, rest_folded = body[len(prefix) :], folded[len(prefix) :]
        for word in sorted(words, key=len, reverse=True):
            if rest_folded.startswith(word) and _ends_word(word, rest_folded[len(word) :]):
                args = rest[len(word) :].strip().lstrip(":：").strip()
                return Command(words[word], rest[: len(word)], args)
    return None


def _ends_word(word: str, after: str) -> bool:
    # `help` must not match `helpful`; a Chinese word may run straight into its argument (`搜索五好园区`).
    return not (after and _ASCII_LETTER.match(word[-1]) and _ASCII_LETTER.match(after[0]))


class CommandRouter:
    """The commands of one module, registered with `@router.command(...)` and included explicitly."""

    def __init__(self) -> None:
        self.specs: list[CommandSpec] = []

    def command(
        self, name: str, *, aliases: Iterable[str] = (), summary: str = ""
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler under `name` (the Chinese word) and its aliases."""

        def register(handler: Handler) -> Handler:
            self.specs.append(CommandSpec(name, (name, *aliases), handler, summary))
            return handler

        return register


async def unknown_command(cmd: Command, ctx: HandlerContext) -> Reply:
    """The default answer to text that names no command: a hint pointing at 帮助."""
    return Reply(messages.unknown_command())


class Dispatcher:
    """Runs the one command a message names; a `UserError` becomes the reply, anything else an apology."""

    def __init__(
        self,
        routers: Iterable[CommandRouter],
        *,
        prefixes: Iterable[str] = DEFAULT_PREFIXES,
        fallback: Handler = unknown_command,
    ) -> None:
        self.prefixes = frozenset(prefixes)
        self.fallback = fallback
        self.specs: dict[str, CommandSpec] = {}
        self.words: dict[str, str] = {}
        for spec in (spec for router in routers for spec in router.specs):
            if spec.name in self.specs:
                raise ValueError(f"command {spec.name!r} is registered twice")
            self.specs[spec.name] = spec
            for word in spec.words:
                key = word.translate(_FULL_WIDTH).casefold()
                if key in self.words:
                    raise ValueError(
                        f"command word {word!r} names both {self.words[key]!r} and {spec.name!r}"
                    )
                self.words[key] = spec.name

    def parse(self, text: str) -> Command | None:
        """Return the command in the text, or None when it names none."""
        return parse_command(text, self.words, self.prefixes)

    async def dispatch(self, ctx: HandlerContext) -> Reply:
        """Answer the context's message."""
        cmd = self.parse(ctx.message.text) or Command("", "", strip_mention(ctx.message.text))
        handler = self.specs[cmd.name].handler if cmd.name else self.fallback
        try:
            return await handler(cmd, ctx)
        except UserError as exc:
            log.info("command refused command=%s cause=%s", cmd.name or "-", exc.cause or exc.message_zh)
            return Reply(exc.message_zh)
        except Exception:  # one failing command must never take down the chat: log it, apologise
            log.exception("command failed command=%s platform=%s", cmd.name or "-", ctx.message.platform)
            return Reply(messages.command_failed())
