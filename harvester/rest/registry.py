"""The REST source types: their config schemas (checked at registration) and harvesters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from jsonschema import Draft202012Validator

from harvester.rest import b2share, generic, metastore2, surf, unis
from harvester.rest.core import ConfigError, RecordRequest, RestClient, RestPage
from mappings import Mapped

COMMON_SCHEMA: dict[str, Any] = {
    "auth": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "type": {"enum": ["header", "query"]},
            "header": {"type": "string", "minLength": 1},
            "scheme": {"type": "string"},
            "param": {"type": "string", "minLength": 1},
            "token": {"type": "string", "minLength": 1},
            "token_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        },
        "anyOf": [{"required": ["token"]}, {"required": ["token_env"]}],
    },
    # Every wait a source's settings make is bounded: requests per second down to one per
    # 100 s, a connect/read timeout up to an hour, a whole response up to a day, a backoff
    # up to 10 minutes (1e-6 requests/s held a run, its lease and a web thread for days).
    "rate_limit": {"type": "number", "minimum": 0.01, "maximum": 1000},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
    "max_retries": {"type": "integer", "minimum": 0, "maximum": 20},
    "backoff": {"type": "number", "minimum": 0, "maximum": 600},
    "max_page_bytes": {"type": "integer", "minimum": 1024, "maximum": 2**40},
    "response_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 86400},
    "max_delete_fraction": {"type": "number", "minimum": 0, "maximum": 1},
    "incremental": {"type": "boolean"},
    # OAI-PMH: harvest in date windows of this size (harvester.windows)
    "window": {"enum": ["", "month", "week", "day"]},
}


class Harvester(Protocol):
    raw_format: str
    incremental: bool

    def pages(self, since: datetime | None) -> Iterator[RestPage]: ...

    def map(self, payload: Any) -> Mapped: ...

    # Optional: ``worker_mapper() -> Callable[[Any], Mapped]``, ``map`` as a picklable
    # function of the payload, lets a worker process map pages (harvester.map_ahead);
    # ``raw_is_payload_json = True`` says each record's raw is its payload's compact JSON,
    # so the worker gets the bytes alone and decodes them (harvester.rest.run._batch_of).

    def record_request(self, source_id: str) -> RecordRequest | None:
        """The record's own URL, to check a deletion candidate; None when the API has none."""
        ...


@dataclass(frozen=True)
class SourceType:
    name: str
    make: Callable[[RestClient, Mapping[str, Any]], Harvester]
    properties: dict[str, Any]
    required: list[str] = field(default_factory=list)
    check: Callable[[Mapping[str, Any]], list[str]] | None = None

    def schema(self) -> dict[str, Any]:
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"config of a {self.name} source",
            "type": "object",
            "additionalProperties": False,
            "required": self.required,
            "properties": {**COMMON_SCHEMA, **self.properties},
        }


REST_TYPES: dict[str, SourceType] = {
    "b2share": SourceType("b2share", b2share.B2ShareHarvester, b2share.CONFIG_SCHEMA),
    "surf": SourceType("surf", surf.SurfHarvester, surf.CONFIG_SCHEMA),
    "metastore2": SourceType("metastore2", metastore2.MetastoreHarvester, metastore2.CONFIG_SCHEMA),
    "unis": SourceType("unis", unis.UnisHarvester, unis.CONFIG_SCHEMA),
    "json": SourceType(
        "json", generic.JsonHarvester, generic.CONFIG_SCHEMA, generic.REQUIRED, generic.check_config
    ),
}


def validate_config(type_: str, config: Any) -> dict[str, Any]:
    """The config of a ``type_`` source, checked; ConfigError listing every problem."""
    kind = REST_TYPES.get(type_)
    if kind is None:
        raise ConfigError(f"unknown REST source type {type_!r}")
    if not isinstance(config, dict):
        raise ConfigError(f"the config of a {type_} source is an object (a table)")
    validator = Draft202012Validator(kind.schema())
    problems = [
        f"{'/'.join(str(p) for p in err.absolute_path) or '(top)'}: {err.message}"
        for err in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    ]
    if not problems and kind.check is not None:
        problems = kind.check(config)
    if problems:
        raise ConfigError(f"invalid {type_} source config: " + "; ".join(problems))
    return config


OAI_CONFIG_KEYS = (
    "auth",
    "rate_limit",
    "timeout",
    "max_retries",
    "backoff",
    "max_page_bytes",
    "response_timeout",
    "window",
)


def validate_oai_config(config: Any) -> dict[str, Any]:
    """The config of an OAI-PMH source: the HTTP settings REST sources have, auth included
    (a header or query token, from the environment with ``token_env``)."""
    if not isinstance(config, dict):
        raise ConfigError("the config of an oai source is an object (a table)")
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {k: COMMON_SCHEMA[k] for k in OAI_CONFIG_KEYS},
    }
    problems = [
        f"{'/'.join(str(p) for p in err.absolute_path) or '(top)'}: {err.message}"
        for err in sorted(
            Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path)
        )
    ]
    if problems:
        raise ConfigError("invalid oai source config: " + "; ".join(problems))
    return config


def make_harvester(type_: str, client: RestClient, config: Mapping[str, Any]) -> Harvester:
    return REST_TYPES[type_].make(client, config)
