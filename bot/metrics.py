"""Prometheus metrics for /metrics, on a registry of their own so several apps can share a process."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Feishu wants an event answered within 3 s and WeCom drops a callback after 5 s, so 5 s is the top.
COMMAND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's counters, gauges and histograms, and their text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._polls = Counter(
            "parkbot_polls", "Polls of a source, by outcome.", ["source", "status"], registry=registry
        )
        self._new_items = Counter("parkbot_new_items", "New items stored.", ["source"], registry=registry)
        self._deliveries = Counter(
            "parkbot_deliveries",
            "Push attempts, by result (sent, retry, dead).",
            ["platform", "result"],
            registry=registry,
        )
        self._outbox_pending = Gauge("parkbot_outbox_pending", "Messages waiting to send.", registry=registry)
        self._outbox_dead = Gauge("parkbot_outbox_dead", "Messages given up on.", registry=registry)
        self._digests = Counter("parkbot_digests", "Digests built.", ["subscriber"], registry=registry)
        self._digest_items = Counter("parkbot_digest_items", "Items put in digests.", registry=registry)
        self._command_latency = Histogram(
            "parkbot_command_latency_seconds",
            "Time to answer a chat command.",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=registry,
        )
        self._source_failing = Gauge(
            "parkbot_source_failing", "1 while a source is failing, else 0.", ["source"], registry=registry
        )

    def poll(self, source: str, status: str) -> None:
        """Count one poll of a source with its status (ok, not_modified, unchanged, error)."""
        self._polls.labels(source=source, status=status).inc()

    def new_items(self, source: str, count: int) -> None:
        """Count the new items one poll stored."""
        self._new_items.labels(source=source).inc(count)

    def delivery(self, platform: str, result: str) -> None:
        """Count one push attempt: sent, retry or dead."""
        self._deliveries.labels(platform=platform, result=result).inc()

    def outbox(self, pending: int, dead: int) -> None:
        """Set the outbox backlog."""
        self._outbox_pending.set(pending)
        self._outbox_dead.set(dead)

    def digest(self, subscriber: str, items: int) -> None:
        """Count one digest and the items in it."""
        self._digests.labels(subscriber=subscriber).inc()
        self._digest_items.inc(items)

    def command(self, name: str, seconds: float) -> None:
        """Observe how long a chat command took to answer."""
        self._command_latency.labels(command=name).observe(seconds)

    def source_failing(self, source: str, failing: bool) -> None:
        """Mark a source as failing (1) or healthy (0)."""
        self._source_failing.labels(source=source).set(1 if failing else 0)

    def render(self) -> tuple[bytes, str]:
        """Return the Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
