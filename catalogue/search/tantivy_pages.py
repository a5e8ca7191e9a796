"""One page of the embedded index's hits in the whole order of a sort.

tantivy orders hits by one fast field (or the score) and breaks ties by its own document
order, which differs between segments and merges. The catalogue's sorts end with the
record id, as the cluster backend's do, so that pages neither repeat nor skip a hit:
hits are ordered by integer keys (``sort_keys.INTEGER_SORT_FIELDS``: strings sort ~500x
slower deep into a result), and each run of equal keys at a page's edge is read in the
order of the next key, and at the last by the stored tie field (the id or the whole
title key).
"""

from __future__ import annotations

from typing import Any

import tantivy

from catalogue.search.base import SearchQuery
from catalogue.search.sort_keys import ID_PREFIX_FIELD, INTEGER_SORT_FIELDS, SORT_FIELDS
from catalogue.search.tantivy_query import all_of

# Hits read either side of a page to order equal scores or sort keys at its edges by id.
TIE_SLACK = 100
# Hits into a run of equal sort keys past which a page may be read from the run's far end.
FAR_INTO_RUN = 100


class PageReader:
    """Pages of hits of one searcher (one view of the index) over ``schema``."""

    def __init__(self, searcher: Any, schema: tantivy.Schema) -> None:
        self.searcher = searcher
        self.schema = schema

    def top(self, query: tantivy.Query, request: SearchQuery, offset: int) -> tuple[int, list[Any]]:
        """The total and the stored documents of the requested page, in the sort's order."""
        spec = SORT_FIELDS[request.sort]
        if spec is None and not request.q.strip(" *"):
            # every score is equal: the tie-breaker (the id) alone orders
            return self._top_by_integer(
                query, offset, request.size, (ID_PREFIX_FIELD,), "id", False
            )
        if spec is None:
            return self._top_with_ties(query, offset, request.size)
        fields, tie = INTEGER_SORT_FIELDS[request.sort]  # every sort has its integer keys
        return self._top_by_integer(query, offset, request.size, fields, tie, spec[1])

    def _top_with_ties(self, query: tantivy.Query, offset: int, size: int) -> tuple[int, list[Any]]:
        """By score, then record id (ascending), as the cluster orders equal scores.

        tantivy breaks ties by its own document order: hits whose score ties with a page's
        first or last hit are read around the page (up to ``TIE_SLACK`` either side) and
        the whole tie group is ordered by id, so that pages neither overlap nor skip (a
        longer run of equal scores is read whole, which only a degenerate query has).
        """
        start, slack = max(offset - TIE_SLACK, 0), TIE_SLACK
        while True:
            found = self.searcher.search(
                query, size + offset - start + slack, count=True, offset=start
            )
            keyed = found.hits
            low, high = offset - start, min(offset - start + size, len(keyed))
            if not size or low >= len(keyed):
                return found.count, []
            first = low
            while first > 0 and keyed[first - 1][0] == keyed[low][0]:
                first -= 1
            last = high
            while last < len(keyed) and keyed[last][0] == keyed[high - 1][0]:
                last += 1
            # a run of equal scores reaching past what was read: read wider and look again
            if first == 0 and start > 0:
                start = 0
            elif last == len(keyed) and start + len(keyed) < found.count:
                slack *= 4
            else:
                break
        group = [(score, self.searcher.doc(addr)) for score, addr in keyed[first:last]]
        group.sort(key=lambda pair: (-pair[0], pair[1].get_first("id")))
        return found.count, [doc for _, doc in group[low - first : high - first]]

    def _top_by_integer(
        self,
        query: tantivy.Query,
        offset: int,
        size: int,
        fields: tuple[str, ...],
        tie: str,
        descending: bool,
    ) -> tuple[int, list[Any]]:
        """By integer sort keys (``fields``, each ordering the runs of equal values of the
        one before), then ``tie`` (stored, unique), all in the keys' direction.

        The page as tantivy orders it by the first key tells the keys at its edges; the
        records of an edge key (which may run on before or after the page) are counted and
        read in order with a range query of their own, so a run of equal keys of any length
        pages without overlap or gap (harvests give thousands of records one datestamp).
        """
        field = fields[0]
        order = tantivy.Order.Desc if descending else tantivy.Order.Asc
        # Up to TIE_SLACK hits either side of the page show where its edge keys' runs start
        # and end: such a run is ordered by ``tie`` as read. Only a run going on past what
        # was read needs the range queries (each counts the whole result set).
        start = max(offset - TIE_SLACK, 0)
        found = self.searcher.search(
            query,
            size + offset - start + TIE_SLACK,
            count=True,
            offset=start,
            order_by_field=field,
            order=order,
        )
        hits = found.hits
        low, high = offset - start, min(offset - start + size, len(hits))
        if not size or low >= len(hits):
            return found.count, []
        run = (query, fields, tie, descending)
        docs: list[Any] = []
        first = low
        while first < high:
            key = hits[first][0]
            begin, end = first, first + 1
            while begin > 0 and hits[begin - 1][0] == key:
                begin -= 1
            while end < len(hits) and hits[end][0] == key:
                end += 1
            first = min(end, high)
            if (begin == 0 and start > 0) or (end == len(hits) and start + end < found.count):
                docs += self._run_of_key(*run, key, offset, size)
                continue
            same = [self.searcher.doc(addr) for _, addr in hits[begin:end]]
            same.sort(key=lambda doc: doc.get_first(tie), reverse=descending)
            docs += same[max(low - begin, 0) : high - begin]
        return found.count, docs[:size]

    def _run_of_key(
        self,
        query: tantivy.Query,
        fields: tuple[str, ...],
        tie: str,
        descending: bool,
        key: int,
        offset: int,
        size: int,
    ) -> list[Any]:
        """The records with first sort key ``key`` that fall on the page, in the order of
        the next keys, then of ``tie``."""
        field = fields[0]
        integer = tantivy.FieldType.Integer
        if descending:
            beyond = tantivy.Query.range_query(
                self.schema, field, integer, key, None, include_lower=False
            )
        else:
            beyond = tantivy.Query.range_query(
                self.schema, field, integer, None, key, include_upper=False
            )
        before = self.searcher.search(all_of([query, beyond]), 1, count=True).count
        same = tantivy.Query.range_query(self.schema, field, integer, key, key)
        low = max(offset - before, 0)
        high = offset + size - before
        if high <= low:
            return []
        run = all_of([query, same])
        if len(fields) > 1:
            return self._top_by_integer(run, low, high - low, fields[1:], tie, descending)[1]
        ascending, reverse = tantivy.Order.Asc, tantivy.Order.Desc
        if descending:
            ascending, reverse = reverse, ascending
        # tantivy reads offset + limit hits to order by a string field (~50 us each), so a
        # page past the middle of a long run is read from the run's other end.
        if low > FAR_INTO_RUN:
            length = self.searcher.search(run, 1, count=True).count
            high = min(high, length)
            if high <= low:
                return []
            if length - high < low:
                found = self.searcher.search(
                    run,
                    high - low,
                    count=False,
                    offset=length - high,
                    order_by_field=tie,
                    order=reverse,
                )
                return [self.searcher.doc(addr) for _, addr in reversed(found.hits)]
        found = self.searcher.search(
            run, high - low, count=False, offset=low, order_by_field=tie, order=ascending
        )
        return [self.searcher.doc(addr) for _, addr in found.hits]
