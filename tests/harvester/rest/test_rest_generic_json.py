"""Generic paginated JSON sources (MDM-style records) against real local servers."""

from __future__ import annotations

import pytest
from rest_servers import JsonApp, mdm_record

from catalogue.model import record_id, validate_metadata
from catalogue.store import Store
from harvester.harvest import harvest_source
from harvester.rest.core import ConfigError, RestClient
from harvester.rest.generic import JsonHarvester
from harvester.rest.registry import validate_config
from mappings.json_paths import compile_path

FIELDS = {
    "titles": "attributes[name=title].value",
    "creators": "attributes[name=creator].value",
    "publicationYear": "attributes[name=year].value",
    "doi": "attributes[name=doi].value",
    "subjects": ["attributes[name=keyword].value", "/tags"],
}
STYLES = {
    "page": {
        "records": "data.items",
        "paging": {"style": "page", "size": 4, "total_path": "total"},
    },  # fmt: skip
    "offset": {"records": "", "paging": {"style": "offset", "size": 4}},
    "cursor": {"records": "/records", "paging": {"style": "cursor", "cursor_path": "next_cursor"}},
    "next_link": {
        "records": "records",
        "paging": {"style": "next_link", "next_path": "links.next"},
    },
}


def config(style: str, **extra) -> dict:
    return {
        **STYLES[style],
        "id": "productId",
        "deleted": "deleted",
        "fields": FIELDS,
        "defaults": {"resourceTypeGeneral": "Dataset", "publisher": "MDM test"},
        **extra,
    }


def mdm_records(n: int) -> list[dict]:
    return [mdm_record(f"p{i}", f"Product {i}", doi=f"10.1234/p{i}") for i in range(n)]


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_paging_style_reaches_the_end(api, style, harvest_with):
    server = api(JsonApp(mdm_records(10), style))
    cfg = validate_config("json", config(style))
    with RestClient(server.url("/records"), harvest_with(backoff=0.01), cfg) as client:
        harvester = JsonHarvester(client, cfg)
        ids = [r.source_id for page in harvester.pages(None) for r in page.records]
    assert ids == [f"p{i}" for i in range(10)]


def test_mdm_records_are_mapped_through_the_field_map(store: Store, api, rest_settings):
    records = mdm_records(9)
    records[1] = {**records[1], "tags": ["geology", "rocks"]}
    records[5] = mdm_record("p5", "Gone", deleted=True)
    server = api(JsonApp(records, "page"))
    store.add_source("mdm", "json", server.url("/records"), config=config("page"))
    run = harvest_source(store, "mdm", rest_settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 8 and run.counts.failed == 0
    record = store.get_record(record_id("mdm", "p1"))
    md = record.metadata
    assert validate_metadata(md) == []
    assert md["titles"] == [{"title": "Product 1"}]
    assert md["creators"][0] == {
        "name": "Doe, Jane",
        "nameType": "Personal",
        "givenName": "Jane",
        "familyName": "Doe",
    }
    assert md["identifiers"] == [{"identifier": "10.1234/p1", "identifierType": "DOI"}]
    assert md["publicationYear"] == 2021 and md["publisher"] == "MDM test"
    assert md["types"]["resourceTypeGeneral"] == "Dataset"
    assert [s["subject"] for s in md["subjects"]] == ["geology", "rocks"]
    assert store.get_raw(record_id("mdm", "p1"))[0] == "json"


def test_deleted_flag_makes_a_tombstone(store: Store, api, rest_settings):
    records = mdm_records(6)
    app = JsonApp(records, "offset")
    server = api(app)
    store.add_source("mdm", "json", server.url("/records"), config=config("offset"))
    assert harvest_source(store, "mdm", rest_settings).counts.added == 6
    app.records[2] = mdm_record("p2", "Product 2", deleted=True)
    run = harvest_source(store, "mdm", rest_settings)
    assert run.counts.deleted == 1
    assert store.get_record(record_id("mdm", "p2")).deleted


def test_incremental_runs_send_the_since_parameter(store: Store, api, rest_settings):
    server = api(JsonApp(mdm_records(3), "offset"))
    cfg = config("offset", since_param="modifiedSince", since_format="epoch")
    store.add_source("mdm", "json", server.url("/records"), config=cfg)
    harvest_source(store, "mdm", rest_settings)
    server.requests.clear()
    run = harvest_source(store, "mdm", rest_settings)
    assert run.mode == "incremental"
    assert all(args["modifiedSince"].isdigit() for _, args in server.paths("/records"))


BAD = {
    "unknown target": ({"fields": {"title": "a"}}, "title"),
    "bad path": ({"fields": {"titles": "a[name=]"}}, "bad subscript"),
    "bad pointer escape": ({"fields": {"titles": "/a~2b"}}, "bad escape"),
    "no records path": ({"records": None}, "records"),
    "cursor without path": ({"paging": {"style": "cursor"}}, "cursor_path"),
    "unknown paging style": ({"paging": {"style": "pages"}}, "style"),
    "unknown option": ({"colour": "blue"}, "colour"),
    "unknown default": ({"defaults": {"titles": "x"}}, "defaults"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_config_is_refused_at_registration(case):
    change, expected = BAD[case]
    cfg = {**config("page"), **change}
    cfg = {k: v for k, v in cfg.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        validate_config("json", cfg)
    assert expected in str(err.value)


def test_paths_reach_pointer_and_simple_forms_alike():
    doc = {"a/b": [{"c": 1}, {"c": 2}], "x": {"y": [{"k": "t", "v": "found"}]}}
    assert compile_path("/a~1b/1/c").values(doc) == [2]
    assert compile_path("/a~1b/*/c").values(doc) == [1, 2]
    assert compile_path("x.y[k=t].v").values(doc) == ["found"]
    assert compile_path("x.y[0].v").first(doc) == "found"
    assert compile_path("").node([1]) == [1]
    # "³".isdigit() is true, int("³") raises: a key, not an index
    assert compile_path("/a~1b/³").values({"a/b": {"³": "cubed"}}) == ["cubed"]
