"""Harvest runs end to end: real HTTP servers on localhost, a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta
from pathlib import Path

from catalogue.demo.repository import Repository
from catalogue.model import record_id
from catalogue.store import Store
from harvester.harvest import harvest_source
from harvester.oai import format_datestamp
from harvester.runs import record_sets

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "oai-pmh"


XML = {"Content-Type": "text/xml; charset=utf-8"}


def _list_records_requests(server):
    return [q for path, q in server.requests if q.get("verb") == ["ListRecords"]]


def test_full_harvest_of_multi_page_source_stores_every_record(store: Store, replay, settings):
    store.add_source("zenodo", "oai-pmh", replay.url("/zenodo/oai"), metadata_prefix="oai_dc")
    seen = []
    run = harvest_source(
        store, "zenodo", settings, progress=lambda n, total: seen.append((n, total))
    )
    assert run.status == "succeeded", run.message
    assert run.mode == "full"
    assert run.counts.added == 104 and run.counts.failed == 0
    assert store.count_records("zenodo") == 104
    assert len(_list_records_requests(replay)) == 5  # pages of 25
    assert sum(n for n, _ in seen) == 104 and seen[0][1] == 104
    rid = record_id("zenodo", "oai:zenodo.org:10357859")
    record = store.get_record(rid)
    assert record is not None and record.metadata["titles"]
    assert "source:zenodo" in record.sets
    fmt, raw = store.get_raw(rid)
    assert fmt == "oai_dc" and raw.startswith(b"<oai_dc:dc")
    source = store.get_source("zenodo")
    assert source.harvest_from == run.response_date
    assert source.granularity == "YYYY-MM-DDThh:mm:ssZ"


def test_harvesting_again_changes_nothing(store: Store, replay, settings):
    store.add_source("dspace", "oai-pmh", replay.url("/dspace/oai"))
    first = harvest_source(store, "dspace", settings)
    assert first.status == "succeeded", first.message
    seq = store.last_seq()
    again = harvest_source(store, "dspace", settings, full=True)
    assert again.status == "succeeded"
    assert again.counts.unchanged == first.counts.seen - first.counts.failed
    assert (again.counts.added, again.counts.updated, again.counts.deleted) == (0, 0, 0)
    assert store.last_seq() == seq  # no change-log rows


def test_setspecs_become_catalogue_sets(store: Store, serve, small_repo, settings):
    server = serve({"/oai": small_repo})
    store.add_source("small", "oai-pmh", server.url("/oai"), sets=["even"])
    run = harvest_source(store, "small", settings)
    assert run.counts.added == 5
    assert [q.get("set") for q in _list_records_requests(server)][0] == ["even"]
    record = store.get_record(record_id("small", "oai:test:0"))
    assert sorted(record.sets) == ["source:small", "source:small:even"]


def test_incremental_run_sends_from_and_gets_only_newer_records(
    store: Store, serve, small_repo: Repository, settings, make_record
):
    server = serve({"/oai": small_repo})
    store.add_source("small", "oai-pmh", server.url("/oai"))
    first = harvest_source(store, "small", settings)
    assert first.counts.added == 9
    harvest_from = store.get_source("small").harvest_from
    assert harvest_from == first.response_date
    small_repo.add("oai_dc", make_record("oai:test:new", harvest_from + timedelta(seconds=1)))
    server.requests.clear()
    second = harvest_source(store, "small", settings)
    assert second.status == "succeeded" and second.mode == "incremental"
    sent_from = harvest_from - timedelta(seconds=300)
    assert second.from_date == sent_from
    assert _list_records_requests(server)[0]["from"] == [format_datestamp(sent_from)]
    assert (second.counts.added, second.counts.unchanged) == (1, 0)
    assert store.count_records("small") == 10


def test_deleted_headers_become_tombstones(
    store: Store, serve, small_repo: Repository, settings, make_record
):
    server = serve({"/oai": small_repo})
    store.add_source("small", "oai-pmh", server.url("/oai"))
    harvest_source(store, "small", settings)
    later = store.get_source("small").harvest_from + timedelta(seconds=1)
    small_repo.add("oai_dc", make_record("oai:test:4", later, deleted=True))
    run = harvest_source(store, "small", settings)
    assert run.counts.deleted == 1
    record = store.get_record(record_id("small", "oai:test:4"))
    assert record.deleted is True
    assert store.count_records("small") == 8 and store.count_records("small", deleted=True) == 1


def test_record_that_fails_to_map_is_an_error_and_the_others_are_stored(
    store: Store, serve, small_repo: Repository, settings, make_record
):
    small_repo.add(
        "oai_dc",
        make_record("oai:test:odd-one", datetime(2020, 2, 1), payload='<x:thing xmlns:x="urn:x"/>'),
    )
    server = serve({"/oai": small_repo})
    store.add_source("small", "oai-pmh", server.url("/oai"))
    run = harvest_source(store, "small", settings)
    assert run.status == "succeeded"
    assert (run.counts.added, run.counts.failed) == (9, 1)
    errors = [e for e in store.run_errors(run.id) if e.severity == "error"]
    assert [(e.source_id, e.stage) for e in errors] == [("oai:test:odd-one", "map")]
    assert "urn:x" in errors[0].reason


def test_mapping_warnings_are_rows_and_counted(store: Store, replay, settings):
    store.add_source("zenodo", "oai-pmh", replay.url("/zenodo/oai"), metadata_prefix="oai_dc")
    run = harvest_source(store, "zenodo", settings)
    warnings = [e for e in store.run_errors(run.id) if e.severity == "warning"]
    assert run.counts.warnings == len(warnings) > 0
    assert all(w.source_id and w.stage == "map" for w in warnings)


def test_retries_on_503_with_retry_after_then_succeeds(store: Store, serve, small_repo, settings):
    server = serve({"/oai": small_repo})
    failures = []

    def busy_once(path, query):
        if query.get("verb") == ["ListRecords"] and not failures:
            failures.append(query)
            return 503, {"Retry-After": "1"}, b"busy"
        return None

    server.intercept = busy_once
    store.add_source("small", "oai-pmh", server.url("/oai"))
    started = datetime.now()
    run = harvest_source(store, "small", settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 9
    assert (datetime.now() - started).total_seconds() >= 1.0  # Retry-After wins over backoff
    assert len(failures) == 1


def test_422_with_a_bad_token_error_body_lists_again_from_the_last_datestamp(
    store: Store, serve, small_repo, settings
):
    server = serve({"/oai": small_repo})
    body = (FIXTURES / "zenodo" / "error_badResumptionToken.xml").read_bytes()

    def bad_token(path, query):
        return (422, XML, body) if "resumptionToken" in query else None

    server.intercept = bad_token
    store.add_source("small", "oai-pmh", server.url("/oai"))
    run = harvest_source(store, "small", settings)
    # The OAI error is read from the 422 body; every refused token is followed by the list
    # again from the last committed datestamp, so the list still ends complete (issue 17).
    assert run.status == "succeeded", run.message
    assert store.count_records("small") == 9
    refused = [e.reason for e in store.run_errors(run.id) if "badResumptionToken" in e.reason]
    assert len(refused) == 3


def test_no_records_match_is_success_with_zero_records(store: Store, serve, small_repo, settings):
    server = serve({"/oai": small_repo})
    body = (FIXTURES / "zenodo" / "error_noRecordsMatch_future_from.xml").read_bytes()
    server.intercept = lambda path, q: (
        (422, XML, body) if q.get("verb") == ["ListRecords"] else None
    )
    store.add_source("small", "oai-pmh", server.url("/oai"))
    run = harvest_source(store, "small", settings)
    assert run.status == "succeeded", run.message
    assert run.counts.seen == 0
    assert store.get_source("small").harvest_from == datetime(2026, 8, 13, 18, 19)


def test_page_with_invalid_bytes_is_repaired_and_harvested_with_a_warning(
    store: Store, serve, small_repo, settings
):
    recorded = (FIXTURES / "perl-oai-lib" / "badbytes.xml").read_bytes()
    page = recorded.replace(b"GetRecord>", b"ListRecords>").replace(
        b"verb='GetRecord;identifier=oai:arXiv.org:hep-th/0001001;metadataPrefix=oai_dc'",
        b"verb='ListRecords' metadataPrefix='oai_dc'",
    )
    server = serve({"/oai": small_repo})
    server.intercept = lambda path, q: (
        (200, XML, page) if q.get("verb") == ["ListRecords"] else None
    )
    store.add_source("citebase", "oai-pmh", server.url("/oai"))
    run = harvest_source(store, "citebase", settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 1
    fetch_warnings = [e for e in store.run_errors(run.id) if e.stage == "fetch"]
    assert fetch_warnings and fetch_warnings[0].severity == "warning"
    assert "repaired" in fetch_warnings[0].reason
    record = store.get_record(record_id("citebase", "oai:arXiv.org:hep-th/0001001"))
    assert "\x06" not in str(record.metadata)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate>
<ListRecords><record><header><identifier>oai:x:1</identifier><datestamp>2024-01-01</datestamp>
</header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&lol9;</dc:title></oai_dc:dc></metadata>
</record></ListRecords></OAI-PMH>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate>
<ListRecords><record><header><identifier>oai:x:1</identifier><datestamp>2024-01-01</datestamp>
</header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&xxe;</dc:title></oai_dc:dc></metadata>
</record></ListRecords></OAI-PMH>"""


