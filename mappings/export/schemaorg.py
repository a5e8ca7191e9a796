"""Canonical metadata -> schema.org JSON-LD (as used by Google Dataset Search and DataCite)."""

from __future__ import annotations

SCHEMA_TYPES = {
    "Dataset": "Dataset",
    "Software": "SoftwareSourceCode",
    "ComputationalNotebook": "SoftwareSourceCode",
    "JournalArticle": "ScholarlyArticle",
    "ConferencePaper": "ScholarlyArticle",
    "DataPaper": "ScholarlyArticle",
    "Preprint": "ScholarlyArticle",
    "Text": "ScholarlyArticle",
    "Book": "Book",
    "BookChapter": "Chapter",
    "Dissertation": "Thesis",
    "Report": "Report",
    "Collection": "Collection",
    "Image": "ImageObject",
    "Audiovisual": "VideoObject",
    "Sound": "AudioObject",
    "Event": "Event",
    "Service": "Service",
    "Journal": "Periodical",
    "PeerReview": "Review",
}


def to_schema_org(metadata: dict, *, url: str | None = None) -> dict:
    """Build a schema.org JSON-LD document; ``url`` is the landing page, when known."""
    doi = _doi(metadata)
    general = (metadata.get("types") or {}).get("resourceTypeGeneral")
    titles = metadata.get("titles") or []
    doc: dict = {
        "@context": "https://schema.org",
        "@type": SCHEMA_TYPES.get(general, "CreativeWork"),
        "@id": f"https://doi.org/{doi}" if doi else url,
        "url": url,
        "identifier": _identifiers(metadata),
        "name": _main_title(titles),
        "alternateName": [t["title"] for t in titles if t.get("titleType")],
        "author": [_agent(c) for c in metadata.get("creators") or []],
        "contributor": [_agent(c) for c in metadata.get("contributors") or []],
        "description": _abstract(metadata.get("descriptions") or []),
        "keywords": ", ".join(s["subject"] for s in metadata.get("subjects") or []),
        "datePublished": _published(metadata),
        "dateModified": _date_of(metadata, "Updated"),
        "publisher": _publisher(metadata.get("publisher")),
        "license": [r["rightsUri"] for r in metadata.get("rightsList") or [] if _license(r)],
        "inLanguage": metadata.get("language"),
        "version": metadata.get("version"),
        "encodingFormat": metadata.get("formats"),
        "spatialCoverage": [_place(g) for g in metadata.get("geoLocations") or []],
        "funder": [_funder(f) for f in metadata.get("fundingReferences") or []],
    }
    return _compact(doc)


def _doi(metadata: dict) -> str | None:
    for ident in metadata.get("identifiers") or []:
        if ident.get("identifierType") == "DOI":
            return ident["identifier"]
    return None


def _identifiers(metadata: dict) -> list:
    result = []
    for ident in metadata.get("identifiers") or []:
        if ident["identifierType"] == "DOI":
            result.append(f"https://doi.org/{ident['identifier']}")
        else:
            result.append(
                {
                    "@type": "PropertyValue",
                    "propertyID": ident["identifierType"],
                    "value": ident["identifier"],
                }
            )
    return result


def _main_title(titles: list[dict]) -> str | None:
    main = [t["title"] for t in titles if not t.get("titleType")]
    return (main or [t["title"] for t in titles] or [None])[0]


def _agent(person: dict) -> dict:
    organisational = person.get("nameType") == "Organizational"
    orcid = next(
        (
            i["nameIdentifier"]
            for i in person.get("nameIdentifiers") or []
            if i.get("nameIdentifierScheme") == "ORCID"
        ),
        None,
    )
    return {
        "@type": "Organization" if organisational else "Person",
        "@id": orcid,
        "name": person["name"],
        "givenName": person.get("givenName"),
        "familyName": person.get("familyName"),
        "affiliation": [
            {"@type": "Organization", "@id": a.get("affiliationIdentifier"), "name": a["name"]}
            for a in person.get("affiliation") or []
        ],
    }


def _abstract(descriptions: list[dict]) -> str | None:
    abstracts = [d["description"] for d in descriptions if d.get("descriptionType") == "Abstract"]
    return (abstracts or [d["description"] for d in descriptions] or [None])[0]


def _date_of(metadata: dict, kind: str) -> str | None:
    return next((d["date"] for d in metadata.get("dates") or [] if d.get("dateType") == kind), None)


def _published(metadata: dict) -> str | None:
    year = metadata.get("publicationYear")
    return _date_of(metadata, "Issued") or (str(year) if year is not None else None)


def _publisher(name: str | None) -> dict | None:
    return {"@type": "Organization", "name": name} if name else None


def _license(rights: dict) -> bool:
    uri = rights.get("rightsUri") or ""
    # Access-rights terms (info:eu-repo/semantics/openAccess) are not licences.
    return uri.startswith(("http://", "https://"))


def _place(location: dict) -> dict:
    place: dict = {"@type": "Place", "name": location.get("geoLocationPlace")}
    if point := location.get("geoLocationPoint"):
        place["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": point["pointLatitude"],
            "longitude": point["pointLongitude"],
        }
    elif box := location.get("geoLocationBox"):
        # schema.org GeoShape box: "south west north east".
        corners = (
            box["southBoundLatitude"],
            box["westBoundLongitude"],
            box["northBoundLatitude"],
            box["eastBoundLongitude"],
        )
        place["geo"] = {"@type": "GeoShape", "box": " ".join(str(c) for c in corners)}
    elif polygon := location.get("geoLocationPolygon"):
        ring = [p["polygonPoint"] for p in polygon if "polygonPoint" in p]
        coords = " ".join(f"{p['pointLatitude']},{p['pointLongitude']}" for p in ring)
        place["geo"] = {"@type": "GeoShape", "polygon": coords}
    return place


def _funder(funding: dict) -> dict:
    return {
        "@type": "Organization",
        "@id": funding.get("funderIdentifier"),
        "name": funding["funderName"],
    }


def _compact(value):
    """Drop None, empty strings and empty containers so the JSON-LD stays clean."""
    if isinstance(value, dict):
        pruned = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        pruned = [_compact(v) for v in value]
        return [v for v in pruned if v not in (None, "", [], {})]
    return value
