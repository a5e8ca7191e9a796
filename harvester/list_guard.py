"""The cap on lists that never end: pages without new identifiers, empty pages in a row.

A source that sends a fresh resumption token with every page (with the same record, or
none) passes the repeated-token check of :mod:`harvester.oai` and would be followed for
ever. A list is given up (:class:`EndlessList`, the run fails) after
:data:`MAX_STALE_PAGES` pages in a row that bring no identifier the recent pages did not
already bring, or :data:`MAX_EMPTY_PAGES` empty pages in a row. Only the identifiers of
the last :data:`MEMORY_PAGES` pages are remembered, so memory stays flat on lists of
millions; a server cycling through more pages than that is stopped by the page caps of
the paging code instead.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable

from harvester.http import HarvestError

MAX_STALE_PAGES = 10
MAX_EMPTY_PAGES = 20
MEMORY_PAGES = 50


class EndlessList(HarvestError):
    """The source keeps sending pages that bring nothing new."""


class ListGuard:
    """Watches one list's pages (see the module doc)."""

    def __init__(
        self,
        max_stale: int = MAX_STALE_PAGES,
        max_empty: int = MAX_EMPTY_PAGES,
        memory: int = MEMORY_PAGES,
    ) -> None:
        self.max_stale = max_stale
        self.max_empty = max_empty
        self.memory = memory
        self.stale = 0
        self.empty = 0
        self._pages: deque[set[str]] = deque()
        self._seen: Counter[str] = Counter()

    def check(self, ids: Iterable[str], has_next: bool) -> bool:
        """Note one page's identifiers; whether it brought a new one. Raises
        :class:`EndlessList` past a cap."""
        page = set(ids)
        if not page:
            self.empty += 1
            if has_next and self.empty >= self.max_empty:
                raise EndlessList(
                    f"{self.empty} empty pages in a row, each with a resumption token: "
                    "the source's list does not end; stopped"
                )
            return False
        self.empty = 0
        new = any(i not in self._seen for i in page)
        if new:
            self.stale = 0
        else:
            self.stale += 1
            if has_next and self.stale >= self.max_stale:
                raise EndlessList(
                    f"{self.stale} pages in a row brought no new record: the source keeps "
                    "sending the same records with new resumption tokens; stopped"
                )
        self._pages.append(page)
        self._seen.update(page)
        if len(self._pages) > self.memory:
            for i in self._pages.popleft():
                self._seen[i] -= 1
                if self._seen[i] <= 0:
                    del self._seen[i]
        return new