def test_entity_attacks_are_rejected_without_resolving(store: Store, serve, small_repo, settings):
    server = serve({"/oai": small_repo})
    store.add_source("evil", "oai-pmh", server.url("/oai"))
    for body in (BILLION_LAUGHS, EXTERNAL_ENTITY):
        server.intercept = lambda path, q, b=body: (
            (200, XML, b) if q.get("verb") == ["ListRecords"] else None
        )
        started = datetime.now()
        run = harvest_source(store, "evil", settings)
        assert run.status == "failed"
        assert "entit" in run.message.lower()
        assert (datetime.now() - started).total_seconds() < 5
    assert store.count_records("evil") == 0
    assert all(
        "root:" not in (e.reason or "")
        for r in store.list_runs("evil")
        for e in store.run_errors(r.id)
    )


def test_server_that_keeps_failing_fails_the_run_and_keeps_earlier_pages(
    store: Store, serve, small_repo, settings
):
    server = serve({"/oai": small_repo})
    server.intercept = lambda path, q: (500, {}, b"oops") if "resumptionToken" in q else None
    store.add_source("small", "oai-pmh", server.url("/oai"))
    run = harvest_source(store, "small", settings)
    assert run.status == "failed"
    assert "HTTP 500" in run.message and "after 2 retries" in run.message
    assert store.count_records("small") == 3
    assert run.counts.added == 3
    assert len([q for _, q in server.requests if "resumptionToken" in q]) == 3


