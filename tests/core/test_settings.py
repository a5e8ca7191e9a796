"""Settings as a new user meets them: through the real `catalogue` command.

A bad value, an unreadable config file, a misspelt key or variable each end the command
with one line naming the setting, a non-zero status and no traceback.
"""

from __future__ import annotations

import dataclasses
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalogue.config import (
    Settings,
    SettingsError,
    env_variable,
    is_default_secret,
    load_settings,
)


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_a_value_of_the_wrong_type_names_the_variable(cli) -> None:
    cli.env["CATALOGUE_HARVEST_TIMEOUT"] = "abc"
    line = one_line_error(cli("sources", "list", check=False), "CATALOGUE_HARVEST_TIMEOUT")
    assert "harvest.timeout" in line and "'abc'" in line and "number" in line


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CATALOGUE_OAI_PAGE_SIZE", "ten", "whole number"),
        ("CATALOGUE_OAI_PAGE_SIZE", "0", "at least 1"),
        ("CATALOGUE_OAI_STYLESHEET", "maybe", "true or false"),
        ("CATALOGUE_HARVEST_MAX_DELETE_FRACTION", "1.5", "at most 1"),
        ("CATALOGUE_HARVEST_BACKOFF", "nan", "number"),
        ("CATALOGUE_SECRET_KEY", "", "empty"),
        ("CATALOGUE_DATA_DIR", " ", "empty"),
        ("CATALOGUE_SEARCH_URL", "solr://h:8983", "elasticsearch+http(s)://"),
        ("CATALOGUE_SEARCH_URL", "opensearch+ftp://h", "http(s) URL"),
        ("CATALOGUE_SEARCH_URL", "opensearch+http://h:99999", "port"),
        ("CATALOGUE_SEARCH_CA_CERTS", "/no/such/ca.pem", "cannot read the file"),
    ],
)
def test_bad_values_from_the_environment(cli, variable, value, words) -> None:
    cli.env[variable] = value
    one_line_error(cli("tokens", "list", check=False), variable, words)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("postgresql+psycopg://reader:s3cret@127.0.0.1:{port}/test", "Connection refused"),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/no_such_db", "does not exist"),
    ],
)
def test_a_database_that_cannot_be_opened_is_named_without_its_password(cli, url, words) -> None:
    from tests.test_end_to_end import free_port

    cli.env["CATALOGUE_DATABASE_URL"] = url.format(port=free_port())
    line = one_line_error(cli("sources", "list", check=False), "CATALOGUE_DATABASE_URL", words)
    assert "s3cret" not in line


def test_a_bad_search_url_is_shown_without_its_credentials(cli, tmp_path: Path) -> None:
    cli.env["CATALOGUE_SEARCH_URL"] = "opensearch+http://admin:s3cret@h:92x0"
    line = one_line_error(cli("sources", "list", check=False), "CATALOGUE_SEARCH_URL", "port")
    assert "s3cret" not in line and "admin" not in line
    del cli.env["CATALOGUE_SEARCH_URL"]
    config = tmp_path / "site.toml"
    config.write_text('search_url = "elasticsearch+https://admin:s3cret@h:92x0"\n')
    cli.env["CATALOGUE_CONFIG"] = str(config)
    line = one_line_error(cli("sources", "list", check=False), "search_url", "site.toml")
    assert "s3cret" not in line and "admin" not in line


def test_a_missing_config_file_is_named(cli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "site.toml"
    cli.env["CATALOGUE_CONFIG"] = str(missing)
    one_line_error(cli("sources", "list", check=False), "CATALOGUE_CONFIG", str(missing))


def test_a_misspelt_key_in_the_config_file_is_an_error(cli, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[harvest]\ntimout = 5\n")
    cli.env["CATALOGUE_CONFIG"] = str(site)
    line = one_line_error(cli("sources", "list", check=False), "harvest.timout", str(site))
    assert "did you mean harvest.timeout?" in line


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("[harvst]\ntimeout = 5\n", ("harvst", "did you mean harvest?")),
        ('secret = "x"\n', ("unknown setting secret",)),
        ('[harvest]\ntimeout = "soon"\n', ("harvest.timeout", "'soon'", "not a number")),
        ("harvest = 5\n", ("harvest", "table")),
        ("[oai]\npage_size = true\n", ("oai.page_size", "whole number")),
        ("[harvest\n", ("not valid TOML", "line 1")),
    ],
)
def test_bad_config_files(cli, tmp_path: Path, text: str, needles: tuple[str, ...]) -> None:
    site = tmp_path / "site.toml"
    site.write_text(text)
    cli.env["CATALOGUE_CONFIG"] = str(site)
    one_line_error(cli("sources", "list", check=False), str(site), *needles)


