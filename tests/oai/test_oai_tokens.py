"""Resumption tokens: signed, stateless, never expiring; and what a harvest sees of changes."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import datetime, timedelta

import pytest
from lxml import etree
from oai_support import (
    NS,
    Corpus,
    OaiServer,
    header_of,
    is_deleted,
    item,
    load_corpus,
    local_id,
)

import catalogue.store
import harvester.clock
from catalogue.model import record_id
from catalogue.web.oai.arguments import ListArgs
from catalogue.web.oai.errors import BadResumptionToken
from catalogue.web.oai.tokens import ListState, TokenSigner, _b64

STATE = ListState(
    ListArgs("oai_dc", datetime(2020, 1, 1), datetime(2020, 12, 31, 23, 59, 59), "source:zen"),
    (datetime(2020, 6, 1, 12, 30, 5), "abcdefghijklmnop"),
    cursor=700,
    complete_list_size=12345,
)


class Clock:
    """A settable clock for the store's datestamps and the provider's responseDate."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(datetime(2025, 3, 1, 9, 0, 0))
    monkeypatch.setattr(harvester.clock, "utcnow", clock)  # the one clock of every reader
    return clock


def test_tokens_round_trip() -> None:
    signer = TokenSigner("secret")
    token = signer.encode("ListRecords", STATE)
    assert signer.decode("ListRecords", token) == STATE
    assert len(token) < 200
    assert all(c.isalnum() or c in "-_." for c in token), "URL- and XML-safe"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: t.replace(".", ""),
        lambda t: "." + t,
        lambda t: t.split(".")[0],
        lambda t: _b64(b'[1,"oai_dc",null,null,null,0,"a",0,0]') + "." + t.split(".")[1],
    ],
)
def test_altered_tokens_are_refused(mutate) -> None:
    signer = TokenSigner("secret")
    with pytest.raises(BadResumptionToken):
        signer.decode("ListRecords", mutate(signer.encode("ListRecords", STATE)))


def test_every_single_character_change_is_detected() -> None:
    signer = TokenSigner("secret")
    token = signer.encode("ListIdentifiers", STATE)
    for i, char in enumerate(token):
        for other in {"A", "b", "0", "-", "_", "."} - {char}:
            changed = token[:i] + other + token[i + 1 :]
            with pytest.raises(BadResumptionToken):
                signer.decode("ListIdentifiers", changed)


def test_tokens_are_bound_to_secret_and_verb() -> None:
    token = TokenSigner("secret").encode("ListRecords", STATE)
    with pytest.raises(BadResumptionToken):
        TokenSigner("another secret").decode("ListRecords", token)
    with pytest.raises(BadResumptionToken):
        TokenSigner("secret").decode("ListIdentifiers", token)


@pytest.mark.parametrize(
    "fields",
    [
        [],
        [2, "oai_dc", None, None, None, 0, "a", 0, 0],
        [1, "oai dc", None, None, None, 0, "a", 0, 0],
        [1, "oai_dc", None, None, "bad set", 0, "a", 0, 0],
        [1, "oai_dc", None, None, None, None, "a", 0, 0],
        [1, "oai_dc", None, None, None, 0, "", 0, 0],
        [1, "oai_dc", None, None, None, 0, "a", -1, 0],
        [1, "oai_dc", None, None, None, 10**30, "a", 0, 0],
        [1, "oai_dc", "x", None, None, 0, "a", 0, 0],
        [1, "oai_dc", None, None, None, 0, "a", True, 0],
        {"a": 1},
    ],
)
def test_signed_but_malformed_tokens_are_refused(fields) -> None:
    """Defence in depth: a token we could have signed by mistake never crashes the provider."""
    signer = TokenSigner("secret")
    payload = _b64(json.dumps(fields).encode())
    token = f"{payload}.{_b64(signer._mac('ListRecords', payload))}"
    with pytest.raises(BadResumptionToken):
        signer.decode("ListRecords", token)


def test_tampered_token_over_http(oai: OaiServer, corpus: Corpus) -> None:
    tree = oai.get(verb="ListRecords", metadataPrefix="oai_dc")
    token = tree.findtext(".//o:resumptionToken", namespaces=NS)
    payload, mac = token.split(".")
    state = json.loads(_unpad(payload))
    state[7] = 0  # rewind the cursor
    forged = _b64(json.dumps(state, separators=(",", ":")).encode()) + "." + mac
    assert oai.error_code(verb="ListRecords", resumptionToken=forged) == "badResumptionToken"
    assert oai.error_code(verb="ListIdentifiers", resumptionToken=token) == "badResumptionToken"
    assert oai.error_code(verb="ListRecords", resumptionToken=token) is None


