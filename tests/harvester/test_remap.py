"""`catalogue remap`: stored raw payloads mapped again with today's crosswalks, no network;
changed records go through the normal write path (change log, new OAI datestamps)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from catalogue.model import LOCAL_SOURCE, record_id
from catalogue.remap import remap
from catalogue.store import IncomingRecord, LocalWrite, Store
from harvester.harvest import harvest_source

KERNEL4 = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "datacite"
    / "xml-kernel-4"
    / "datacite-example-full-v4.xml"
)


def _harvest_zenodo(store: Store, replay, settings) -> None:
    store.add_source("zenodo", "oai-pmh", replay.url("/zenodo/oai"), metadata_prefix="oai_dc")
    run = harvest_source(store, "zenodo", settings)
    assert run.status == "succeeded", run.message


def _stale(store: Store, key: str, source_id: str) -> str:
    """Make one stored record look mapped by an older crosswalk (same raw payload)."""
    rid = record_id(key, source_id)
    record = store.get_record(rid)
    fmt, raw = store.get_raw(rid)
    old = {**record.metadata, "titles": [{"title": "as an old crosswalk mapped it"}]}
    item = IncomingRecord(
        source_id,
        old,
        sets=record.sets,
        source_datestamp=record.source_datestamp,
        raw=raw,
        raw_format=fmt,
    )
    store.upsert_page(key, [item])
    return rid


def test_remap_writes_only_what_changed(store: Store, replay, settings) -> None:
    _harvest_zenodo(store, replay, settings)
    fresh = store.get_record(record_id("zenodo", "oai:zenodo.org:10357859"))
    rid = _stale(store, "zenodo", "oai:zenodo.org:10357859")
    stale = store.get_record(rid)
    assert stale.metadata != fresh.metadata
    seq = store.last_seq()

    seen = []
    dry = remap(store, settings, dry_run=True, progress=lambda n, t: seen.append((n, t)))
    assert (dry.examined, dry.changed, dry.failed) == (104, 1, 0)
    assert dry.unchanged == 103 and dry.changed_by_source == {"zenodo": 1}
    assert seen[0] == (0, 104) and sum(n for n, _ in seen) == 104
    assert store.last_seq() == seq  # a dry run writes nothing
    assert store.get_record(rid).metadata == stale.metadata

    time.sleep(1.1)  # datestamps have second granularity
    done = remap(store, settings, page_size=10)  # several pages
    assert (done.examined, done.changed, done.unchanged) == (104, 1, 103)
    restored = store.get_record(rid)
    assert restored.metadata == fresh.metadata
    assert restored.datestamp > stale.datestamp  # OAI harvesters of this catalogue see it
    changes = store.changes_since(seq)
    assert [(c.record_id, c.op) for c in changes] == [(rid, changes[0].op)]
    # idempotent: nothing more to do
    again = remap(store, settings)
    assert again.changed == 0 and store.last_seq() == seq + 1


def test_remap_of_one_source_and_of_deposited_documents(store: Store, replay, settings) -> None:
    _harvest_zenodo(store, replay, settings)
    store.add_source("dspace", "oai-pmh", replay.url("/dspace/oai"))
    assert harvest_source(store, "dspace", settings).status == "succeeded"
    zen = _stale(store, "zenodo", "oai:zenodo.org:10357859")
    dspace_id = sorted(store.live_source_ids("dspace"))[0]
    dsp = _stale(store, "dspace", dspace_id)

    # a deposited DataCite document, stored with an outdated mapping
    raw = KERNEL4.read_bytes()
    (created,) = store.write_local(
        [
            LocalWrite(
                rid="deposit-1",
                op="create",
                metadata={"titles": [{"title": "old"}], "types": {"resourceTypeGeneral": "Text"}},
                sets=["source:local"],
                raw=raw,
                raw_format="datacite",
            )
        ],
        actor="depositor",
    )
    assert created.problem is None
    only = remap(store, settings, source="dspace")
    assert only.changed == 1 and only.changed_by_source == {"dspace": 1}
    assert store.get_record(zen).metadata["titles"][0]["title"].startswith("as an old")
    assert not store.get_record(dsp).metadata["titles"][0]["title"].startswith("as an old")

    local = remap(store, settings, source=LOCAL_SOURCE)
    assert (local.examined, local.changed) == (1, 1)
    state = store.get_record_state("deposit-1")
    assert state.record.metadata["titles"][0]["title"] == "Example Title"
    assert state.updated_by == "remap" and state.created_by == "depositor"


def test_remap_command(cli, replay, settings) -> None:
    from catalogue.store import Store as _Store

    out = cli("sources", "add", "zenodo", replay.url("/zenodo/oai"), "--prefix", "oai_dc")
    assert out.returncode == 0
    cli("harvest", "zenodo")
    store = _Store(cli.env["CATALOGUE_DATABASE_URL"])
    try:
        _stale(store, "zenodo", "oai:zenodo.org:10357859")
        seq = store.last_seq()
        dry = cli("remap", "--dry-run")
        assert json.loads(dry.stdout.strip().splitlines()[-1])["changed"] == 1
        assert "would change 1" in dry.stderr
        assert store.last_seq() == seq
        done = cli("remap", "--source", "zenodo")
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary == {
            "examined": 104,
            "changed": 1,
            "unchanged": 103,
            "failed": 0,
            "skipped": 0,
            "changed_by_source": {"zenodo": 1},
            "dry_run": False,
        }
        assert store.last_seq() == seq + 1
        missing = cli("remap", "--source", "nope", check=False)
        assert missing.returncode != 0 and "no source 'nope'" in missing.stderr
    finally:
        store.dispose()


def test_remap_of_dialect_deposits(store: Store, settings) -> None:
    """UNIS, MDM and metastore2 deposits are mapped again from what their clients sent."""
    unis = {"id": "u1", "ts": 1337110564767952, "subject": {"href": "https://x/ports/1"},
            "eventType": "throughput", "selfRef": "https://x/api/unis/metadata/u1"}  # fmt: skip
    mdm = {"productId": "m1", "attributes": [{"name": "Title", "value": "MDM title"}]}
    record = {
        "titles": [{"value": "Metastore title"}],
        "resourceType": {"value": "JSON_Metadata", "typeGeneral": "MODEL"},
        "relatedIdentifiers": [
            {"identifierType": "URL", "value": "http://h/schemas/s1?version=1",
             "relationType": "HAS_METADATA"},
        ],
    }  # fmt: skip
    stale = {"titles": [{"title": "stale"}], "types": {"resourceTypeGeneral": "Other"}}
    writes = [
        LocalWrite("u1", "create", stale, ["source:local", "source:local:unis"],
                   raw=json.dumps(unis).encode(), raw_format="unis-json"),
        LocalWrite("m1", "create", stale, ["source:local", "source:local:mdm"],
                   raw=json.dumps(mdm).encode(), raw_format="mdm-json"),
        LocalWrite("s1", "create", {**stale, "extra": {"metastore2": {"record": record}}},
                   ["source:local", "source:local:metastore"], raw=b'{"title": "doc"}',
                   raw_format="metastore2:s1"),
    ]  # fmt: skip
    assert all(r.problem is None for r in store.write_local(writes, actor="client"))
    summary = remap(store, settings, source=LOCAL_SOURCE)
    assert (summary.examined, summary.changed, summary.failed) == (3, 3, 0), summary
    titles = {
        rid: store.get_record(rid).metadata["titles"][0]["title"] for rid in ("u1", "m1", "s1")
    }
    assert titles == {
        "u1": "throughput of https://x/ports/1",
        "m1": "MDM title",
        "s1": "Metastore title",
    }
    assert store.get_record("s1").metadata["extra"]["metastore2"]["record"] == record
    assert remap(store, settings, source=LOCAL_SOURCE).changed == 0
