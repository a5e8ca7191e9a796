"""The checks of a source's fields, shared by the CLI, the admin API and the admin pages:
each field's problem in words, so every caller can name each bad field at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from catalogue.config import Settings
from catalogue.model import LOCAL_SOURCE
from catalogue.schedules import BadSchedule, normalize_schedule
from harvester.harvest import SOURCE_TYPES
from harvester.sink import MAX_SET_SPEC_CHARS, SET_SPEC

FIELDS = ("key", "url", "type", "metadata_prefix", "sets", "schedule", "config", "enabled")
EDITABLE = FIELDS[1:]
"""Fields an edit may change (the key names the source for good)."""
RESTART_FIELDS = ("url", "type", "metadata_prefix", "sets")
"""Fields whose change makes the next run a full one (what is harvested changed)."""
MAX_SETS = 100
# OAI-PMH metadataPrefix: URI unreserved characters.
_PREFIX = re.compile(r"[A-Za-z0-9\-_.!~*'()]{1,64}")


def key_problem(key: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return "a key is 1-64 letters, digits, '-', '_' or '.'"
    if len(key) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in key):
        return "use 1-64 letters, digits, '-', '_' or '.'"
    if key == LOCAL_SOURCE:
        return f"{LOCAL_SOURCE!r} is reserved for records deposited through the API"
    return None


def url_problem(url: Any, settings: Settings) -> str | None:
    """An http(s) URL without whitespace, outside the denied address ranges (checked on the
    resolved addresses now, again at every connection), not this catalogue's own endpoint."""
    from harvester.url_policy import UrlPolicy, UrlRefused

    if not isinstance(url, str) or not url:
        return "an http(s) URL"
    if len(url) > 2000:
        return "at most 2000 characters"
    try:
        UrlPolicy(settings.harvest.deny_networks).check_url(url)
    except UrlRefused as exc:
        return str(exc)
    own = settings.oai.base_url
    if own and _same_endpoint(url, own):
        return "this is the catalogue's own OAI-PMH endpoint"
    return None


def _same_endpoint(a: str, b: str) -> bool:
    def key(url: str) -> tuple[str, str | None, int | None, str]:
        parts = urlsplit(url)
        return (parts.scheme, parts.hostname, parts.port, parts.path.rstrip("/"))

    try:
        return key(a) == key(b)
    except ValueError:
        return False


def config_problem(type_: str, config: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The checked config of a ``type_`` source (REST types by their JSON Schema, so a bad
    field map is refused at registration rather than mid-harvest), or its problem."""
    from harvester.rest.core import ConfigError
    from harvester.rest.registry import validate_config, validate_oai_config

    try:
        if type_ == "oai":
            return validate_oai_config({} if config is None else config), None
        return validate_config(type_, {} if config is None else config), None
    except ConfigError as exc:
        return None, str(exc)


def check_source(
    values: Mapping[str, Any],
    settings: Settings,
    *,
    current: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a new source (``current`` None) or an edit of ``current``'s fields; the clean
    values given and a problem per bad field (unknown fields are problems too)."""
    clean: dict[str, Any] = {}
    problems: dict[str, str] = {}
    allowed = FIELDS if current is None else EDITABLE
    for name in values:
        if name not in allowed:
            problems[name] = (
                "the key of a source cannot change" if name == "key" else "unknown field"
            )
    if current is None:
        if "key" not in values:
            problems["key"] = "required"
        elif (p := key_problem(values["key"])) is not None:
            problems["key"] = p
        else:
            clean["key"] = values["key"]
        if "url" not in values:
            problems["url"] = "required"
    if "url" in values:
        if (p := url_problem(values["url"], settings)) is not None:
            problems["url"] = p
        else:
            clean["url"] = values["url"]
    type_ = values.get("type", (current or {}).get("type", "oai"))
    if "type" in values or current is None:
        if type_ not in SOURCE_TYPES:
            problems["type"] = f"one of {', '.join(SOURCE_TYPES)}"
        else:
            clean["type"] = type_
    if "metadata_prefix" in values:
        prefix = values["metadata_prefix"]
        if prefix is not None and (
            not isinstance(prefix, str) or (prefix and not _PREFIX.fullmatch(prefix))
        ):
            problems["metadata_prefix"] = "an OAI-PMH metadataPrefix (1-64 characters) or null"
        else:
            clean["metadata_prefix"] = prefix or None
    if "sets" in values:
        sets = values["sets"]
        if sets is None:
            sets = []
        if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
            problems["sets"] = "a list of OAI-PMH setSpecs"
        elif len(sets) > MAX_SETS:
            problems["sets"] = f"at most {MAX_SETS} sets"
        elif bad := [s for s in sets if not SET_SPEC.fullmatch(s) or len(s) > MAX_SET_SPEC_CHARS]:
            problems["sets"] = f"not OAI-PMH setSpec syntax: {bad[0][:80]!r}"
        else:
            clean["sets"] = list(dict.fromkeys(sets))
    if "schedule" in values:
        try:
            clean["schedule"] = normalize_schedule(values["schedule"])
        except BadSchedule as exc:
            problems["schedule"] = str(exc)
    if "enabled" in values:
        if not isinstance(values["enabled"], bool):
            problems["enabled"] = "true or false"
        else:
            clean["enabled"] = values["enabled"]
    # The config is checked against the (new) type; a type change re-checks the old config.
    if ("config" in values or "type" in values or current is None) and "type" not in problems:
        config = values.get("config", (current or {}).get("config") if current else None)
        checked, problem = config_problem(type_, config)
        if problem is not None:
            problems["config"] = problem
        elif "config" in values or current is None:
            clean["config"] = checked
    return clean, problems
