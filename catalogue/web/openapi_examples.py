"""Examples for the OpenAPI document: one request (where there is a body) and one success
response per operation, shown by the interactive docs at /api/docs."""

from __future__ import annotations

import copy
from typing import Any

RID = "gezdgnbvgy3tqojq"
METADATA = {
    "identifiers": [{"identifier": "10.5281/zenodo.8406062", "identifierType": "DOI"}],
    "creators": [
        {
            "name": "Müller, Anna",
            "nameType": "Personal",
            "givenName": "Anna",
            "familyName": "Müller",
            "nameIdentifiers": [
                {
                    "nameIdentifier": "https://orcid.org/0000-0002-1825-0097",
                    "nameIdentifierScheme": "ORCID",
                }
            ],
        }
    ],
    "titles": [{"title": "Arctic sea ice thickness from CryoSat-2"}],
    "publisher": "Zenodo",
    "publicationYear": 2021,
    "types": {"resourceTypeGeneral": "Dataset"},
    "subjects": [{"subject": "Sea ice"}],
    "rightsList": [
        {
            "rights": "Creative Commons Attribution 4.0 International",
            "rightsUri": "https://creativecommons.org/licenses/by/4.0/",
            "rightsIdentifier": "CC-BY-4.0",
            "rightsIdentifierScheme": "SPDX",
        }
    ],
}
RECORD_INPUT = {"metadata": METADATA}
RECORD = {
    "id": RID,
    "source": "local",
    "source_id": RID,
    "deleted": False,
    "sets": [],
    "datestamp": "2024-05-01T12:00:00Z",
    "source_datestamp": None,
    "harvested_at": None,
    "created_at": "2024-05-01T12:00:00Z",
    "original": {"format": None},
    "metadata": METADATA,
    "schema": None,
    "created_by": "depositor",
    "updated_by": "depositor",
    "links": {"self": f"https://catalogue.example.org/api/records/{RID}"},
}
SEARCH_RESULT = {
    "hits": [RECORD],
    "total": 1,
    "aggregations": {"type": [{"key": "Dataset", "count": 1}]},
    "links": {"self": "https://catalogue.example.org/api/records?q=sea+ice&sort=relevance"},
}
SCHEMA_INFO = {
    "id": "my-schema",
    "version": 1,
    "type": "json",
    "label": "Instrument metadata",
}
DATACITE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<resource xmlns="http://datacite.org/schema/kernel-4">
  <identifier identifierType="DOI">10.5281/zenodo.8406062</identifier>
  <creators><creator><creatorName>Müller, Anna</creatorName></creator></creators>
  <titles><title>Arctic sea ice thickness from CryoSat-2</title></titles>
  <publisher>Zenodo</publisher>
  <publicationYear>2021</publicationYear>
  <resourceType resourceTypeGeneral="Dataset"/>
</resource>
"""

# shared parameters (components/parameters) -> example value
PARAMETER_EXAMPLES = {"rid": RID, "ifMatch": '"3f2a9c1e"', "validate": True, "atomic": False}
QUERY_EXAMPLES = {"q": "sea ice +arctic", "type": "Dataset", "year": "2021", "sort": "newest"}

# operationId -> {"request": example, "response": (status, media type, example)}
EXAMPLES: dict[str, dict[str, Any]] = {
    "searchRecords": {"response": ("200", "application/json", SEARCH_RESULT)},
    "createRecords": {
        "request": {
            "application/json": RECORD_INPUT,
            "application/vnd.datacite.datacite+xml": DATACITE_XML,
        },
        "response": ("201", "application/json", RECORD),
    },
    "getRecord": {"response": ("200", "application/json", RECORD)},
    "replaceRecord": {
        "request": {"application/json": RECORD_INPUT},
        "response": ("200", "application/json", RECORD),
    },
    "patchRecord": {
        "request": {
            "application/json-patch+json": [
                {"op": "replace", "path": "/metadata/titles/0/title", "value": "A new title"}
            ]
        },
        "response": ("200", "application/json", RECORD),
    },
    "deleteRecord": {"response": ("204", None, None)},
    "getRecordDocument": {"response": ("200", "application/xml", DATACITE_XML)},
    "listSchemas": {
        "response": ("200", "application/json", {"schemas": [SCHEMA_INFO], "total": 1})
    },
    "registerSchema": {
        "request": {
            "application/json": {
                "id": "my-schema",
                "type": "json",
                "label": "Instrument metadata",
                "content": {
                    "type": "object",
                    "required": ["instrument"],
                    "properties": {"instrument": {"type": "string"}},
                },
            }
        },
        "response": ("201", "application/json", SCHEMA_INFO),
    },
    "getSchema": {"response": ("200", "application/json", SCHEMA_INFO)},
    "listSources": {
        "response": (
            "200",
            "application/json",
            {
                "sources": [
                    {
                        "key": "zenodo",
                        "type": "oai",
                        "url": "https://zenodo.org/oai2d",
                        "records": 1200,
                    }
                ]
            },
        )
    },
    "listRuns": {
        "response": (
            "200",
            "application/json",
            {"runs": [{"id": 7, "source": "zenodo", "status": "succeeded", "added": 12}]},
        )
    },
    "getOpenApi": {"response": ("200", "application/json", {"openapi": "3.1.0"})},
    "getApiDocs": {"response": ("200", "text/html", "<!doctype html>…")},
}


def add_examples(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with the examples of :data:`EXAMPLES` on its operations (in place)."""
    parameters = doc.get("components", {}).get("parameters", {})
    for name, example in PARAMETER_EXAMPLES.items():
        if name in parameters:
            parameters[name]["example"] = example
    for item in doc["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or operation.get("operationId") not in EXAMPLES:
                continue
            examples = EXAMPLES[operation["operationId"]]
            for parameter in operation.get("parameters", []):
                if parameter.get("name") in QUERY_EXAMPLES:
                    parameter["example"] = QUERY_EXAMPLES[parameter["name"]]
            body = operation.get("requestBody", {}).get("content", {})
            for media_type, example in examples.get("request", {}).items():
                if media_type in body:
                    body[media_type]["example"] = copy.deepcopy(example)
            status, media_type, example = examples["response"]
            response = operation.get("responses", {}).get(status)
            if response is None or media_type is None:
                continue
            content = response.setdefault("content", {})
            if media_type in content:
                content[media_type]["example"] = copy.deepcopy(example)
    return doc
