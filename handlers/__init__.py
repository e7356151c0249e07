"""Chat command handlers, platform-neutral."""
