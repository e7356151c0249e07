"""A one-line progress bar for terminals; silent when the output is not a terminal."""

from __future__ import annotations

from typing import TextIO


class ProgressBar:
    """Counts finished steps and redraws `[#####     ] 12/130 label` in place."""

    def __init__(self, total: int, stream: TextIO, width: int = 30) -> None:
        self.total, self.stream, self.width = total, stream, width
        self.done = 0
        self.enabled = stream.isatty() and total > 0

    def advance(self, label: str = "") -> None:
        """Mark one more step done and redraw."""
        self.done += 1
        if self.enabled:
            filled = self.width * self.done // self.total
            bar = "#" * filled + " " * (self.width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label[:40]:<40}")
            self.stream.flush()

    def close(self) -> None:
        """Erase the bar so the table that follows starts on a clean line (once)."""
        if self.enabled:
            self.stream.write("\r" + " " * (self.width + 60) + "\r")
            self.stream.flush()
            self.enabled = False
