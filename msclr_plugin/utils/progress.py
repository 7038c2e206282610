"""Progress lines with an ETA for long loops of the tools.

A line (not a bar redrawn with carriage returns) every few steps, so the
output reads the same on a console, in a log file and through a pipe.
"""
import sys
import time
from typing import Optional, TextIO


def format_seconds(seconds: float) -> str:
    """``'42 s'`` under two minutes, else ``'3 min 05 s'``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 120:
        return f'{seconds} s'
    return f'{seconds // 60} min {seconds % 60:02d} s'


class ProgressLine:
    """Print ``'<label>: done/total <unit>, <elapsed>, eta <remaining>'``.

    Args:
        label (str): What is progressing.
        total (int): Number of units of the whole loop.
        unit (str): Name of a unit. Defaults to ``'items'``.
        every (float): Seconds between two lines (the first and the last
            update always print). Defaults to 5.
        stream (TextIO, optional): Defaults to ``sys.stdout``.
    """

    def __init__(self, label: str, total: int, unit: str = 'items',
                 every: float = 5.0, stream: Optional[TextIO] = None) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.every = every
        self.stream = stream or sys.stdout
        self.start = time.monotonic()
        self.last = None
        self.done = 0

    def update(self, count: int = 1) -> None:
        """``count`` more units are done."""
        self.done += count
        now = time.monotonic()
        if self.last is not None and now - self.last < self.every and \
                self.done < self.total:
            return
        self.last = now
        elapsed = now - self.start
        line = (f'{self.label}: {self.done}/{self.total} {self.unit}, '
                f'{format_seconds(elapsed)}')
        if 0 < self.done < self.total:
            line += f', eta {format_seconds(elapsed * (self.total / self.done - 1))}'
        print(line, file=self.stream, flush=True)
