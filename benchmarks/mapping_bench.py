"""Crosswalk benchmark: µs per record for the inbound mappings, XML parsing excluded.

    .venv/bin/python benchmarks/mapping_bench.py [--n 5000] [--repeat 3] [--cpu]

Cases (payload elements are parsed once, up front; only the mapping call is timed):

* ``oai_dc_synthetic``: N oai_dc records as served by benchmarks/synthetic_oai.py;
* ``oai_dc_zenodo``: the real Zenodo oai_dc records of the demo data (catalogue/demo/data/zenodo);
* ``datacite_zenodo``: the real Zenodo DataCite kernel-4 records there;
* ``b2share_real``: the real B2SHARE records of the demo data (JSON, already decoded);
* ``b2share_cut``: the same with a title and a description over the schema's limits, so
  every record takes the path where texts are cut.

Each case is run ``--repeat`` times and the best run counts. ``--cpu`` times with the
process's CPU clock instead of the wall clock: steadier on a shared, loaded host. Prints
the figures; the last line is one JSON object of them (µs per record).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_oai import respond  # noqa: E402
from mappings.b2share import from_b2share  # noqa: E402
from mappings.datacite import from_datacite  # noqa: E402
from mappings.namespaces import OAI_DC_NS  # noqa: E402
from mappings.oai_dc import from_oai_dc  # noqa: E402
from mappings.xml import parse_xml  # noqa: E402

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
ZENODO = ROOT / "catalogue" / "demo" / "data" / "zenodo"
B2SHARE = ROOT / "catalogue" / "demo" / "data" / "b2share"
DATACITE_KERNEL_4 = "http://datacite.org/schema/kernel-4"


def _payloads(root: etree._Element, namespace: str) -> list[etree._Element]:
    """The <metadata> payload roots in ``namespace`` of an OAI-PMH response."""
    return [
        child
        for metadata in root.iter(f"{{{OAI_NS}}}metadata")
        for child in metadata
        if isinstance(child.tag, str) and child.tag.startswith(f"{{{namespace}}}")
    ]


def synthetic_oai_dc(n: int) -> list[etree._Element]:
    # The synthetic server's own page builder, so the records match what the harvest bench maps.
    page = respond(n, {"verb": ["ListRecords"]}, page_size=n)
    return _payloads(parse_xml(page.encode()), OAI_DC_NS)


def zenodo(namespace: str) -> list[etree._Element]:
    return [
        payload
        for path in sorted(ZENODO.glob("*.xml"))
        for payload in _payloads(parse_xml(path.read_bytes()), namespace)
    ]


def b2share_records() -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    for path in sorted(B2SHARE.glob("record*.json")) + [
        B2SHARE / "v1_to_v2_upgrade_expected_records.json"
    ]:
        data = json.loads(path.read_text())
        hits += data if isinstance(data, list) else [data]
    return [hit for hit in hits if isinstance(hit.get("metadata"), dict)]


def b2share_cut_records() -> list[dict[str, Any]]:
    """Each real record with texts over their limits, cut where a space falls at the cut."""
    long_title = ("word " * 500).strip()  # 2,499 characters; the limit is 2,000
    long_text = "text " * 20_001  # over the 100,000 of a description
    records = []
    for hit in b2share_records():
        md = dict(hit["metadata"])
        md["titles"] = [{"title": long_title}]
        md["descriptions"] = [{"description": long_text, "description_type": "Abstract"}]
        records.append({**hit, "metadata": md})
    return records


def best_us_per_record(
    crosswalk: Callable[[Any], object],
    records: list[Any],
    repeat: int,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = clock()
        for record in records:
            crosswalk(record)
        best = min(best, clock() - started)
    return best / len(records) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="synthetic oai_dc records")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts")
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of wall time")
    args = parser.parse_args()

    cases = {
        "oai_dc_synthetic": (from_oai_dc, synthetic_oai_dc(args.n)),
        "oai_dc_zenodo": (from_oai_dc, zenodo(OAI_DC_NS)),
        "datacite_zenodo": (from_datacite, zenodo(DATACITE_KERNEL_4)),
        "b2share_real": (from_b2share, b2share_records()),
        "b2share_cut": (from_b2share, b2share_cut_records()),
    }
    results: dict[str, float | int] = {}
    for name, (crosswalk, records) in cases.items():
        # Repeat the small real-record sets so each timed run covers enough calls to be stable.
        copies = max(1, args.n // len(records))
        clock = time.process_time if args.cpu else time.perf_counter
        us = best_us_per_record(crosswalk, records * copies, args.repeat, clock)
        unit = "CPU µs/record" if args.cpu else "µs/record"
        print(f"{name:<18} {len(records):>5} records x{copies:<4} {us:8.1f} {unit}")
        results[f"{name}_us"] = round(us, 1)
        results[f"{name}_records"] = len(records)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
