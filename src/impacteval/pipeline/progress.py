"""Stage progress on stderr (rich), quiet when asked or when not attached to a terminal."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console


class StageProgress:
    """Prints one line per stage with its elapsed time; records timings for the manifest."""

    def __init__(self, total: int, *, enabled: bool = True) -> None:
        self.total = total
        self.enabled = enabled
        self.console = Console(stderr=True, highlight=False)
        self.timings: dict[str, float] = {}
        self._n = 0

    @contextmanager
    def stage(self, name: str, description: str) -> Iterator[None]:
        self._n += 1
        start = time.perf_counter()
        label = f"[{self._n}/{self.total}] {description}"
        if self.enabled:
            with self.console.status(label + " ...", spinner="dots"):
                yield
        else:
            yield
        elapsed = time.perf_counter() - start
        self.timings[name] = elapsed
        if self.enabled:
            self.console.print(f"{label} [green]done[/green] ({elapsed:.1f} s)")
