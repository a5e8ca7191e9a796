"""The settings' shape: one frozen dataclass per section of default.toml, with the limits
each value is checked against (the loader, :mod:`catalogue.config`, reads and checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalogue.config.search_url import check_search_url, redacted_url
from harvester.settings import HarvestSettings
from harvester.url_policy import parse_networks
from harvester.windows import WINDOW_UNITS


def _limits(
    minimum: float | None = None, maximum: float | None = None, *, positive: bool = False
) -> Any:
    return field(metadata={"min": minimum, "max": maximum, "positive": positive})


def _non_empty(*, secret: bool = False) -> Any:
    return field(metadata={"non_empty": True}, repr=not secret)


def _secret() -> Any:
    """A credential: left out of the settings' repr, so it never reaches a log."""
    return field(repr=False)


def _readable_file(path: str) -> None:
    """Empty, or a file this process can open (a CA bundle: a typo is not a failed TLS
    handshake at the first search)."""
    if path:
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise ValueError(f"cannot read the file: {exc.strerror}") from None


@dataclass(frozen=True)
class IngestSettings:
    max_list_items: int = _limits(1)
    max_record_bytes: int = _limits(1)
    max_patch_operations: int = _limits(1)
    depositors_register_schemas: bool
    schema_timeout: float = _limits(positive=True)
    schema_workers: int = _limits(1)


@dataclass(frozen=True)
class SearchSettings:
    default_page_size: int = _limits(0)
    max_page_size: int = _limits(1)
    max_result_window: int = _limits(1)
    indexer_interval: float = _limits(positive=True)
    index_alias: str = _non_empty()
    api_key: str = _secret()
    username: str
    password: str = _secret()
    ca_certs: str = field(metadata={"check": _readable_file})
    verify_certs: bool
    timeout: float = _limits(positive=True)
    shards: int = _limits(1)
    replicas: int = _limits(0)


@dataclass(frozen=True)
class OaiSettings:
    repository_name: str = _non_empty()
    repository_identifier: str = _non_empty()
    admin_email: str = _non_empty()
    base_url: str
    page_size: int = _limits(1)
    stylesheet: bool


@dataclass(frozen=True)
class NoticesSettings:
    """Where failed runs are told: a webhook and/or e-mail (an empty one is not used)."""

    webhook_url: str
    email_to: str
    failures_in_a_row: int = _limits(1)
    smtp_host: str
    smtp_port: int = _limits(1, 65535)
    smtp_from: str = _non_empty()
    smtp_user: str
    smtp_password: str = _secret()
    smtp_starttls: bool
    timeout: float = _limits(positive=True)


@dataclass(frozen=True)
class MdmSettings:
    # MDM attribute name -> canonical target (a table; empty: the crosswalk's own map).
    attributes: dict[str, str]


@dataclass(frozen=True)
class SchedulerSettings:
    lease_seconds: float = _limits(positive=True)
    jitter_seconds: float = _limits(0)
    misfire_grace_seconds: float = _limits(0)
    sync_seconds: float = _limits(positive=True)
    queue_poll_seconds: float = _limits(positive=True)
    workers: int = _limits(1)
    keep_runs_days: float = _limits(positive=True)
    keep_runs_per_source: int = _limits(1)


@dataclass(frozen=True)
class Settings:
    """Everything configurable; ``database_url`` and ``index_dir`` are resolved (never empty)
    and ``data_dir`` is absolute."""

    data_dir: str = _non_empty()
    database_url: str
    index_dir: str
    # shown without its credentials in a settings error
    search_url: str = field(metadata={"check": check_search_url, "shown": redacted_url})
    secret_key: str = _non_empty(secret=True)
    max_request_bytes: int = _limits(1)
    max_response_bytes: int = _limits(1)
    ingest: IngestSettings
    search: SearchSettings
    oai: OaiSettings
    harvest: HarvestSettings
    scheduler: SchedulerSettings
    mdm: MdmSettings
    notices: NoticesSettings


def _window(unit: str) -> None:
    if unit and unit not in WINDOW_UNITS:
        raise ValueError(f"use one of {', '.join(WINDOW_UNITS)} or nothing")


# Limits of sections whose dataclass lives outside the catalogue (the harvester's carries
# no configuration machinery).
_LIMITS: dict[type, dict[str, dict[str, Any]]] = {
    HarvestSettings: {
        "timeout": {"positive": True},
        "response_timeout": {"positive": True},
        "window": {"check": _window},
        "max_retries": {"min": 0, "max": 20},
        "backoff": {"min": 0},
        "overlap_seconds": {"min": 0},
        "max_page_bytes": {"min": 1024},
        "user_agent": {"non_empty": True},
        "deny_networks": {"check": parse_networks},
        "max_delete_fraction": {"min": 0, "max": 1},
    }
}
