"""schemathesis over the admin operations of the OpenAPI document, with a source that
exists (so GET, PATCH, DELETE and runs of a real key are reached, not only 404s): no 500,
no response the document does not describe, negative data refused."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# more with ADMIN_SCHEMATHESIS_EXAMPLES=500 (a longer hunt than the suite's few seconds)
EXAMPLES = int(os.environ.get("ADMIN_SCHEMATHESIS_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ADMIN_OPERATIONS = {
    "createSource",
    "probeSource",
    "getSource",
    "editSource",
    "deleteSource",
    "startRun",
    "getRun",
}


def test_admin_operations_under_schemathesis(admin_app) -> None:
    schema = schemathesis.openapi.from_url(f"{admin_app.url}/api/openapi.json")
    auth = {"Authorization": f"Bearer {admin_app.admin}"}
    failures: list[str] = []
    operations = [
        op.ok()
        for op in schema.get_all_operations()
        if op.ok().definition.raw.get("operationId") in ADMIN_OPERATIONS
    ]
    assert {op.definition.raw["operationId"] for op in operations} == ADMIN_OPERATIONS
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # a source that exists, for every operation (a DELETE example may remove it)
            if admin_app.store.get_source("seed") is None:
                admin_app.store.add_source("seed", "oai", "http://127.0.0.1:9/oai")
            fuzz(operation, mode, admin_app.url, auth, failures)
    assert not failures, "\n\n".join(failures[:8])


def fuzz(operation, mode: GenerationMode, url: str, auth: dict, failures: list[str]) -> None:
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case) -> None:
        if mode is GenerationMode.POSITIVE and "key" in (case.path_parameters or {}):
            case.path_parameters["key"] = "seed"  # reach the real source, not only 404s
        headers = {**(case.headers or {}), **auth}
        response = case.call(base_url=url, headers=headers)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except Exception as exc:  # noqa: BLE001 - every failure is kept
            failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, operation.label
