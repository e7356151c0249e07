"""build_app(config): one aiohttp application owning the database, HTTP client, scheduler and delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import Executor
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config.load import ConfigError, load_config
from bot.config.types import Config
from bot.database import open_database
from bot.delivery.worker import build_deliverer
from bot.logs import mask_more
from bot.metrics import Metrics
from bot.pipeline import Poller, build_fetcher, parse_pool
from bot.scheduler import build_scheduler, schedule_digests, wake_for_next_poll
from bot.service import Service
from bot.web.routes import SERVICE, add_routes
from storage.db import Database

log = logging.getLogger(__name__)

STOP_GRACE = 5.0  # seconds for running jobs and sends to finish on SIGTERM; the rest stays pending
MAX_REQUEST = 1024 * 1024  # the contract refuses bodies over 1 MB


def client_session() -> aiohttp.ClientSession:
    """Return the shared client session; every request sets its own timeout."""
    connector = aiohttp.TCPConnector(limit=100, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, raise_for_status=False)


def build_app(
    config: Config,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    executor_factory: Callable[[], Executor | None] = parse_pool,
    start_scheduler: bool = True,
    stop_grace: float = STOP_GRACE,
) -> web.Application:
    """Return the service as an aiohttp application; everything starts and stops in its lifecycle."""
    app = web.Application(client_max_size=MAX_REQUEST)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async for _ in _service_context(app, config, clock, executor_factory, start_scheduler, stop_grace):
            yield

    app.cleanup_ctx.append(lifecycle)
    add_routes(app)
    return app


async def _service_context(
    app: web.Application,
    config: Config,
    clock: Callable[[], datetime],
    executor_factory: Callable[[], Executor | None],
    start_scheduler: bool,
    stop_grace: float,
) -> AsyncIterator[None]:
    db = await open_database(config, clock())
    session = client_session()
    executor = executor_factory()
    service = app[SERVICE] = build_service(config, db, session, clock=clock, executor=executor)
    stop = asyncio.Event()
    scheduler = build_scheduler(service) if start_scheduler else None
    worker: asyncio.Task | None = None
    reloads: set[asyncio.Task] = set()
    try:
        await service.start()
        if scheduler is not None:
            scheduler.start()
        worker = asyncio.create_task(service.deliverer.run(stop), name="delivery")
        _on_sighup(lambda: _spawn(reloads, reload_config(service, scheduler, session)))
        write_pid_file(config)
        log.info("started sources=%d subscribers=%d", len(config.sources), len(config.subscribers))
        yield
    finally:
        _on_sighup(None)
        remove_pid_file(config)
        await asyncio.gather(*reloads, return_exceptions=True)
        await _stop(scheduler, service, stop, worker, stop_grace)
        service.deliverer.release()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        await session.close()
        await db.close()
        log.info("stopped")


async def reload_config(
    service: Service, scheduler: AsyncIOScheduler | None, session: aiohttp.ClientSession
) -> bool:
    """SIGHUP: read config.toml again and apply it; a file with problems keeps the running configuration
    and is reported in one line. Return whether the new configuration was applied."""
    try:
        config = load_config(service.config.path, os.environ)
    except ConfigError as exc:
        log.error("reload refused, the running configuration stays: %s", "; ".join(exc.lines))
        return False
    if config.bot.database != service.config.bot.database:
        log.error("reload refused, the running configuration stays: [bot].database changes need a restart")
        return False
    if config.server != service.config.server:
        log.warning("reload: [server] changes take effect at the next restart")
    summary = await service.apply_config(config, build_fetcher(session, config.polling))
    mask_more(config.secrets())
    if scheduler is not None:
        schedule_digests(scheduler, service)
        await wake_for_next_poll(service, scheduler)
    log.info("reloaded %s", summary)
    return True


def pid_file(config: Config) -> Path:
    """Where `parkbot run` writes its process id, for `parkbot reload` (beside the database)."""
    return config.bot.database.with_suffix(".pid")


def write_pid_file(config: Config) -> None:
    """Record this process as the running service."""
    pid_file(config).write_text(f"{os.getpid()}\n", encoding="ascii")


def remove_pid_file(config: Config) -> None:
    """Forget the pid file, if it is still ours."""
    path = pid_file(config)
    with contextlib.suppress(OSError):  # already gone, or never written
        if path.read_text(encoding="ascii").strip() == str(os.getpid()):
            path.unlink()


def _on_sighup(handler: Callable[[], object] | None) -> None:
    sighup = getattr(signal, "SIGHUP", None)
    if sighup is None:
        return  # Windows: parkbot reload is not available there
    loop = asyncio.get_running_loop()
    try:
        if handler is None:
            loop.remove_signal_handler(sighup)
        else:
            loop.add_signal_handler(sighup, handler)
    except (RuntimeError, ValueError):  # not the main thread (the app under a test client): no signals
        pass


def _spawn(tasks: set[asyncio.Task], job: Coroutine[object, object, bool]) -> None:
    task = asyncio.create_task(job, name="reload")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def build_service(
    config: Config,
    db: Database,
    session: aiohttp.ClientSession,
    *,
    clock: Callable[[], datetime],
    executor: Executor | None,
) -> Service:
    """Assemble poller, deliverer and metrics into the service."""
    poller = Poller(db, build_fetcher(session, config.polling), config.polling, config.bot.timezone,
                    parse_executor=executor, clock=clock)  # fmt: skip
    metrics = Metrics()
    deliverer = build_deliverer(db, session, config, clock, metrics)
    return Service(config, db, poller, deliverer, metrics, clock=clock)


async def _stop(
    scheduler: AsyncIOScheduler | None,
    service: Service,
    stop: asyncio.Event,
    worker: asyncio.Task | None,
    grace: float,
) -> None:
    """Stop taking new work, give running jobs and sends a few seconds, then cancel what is left."""
    if scheduler is not None:
        scheduler.pause()
    stop.set()
    pending = [t for t in (*service.running, worker) if t is not None and not t.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:  # a message cancelled mid-send stays 'sending' and is resent on start
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    if scheduler is not None:
        scheduler.shutdown(wait=False)
