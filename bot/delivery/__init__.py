"""Delivery: the outbox worker, per-robot rate limits, daily digests, instant pushes and item filters."""
