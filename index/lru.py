"""A bounded map, least recently used out first, safe to share between the threads that answer
requests at once (a Retriever's caches: query vectors, front matter, headings)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable


class LRU:
    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """The value, or None; a hit becomes the most recently used."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> Any:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        """The cached value, else ``make()`` cached. ``make`` runs outside the lock: two threads may
        both make it, and both get an equal value."""
        got = self.get(key)
        return got if got is not None else self.put(key, make())
