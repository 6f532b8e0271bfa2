"""A small typed registry with "did you mean" errors.

Estimators, matchers, balance statistics, outcome definitions and checks register here by
name, so that configs can refer to them and users can add their own.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from impacteval.exceptions import ConfigError

T = TypeVar("T")


def suggest(name: str, choices: list[str]) -> str | None:
    """Return the closest of ``choices`` to ``name``, or None if nothing is close."""
    matches = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def _same_definition(old: object, new: object) -> bool:
    """True when ``new`` re-defines ``old`` (same module and qualified name), as when a
    notebook cell that registers an estimator is run again."""
    return (getattr(old, "__module__", None), getattr(old, "__qualname__", None)) == (
        getattr(new, "__module__", None), getattr(new, "__qualname__", None)) and hasattr(
        new, "__qualname__")


class Registry(Generic[T]):
    """Name -> component mapping for one kind of component (e.g. ``"estimator"``)."""

    def __init__(self, kind: str, *, loader: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._loader = loader

    def _load(self) -> None:
        """Import the built-in components once, on first lookup (keeps imports lazy)."""
        if self._loader is not None:
            loader, self._loader = self._loader, None
            loader()

    def register(self, name: str, item: T, *, overwrite: bool = False) -> T:
        if not overwrite and name in self._items and not _same_definition(self._items[name], item):
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def decorator(self, name: str) -> Callable[[T], T]:
        def wrap(item: T) -> T:
            return self.register(name, item)

        return wrap

    def get(self, name: str, *, where: str | None = None) -> T:
        self._load()
        try:
            return self._items[name]
        except KeyError:
            close = suggest(name, sorted(self._items))
            hint = f"did you mean {close!r}?" if close else None
            raise ConfigError(
                f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._items))}",
                where=where,
                hint=hint,
            ) from None

    def names(self) -> list[str]:
        self._load()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(sorted(self._items))

    def __len__(self) -> int:
        self._load()
        return len(self._items)
