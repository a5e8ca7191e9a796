"""B2SHARE harvesting against a real local server serving real B2SHARE responses."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest
from rest_servers import B2ShareApp, Fault, b2share_record, load_demo

from catalogue.model import record_id, validate_metadata
from catalogue.store import Store
from harvester.harvest import harvest_source
from harvester.rest.b2share import B2ShareHarvester
from harvester.rest.core import RestClient
from mappings.b2share import from_b2share

EUDAT = "e9b9792e-79fb-4b07-b6b4-b9c2bd06d095"
BBMRI = "99916f6f-9a2c-4feb-a342-6552ac7f1529"
REAL = ("record_all_metadata_fields.json", "record_published_bbmri_trng.json",
        "record_in_community.json")  # fmt: skip


def records(n: int, start: datetime = datetime(2020, 1, 1), step: timedelta = timedelta(hours=1)):
    return [b2share_record(i, start + step * i) for i in range(n)]


def add(store: Store, url: str, key: str = "b2", **config) -> None:
    store.add_source(key, "b2share", url, config=config)


# -- crosswalk -------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*REAL, "record_from_search_hits.json"])
def test_real_records_map_to_valid_canonical_metadata(name):
    metadata, warnings = from_b2share(load_demo(f"b2share/{name}"))
    assert validate_metadata(metadata) == []
    assert metadata["titles"][0]["title"]
    assert all(isinstance(w, str) for w in warnings)


def test_crosswalk_of_the_richest_real_record():
    metadata, warnings = from_b2share(load_demo("b2share/record_all_metadata_fields.json"))
    assert warnings == []
    assert metadata["identifiers"] == [
        {"identifier": "10.5072/b2share.b43a0e6914e34de8bd19613bcdc0d364", "identifierType": "DOI"},
        {"identifier": "11304/ab379f3b-8ff2-41ff-a96b-a3a066cc820c", "identifierType": "Handle"},
    ]
    assert [c["name"] for c in metadata["creators"]] == ["Jane Smith", "Jane Doe"]
    assert metadata["contributors"][1] == {"name": "John Doe", "contributorType": "DataManager"}
    assert metadata["publicationYear"] == 2017 and metadata["language"] == "en"
    assert metadata["types"] == {"resourceTypeGeneral": "Text", "resourceType": "Numbered text"}
    subjects = {(s["subject"], s.get("subjectScheme")) for s in metadata["subjects"]}
    assert ("Number theory", "B2SHARE discipline") in subjects and ("series", None) in subjects
    # the licence as written, with its SPDX identifier (issue 14: licences normalised)
    mit = {"rights": "MIT", "rightsUri": "https://opensource.org/licenses/mit-license.php"}
    assert any(r.items() >= mit.items() and r.get("rightsIdentifier") == "MIT"
               for r in metadata["rightsList"])  # fmt: skip
    assert {"date": "2017-09-01T17:00:00+01:00", "dateType": "Available"} in metadata["dates"]
    assert metadata["descriptions"][1]["descriptionType"] == "SeriesInformation"


def test_community_block_is_kept_as_extra_metadata():
    metadata, _ = from_b2share(
        load_demo("b2share/record_published_bbmri_trng.json"),
        {BBMRI: {"name": "BBMRI", "schema_version": 0}},
    )
    extra = metadata["extra"]["b2share"]
    assert extra["community"] == BBMRI and extra["community_name"] == "BBMRI"
    block = extra["community_specific"]["362e6f81-68fb-4d71-9496-34ca00e59769"]
    assert block["principal_investigator"] == "Amilcar Flores"


def test_v1_upgraded_records_map_or_fail_cleanly():
    mapped = 0
    for hit in load_demo("b2share/v1_to_v2_upgrade_expected_records.json"):
        try:
            metadata, _ = from_b2share(hit)
        except ValueError:
            continue  # a few entries there are PID rows without metadata
        assert validate_metadata(metadata) == []
        mapped += 1
    assert mapped >= 5


def test_root_schema_v1_fields_are_mapped():
    """Field names of B2SHARE's root_schema_v1 (titles[].type, languages as objects,
    resource_type_description, dates, funder_identifier_type, formats, sizes)."""
    hit = {
        "id": "b43a0e6914e34de8bd19613bcdc0d364",
        "created": "2020-05-04T10:11:12+00:00",
        "updated": "2021-01-02T03:04:05+00:00",
        "metadata": {
            "titles": [
                {"title": "Ocean salinity 2019"},
                {"title": "Zoutgehalte oceaan", "type": "TranslatedTitle"},
                {"title": "OS19", "type": "Alternative Title"},
            ],
            "creators": [{"creator_name": "Smith, Jane"}],
            "languages": [{"language_name": "English", "language_identifier": "eng"}],
            "resource_types": [
                {"resource_type_general": "Dataset", "resource_type_description": "CTD casts"}
            ],
            "dates": [
                {"date": "2019-06-01", "date_type": "Collected", "date_information": "cruise"}
            ],
            "publication_date": "2020-05-04",
            "funding_references": [
                {
                    "funder_name": "European Commission",
                    "funder_identifier": "10.13039/501100000780",
                    "funder_identifier_type": "Crossref Funder ID",
                }
            ],
            "sizes": ["2 GB"],
            "formats": ["text/csv"],
            "publisher": "EUDAT B2SHARE",
        },
    }
    metadata, warnings = from_b2share(hit)
    assert validate_metadata(metadata) == []
    assert warnings == ["missing mandatory property identifier"]  # no DOI in this one
    assert [t.get("titleType") for t in metadata["titles"]] == [
        None,
        "TranslatedTitle",
        "AlternativeTitle",
    ]
    assert metadata["language"] == "en"
    assert metadata["types"] == {"resourceTypeGeneral": "Dataset", "resourceType": "CTD casts"}
    assert {"date": "2019-06-01", "dateType": "Collected", "dateInformation": "cruise"} in (
        metadata["dates"]
    )
    assert metadata["fundingReferences"][0]["funderIdentifierType"] == "Crossref Funder ID"
    assert metadata["formats"] == ["text/csv"] and metadata["sizes"] == ["2 GB"]


# -- runs ------------------------------------------------------------------------------


def test_full_harvest_of_real_records(store: Store, api, rest_settings):
    hits = [load_demo(f"b2share/{name}") for name in REAL]
    hits.append(load_demo("b2share/record_from_search_hits.json"))  # a draft
    server = api(B2ShareApp(hits))
    add(store, server.url())
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "succeeded", run.message
    assert (run.counts.added, run.counts.failed) == (3, 0)
    assert store.count_records("b2") == 3
    rid = record_id("b2", "a1c2ef96a1e446fa9bd7a2a46d2242d4")
    record = store.get_record(rid)
    assert sorted(record.sets) == ["source:b2", f"source:b2:{BBMRI}"]
    assert validate_metadata(record.metadata) == []
    assert record.source_datestamp == datetime(2016, 12, 21, 8, 57, 42, 570262).replace(
        microsecond=record.source_datestamp.microsecond
    )
    fmt, raw = store.get_raw(rid)
    assert fmt == "b2share-json" and json.loads(raw)["id"] == "a1c2ef96a1e446fa9bd7a2a46d2242d4"
    eudat = store.get_record(record_id("b2", "b43a0e6914e34de8bd19613bcdc0d364"))
    assert eudat.metadata["extra"]["b2share"]["community_name"] == "EUDAT"
    assert eudat.metadata["extra"]["b2share"]["community_schema_version"] == 0
    reasons = [e.reason for e in store.run_errors(run.id)]
    assert "skipped: a draft, not published" in reasons
    assert server.paths("/api/communities/")[0][0] == "/api/communities/"
    assert server.gzipped > 0, "responses were sent (and read) gzip-compressed"


def test_pages_are_followed_to_the_end(store: Store, api, rest_settings):
    server = api(B2ShareApp(records(25)))
    add(store, server.url(), page_size=10)
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 25
    pages = [a["page"] for p, a in server.paths("/api/records/")]
    assert pages == ["1", "2", "3"]
    assert all(a["sort"] == "mostrecent" and a["size"] == "10" for _, a in server.paths("/api/rec"))


def test_windows_keep_every_listing_under_the_real_10000_hit_limit(api, harvest_with):
    """25,000 records, a server that refuses page * size > 10,000 as B2SHARE does."""
    template = {"id": "", "created": "", "updated": "", "metadata": {"titles": [{"title": "t"}]}}
    hits = [
        b2share_record(n, datetime(2018, 1, 1) + timedelta(minutes=7 * n), template=template)
        for n in range(25_000)
    ]
    server = api(B2ShareApp(hits, max_size=1000))
    with RestClient(server.url(), harvest_with(backoff=0.01), {}) as client:
        harvester = B2ShareHarvester(client, {"page_size": 1000, "fetch_schemas": False})
        seen = [r.source_id for page in harvester.pages(None) for r in page.records]
    assert len(seen) == 25_000 and len(set(seen)) == 25_000
    assert len({a["q"] for _, a in server.paths("/api/records/") if a["page"] == "2"}) >= 3
    for _, args in server.paths("/api/records/"):
        assert int(args["page"]) * int(args["size"]) <= 10_000
    queries = {a["q"] for _, a in server.paths("/api/records/")}
    assert any(q.startswith("updated:[* TO ") for q in queries)
    assert any(q.endswith(" TO *]") for q in queries), "the last window stays open"


def test_windowed_full_harvest_stores_everything(store: Store, api, rest_settings):
    server = api(B2ShareApp(records(75), max_result_window=20))
    add(store, server.url(), page_size=10, max_result_window=20)
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 75 and store.count_records("b2") == 75


def test_a_second_too_crowded_to_split_fails_the_run_clearly(store: Store, api, rest_settings):
    same = datetime(2020, 5, 5, 12, 0, 0)
    server = api(B2ShareApp([b2share_record(n, same) for n in range(30)], max_result_window=20))
    add(store, server.url(), page_size=10, max_result_window=20)
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "failed"
    assert "within one second" in run.message and "20-hit paging limit" in run.message


def test_incremental_run_asks_for_recent_updates_only(store: Store, api, rest_settings):
    app = B2ShareApp(records(30))
    server = api(app)
    add(store, server.url(), page_size=10)
    assert harvest_source(store, "b2", rest_settings).counts.added == 30
    now = datetime.utcnow()
    changed = b2share_record(3, now)
    changed["metadata"]["titles"] = [{"title": "Changed"}]
    app.put(changed)
    app.put(b2share_record(100, now))
    server.requests.clear()
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "succeeded", run.message
    assert run.mode == "incremental"
    assert (run.counts.added, run.counts.updated, run.counts.deleted) == (1, 1, 0)
    [(_, args)] = server.paths("/api/records/")
    assert args["q"].startswith("updated:[") and args["q"].endswith(" TO *]")
    title = store.get_record(record_id("b2", changed["id"])).metadata["titles"][0]["title"]
    assert title == "Changed"


def test_429_with_retry_after_is_waited_out(store: Store, api, rest_settings):
    server = api(B2ShareApp(records(5)))
    server.fail("/api/records/", Fault(429, b'{"message": "slow down"}', {"Retry-After": "0"}))
    add(store, server.url())
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 5
    assert len(server.paths("/api/records/")) == 2


def test_a_record_that_fails_to_map_fails_alone(store: Store, api, rest_settings):
    hits = records(4)
    hits[2]["metadata"] = "not an object"
    server = api(B2ShareApp(hits))
    add(store, server.url())
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "succeeded", run.message
    assert (run.counts.added, run.counts.failed) == (3, 1)
    [error] = [e for e in store.run_errors(run.id) if e.severity == "error"]
    assert error.source_id == hits[2]["id"] and error.stage == "map"
    assert "no metadata object" in error.reason


def test_a_record_gone_from_the_source_becomes_a_tombstone(store: Store, api, rest_settings):
    app = B2ShareApp(records(10))
    server = api(app)
    add(store, server.url())
    harvest_source(store, "b2", rest_settings)
    gone = b2share_record(4, datetime(2020, 1, 1))["id"]
    app.remove(gone)
    run = harvest_source(store, "b2", rest_settings, full=True)
    assert run.status == "succeeded", run.message
    assert (run.counts.deleted, run.counts.unchanged) == (1, 9)
    assert store.get_record(record_id("b2", gone)).deleted is True
    incremental = harvest_source(store, "b2", rest_settings)
    assert incremental.mode == "incremental" and incremental.counts.deleted == 0


def test_safety_valve_stops_mass_deletion(store: Store, api, rest_settings):
    app = B2ShareApp(records(20))
    server = api(app)
    add(store, server.url())
    harvest_source(store, "b2", rest_settings)
    app.set_records(records(20)[:10])
    run = harvest_source(store, "b2", rest_settings, full=True)
    assert run.status == "failed"
    assert "safety valve" in run.message and "10 of its 20" in run.message
    assert run.counts.deleted == 0 and store.count_records("b2") == 20
    store.update_source("b2", config={"max_delete_fraction": 0.6})
    accepted = harvest_source(store, "b2", rest_settings, full=True)
    assert accepted.status == "succeeded" and accepted.counts.deleted == 10


HOSTILE = {
    "not JSON": (Fault(200, b"<html>Service unavailable</html>"), "is not JSON"),
    "truncated JSON": (Fault(200, b'{"hits": {"hits": [{"id": "x"'), "is not JSON"),
    "deep nesting": (Fault(200, b"[" * 200_000 + b"]" * 200_000), "nested too deeply"),
    "wrong shape": (Fault(200, b'{"hits": {"hits": 5, "total": 1}}'), "no hits.hits list"),
    "no total": (Fault(200, b'{"hits": {"hits": []}}'), "no hits.total"),
    "server error": (Fault(500, b"boom"), "HTTP 500"),
    "not found": (
        Fault(404, b'{"message": "PID is not registered.", "status": 404}'),
        "PID is not registered",
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_responses_fail_the_run_with_a_clear_message(store: Store, api, rest_settings,
                                                             case):  # fmt: skip
    fault, expected = HOSTILE[case]
    server = api(B2ShareApp(records(3)))
    server.fail("/api/records/", *[fault] * 5)
    add(store, server.url())
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "failed"
    assert expected in run.message


def test_oversized_response_fails_the_run(store: Store, api, rest_settings):
    server = api(B2ShareApp(records(20)))
    add(store, server.url(), max_page_bytes=4096)
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "failed" and "exceeds 4096" in run.message


def test_next_link_to_another_host_is_not_followed(store: Store, api, rest_settings):
    server = api(B2ShareApp(records(3)))
    evil = {"hits": {"hits": [], "total": 3}, "links": {"next": "http://evil.example/x"}}
    first = json.dumps({**evil, "hits": {"hits": records(1), "total": 3}}).encode()
    server.fail("/api/records/", Fault(200, first, {"Content-Type": "application/json"}))
    add(store, server.url())
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "failed" and "leaves the source host" in run.message


def test_token_from_env_is_sent_and_never_recorded(
    store: Store, api, rest_settings, monkeypatch, caplog
):
    token = "LMlLGmlzwo3NtDNAqIUxbb5fxq0Mr8xmS7r8gEACogHTYRpP3EIevbbSoyba"
    server = api(B2ShareApp(records(3)), token=token)
    monkeypatch.setenv("B2SHARE_TEST_TOKEN", token)
    add(store, server.url(), auth={"type": "query", "param": "access_token",
                                   "token_env": "B2SHARE_TEST_TOKEN"})  # fmt: skip
    caplog.set_level(logging.DEBUG)
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "succeeded", run.message and run.counts.added == 3
    assert all(a.get("access_token") == token for _, a in server.paths("/api/"))
    # A wrong token: the 401 run message names the problem, not the token.
    monkeypatch.setenv("B2SHARE_TEST_TOKEN", "wrong-" + token)
    failed = harvest_source(store, "b2", rest_settings, full=True)
    assert failed.status == "failed" and "HTTP 401" in failed.message
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # not the server's
    assert token not in failed.message and not any(token in m for m in ours)
    assert any("access_token=***" in m for m in ours), "urllib3's URL logs are redacted"
    assert all(token not in e.reason for e in store.run_errors(failed.id))


def test_missing_token_env_fails_the_run_before_any_request(store: Store, api, rest_settings):
    server = api(B2ShareApp(records(1)))
    add(store, server.url(), auth={"token_env": "NO_SUCH_VARIABLE_FOR_TESTS"})
    run = harvest_source(store, "b2", rest_settings)
    assert run.status == "failed" and "NO_SUCH_VARIABLE_FOR_TESTS" in run.message
    assert server.requests == []
