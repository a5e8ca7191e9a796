"""perfSONAR UNIS metadata objects -> canonical metadata.

A UNIS metadata object describes a measurement: ``id``, ``ts`` (server time stamp in
microseconds since the epoch), ``selfRef`` (its URL), ``subject`` (``{href, rel}``: what is
measured, e.g. a port), ``eventType`` (what is measured about it) and ``parameters``.
None of it is bibliographic, so the record is a ``Dataset`` whose title names the
measurement, with the event type as a subject, the subject as a related identifier and
the parameters as technical information.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mappings import Mapped, MappingError
from mappings._shared import finish
from mappings.json_common import LONG, clean, identifier, unique, unmapped

RAW_FORMAT = "unis-json"
EVENT_TYPE_SCHEME = "perfSONAR eventType"
_HANDLED = {"id", "ts", "selfRef", "subject", "eventType", "parameters", "$schema"}


def ts_to_datetime(ts: Any) -> datetime | None:
    """UNIS ``ts`` (microseconds since the epoch) as naive UTC; None when not a number."""
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    try:
        return datetime.fromtimestamp(ts / 1_000_000, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def from_unis(obj: Mapping[str, Any], publisher: str | None = None) -> Mapped:
    """Map one UNIS metadata object; ``publisher`` names the UNIS instance's operator."""
    if not isinstance(obj, Mapping):
        raise MappingError(f"a UNIS metadata object is a JSON object, not {type(obj).__name__}")
    uid = clean(obj.get("id"))
    if uid is None:
        raise MappingError("UNIS metadata object without id")
    warnings: list[str] = []
    event_type = clean(obj.get("eventType"))
    subject = obj.get("subject") if isinstance(obj.get("subject"), Mapping) else {}
    href = clean(subject.get("href"))
    when = ts_to_datetime(obj.get("ts"))
    if obj.get("ts") is not None and when is None:
        warnings.append(f"unreadable ts {obj.get('ts')!r}")
    title = f"{event_type or 'measurement'} of {href}" if href else (event_type or None)
    parameters = obj.get("parameters")
    description = None
    if isinstance(parameters, Mapping) and parameters:
        description = json.dumps(parameters, sort_keys=True, ensure_ascii=False)[:LONG]
    md = {
        "identifiers": unique(
            i
            for i in (identifier(obj.get("selfRef")), {"identifier": uid, "identifierType": "UNIS"})
            if i  # fmt: skip
        ),
        "titles": [{"title": title}] if title else [],
        "publisher": clean(publisher),
        "publicationYear": when.year if when else None,
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "perfSONAR measurement"},
        "subjects": [{"subject": event_type, "subjectScheme": EVENT_TYPE_SCHEME}]
        if event_type
        else [],
        "dates": [{"date": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "dateType": "Updated"}]
        if when
        else [],
        "relatedIdentifiers": [
            {
                "relatedIdentifier": href,
                "relatedIdentifierType": "URL",
                "relationType": "IsMetadataFor",
            }  # fmt: skip
        ]
        if href
        else [],
        "descriptions": [{"description": description, "descriptionType": "TechnicalInfo"}]
        if description
        else [],
        "extra": {
            "unis": {
                "schema": clean(obj.get("$schema")),
                "subject_rel": clean(subject.get("rel")),
                "parameters": parameters if isinstance(parameters, Mapping) else None,
                "unmapped": unmapped(obj, _HANDLED, warnings, "UNIS") or None,
            }
        },
    }
    return finish(md, warnings), warnings
