"""How the cluster backend reaches Elasticsearch or OpenSearch: settings and transports.

``elasticsearch+https://host:9200`` uses the official ``elasticsearch`` client,
``opensearch+http://host:9200`` uses ``opensearch-py``. A :class:`Transport` wraps one
client: the calls ``cluster.py`` makes, and the translation of either library's errors
into SearchErrors (unreachable or overloaded: ``SearchUnavailable``, the API's 503).
Credentials come from the settings or the URL and never reach a log or a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalogue.config import SearchSettings
from catalogue.config.search_url import parse_search_url, redacted_url
from catalogue.search.base import QuerySyntaxError, SearchError, SearchUnavailable

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
    alias: str
    username: str | None
    password: str | None
    api_key: str | None
    ca_certs: str | None
    verify_certs: bool
    timeout: float
    shards: int
    replicas: int
    client_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, search_url: str, search: SearchSettings, **client_options: Any
    ) -> ClusterSettings:
        """From ``search_url`` (``<engine>+http(s)://[user:password@]host:port``) and the
        ``[search]`` section; credentials in the URL are taken out of it."""
        try:
            where = parse_search_url(search_url)
        except ValueError as exc:
            raise SearchError(f"CATALOGUE_SEARCH_URL={redacted_url(search_url)!r}: {exc}") from None
        return cls(
            scheme=where.scheme,
            url=where.url,
            alias=search.index_alias.lower(),
            username=where.username or search.username or None,
            password=where.password or search.password or None,
            api_key=search.api_key or None,
            ca_certs=search.ca_certs or None,
            verify_certs=search.verify_certs,
            timeout=search.timeout,
            shards=search.shards,
            replicas=search.replicas,
            client_options=client_options,
        )

    def __repr__(self) -> str:  # dataclass's repr would show the secrets
        return f"ClusterSettings({self.scheme}+{self.url}, alias={self.alias!r})"


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
        hint = _HINTS.get(status, "")
        return SearchError(f"search engine error {status}: {_reason(exc)}{hint}")

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


# What an admin can do about the errors of a misconfigured cluster connection.
_HINTS = {
    401: " (the cluster refused the credentials: CATALOGUE_SEARCH_API_KEY, _USERNAME, _PASSWORD)",
    403: " (the credentials may not do this: the catalogue manages its indexes and alias)",
    406: " (the cluster does not speak this client's API: elasticsearch+ needs Elasticsearch"
    " 8 or 9, opensearch+ OpenSearch 2 or 3)",
}


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