def test_a_misspelt_variable_is_an_error(cli) -> None:
    cli.env["CATALOGUE_HARVEST_TIMOUT"] = "5"
    line = one_line_error(cli("sources", "list", check=False), "CATALOGUE_HARVEST_TIMOUT")
    assert "did you mean CATALOGUE_HARVEST_TIMEOUT?" in line


def test_a_good_config_file_and_variables_are_used(cli, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[oai]\nrepository_name = "Mine"\n[harvest]\ntimeout = 7\n')
    cli.env["CATALOGUE_CONFIG"] = str(site)
    cli.env["CATALOGUE_HARVEST_MAX_RETRIES"] = "3"
    assert cli("tokens", "list").returncode == 0
    settings = load_settings(env=cli.env)
    assert settings.oai.repository_name == "Mine"
    assert settings.harvest.timeout == 7.0
    assert settings.harvest.max_retries == 3


# -- serve and the default secret -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "example.org"])
def test_serve_refuses_the_default_secret_beyond_loopback(cli, host: str) -> None:
    proc = cli("serve", "--host", host, "--port", str(free_port()), check=False)
    one_line_error(proc, "secret_key", host, "CATALOGUE_SECRET_KEY")
    proc = cli("demo", "--host", host, "--port", str(free_port()), check=False)
    one_line_error(proc, "secret_key", host)


def serve_until_ready(env: dict[str, str], host: str) -> str:
    """Start `catalogue serve`, read its stderr until it serves, stop it; the stderr."""
    cmd = [sys.executable, "-m", "catalogue", "serve", "--no-indexer"]
    cmd += ["--host", host, "--port", str(free_port())]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    seen = ""
    try:
        deadline = time.monotonic() + 30
        while "serving on" not in seen:
            assert proc.poll() is None, seen + proc.stderr.read()
            assert time.monotonic() < deadline, seen
            if select.select([proc.stderr], [], [], 0.5)[0]:
                seen += proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(10)
    return seen


def test_serve_warns_about_the_default_secret_on_loopback(cli) -> None:
    out = serve_until_ready(cli.env, "127.0.0.1")
    assert "warning" in out and "secret_key is the default" in out


def test_serve_with_a_secret_of_its_own_says_nothing_of_it(cli) -> None:
    cli.env["CATALOGUE_SECRET_KEY"] = "a-secret-of-our-own"
    out = serve_until_ready(cli.env, "127.0.0.1")
    assert "secret_key" not in out


# -- the loader itself ------------------------------------------------------------


def test_every_setting_has_a_variable_and_a_default() -> None:
    settings = load_settings(env={})
    for section in dataclasses.fields(Settings):
        value = getattr(settings, section.name)
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                name = env_variable(f"{section.name}.{field.name}")
                assert name.startswith("CATALOGUE_") and name.isupper()
    assert is_default_secret(settings)
    assert not is_default_secret(load_settings({"secret_key": "other"}, env={}))


def test_settings_are_frozen_and_typed(tmp_path: Path) -> None:
    settings = load_settings(
        env={"CATALOGUE_DATA_DIR": str(tmp_path), "CATALOGUE_OAI_STYLESHEET": "off"}
    )
    assert settings.oai.stylesheet is False
    assert isinstance(settings.harvest.timeout, float)
    assert settings.index_dir == str(tmp_path / "index")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.harvest.timeout = 1.0  # type: ignore[misc]


def test_overrides_are_checked_like_everything_else() -> None:
    with pytest.raises(SettingsError, match=r"oai\.page_size: 0 in overrides"):
        load_settings({"oai": {"page_size": 0}}, env={})
    with pytest.raises(SettingsError, match="unknown setting nope"):
        load_settings({"nope": 1}, env={})


def test_variables_of_the_test_suite_and_the_config_file_are_not_settings(tmp_path) -> None:
    env = {"CATALOGUE_TEST_ANYTHING": "x", "CATALOGUE_CONFIG": "", "OTHER": "y"}
    assert load_settings({"data_dir": str(tmp_path)}, env=env).data_dir == str(tmp_path)
