"""The cluster search backend: Elasticsearch or OpenSearch behind one SearchIndex.

``elasticsearch+https://host:9200`` uses the official ``elasticsearch`` client,
``opensearch+http://host:9200`` uses ``opensearch-py``; everything else (the mapping in
``cluster_mapping.py``, the query translation in ``cluster_query.py``, the index life
cycle here) is shared, and only the :class:`Transport` differs.

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from catalogue.search.base import (
    IndexLocked,
    QuerySyntaxError,
    SchemaMismatch,
    SearchError,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
)
from catalogue.search.cluster_mapping import MAPPING_VERSION, cluster_document, index_template
from catalogue.search.cluster_query import parse_response, search_body

log = logging.getLogger(__name__)

SCHEMES = ("elasticsearch", "opensearch")
LEASE_SECONDS = 60.0
# A bulk item failing with these statuses is retried (the engine is busy or recovering);
# any other failure (a document the mapping refuses) is reported and skipped.
RETRY_STATUSES = {429, 502, 503, 504}
BULK_RETRIES = 3
BULK_CHUNK = 500


@dataclass(frozen=True)
class ClusterSettings:
    """Where the cluster is and how to authenticate (never logged; see ``redacted_url``)."""

    scheme: str  # "elasticsearch" | "opensearch"
    url: str  # http(s)://host:port[/path], without credentials
    alias: str = "catalogue"
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    timeout: float = 10.0
    shards: int = 1
    replicas: int = 0
    client_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], **client_options: Any) -> ClusterSettings:
        """From ``search_url`` (``<engine>+http(s)://[user:password@]host:port``) and the
        ``[search]`` section; credentials in the URL are taken out of it."""
        raw = settings["search_url"]
        scheme, _, rest = raw.partition("+")
        if scheme not in SCHEMES or not rest:
            raise SearchError(
                "CATALOGUE_SEARCH_URL must start with elasticsearch+http(s):// or "
                f"opensearch+http(s)://, not {redacted_url(raw)!r}"
            )
        parts = urlsplit(rest)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SearchError(f"not an http(s) search URL: {redacted_url(raw)!r}")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        search = settings.get("search", {})
        return cls(
            scheme=scheme,
            url=f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}",
            alias=(search.get("index_alias") or "catalogue").lower(),
            username=unquote(parts.username) if parts.username else search.get("username") or None,
            password=unquote(parts.password) if parts.password else search.get("password") or None,
            api_key=search.get("api_key") or None,
            ca_certs=search.get("ca_certs") or None,
            verify_certs=bool(search.get("verify_certs", True)),
            timeout=float(search.get("timeout", 10.0)),
            shards=int(search.get("shards", 1)),
            replicas=int(search.get("replicas", 0)),
            client_options=client_options,
        )

    def __repr__(self) -> str:  # dataclass's repr would show the secrets
        return f"ClusterSettings({self.scheme}+{self.url}, alias={self.alias!r})"


def redacted_url(url: str) -> str:
    """``url`` without its user info, fit for logs and error messages."""
    scheme, plus, rest = url.rpartition("+") if "+" in url.split("://")[0] else ("", "", url)
    parts = urlsplit(rest)
    if parts.username or parts.password:
        host = parts.hostname or ""
        rest = parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")).geturl()
    return f"{scheme}{plus}{rest}"


class Transport:
    """The calls the backend makes, over one client library; errors become SearchErrors."""

    name = "cluster"

    def __init__(self, client: Any, bulk_helper: Callable[..., Iterator[Any]]) -> None:
        self.client = client
        self._streaming_bulk = bulk_helper

    # Each call goes through `call` so that connection failures and overload become
    # SearchUnavailable (the API's 503) whichever library raised them.
    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise self.translate_error(exc) from exc

    def status_of(self, exc: Exception) -> int | None:
        raise NotImplementedError

    def translate_error(self, exc: Exception) -> Exception:
        status = self.status_of(exc)
        if status is None or status in RETRY_STATUSES or status >= 500:
            return SearchUnavailable(f"search engine unavailable: {type(exc).__name__}")
        if status == 400:
            return QuerySyntaxError(f"the search engine refused the query: {_reason(exc)}")
        if status == 404:
            return _NotFound(_reason(exc))
        return SearchError(f"search engine error {status}: {_reason(exc)}")

    def bulk(self, actions: Iterable[dict[str, Any]]) -> Iterator[tuple[bool, dict[str, Any]]]:
        try:
            yield from self._streaming_bulk(
                self.client,
                actions,
                chunk_size=BULK_CHUNK,
                raise_on_error=False,
                raise_on_exception=False,
                max_retries=BULK_RETRIES,
                initial_backoff=0.5,
            )
        except Exception as exc:
            raise self.translate_error(exc) from exc


class _NotFound(SearchError):
    pass


def _status(value: Any) -> int:
    """A bulk item's HTTP status; 0 for a transport failure ("TIMEOUT", "N/A"): retried."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _reason(exc: Exception) -> str:
    info = getattr(exc, "info", None) or getattr(exc, "body", None)
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            return str(error.get("reason") or error.get("type"))[:300]
    return type(exc).__name__


class ElasticsearchTransport(Transport):
    name = "elasticsearch"

    def __init__(self, cfg: ClusterSettings) -> None:
        try:
            from elasticsearch import Elasticsearch, helpers
        except ImportError as exc:  # an optional dependency
            raise SearchError("pip install 'catalogue[elasticsearch]' for this backend") from exc
        options: dict[str, Any] = {
            "request_timeout": cfg.timeout,
            "max_retries": 2,
            "retry_on_timeout": True,
            "verify_certs": cfg.verify_certs,
        }
        if cfg.api_key:
            options["api_key"] = cfg.api_key
        elif cfg.username:
            options["basic_auth"] = (cfg.username, cfg.password or "")
        if cfg.ca_certs:
            options["ca_certs"] = cfg.ca_certs
        options.update(cfg.client_options)
        super().__init__(Elasticsearch(cfg.url, **options), helpers.streaming_bulk)

    def status_of(self, exc: Exception) -> int | None:
        meta = getattr(exc, "meta", None)
        status = getattr(meta, "status", None)
        if isinstance(status, int):
            return status
        status = getattr(exc, "status_code", None)
        return status if isinstance(status, int) else None


class OpenSearchTransport(Transport):
    name = "opensearch"

    def __init__(self, cfg: ClusterSettings) -> None:
        from opensearchpy import OpenSearch, helpers

        options: dict[str, Any] = {
            "timeout": cfg.timeout,
            "max_retries": 2,
            "retry_on_timeout": True,
            "verify_certs": cfg.verify_certs,
        }
        if cfg.api_key:
            options["headers"] = {"Authorization": f"ApiKey {cfg.api_key}"}
        elif cfg.username:
            options["http_auth"] = (cfg.username, cfg.password or "")
        if cfg.ca_certs:
            options["ca_certs"] = cfg.ca_certs
        options.update(cfg.client_options)
        super().__init__(OpenSearch(hosts=[cfg.url], **options), helpers.streaming_bulk)

    def status_of(self, exc: Exception) -> int | None:
        status = getattr(exc, "status_code", None)
        return status if isinstance(status, int) else None


def make_transport(cfg: ClusterSettings) -> Transport:
    if cfg.scheme == "elasticsearch":
        return ElasticsearchTransport(cfg)
    return OpenSearchTransport(cfg)


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
                    f"another mapping (not v{MAPPING_VERSION}); rebuild it with `catalogue reindex`"
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
            }
            for doc in docs
        ]
        self._bulk(actions)

    def delete(self, ids: Sequence[str]) -> None:
        target = self._write_target()
        self._bulk([{"_op_type": "delete", "_index": target, "_id": rid} for rid in ids])

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
        raise SearchUnavailable(f"{len(pending)} documents still failing after retries")

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
        if not self._state.advance(self.alias, self._holder, checkpoint, self._lease):
            self._held = False
            raise IndexLocked(f"lost the lease of search index {self.alias!r} to another indexer")
        self._renewed = time.monotonic()
        self._checkpoint = checkpoint

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
