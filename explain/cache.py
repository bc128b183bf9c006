"""A thread-safe least-recently-used cache bounded by bytes and by entries, for models and forward passes.

`st.cache_resource` bounds a cache by entry count only; a server hosting BERT Lens for a class needs a
memory budget (a bert-base is 440 MB, MiniLM 90 MB). Every key is loaded once even when many sessions
ask for it at the same moment (the others wait for that load); a failed load caches nothing.

Evicting only drops the cache's reference: a session in the middle of a run keeps its own reference
to the model, so the run finishes normally and the memory is freed when it ends.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class CacheStats:
    """entries and bytes held now; hits, loads and evictions since the cache was made or cleared."""

    entries: int
    bytes: int
    hits: int
    loads: int
    evictions: int


class ByteLRU(Generic[V]):
    """LRU cache of values whose size in bytes `size_of(value)` gives.

    Limits (None = no limit) can change at any time with `set_limits`; the newest value is always kept,
    even when it alone is over the byte budget (the size rule for models is checked before loading).
    """

    def __init__(self, size_of: Callable[[V], int], max_bytes: int | None = None, max_entries: int | None = None):
        self._size_of = size_of
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._loading: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self._bytes = self._hits = self._loads = self._evictions = 0
        self.max_bytes, self.max_entries = max_bytes, max_entries

    def set_limits(self, max_bytes: int | None, max_entries: int | None) -> None:
        with self._lock:
            self.max_bytes, self.max_entries = max_bytes, max_entries
            self._evict(keep=None)

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The cached value of `key`, or load() (once, however many threads ask) and keep it."""
        with self._lock:
            found = self._hit(key)
            if found is not None:
                return found[0]
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                found = self._hit(key)
                if found is not None:
                    return found[0]
            try:
                value = load()
                size = int(self._size_of(value))
                with self._lock:
                    self._items[key] = (value, size)
                    self._bytes += size
                    self._loads += 1
                    self._evict(keep=key)
            finally:
                with self._lock:
                    self._loading.pop(key, None)
        return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._items)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(len(self._items), self._bytes, self._hits, self._loads, self._evictions)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = self._hits = self._loads = self._evictions = 0

    def _hit(self, key: Hashable) -> tuple[V, int] | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
            self._hits += 1
        return item

    def _over(self) -> bool:
        return (self.max_bytes is not None and self._bytes > self.max_bytes) or (
            self.max_entries is not None and len(self._items) > self.max_entries
        )

    def _evict(self, keep: Hashable | None) -> None:
        """Drop least recently used entries until within the limits (never `keep`, the newest)."""
        for key in list(self._items):
            if not self._over():
                return
            if key == keep:
                continue
            _, size = self._items.pop(key)
            self._bytes -= size
            self._evictions += 1
