"""What the web layer needs from the rest of the catalogue, opened once per app."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from catalogue.config import Settings
from catalogue.search.base import SearchIndex
from catalogue.store import Store

# A reader reopens its view of the index at most this often, so a burst of requests
# does not each pay for a reload while a record still becomes searchable within ~1 s.
RELOAD_INTERVAL = 0.5


@dataclass
class Services:
    settings: Settings
    store: Store
    index: SearchIndex
    _reloaded_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fresh_index(self) -> SearchIndex:
        now = time.monotonic()
        if now - self._reloaded_at >= RELOAD_INTERVAL:
            with self._lock:
                if now - self._reloaded_at >= RELOAD_INTERVAL:
                    self.index.reload()
                    self._reloaded_at = now
        return self.index


def services() -> Services:
    return current_app.extensions["catalogue"]
