"""The cluster search backend: Elasticsearch or OpenSearch behind one SearchIndex.

Everything but the transport (``cluster_transport.py``) is shared by both engines: the
mapping (``cluster_mapping.py``), the query translation (``cluster_query.py``) and the
index life cycle here.

Index life cycle: a versioned index template ``<alias>-v<N>`` creates the indexes
``<alias>-v<N>-<timestamp>``; readers and the indexer use the alias. ``clear()`` (as
``catalogue reindex`` calls it) creates a fresh index, the documents go there, and
``commit()`` swaps the alias onto it in one atomic ``_aliases`` call, so searches never
see an empty or half-built index. The change-log seq and the writer lease live in the
catalogue database (``catalogue/store/search_state.py``).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from typing import Any

from catalogue.config.search_url import redacted_url
from catalogue.search.base import (
    IndexLocked,
    SchemaMismatch,
    SearchError,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)
from catalogue.search.cluster_mapping import MAPPING_VERSION, cluster_document, index_template
from catalogue.search.cluster_query import parse_response, search_body
from catalogue.search.cluster_transport import (
    BULK_RETRIES,
    RETRY_STATUSES,
    ClusterSettings,
    Transport,
    _NotFound,
    _status,
    make_transport,
)

__all__ = ["ClusterIndex", "ClusterSettings", "Transport", "redacted_url"]

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0


class ClusterIndex:
    """A :class:`~catalogue.search.base.SearchIndex` over an Elasticsearch/OpenSearch alias.

    ``writer=True`` takes the alias's lease in the catalogue database (``IndexLocked`` if a
    live indexer holds it) and creates the template, a first index and the alias if there
    are none. ``state`` is a :class:`catalogue.store.search_state.SearchState`; readers may
    pass None (``checkpoint()`` then needs one).
    """

    def __init__(
        self,
        cfg: ClusterSettings,
        *,
        writer: bool,
        state: Any = None,
        transport: Transport | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.cfg = cfg
        self.alias = cfg.alias
        self.is_writer = writer
        self.transport = transport or make_transport(cfg)
        self._state = state
        self._lease = lease_seconds
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held = False
        self._renewed = 0.0
        self._checkpoint = 0
        self._target: str | None = None  # a new index being built by clear()
        self._dirty: set[str] = set()
        self.failures: list[dict[str, Any]] = []
        self._version_checked = False
        self._stale: bool | None = None  # a writer's: the alias on another mapping version
        if writer:
            if state is None:
                raise SearchError("a cluster index writer needs the catalogue database")
            self._take_lease()
            try:
                self._ensure_alias()
            except Exception:
                self.close()
                raise

    # -- lease and checkpoint -------------------------------------------------

    def _take_lease(self) -> None:
        seq = self._state.acquire(self.alias, self._holder, self._lease)
        if seq is None:
            raise IndexLocked(f"another indexer holds the search index {self.alias!r}")
        self._held = True
        self._checkpoint = seq
        self._renewed = time.monotonic()

    def _keep_lease(self) -> None:
        if time.monotonic() - self._renewed > self._lease / 3:
            self._take_lease()

    def checkpoint(self) -> int:
        if self.is_writer:
            self._keep_lease()
            return self._checkpoint
        if self._state is None:
            raise SearchError("checkpoint() of a cluster index needs the catalogue database")
        return self._state.applied(self.alias)

    # -- index life cycle -----------------------------------------------------

    def _template_name(self) -> str:
        return f"{self.alias}-v{MAPPING_VERSION}"

    def _new_index_name(self) -> str:
        return f"{self._template_name()}-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"

    def _ensure_alias(self) -> None:
        client = self.transport.client
        self.transport.call(
            client.indices.put_index_template,
            name=self._template_name(),
            body=index_template(self.alias, shards=self.cfg.shards, replicas=self.cfg.replicas),
        )
        current = self._aliased_indexes()
        if not current:
            name = self._new_index_name()
            self.transport.call(client.indices.create, index=name)
            self.transport.call(
                client.indices.update_aliases,
                body={"actions": [{"add": {"index": name, "alias": self.alias}}]},
            )

    def _aliased_indexes(self) -> list[str]:
        try:
            found = self.transport.call(self.transport.client.indices.get_alias, name=self.alias)
        except _NotFound:
            return []
        return sorted(_body(found))

    def _check_version(self) -> None:
        prefix = f"{self._template_name()}-"
        for name in self._aliased_indexes():
            if not name.startswith(prefix):
                raise SchemaMismatch(
                    f"the search index {name} behind alias {self.alias!r} was built with "
                    f"another mapping (not v{MAPPING_VERSION}); the indexer rebuilds it when "
                    "it next runs (or rebuild it with `catalogue reindex`)"
                )

    # -- writing --------------------------------------------------------------

    def _write_target(self) -> str:
        if not self.is_writer:
            raise SearchError("this index was opened read-only")
        if not self._held:
            raise SearchError("the index is closed")
        self._keep_lease()
        return self._target or self.alias

    def upsert(self, docs: Sequence[dict[str, Any]]) -> None:
        target = self._write_target()
        actions = [
            {
                "_op_type": "index",
                "_index": target,
                "_id": doc["id"],
                "_source": cluster_document(doc),
                **self._through_alias(target),
            }
            for doc in docs
        ]
        self._bulk(actions)

    def delete(self, ids: Sequence[str]) -> None:
        target = self._write_target()
        through = self._through_alias(target)
        self._bulk([{"_op_type": "delete", "_index": target, "_id": rid, **through} for rid in ids])

    def _through_alias(self, target: str) -> dict[str, Any]:
        """Writes to the alias require it: a cluster that lost its indexes would otherwise
        create a plain index under the alias's name, with a guessed mapping, which every
        search then fails on and which blocks the alias from coming back."""
        return {"require_alias": True} if target == self.alias else {}

    def _bulk(self, actions: list[dict[str, Any]]) -> None:
        """Send actions; transient item failures are retried, refused documents reported.

        A document the engine keeps refusing for a reason of its own (a mapping error) is
        logged and listed in ``failures`` and the rest go on; if the engine is unavailable
        the error propagates and the checkpoint stays where it was, so nothing is lost.
        """
        pending = actions
        for attempt in range(BULK_RETRIES + 1):
            retry: list[dict[str, Any]] = []
            by_id = {(a["_op_type"], a["_id"]): a for a in pending}
            for ok, item in self.transport.bulk(pending):
                if ok:
                    continue
                op, result = next(iter(item.items()))
                status = _status(result.get("status"))
                if op == "delete" and status == 404:
                    continue  # not indexed: nothing to delete
                action = by_id.get((op, result.get("_id")))
                if status in RETRY_STATUSES or status == 0:
                    if action is not None:
                        retry.append(action)
                    continue
                failure = {"id": result.get("_id"), "op": op, "status": status}
                failure["reason"] = str((result.get("error") or {}).get("reason", ""))[:300]
                self.failures.append(failure)
                log.error(
                    "search index refused %s of record %s (%s): %s",
                    op,
                    failure["id"],
                    status,
                    failure["reason"],
                )
            if not retry:
                return
            pending = retry
            time.sleep(min(0.5 * 2**attempt, 5.0))
        raise SearchUnavailable(
            f"search engine unavailable: it did not accept {len(pending)} documents after "
            f"{BULK_RETRIES} retries"
        )

    def commit(self, checkpoint: int) -> None:
        target = self._write_target()
        client = self.transport.client
        self.transport.call(client.indices.refresh, index=target)
        if self._target is not None:
            old = self._aliased_indexes()
            actions: list[dict[str, Any]] = [
                {"remove": {"index": n, "alias": self.alias}} for n in old
            ]
            actions.append({"add": {"index": self._target, "alias": self.alias}})
            # one request: the alias moves atomically, searches never see a gap
            self.transport.call(client.indices.update_aliases, body={"actions": actions})
            for name in old:
                self.transport.call(client.indices.delete, index=name, ignore_unavailable=True)
            log.info("search alias %s now points at %s", self.alias, self._target)
            self._target = None
            self._stale = False
        if not self._state.advance(self.alias, self._holder, checkpoint, self._lease):
            self._held = False
            raise IndexLocked(f"lost the lease of search index {self.alias!r} to another indexer")
        self._renewed = time.monotonic()
        self._checkpoint = checkpoint

    def needs_rebuild(self) -> bool:
        """Whether the alias points at an index of another mapping version (asked of the
        cluster once per writer) or at none (asked at every catch-up); searches keep the
        old index until a rebuild moves the alias. A rebuild that failed half-way (its new
        index not yet under the alias) starts over."""
        if not self.is_writer:
            return False
        if self._target is not None:
            return True
        if not self._stale and not self._aliased_indexes():
            # the alias is gone (a cluster restored empty, an index deleted by hand): the
            # store still holds every record, so the index is built again from it
            log.warning("search alias %s points at no index; rebuilding it", self.alias)
            self._stale = True
        if self._stale is None:
            try:
                self._check_version()
            except SchemaMismatch:
                self._stale = True
            else:
                self._stale = False
        return self._stale

    def clear(self) -> None:
        """Start a new index; the alias moves onto it at the next commit."""
        self._write_target()
        if self._target is not None:
            self._drop(self._target)
        name = self._new_index_name()
        self.transport.call(self.transport.client.indices.create, index=name)
        self._target = name
        self._checkpoint = 0

    def _drop(self, name: str) -> None:
        self.transport.call(
            self.transport.client.indices.delete, index=name, ignore_unavailable=True
        )

    # -- reading --------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        body = search_body(query)
        try:
            response = self.transport.call(
                self.transport.client.search, index=self.alias, body=body
            )
        except _NotFound:
            return SearchResult(0, [], {})
        if not self._version_checked:
            self._check_version()
            self._version_checked = True
        return parse_response(query, _body(response))

    def count(self) -> int:
        try:
            found = self.transport.call(self.transport.client.count, index=self.alias)
        except _NotFound:
            return 0
        return int(_body(found)["count"])

    def reload(self) -> None:
        """Nothing to do: a commit refreshes the index, which every client then sees."""

    def close(self) -> None:
        if self._target is not None:
            try:
                self._drop(self._target)  # an unfinished rebuild; the alias never moved
            except SearchError:
                log.warning("could not drop unfinished search index %s", self._target)
            self._target = None
        if self._held and self._state is not None:
            self._state.release(self.alias, self._holder)
        self._held = False


def _body(response: Any) -> Any:
    """The JSON body of a response of either client (elasticsearch 8+ wraps it)."""
    return getattr(response, "body", response)
