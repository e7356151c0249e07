"""Service wiring: configuration, CLI, scheduler, HTTP server, delivery and chat platforms."""
