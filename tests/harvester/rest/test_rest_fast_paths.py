"""The shortcuts of the REST harvest path give the results of the plain code they replace.

- the B2SHARE crosswalk builds only non-empty fields instead of pruning at the end: its
  output must be a fixed point of ``prune`` (also when texts are cut at a blank);
- ``date_value`` reads UTC timestamps without ``normalize_date`` and must agree with it;
- runs store several listing pages per transaction: counts stay those of page-by-page
  storing, also for a record listed twice.
"""

from __future__ import annotations

import copy
import random

import pytest
from rest_servers import JsonApp, b2share_record, load_fixture, mdm_record

from catalogue.model import record_id
from catalogue.store import Store
from harvester.harvest import harvest_source
from harvester.rest import run as rest_run
from mappings._shared import prune
from mappings.b2share import from_b2share
from mappings.json_common import date_value
from mappings.normalize import normalize_date

FIXTURES = [
    "record_all_metadata_fields.json",
    "record_in_community.json",
    "record_published_bbmri_trng.json",
    "record_from_search_hits.json",
]
# Values that exercise the empty, blank, wrongly typed and cut-at-a-blank branches.
ODD_VALUES = [
    None, "", "  ", " padded ", 0, 7, True, [], {}, [None, ""], {"a": ""}, [{"x": " "}],
    "x" * 1999 + " tail", "<p>" + "word " * 30000 + "</p>", "2017-02-30", "0000",
    [{"title": "t" * 99999 + " u", "title_type": "nope"}],
    [{"creator_name": "", "family_name": "f" * 1999 + " g", "given_name": " G "}],
    ["k" * 1999 + " a", "k" * 1999 + " b", {"keyword": " ", "scheme": "s"}],
    {"block": {"field": " v ", "empty": "", "nested": [None, {}]}},
]  # fmt: skip
FIELDS = [
    "titles", "creators", "contributors", "descriptions", "keywords", "disciplines",
    "publisher", "publication_date", "embargo_date", "language", "resource_types", "license",
    "open_access", "DOI", "ePIC_PID", "alternate_identifiers", "related_identifiers",
    "version", "funding_references", "community_specific", "spatial_coverages", "surprise",
]  # fmt: skip


def odd_records(n: int) -> list[dict]:
    rng = random.Random(8)
    bases = [load_fixture(f"b2share/{name}") for name in FIXTURES]
    bases += load_fixture("b2share/v1_to_v2_upgrade_expected_records.json")
    bases = [b for b in bases if isinstance(b.get("metadata"), dict)]
    records = []
    for _ in range(n):
        record = copy.deepcopy(rng.choice(bases))
        for _ in range(rng.randint(1, 5)):
            record["metadata"][rng.choice(FIELDS)] = copy.deepcopy(rng.choice(ODD_VALUES))
        records.append(record)
    return records


def test_b2share_output_needs_no_prune():
    communities = {
        "e9b9792e-79fb-4b07-b6b4-b9c2bd06d095": {"name": " EUDAT ", "schema_version": ""}
    }
    for record in odd_records(2000):
        metadata, _ = from_b2share(record, communities)
        assert prune(metadata) == metadata


def test_b2share_synthetic_records_map_alike_whatever_the_order():
    from datetime import datetime

    records = [b2share_record(n, datetime(2020, 1, 1, 0, 0, n)) for n in range(20)]
    first = [from_b2share(r) for r in records]
    assert [from_b2share(r) for r in reversed(records)] == first[::-1]


@pytest.mark.parametrize(
    "text",
    [
        "2017-03-02T17:07:13.895604+00:00",
        "2017-03-02T17:07:13Z",
        "2016-01-01T00:00:00+00:00",
        "2024-02-29T23:59:59.5Z",
        "2023-02-29T10:00:00Z",
        "0000-01-01T00:00:00Z",
        "2017-13-02T17:07:13Z",
        "2017-03-02T24:00:00Z",
        "2017-03-02T23:60:00Z",
        "2017-03-02T23:59:60Z",
        "2017-03-02t17:07:13z",
        "2017-03-02 17:07:13+00:00",
        "2017-03-02T17:07:13+0000",
        "2017-03-02T17:07:13-00:00",
        "2017-03-02T17:07:13+01:00",
        "2017-03-02T17:07Z",
        "٢٠١٧-03-02T17:07:13Z",
        " 2017-03-02T17:07:13Z ",
        "2017-03-02",
        "2017/2018",
    ],
)
def test_date_value_is_normalize_date(text):
    assert date_value(text) == normalize_date(text)


def json_config() -> dict:
    return {
        "records": "",
        "paging": {"style": "offset", "size": 2},
        "id": "productId",
        "fields": {"titles": "attributes[name=title].value"},
        "defaults": {"resourceTypeGeneral": "Dataset", "publisher": "MDM test"},
    }


@pytest.mark.parametrize("batch", [1, 3, 1000])
def test_batched_storing_counts_as_page_by_page(
    store: Store, api, rest_settings, monkeypatch, batch
):
    monkeypatch.setattr(rest_run, "WRITE_BATCH", batch)
    records = [mdm_record(f"p{i}", f"Product {i}") for i in range(7)]
    records.insert(5, records[1])  # listed twice, on two pages: two counts, as page by page
    store.add_source("mdm", "json", api(JsonApp(records, "offset")).url("/records"),
                     config=json_config())  # fmt: skip
    run = harvest_source(store, "mdm", rest_settings)
    assert run.status == "succeeded", run.message
    assert (run.counts.added, run.counts.unchanged, run.counts.seen) == (7, 1, 8)
    assert all(store.get_record(record_id("mdm", f"p{i}")) for i in range(7))
