"""Test-only helpers for the cluster backends against osmem (an in-memory OpenSearch).

The elasticsearch 9 client asks for ``application/vnd.elasticsearch+json;
compatible-with=9``, which osmem answers with 406; this node class sends plain JSON media
types instead. Production code never needs it: a real Elasticsearch speaks them.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Any

from elastic_transport import Urllib3HttpNode

from catalogue.search.cluster import ClusterIndex, ClusterSettings
from catalogue.store import Store, create_store_engine
from catalogue.store.search_state import SearchState


class PlainJsonNode(Urllib3HttpNode):
    def perform_request(
        self, method: str, target: str, body: Any = None, headers: Any = None, **kw: Any
    ) -> Any:
        if headers:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value and "compatible-with" in value:
                    kind = "x-ndjson" if "x-ndjson" in value else "json"
                    headers[name] = f"application/{kind}"
        response = super().perform_request(method, target, body=body, headers=headers, **kw)
        response.meta.headers.setdefault("x-elastic-product", "Elasticsearch")
        return response


BACKENDS = ("embedded", "opensearch", "elasticsearch")


def cluster_url(osmem_url: str, scheme: str) -> str:
    """The search URL of a backend: a real cluster when CATALOGUE_TEST_SEARCH_URL names one
    (``elasticsearch+https://...`` or ``opensearch+http://...``), else osmem."""
    real = os.environ.get("CATALOGUE_TEST_SEARCH_URL")
    if real:
        return real
    return f"{scheme}+{osmem_url}"


def client_options(search_url: str) -> dict[str, Any]:
    """The PlainJsonNode only for the elasticsearch client talking to osmem."""
    if search_url.startswith("elasticsearch+") and not os.environ.get("CATALOGUE_TEST_SEARCH_URL"):
        return {"node_class": PlainJsonNode}
    return {}


def cluster_settings(search_url: str, alias: str, **search: Any) -> ClusterSettings:
    return ClusterSettings.from_settings(
        {"search_url": search_url, "search": {"index_alias": alias, **search}},
        **client_options(search_url),
    )


def open_cluster(
    search_url: str, alias: str, db_url: str, *, writer: bool = True, **kwargs: Any
) -> ClusterIndex:
    engine = create_store_engine(db_url)
    Store(engine).migrate()
    state = SearchState(engine)
    return ClusterIndex(cluster_settings(search_url, alias), writer=writer, state=state, **kwargs)


def unique_alias(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def drop_alias(index: ClusterIndex) -> None:
    """Remove the test's indexes and template (a real cluster keeps everything otherwise)."""
    client = index.transport.client
    try:
        found = client.indices.get_alias(name=index.alias)
        names = list(getattr(found, "body", found))
    except Exception:
        names = []
    for name in names:
        client.indices.delete(index=name)
    with contextlib.suppress(Exception):
        client.indices.delete_index_template(name=f"{index.alias}-v1")
