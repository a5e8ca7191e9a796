"""Settings: ``default.toml`` (beside this module, the one place defaults live), then an
optional file named by ``CATALOGUE_CONFIG``, then ``CATALOGUE_*`` environment variables.

The result is one frozen :class:`Settings` with a frozen dataclass per section, built once
(by the CLI, or by whoever calls :func:`load_settings`) and passed down. Every value is
checked while building it: an unknown key or variable, a value of the wrong type or out
of range, an unreadable file each raise :class:`SettingsError` with one line naming the
setting, so a typo never falls back silently to a default.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from catalogue.config.sections import (
    _LIMITS,
    IngestSettings,
    MdmSettings,
    NoticesSettings,
    OaiSettings,
    SchedulerSettings,
    SearchSettings,
    Settings,
)
from harvester.settings import HarvestSettings
from harvester.url_policy import instance_id

ENV_PREFIX = "CATALOGUE_"
CONFIG_VARIABLE = ENV_PREFIX + "CONFIG"
# Variables under the prefix that are not settings: the config file's name, and the test
# suite's own (``CATALOGUE_TEST_PG_URL``, ...).
_NOT_SETTINGS = (CONFIG_VARIABLE,)
_RESERVED_PREFIXES = (ENV_PREFIX + "TEST_",)


__all__ = [
    "HarvestSettings",
    "IngestSettings",
    "MdmSettings",
    "NoticesSettings",
    "OaiSettings",
    "SchedulerSettings",
    "SearchSettings",
    "Settings",
    "SettingsError",
    "env_variable",
    "is_default_secret",
    "load_settings",
]


class SettingsError(ValueError):
    """A setting that cannot be used; the message is one line naming it."""


def _table_values() -> frozenset[str]:
    """Settings whose value is itself a table (``mdm.attributes``): merged whole."""
    names = set()
    for section in dataclasses.fields(Settings):
        kind = typing.get_type_hints(Settings)[section.name]
        if dataclasses.is_dataclass(kind):
            hints = typing.get_type_hints(kind)
            names |= {
                f"{section.name}.{f.name}"
                for f in dataclasses.fields(kind)
                if hints[f.name] == dict[str, str]
            }
    return frozenset(names)


def load_settings(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """The settings; ``overrides`` (same shape as the TOML) win over everything.

    ``env`` defaults to ``os.environ``; pass ``{}`` to ignore the environment.
    """
    env = os.environ if env is None else env
    merged = copy.deepcopy(_defaults())
    extra = env.get(CONFIG_VARIABLE)
    if extra:
        _merge(merged, _read_config_file(Path(extra)), source=extra)
    _merge(merged, _from_env(env), source="the environment")
    if overrides:
        _merge(merged, copy.deepcopy(dict(overrides)), source="overrides")
    _resolve_paths(merged)
    settings: Settings = _build(Settings, merged, "")
    # The harvester refuses responses carrying this id: the catalogue never harvests itself.
    own = instance_id(settings.secret_key, settings.database_url)
    return dataclasses.replace(
        settings, harvest=dataclasses.replace(settings.harvest, instance_id=own)
    )


def is_default_secret(settings: Settings) -> bool:
    """Whether ``secret_key`` is still the published default (anyone could sign tokens)."""
    return settings.secret_key == _defaults()["secret_key"]


def env_variable(name: str) -> str:
    """The environment variable of setting ``name`` (``"harvest.timeout"``)."""
    return ENV_PREFIX + name.replace(".", "_").upper()


_TABLE_VALUES = _table_values()


# -- reading -------------------------------------------------------------------------


@cache
def _defaults() -> dict[str, Any]:
    text = files(__name__).joinpath("default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SettingsError(f"{CONFIG_VARIABLE}={path}: cannot read the file: {reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{CONFIG_VARIABLE}={path}: not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], new: Mapping[str, Any], *, source: str, prefix: str = "") -> None:
    """Lay ``new`` over ``base``; a key the defaults do not have is an error."""
    for key, value in new.items():
        name = f"{prefix}{key}"
        if key not in base:
            raise SettingsError(f"unknown setting {name} in {source}{_suggest(key, base, prefix)}")
        if isinstance(base[key], dict) and name not in _TABLE_VALUES:
            if not isinstance(value, Mapping):
                raise SettingsError(f"{name} in {source} must be a table ([{name}])")
            _merge(base[key], value, source=source, prefix=f"{name}.")
        elif isinstance(value, Mapping) and name not in _TABLE_VALUES:
            raise SettingsError(f"{name} in {source} is a single value, not a table")
        else:
            base[key] = value if isinstance(value, _Given) else _Given(value, source)


def _suggest(key: str, known: Mapping[str, Any], prefix: str) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {prefix}{close[0]}?)" if close else ""


def _setting_names() -> dict[str, tuple[str, ...]]:
    """Every environment variable that names a setting -> the setting's path."""
    names: dict[str, tuple[str, ...]] = {}
    for key, value in _defaults().items():
        if isinstance(value, dict) and key not in _TABLE_VALUES:
            for sub in value:
                names[env_variable(f"{key}.{sub}")] = (key, sub)
        else:
            names[env_variable(key)] = (key,)
    return names


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment sets, still as strings (typed when built)."""
    names = _setting_names()
    found: dict[str, Any] = {}
    for variable, raw in env.items():
        if not variable.startswith(ENV_PREFIX) or variable in _NOT_SETTINGS:
            continue
        if variable.startswith(_RESERVED_PREFIXES):
            continue
        path = names.get(variable)
        if path is None:
            close = difflib.get_close_matches(variable, [*names, *_NOT_SETTINGS], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f"unknown setting variable {variable}{hint}")
        target = found
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = _Given(raw, variable, from_env=True)
    return found


@dataclass(frozen=True)
class _Given:
    """A value laid over the defaults, with where it came from (a file, ``overrides``, or
    an environment variable, whose value is a string typed when the section is built), so
    that a message can say where to fix it."""

    value: Any
    origin: str
    from_env: bool = False


def _resolve_paths(merged: dict[str, Any]) -> None:
    """``data_dir`` made absolute; empty ``database_url`` and ``index_dir`` placed in it."""
    data_dir = _plain(merged["data_dir"])
    if not isinstance(data_dir, str) or not data_dir.strip():
        return  # refused, naming where it came from, when the settings are built
    resolved = Path(data_dir).expanduser().resolve()
    merged["data_dir"] = str(resolved)
    if _plain(merged["database_url"]) == "":
        merged["database_url"] = f"sqlite:///{resolved / 'catalogue.sqlite3'}"
    if _plain(merged["index_dir"]) == "":
        merged["index_dir"] = str(resolved / "index")


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, _Given) else value


# -- building ------------------------------------------------------------------------


def _build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        name = f"{prefix}{spec.name}"
        kind = hints[spec.name]
        if spec.name not in values and spec.default is not dataclasses.MISSING:
            continue  # not a setting: a value the caller derives (harvest.instance_id)
        if spec.name not in values:
            raise SettingsError(f"setting {name} is missing from the defaults (default.toml)")
        value = values[spec.name]
        if dataclasses.is_dataclass(kind):
            kwargs[spec.name] = _build(kind, value, f"{name}.")
            continue
        limits = dict(spec.metadata) or _LIMITS.get(cls, {}).get(spec.name, {})
        kwargs[spec.name] = _checked(name, kind, value, limits)
    unknown = set(values) - {spec.name for spec in dataclasses.fields(cls)}
    if unknown:
        # default.toml and the dataclasses disagree: a developer's mistake, said plainly.
        raise SettingsError(f"setting {prefix}{sorted(unknown)[0]} has no field in {cls.__name__}")
    return cls(**kwargs)


_LIST = tuple[str, ...]
_TABLE = dict[str, str]
_TYPE_WORDS = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    _LIST: "a list of text",
    _TABLE: "a table of text values",
}


def _checked(name: str, kind: type, value: Any, limits: Mapping[str, Any]) -> Any:
    given = value if isinstance(value, _Given) else _Given(value, "default.toml")
    show = limits.get("shown")  # a value with credentials in it is shown without them
    shown = show(given.value) if show and isinstance(given.value, str) else given.value
    if given.from_env:
        where, typed = f"{given.origin}={shown!r}", _parse(kind, given.value)
    else:
        where, typed = f"{shown!r} in {given.origin}", _typed(kind, given.value)
    if typed is None:
        raise SettingsError(f"setting {name}: {where} is not {_TYPE_WORDS[kind]}")
    low, high = limits.get("min"), limits.get("max")
    if limits.get("positive") and not typed > 0:
        raise SettingsError(f"setting {name}: {where} must be more than 0")
    if low is not None and typed < low:
        raise SettingsError(f"setting {name}: {where} must be at least {low}")
    if high is not None and typed > high:
        raise SettingsError(f"setting {name}: {where} must be at most {high}")
    if limits.get("non_empty") and not typed.strip():
        raise SettingsError(f"setting {name}: {where} must not be empty")
    if limits.get("check"):
        try:
            limits["check"](typed)
        except ValueError as exc:
            reason = str(exc).removeprefix(f"{name}: ")
            raise SettingsError(f"setting {name}: {where}: {reason}") from None
    return typed


def _typed(kind: type, value: Any) -> Any:
    """``value`` from a TOML file as ``kind``, or None when it is not one."""
    if kind == _LIST:
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        return tuple(value) if ok else None
    if kind == _TABLE:
        ok = isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())
        return {str(k): v for k, v in value.items()} if ok else None
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    if kind is int and isinstance(value, bool):
        return None
    return value if isinstance(value, kind) else None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(kind: type, raw: str) -> Any:
    """``raw`` from an environment variable as ``kind``, or None when it is not one."""
    text = raw.strip()
    if kind == _LIST:  # comma-separated
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if kind == _TABLE:  # comma-separated name=value pairs
        pairs = [item.partition("=") for item in text.split(",") if item.strip()]
        if any(not sep or not k.strip() for k, sep, _ in pairs):
            return None
        return {k.strip(): v.strip() for k, _, v in pairs}
    if kind is bool:
        return True if text.lower() in _TRUE else False if text.lower() in _FALSE else None
    if kind is int:
        try:
            return int(text)
        except ValueError:
            return None
    if kind is float:
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return raw
