"""build_app(config): one aiohttp application owning the database, HTTP client, scheduler and delivery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config.types import Config
from bot.database import open_database
from bot.delivery.worker import build_deliverer
from bot.metrics import Metrics
from bot.pipeline import Poller, build_fetcher, parse_pool
from bot.scheduler import build_scheduler
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
    try:
        await service.start()
        if scheduler is not None:
            scheduler.start()
        worker = asyncio.create_task(service.deliverer.run(stop), name="delivery")
        log.info("started sources=%d subscribers=%d", len(config.sources), len(config.subscribers))
        yield
    finally:
        await _stop(scheduler, service, stop, worker, stop_grace)
        service.deliverer.release()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        await session.close()
        await db.close()
        log.info("stopped")


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