def _unpad(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pages(oai: OaiServer, verb: str, token: str | None, count: int | None = None, **params):
    """Follow a list for ``count`` pages (all when None): (items, next token or None)."""
    items: list[etree._Element] = []
    pages = 0
    while count is None or pages < count:
        tree = oai.get(verb=verb, resumptionToken=token) if token else oai.get(verb=verb, **params)
        body = tree.find(f"o:{verb}", NS)
        items.extend(body.findall("o:record" if verb == "ListRecords" else "o:header", NS))
        pages += 1
        token = (body.findtext("o:resumptionToken", namespaces=NS) or "").strip() or None
        if token is None:
            break
    return items, token


def _stamp(element: etree._Element) -> str:
    return header_of(element).findtext("o:datestamp", namespaces=NS)


def test_resume_days_later_without_gap_or_duplicate(oai: OaiServer, clock: Clock) -> None:
    corpus = _load(oai)
    first, token = _pages(oai, "ListRecords", None, 3, metadataPrefix="oai_datacite")
    assert token is not None and len(first) == 21
    clock.now += timedelta(days=9, hours=5)  # the harvester was away for nine days
    rest, token = _pages(oai, "ListRecords", token)
    assert token is None
    ids = [local_id(r) for r in first + rest]
    assert len(ids) == len(set(ids)), "no duplicate"
    assert set(ids) == corpus.all, "no gap"
    last = oai.get(verb="Identify").findtext("o:responseDate", namespaces=NS)
    assert last.startswith("2025-03-10T14:00")


def test_changes_during_a_harvest_are_delivered_again(oai: OaiServer, clock: Clock) -> None:
    """The documented guarantee: a record changed mid-harvest moves to the end of the list
    and comes again in its new state; nothing is skipped; no (id, datestamp) twice."""
    corpus = _load(oai)
    seen, token = _pages(oai, "ListRecords", None, 4, metadataPrefix="oai_dc")
    delivered = {local_id(r) for r in seen}
    ahead = sorted(corpus.live - delivered)
    behind = sorted(corpus.live & delivered)
    sources = {rid: oai.store.get_record(rid) for rid in ahead[:1] + behind[:2]}

    clock.now += timedelta(days=3)  # resumed days later, after these changes
    for rid in (ahead[0], behind[0]):
        record = sources[rid]
        changed = dict(record.metadata, titles=[{"title": f"changed {rid}"}])
        oai.store.upsert_page(
            record.source,
            [
                catalogue.store.IncomingRecord(
                    record.source_id, changed, sets=record.sets, raw_format="oai_dc"
                )
            ],
        )
    gone = sources[behind[1]]
    oai.store.mark_deleted(gone.source, [gone.source_id])
    oai.store.upsert_page("zen", [item("zen", 999)])
    new = record_id("zen", "zen-999")

    rest, token = _pages(oai, "ListRecords", token)
    everything = seen + rest
    pairs = Counter((local_id(r), _stamp(r)) for r in everything)
    assert max(pairs.values()) == 1, "no (identifier, datestamp) delivered twice"
    final_ids = {local_id(r) for r in everything}
    assert final_ids == corpus.all | {new}, "every record, the new one too"
    by_id: dict[str, list[etree._Element]] = {}
    for record in everything:
        by_id.setdefault(local_id(record), []).append(record)
    assert len(by_id[behind[0]]) == 2, "changed after delivery: delivered again"
    title = by_id[behind[0]][-1].findtext(".//{http://purl.org/dc/elements/1.1/}title")
    assert title == f"changed {behind[0]}"
    assert len(by_id[ahead[0]]) == 1, "changed before delivery: delivered once, new state"
    assert by_id[ahead[0]][0].findtext(".//{http://purl.org/dc/elements/1.1/}title") == (
        f"changed {ahead[0]}"
    )
    assert [is_deleted(r) for r in by_id[behind[1]]] == [False, True]


def test_last_page_reports_what_was_delivered(oai: OaiServer, clock: Clock) -> None:
    corpus = _load(oai)
    seen, token = _pages(oai, "ListIdentifiers", None, 1, metadataPrefix="oai_dc")
    clock.now += timedelta(seconds=5)
    first = seen[0]
    record = oai.store.get_record(local_id(first))
    oai.store.mark_deleted(record.source, [record.source_id])
    items: list[etree._Element] = []
    last_token = None
    while token:
        body = oai.get(verb="ListIdentifiers", resumptionToken=token).find("o:ListIdentifiers", NS)
        items.extend(body.findall("o:header", NS))
        last_token = body.find("o:resumptionToken", NS)
        token = (last_token.text or "").strip() or None
    total = len(seen) + len(items)
    assert total == len(corpus.all) + 1
    assert int(last_token.get("completeListSize")) == total
    assert int(last_token.get("cursor")) + len(body.findall("o:header", NS)) == total


def _load(oai: OaiServer) -> Corpus:
    return load_corpus(oai.store)
