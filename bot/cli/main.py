"""The `parkbot` command line: argument parsing, exit codes and one-line errors."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from aiohttp import web

from bot.app import STOP_GRACE, build_app
from bot.cli.backup import run_backup
from bot.cli.check import run_check
from bot.cli.digest import run_digest
from bot.cli.items import run_items
from bot.cli.outbox import run_outbox
from bot.cli.poll import run_poll
from bot.cli.reload import run_reload
from bot.config.load import ConfigError, find_config_path, load_config
from bot.config.types import Config
from bot.errors import UsageError
from bot.logs import setup_logging
from storage.errors import StorageError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of parkbot."""

    def error(self, message: str) -> NoReturn:
        """Print the problem in one line and exit with the usage code."""
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every command; -c works before or after the command word."""
    config_flag = _Parser(add_help=False)
    config_flag.add_argument(
        "-c",
        "--config",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="config file (default: $PARKBOT_CONFIG or ./config.toml)",
    )
    parser = _Parser(
        prog="parkbot",
        parents=[config_flag],
        description="园区快讯机器人: park news to WeCom, DingTalk and Feishu",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", parents=[config_flag], help="the service: scheduler, HTTP server, delivery")
    sub.add_parser("check", parents=[config_flag], help="validate the configuration and the database")
    items = sub.add_parser("items", parents=[config_flag], help="list stored items, newest first")
    items.add_argument("--source", metavar="ID", help="only items of this source")
    items.add_argument("--search", metavar="TEXT", help="only items whose title or summary contains TEXT")
    items.add_argument(
        "--limit", type=int, default=20, metavar="N", help="at most N items, 1 to 1000 (default 20)"
    )
    items.add_argument("--json", action="store_true", help="print JSON")
    poll = sub.add_parser("poll", parents=[config_flag], help="poll sources now, once")
    poll.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    poll.add_argument("--json", action="store_true", help="print JSON")
    digest = sub.add_parser("digest", parents=[config_flag], help="build today's digests now")
    digest.add_argument(
        "--subscriber", action="append", metavar="ID", help="only this subscriber (repeatable)"
    )
    digest.add_argument("--preview", action="store_true", help="print the digests, send nothing")
    digest.add_argument("--json", action="store_true", help="print JSON")
    outbox = sub.add_parser("outbox", parents=[config_flag], help="messages waiting, dead, per subscriber")
    outbox.add_argument("--retry-dead", action="store_true", help="requeue dead messages (after a fix)")
    outbox.add_argument("--subscriber", metavar="ID", help="only this subscriber")
    outbox.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser("reload", parents=[config_flag], help="have the running service read config.toml again")
    backup = sub.add_parser("backup", parents=[config_flag], help="write a consistent copy of the database")
    backup.add_argument("path", type=Path, metavar="PATH")
    return parser


async def dispatch(args: argparse.Namespace, config: Config) -> tuple[str, int]:
    """Run the chosen command; return what it prints and its exit code."""
    now = datetime.now(UTC)
    match args.command:
        case "check":
            return await run_check(config, now), EXIT_OK
        case "items":
            listing = await run_items(
                config, now, source=args.source, search=args.search, limit=args.limit, as_json=args.json
            )
            return listing, EXIT_OK
        case "backup":
            return await run_backup(config, args.path), EXIT_OK
        case "digest":
            shown = await run_digest(config, wanted=args.subscriber, preview=args.preview, as_json=args.json)
            return shown, EXIT_OK
        case "outbox":
            shown = await run_outbox(
                config, now, retry=args.retry_dead, subscriber=args.subscriber, as_json=args.json
            )
            return shown, EXIT_OK
        case "reload":
            return run_reload(config), EXIT_OK
        case "poll":
            return await run_poll(config, wanted=args.source, as_json=args.json)
    raise UsageError(f"unknown command {args.command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or an argument error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command == "run":
        return run_service(args)
    # Everything imported so far lives as long as the process: keep the cyclic GC from rescanning it,
    # which otherwise stalls the event loop for tens of milliseconds once many items are in memory.
    gc.freeze()
    try:
        config = load_config(find_config_path(getattr(args, "config", None), os.environ))
    except ConfigError as exc:
        return _fail(exc.lines, EXIT_USAGE)
    try:
        output, code = asyncio.run(dispatch(args, config))
    except UsageError as exc:
        return _fail([f"parkbot {args.command}: {exc}"], EXIT_USAGE)
    except (StorageError, sqlite3.Error) as exc:
        return _fail([f"parkbot {args.command}: {database_failure(exc, config.bot.database)}"], EXIT_FAILURE)
    except KeyboardInterrupt:
        return 130
    try:
        print(output, flush=True)
    except BrokenPipeError:  # `parkbot check | head -3`: the reader has all it wanted
        return _reader_gone()
    return code


def run_service(args: argparse.Namespace) -> int:
    """`parkbot run`: serve until SIGINT or SIGTERM; the app's lifecycle starts and stops everything."""
    try:
        config = load_config(find_config_path(getattr(args, "config", None), os.environ))
    except ConfigError as exc:
        return _fail(exc.lines, EXIT_USAGE)
    setup_logging(config.secrets())
    gc.freeze()
    try:
        where = f"http://{config.server.host}:{config.server.port}"
        # aiohttp "prints" once the sockets listen: say so in the log instead of on standard output
        listening = lambda _text: logging.getLogger("bot.app").info("listening url=%s", where)  # noqa: E731
        web.run_app(build_app(config), host=config.server.host, port=config.server.port,
                    shutdown_timeout=STOP_GRACE, print=listening, access_log=None)  # fmt: skip
    except (StorageError, sqlite3.Error) as exc:
        return _fail([f"parkbot run: {database_failure(exc, config.bot.database)}"], EXIT_FAILURE)
    except OSError as exc:  # the port is taken, or the address is not ours
        where = f"{config.server.host}:{config.server.port}"
        return _fail([f"parkbot run: cannot listen on {where}: {exc.strerror or exc}"], EXIT_FAILURE)
    return EXIT_OK


def database_failure(exc: StorageError | sqlite3.Error, database: Path) -> str:
    """Describe a failed database call in one line that names the file."""
    cause = exc if isinstance(exc, sqlite3.Error) else exc.__cause__
    # SQLITE_BUSY after the busy timeout: another process held the write lock all that time.
    if isinstance(cause, sqlite3.Error) and cause.sqlite_errorcode & 0xFF in _BUSY:
        return f"database {database} is busy (another process is writing); try again"
    if isinstance(exc, StorageError):  # its text already names the file
        return str(exc)
    return f"database {database}: {exc}"


def _reader_gone() -> int:
    # As Python's docs advise (signal module, "Note on SIGPIPE"): the flush at exit would fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_FAILURE


def _fail(lines: Sequence[str], code: int) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return code


def run() -> None:
    """Console-script wrapper that exits with main()'s code."""
    sys.exit(main())
