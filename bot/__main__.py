"""`python -m bot` runs the parkbot command line."""

from bot.cli import run

run()
