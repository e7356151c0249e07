"""Imported only by the parse pool's fork server (set_forkserver_preload), which it ties to its parent.

Never import it anywhere else: the importing process would be killed when its own parent exits.
"""

from __future__ import annotations

from bot.parse_workers import guard_fork_server

guard_fork_server()
