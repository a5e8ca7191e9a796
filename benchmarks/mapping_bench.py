"""Crosswalk benchmark: µs per record for the inbound mappings, XML parsing excluded.

    .venv/bin/python benchmarks/mapping_bench.py [--n 5000] [--repeat 3]

Cases (payload elements are parsed once, up front; only the mapping call is timed):

* ``oai_dc_synthetic``: N oai_dc records as served by benchmarks/synthetic_oai.py;
* ``oai_dc_zenodo``: the real Zenodo oai_dc records in tests/fixtures/oai-pmh/zenodo;
* ``datacite_zenodo``: the real Zenodo DataCite kernel-4 records there.

Each case is run ``--repeat`` times and the best run counts. Prints the figures; the last
line is one JSON object of them (µs per record).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_oai import respond  # noqa: E402
from mappings.datacite import from_datacite  # noqa: E402
from mappings.oai_dc import OAI_DC_NS, from_oai_dc  # noqa: E402
from mappings.xml import parse_xml  # noqa: E402

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
ZENODO = ROOT / "tests" / "fixtures" / "oai-pmh" / "zenodo"
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


def best_us_per_record(
    crosswalk: Callable[[etree._Element], object], records: list[etree._Element], repeat: int
) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for record in records:
            crosswalk(record)
        best = min(best, time.perf_counter() - started)
    return best / len(records) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="synthetic oai_dc records")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts")
    args = parser.parse_args()

    cases = {
        "oai_dc_synthetic": (from_oai_dc, synthetic_oai_dc(args.n)),
        "oai_dc_zenodo": (from_oai_dc, zenodo(OAI_DC_NS)),
        "datacite_zenodo": (from_datacite, zenodo(DATACITE_KERNEL_4)),
    }
    results: dict[str, float | int] = {}
    for name, (crosswalk, records) in cases.items():
        # Repeat the small real-record sets so each timed run covers enough calls to be stable.
        copies = max(1, args.n // len(records))
        us = best_us_per_record(crosswalk, records * copies, args.repeat)
        print(f"{name:<18} {len(records):>5} records x{copies:<4} {us:8.1f} µs/record")
        results[f"{name}_us"] = round(us, 1)
        results[f"{name}_records"] = len(records)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
