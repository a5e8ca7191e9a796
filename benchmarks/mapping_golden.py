"""Golden check of the inbound crosswalks: their output, byte for byte, before and after a change.

    .venv/bin/python benchmarks/mapping_golden.py save DIR    # with the code as it is
    .venv/bin/python benchmarks/mapping_golden.py check DIR   # after a change: same bytes?

Maps every record the repository and the shared fixtures hold (every oai_dc and DataCite
payload of every XML file, every JSON object through each JSON crosswalk, the synthetic
records of the benchmarks) and writes each result, or the error it raised, as JSON with
its key order kept. ``check`` compares and names the first differences; the last line is
one JSON object (cases, differences). A speed change to a crosswalk must leave this clean.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mappings.b2share import from_b2share  # noqa: E402
from mappings.datacite import from_datacite, is_datacite_namespace  # noqa: E402
from mappings.datacite_json import from_datacite_json  # noqa: E402
from mappings.formats import map_payload  # noqa: E402
from mappings.metastore2 import from_metastore_record  # noqa: E402
from mappings.namespaces import OAI_DC_NS, OAI_NS  # noqa: E402
from mappings.oai_dc import from_oai_dc  # noqa: E402
from mappings.surf import from_surf  # noqa: E402
from mappings.unis import from_unis  # noqa: E402
from mappings.xml import parse_xml  # noqa: E402

TREES = [
    Path("/work/shared/fixtures"),
    ROOT / "tests",
    ROOT / "catalogue" / "demo" / "data",
]
JSON_CROSSWALKS: dict[str, Callable[[Any], Any]] = {
    "b2share": from_b2share,
    "surf": from_surf,
    "unis": from_unis,
    "metastore2": from_metastore_record,
    "datacite_json": from_datacite_json,
}


def _outcome(crosswalk: Callable[[Any], Any], record: Any) -> str:
    try:
        result = crosswalk(record)
    except Exception as exc:  # noqa: BLE001 - the error is part of the behaviour
        return f"error {type(exc).__name__}: {exc}"
    return json.dumps(result, ensure_ascii=False, default=repr)


def _files(suffix: str) -> Iterator[Path]:
    for tree in TREES:
        if tree.exists():
            yield from sorted(p for p in tree.rglob(f"*{suffix}") if ".venv" not in p.parts)


def _xml_cases() -> Iterator[tuple[str, Callable[[Any], Any], Any]]:
    for path in _files(".xml"):
        try:
            root = parse_xml(path.read_bytes())
        except Exception:  # noqa: BLE001 - not every fixture is meant to parse
            continue
        for index, el in enumerate(root.iter(tag=etree.Element)):
            ns = etree.QName(el).namespace
            name = f"{path}#{index}"
            if el.tag == f"{{{OAI_DC_NS}}}dc":
                yield f"{name}:oai_dc", from_oai_dc, el
            elif etree.QName(el).localname == "resource" and ns and is_datacite_namespace(ns):
                yield f"{name}:datacite", from_datacite, el
            elif el.tag == f"{{{OAI_NS}}}metadata":
                yield f"{name}:metadata", map_payload, el
                for child_index, child in enumerate(el.iterchildren(tag=etree.Element)):
                    yield f"{name}.{child_index}:payload", map_payload, child


def _objects(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item)


def _json_cases() -> Iterator[tuple[str, Callable[[Any], Any], Any]]:
    for path in _files(".json"):
        try:
            data = json.loads(path.read_text())
        except Exception:  # noqa: BLE001
            continue
        for index, obj in enumerate(_objects(data)):
            for name, crosswalk in JSON_CROSSWALKS.items():
                yield f"{path}#{index}:{name}", crosswalk, obj


def _synthetic_cases() -> Iterator[tuple[str, Callable[[Any], Any], Any]]:
    sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests" / "harvester" / "rest")]
    from datetime import datetime, timedelta

    from rest_servers import b2share_record
    from synthetic_oai import respond

    root = parse_xml(respond(600, {"verb": ["ListRecords"]}, page_size=600).encode())
    for index, el in enumerate(root.iter(f"{{{OAI_DC_NS}}}dc")):
        yield f"synthetic-oai#{index}", from_oai_dc, el
    start = datetime(2016, 1, 1)
    for i in range(300):
        record = b2share_record(i, start + timedelta(hours=7 * i), "e9b9792e")
        yield f"synthetic-b2share#{i}", from_b2share, record


def results() -> dict[str, str]:
    out: dict[str, str] = {}
    for cases in (_xml_cases(), _json_cases(), _synthetic_cases()):
        for name, crosswalk, record in cases:
            out[name] = _outcome(crosswalk, record)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("save", "check"))
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    now = results()
    golden = args.directory / "golden.json"
    if args.action == "save":
        args.directory.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(now, ensure_ascii=False, indent=0))
        digest = hashlib.sha256(golden.read_bytes()).hexdigest()[:16]
        print(json.dumps({"cases": len(now), "saved": str(golden), "sha256": digest}))
        return
    before = json.loads(golden.read_text())
    differ = [name for name in before.keys() | now.keys() if before.get(name) != now.get(name)]
    for name in sorted(differ)[:10]:
        print(f"DIFF {name}\n  before: {before.get(name)!s:.400}\n  now:    {now.get(name)!s:.400}")
    print(json.dumps({"cases": len(now), "differences": len(differ)}))
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
