"""Platform-neutral chat commands: messages in, replies out, the router, and every Chinese text."""
