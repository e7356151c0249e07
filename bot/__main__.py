"""`python -m bot` runs the parkbot command line."""

from bot.cli.main import run

run()
