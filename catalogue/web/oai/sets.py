"""Names and descriptions of the provider's sets (setSpec hierarchy with ':')."""

from __future__ import annotations


def set_name(spec: str, source_urls: dict[str, str]) -> tuple[str, str]:
    """(setName, description) of a setSpec: what ListSets says about it."""
    parts = spec.split(":")
    if spec == "source":
        return "All records, by source", "Every record, in one subset per harvest source."
    if spec == "type":
        return (
            "All records, by resource type",
            "Every record, in one subset per DataCite resourceTypeGeneral.",
        )
    if parts[0] == "type":
        kind = ":".join(parts[1:])
        return f"Resource type {kind}", f"Records whose DataCite resourceTypeGeneral is {kind}."
    if parts[0] == "source" and len(parts) == 2:
        key = parts[1]
        url = source_urls.get(key)
        where = f"harvested from {url}" if url else "of this source"
        return f"Source {key}", f"Records {where} (source key {key})."
    if parts[0] == "source":
        key, sub = parts[1], ":".join(parts[2:])
        return f"{sub} ({key})", f"Records in set {sub} of source {key}."
    return spec, f"Records in set {spec}."
