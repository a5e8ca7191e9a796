"""REST sources through the real commands: `catalogue sources add --type ... --config`,
`catalogue sources import`, `catalogue harvest`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from rest_servers import B2ShareApp, b2share_record, load_demo


def test_register_and_harvest_a_b2share_source(cli, api, tmp_path: Path) -> None:
    hits = [load_demo("b2share/record_all_metadata_fields.json")]
    hits += [b2share_record(n, datetime(2020, 1, 1) + timedelta(days=n)) for n in range(12)]
    server = api(B2ShareApp(hits))
    config = tmp_path / "b2share.json"
    config.write_text(json.dumps({"page_size": 5, "rate_limit": 50}))
    cli("sources", "add", "b2", server.url(), "--type", "b2share", "--config", str(config))
    first = cli("harvest", "b2")
    assert "b2: succeeded added 13" in first.stderr
    again = cli("harvest", "b2", "--full")
    assert "added 0, updated 0, unchanged 13, deleted 0" in again.stderr
    listing = cli("sources", "list").stdout
    assert "b2share" in listing and "13" in listing


def test_bad_field_map_is_refused_when_the_source_is_added(cli, tmp_path: Path) -> None:
    config = tmp_path / "mdm.toml"
    config.write_text('records = "records"\nid = "productId"\n[fields]\ntitle = "name"\n')
    proc = cli("sources", "add", "mdm", "http://127.0.0.1:9/records", "--type", "json",
               "--config", str(config), check=False)  # fmt: skip
    assert proc.returncode != 0
    assert "invalid json source config" in proc.stderr and "title" in proc.stderr
    assert "mdm" not in cli("sources", "list").stdout


def test_import_registers_rest_sources_with_their_config(cli, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nkey = "b2"\ntype = "b2share"\nurl = "https://b2share.eudat.eu"\n'
        '[source.config]\npage_size = 50\ncommunities = ["e9b9792e-79fb-4b07-b6b4-b9c2bd06d095"]\n'
        '[source.config.auth]\ntype = "query"\ntoken_env = "B2SHARE_TOKEN"\n'
    )
    cli("sources", "import", str(sources))
    assert "b2share" in cli("sources", "list").stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nkey = "u"\ntype = "unis"\nurl = "https://x.org"\n'
                   '[source.config]\npage_size = "many"\n')  # fmt: skip
    proc = cli("sources", "import", str(bad), check=False)
    assert proc.returncode != 0 and "source #1 (u)" in proc.stderr
