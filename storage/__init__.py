"""SQLite storage through aiosqlite: the only package with SQL."""
