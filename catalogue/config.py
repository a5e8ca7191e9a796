"""Settings: config/default.toml, then an optional CATALOGUE_CONFIG file, then CATALOGUE_* env.

Settings are a plain nested dict so that Flask's ``app.config`` and the CLI share them.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "config" / "default.toml"
ENV_PREFIX = "CATALOGUE_"


def load_settings(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Merged settings; ``overrides`` (same shape as the TOML) win over everything."""
    env = os.environ if env is None else env
    settings = _read_toml(DEFAULTS_FILE)
    extra = env.get(ENV_PREFIX + "CONFIG")
    if extra:
        _merge(settings, _read_toml(Path(extra)))
    _apply_env(settings, env)
    if overrides:
        _merge(settings, copy.deepcopy(dict(overrides)))
    return _derive(settings)


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _merge(base: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _apply_env(settings: dict[str, Any], env: Mapping[str, str]) -> None:
    for key, value in list(settings.items()):
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                name = f"{ENV_PREFIX}{key}_{sub}".upper()
                if name in env:
                    value[sub] = _coerce(env[name], subvalue)
        else:
            name = f"{ENV_PREFIX}{key}".upper()
            if name in env:
                settings[key] = _coerce(env[name], value)


def _coerce(raw: str, like: Any) -> Any:
    """Env values are strings; give them the type of the default they replace."""
    if isinstance(like, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(like, int):
        return int(raw)
    if isinstance(like, float):
        return float(raw)
    return raw


def _derive(settings: dict[str, Any]) -> dict[str, Any]:
    data_dir = Path(settings["data_dir"]).expanduser().resolve()
    settings["data_dir"] = str(data_dir)
    if not settings.get("database_url"):
        settings["database_url"] = f"sqlite:///{data_dir / 'catalogue.sqlite3'}"
    settings.setdefault("index_dir", str(data_dir / "index"))
    return settings
