"""The OAI-PMH client against real local servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from catalogue.demo.repository import Repository
from harvester.http import ResponseTooLarge, retry_after_seconds
from harvester.oai import (
    OAIClient,
    SourceOAIError,
    UnreadableResponse,
    format_datestamp,
    parse_datestamp,
)

DATACITE = (
    "http://schema.datacite.org/meta/kernel-4/metadata.xsd",
    "http://datacite.org/schema/kernel-4",
)
OAI_DATACITE = (
    "http://schema.datacite.org/oai/oai-1.1/oai.xsd",
    "http://schema.datacite.org/oai/oai-1.1/",
)


def test_retry_after_in_seconds_or_http_date():
    assert retry_after_seconds("7") == 7.0
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now=now) == 30.0
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds("³") is None  # "³".isdigit(), but no number of seconds
    assert retry_after_seconds(None) is None


def test_datestamps_in_both_granularities():
    assert parse_datestamp("2023-10-12T14:26:07Z") == datetime(2023, 10, 12, 14, 26, 7)
    assert parse_datestamp("2011-01-10") == datetime(2011, 1, 10)
    assert parse_datestamp("not a date") is None
    moment = datetime(2024, 5, 6, 7, 8, 9)
    assert format_datestamp(moment) == "2024-05-06T07:08:09Z"
    assert format_datestamp(moment, "YYYY-MM-DD") == "2024-05-06"


def test_identify_and_day_granularity_dates(replay, harvest_with):
    with OAIClient(replay.url("/sickle/oai"), harvest_with()) as client:
        identity = client.identify()
        assert identity.granularity == "YYYY-MM-DD"
        assert identity.repository_name == "A Test Repository"
        pages = list(client.iter_pages("oai_dc", from_=datetime(2011, 1, 1, 13, 45)))
    assert replay.requests[-1][1]["from"] == ["2011-01-01"]
    records = [r for page in pages for r in page.records]
    assert {r.source_id for r in records} == {
        "oai:test.example.com:1585310",
        "oai:test.example.com:1585322",
    }
    deleted = [r for r in records if r.deleted]
    assert deleted and deleted[0].payload is None and deleted[0].raw is None


def test_pages_carry_cursor_size_token_and_payload(replay, harvest_with):
    with OAIClient(replay.url("/zenodo/oai"), harvest_with()) as client:
        pages = client.iter_pages("datacite")
        first = next(pages)
        assert (first.cursor, first.complete_list_size, len(first.records)) == (0, 51, 25)
        assert first.resumption_token and first.response_date is not None
        record = first.records[0]
        assert record.payload.tag == "{http://datacite.org/schema/kernel-4}resource"
        assert record.raw.startswith(b"<resource") and b"<?xml" not in record.raw
        rest = list(pages)
    assert [p.cursor for p in rest] == [25, 50]
    assert rest[-1].resumption_token is None


def test_choose_prefix_prefers_datacite_formats(serve, make_record, harvest_with):
    repo = Repository(
        name="r",
        formats={
            "oai_dc": (
                "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
                "http://www.openarchives.org/OAI/2.0/oai_dc/",
            ),
            "datacite": DATACITE,
            "oai_datacite": OAI_DATACITE,
        },
    )
    for prefix in repo.formats:
        repo.add(prefix, make_record("oai:r:1", datetime(2020, 1, 1)))
    server = serve({"/oai": repo})
    with OAIClient(server.url("/oai"), harvest_with()) as client:
        assert [f.prefix for f in client.list_metadata_formats()] == [
            "oai_dc",
            "datacite",
            "oai_datacite",
        ]
        assert client.choose_prefix() == "oai_datacite"
        assert client.choose_prefix(("datacite", "oai_dc")) == "datacite"
        with pytest.raises(SourceOAIError) as info:
            client.choose_prefix(("marcxml",))
    assert info.value.code == "cannotDisseminateFormat"


def test_choose_prefix_matches_by_namespace(serve, make_record, harvest_with):
    repo = Repository(
        name="r", formats={"dc": ("x", "http://www.openarchives.org/OAI/2.0/oai_dc/")}
    )
    repo.add("dc", make_record("oai:r:1", datetime(2020, 1, 1)))
    server = serve({"/oai": repo})
    with OAIClient(server.url("/oai"), harvest_with()) as client:
        assert client.choose_prefix() == "dc"


def test_oai_error_read_from_the_body_of_any_status(serve, small_repo, harvest_with):
    server = serve({"/oai": small_repo})
    with (
        OAIClient(server.url("/oai"), harvest_with()) as client,
        pytest.raises(SourceOAIError) as info,
    ):
        list(client.iter_pages("nonsense"))
    assert info.value.code == "cannotDisseminateFormat"


def test_http_error_without_oai_body_is_a_fetch_error(serve, small_repo, harvest_with):
    server = serve({"/oai": small_repo})
    with (
        OAIClient(server.url("/missing"), harvest_with(max_retries=0)) as client,
        pytest.raises(Exception, match="HTTP 404"),
    ):
        client.identify()


def test_oversized_page_is_refused(serve, small_repo, harvest_with):
    server = serve({"/oai": small_repo})
    with (
        OAIClient(server.url("/oai"), harvest_with(max_page_bytes=1000)) as client,
        pytest.raises(ResponseTooLarge),
    ):
        list(client.iter_pages("oai_dc"))


def test_repeated_resumption_token_stops_the_loop(serve, small_repo, harvest_with):
    server = serve({"/oai": small_repo})
    first = small_repo.respond(
        {"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"]}, server.url("/oai")
    )
    server.intercept = lambda path, q: (200, {}, first) if "resumptionToken" in q else None
    with (
        OAIClient(server.url("/oai"), harvest_with()) as client,
        pytest.raises(SourceOAIError, match="repeated"),
    ):
        list(client.iter_pages("oai_dc"))


def test_resumption_token_cycle_stops_the_loop(serve, small_repo, harvest_with):
    server = serve({"/oai": small_repo})
    first = small_repo.respond(
        {"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"]}, server.url("/oai")
    )
    calls = []

    def cycle(path, query):
        # page 1 -> token A -> page 2 (token B) -> token B answers page 1 again (token A)
        if "resumptionToken" in query:
            calls.append(query)
            if len(calls) >= 2:
                return 200, {}, first
        return None

    server.intercept = cycle
    with (
        OAIClient(server.url("/oai"), harvest_with()) as client,
        pytest.raises(SourceOAIError, match="repeated"),
    ):
        list(client.iter_pages("oai_dc"))
    assert len(calls) == 2


def test_response_without_list_or_error_is_unreadable(serve, small_repo, harvest_with):
    server = serve({"/oai": small_repo})
    empty = (
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        b"<responseDate>2026-01-01T00:00:00Z</responseDate><request>x</request></OAI-PMH>"
    )
    server.intercept = lambda path, q: (200, {}, empty)
    with OAIClient(server.url("/oai"), harvest_with()) as client, pytest.raises(UnreadableResponse):
        list(client.iter_pages("oai_dc"))


def test_user_agent_is_sent(serve, small_repo, harvest_with):
    server = serve({"/oai": small_repo})
    with OAIClient(server.url("/oai"), harvest_with(user_agent="test-agent/1")) as client:
        client.identify()
    assert server.user_agents[-1] == "test-agent/1"


def test_an_html_page_is_asked_for_again_with_backoff(serve, small_repo, harvest_with):
    """A proxy's HTML page in place of the XML: asked for again after the backoff of any
    retry (it went out max_retries times within milliseconds), then reported."""
    server = serve({"/oai": small_repo})
    page = b"<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>"
    server.intercept = lambda path, q: (200, {"Content-Type": "text/html"}, page)
    waits: list[float] = []
    settings = harvest_with(max_retries=3, backoff=0.5)
    with (
        OAIClient(server.url("/oai"), settings, sleep=waits.append) as client,
        pytest.raises(UnreadableResponse, match="HTML page"),
    ):
        client.identify()
    assert waits == [0.5, 1.0, 2.0]