def test_preferred_prefix_is_chosen_from_list_metadata_formats(store: Store, replay, settings):
    store.add_source("zenodo", "oai-pmh", replay.url("/zenodo/oai"))  # no prefix configured
    run = harvest_source(store, "zenodo", settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 51
    assert {
        q["metadataPrefix"][0] for q in _list_records_requests(replay) if "metadataPrefix" in q
    } == {"datacite"}
    rid = record_id("zenodo", "oai:zenodo.org:10357859")
    assert store.get_raw(rid)[0] == "datacite"


def test_gzip_responses_are_decoded(store: Store, serve, small_repo, settings):
    server = serve({"/oai": small_repo})

    def gzipped(path, query):
        if query.get("verb") != ["ListRecords"]:
            return None
        body = small_repo.respond(query, server.url(path))
        return 200, {**XML, "Content-Encoding": "gzip"}, gzip.compress(body)

    server.intercept = gzipped
    store.add_source("small", "oai-pmh", server.url("/oai"))
    run = harvest_source(store, "small", settings)
    assert run.status == "succeeded", run.message
    assert run.counts.added == 9


def test_record_sets_drops_specs_the_store_cannot_keep():
    sets, problems = record_sets("zen", ["software", "a:b", "x" * 190, "bad spec", "a::b", ""])
    assert sets == ["source:zen", "source:zen:software", "source:zen:a:b"]
    assert len(problems) == 4
    assert "more than 200" in problems[0] and "setSpec syntax" in problems[1]
    longest = "y" * 189  # "source:zen:" + 189 = the column's 200 characters
    assert record_sets("zen", [longest]) == (["source:zen", f"source:zen:{longest}"], [])


def test_a_record_id_held_by_another_source_fails_that_record_with_an_error_row(
    store: Store, replay, settings
):
    from catalogue.store import LocalWrite

    rid = record_id("zenodo", "oai:zenodo.org:10357859")
    meta = {"titles": [{"title": "squatted"}], "types": {"resourceTypeGeneral": "Dataset"}}
    store.write_local([LocalWrite(rid=rid, op="create", metadata=meta, sets=[])], actor="x")
    store.add_source("zenodo", "oai-pmh", replay.url("/zenodo/oai"), metadata_prefix="oai_dc")
    run = harvest_source(store, "zenodo", settings)
    assert run.status == "succeeded", run.message
    assert (run.counts.added, run.counts.failed) == (103, 1)
    refused = [e for e in store.run_errors(run.id) if e.stage == "store"]
    assert [e.source_id for e in refused] == ["oai:zenodo.org:10357859"]
    assert store.get_record(rid).source == "local"
