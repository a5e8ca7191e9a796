"""Independent OAI-PMH clients harvest the live provider: every record and every deletion
must arrive, over many resumption tokens (7 records per page, ~100 records).

sickle and oaipmh-scythe run in this process; pyoai (which needs lxml<5) runs in the venv
``make peers`` builds under .peers/, the Node oai-pmh client from .peers/npm. Every
response they get is schema-validated by the ``oai`` fixture's middleware.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from oai_support import REPO_ID, Corpus, OaiServer
from oaipmh_scythe import Scythe
from sickle import Sickle

PEERS = Path(os.environ.get("CATALOGUE_TEST_PEERS", Path(__file__).resolve().parents[2] / ".peers"))
PYOAI = PEERS / "pyoai" / "bin" / "python"
NODE_OAI = PEERS / "npm" / "node_modules" / "oai-pmh"

PYOAI_SCRIPT = """
import json, sys
from oaipmh.client import Client
from oaipmh.metadata import MetadataRegistry, oai_dc_reader
registry = MetadataRegistry()
registry.registerReader("oai_dc", oai_dc_reader)
client = Client(sys.argv[1], registry)
identify = client.identify()
records = [
    [header.identifier(), header.isDeleted(), (metadata.getField("title") or [None])[0]
     if metadata else None]
    for header, metadata, about in client.listRecords(metadataPrefix="oai_dc")
]
headers = [h.identifier() for h in client.listIdentifiers(metadataPrefix="oai_dc",
                                                          set="source:zen")]
print(json.dumps({
    "name": identify.repositoryName(),
    "granularity": identify.granularity(),
    "formats": [f[0] for f in client.listMetadataFormats()],
    "sets": [s[0] for s in client.listSets()],
    "records": records,
    "zen": headers,
}))
"""

NODE_SCRIPT = """
const { OaiPmh } = require(process.argv[3])
;(async () => {
  const oai = new OaiPmh(process.argv[2])
  const identify = await oai.identify()
  const records = []
  for await (const rec of oai.listRecords({ metadataPrefix: 'oai_datacite' })) {
    const status = rec.header.$ && rec.header.$.status
    records.push([rec.header.identifier, status === 'deleted'])
  }
  const zen = []
  for await (const h of oai.listIdentifiers({ metadataPrefix: 'oai_dc', set: 'source:zen' })) {
    zen.push(h.identifier)
  }
  console.log(JSON.stringify({ name: identify.repositoryName, records, zen }))
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(1) })
"""


def _expected(oai: OaiServer, corpus: Corpus) -> dict[str, bool]:
    return {f"oai:{REPO_ID}:{rid}": rid in corpus.deleted for rid in corpus.all}


def _zen(oai: OaiServer, corpus: Corpus) -> set[str]:
    return {
        f"oai:{REPO_ID}:{rid}" for rid in corpus.all if oai.store.get_record(rid).source == "zen"
    }


def _need(path: Path, what: str) -> None:
    # `make test` installs the peers (`make peers`) before pytest runs: missing is a failure.
    if not path.exists():
        pytest.fail(f"{what} not installed at {path}: run `make peers`")


def test_sickle_harvests_everything(oai: OaiServer, corpus: Corpus) -> None:
    client = Sickle(oai.url, max_retries=0)
    for prefix in ("oai_dc", "oai_datacite", "datacite"):
        records = list(client.ListRecords(metadataPrefix=prefix))
        got = {r.header.identifier: r.header.deleted for r in records}
        assert len(records) == len(got) == len(corpus.all)
        assert got == _expected(oai, corpus)
    live = [r for r in client.ListRecords(metadataPrefix="oai_dc") if not r.header.deleted]
    assert all(r.metadata["title"] for r in live)
    zen = {h.identifier for h in client.ListIdentifiers(metadataPrefix="oai_dc", set="source:zen")}
    assert zen == _zen(oai, corpus)
    assert client.Identify().granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert {s.setSpec for s in client.ListSets()} >= {"source:zen", "type:Dataset"}
    one = next(iter(sorted(_expected(oai, corpus))))
    assert client.GetRecord(identifier=one, metadataPrefix="oai_dc").header.identifier == one


def test_oaipmh_scythe_harvests_everything(oai: OaiServer, corpus: Corpus) -> None:
    with Scythe(oai.url) as client:
        records = list(client.list_records(metadata_prefix="oai_dc"))
        got = {r.header.identifier: r.header.deleted for r in records}
        assert len(records) == len(got)
        assert got == _expected(oai, corpus)
        headers = client.list_identifiers(metadata_prefix="oai_datacite", set_="source:zen")
        assert {h.identifier for h in headers} == _zen(oai, corpus)
        assert client.identify().deletedRecord == "persistent"
        assert {f.metadataPrefix for f in client.list_metadata_formats()} == {
            "oai_dc",
            "oai_datacite",
            "datacite",
        }


def test_pyoai_harvests_everything(oai: OaiServer, corpus: Corpus, tmp_path: Path) -> None:
    _need(PYOAI, "pyoai")
    script = tmp_path / "pyoai_harvest.py"
    script.write_text(PYOAI_SCRIPT)
    done = subprocess.run(
        [str(PYOAI), str(script), oai.url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    got = {ident: deleted for ident, deleted, _title in result["records"]}
    assert len(result["records"]) == len(got)
    assert got == _expected(oai, corpus)
    assert all(title for _ident, deleted, title in result["records"] if not deleted)
    assert set(result["zen"]) == _zen(oai, corpus)
    assert result["formats"] == ["oai_dc", "oai_datacite", "datacite"]
    assert "source:zen:user-a" in result["sets"]


def test_node_oai_pmh_harvests_everything(oai: OaiServer, corpus: Corpus, tmp_path: Path) -> None:
    """oai-pmh@2.0.3 crashes on a list page of exactly one record (its bug) and stops when
    cursor + items reaches completeListSize: both lists here end on pages of 2+ records."""
    _need(NODE_OAI, "the Node oai-pmh client")
    node = shutil.which("node")
    if node is None:
        _need(Path("/nonexistent/node"), "node")
    assert len(corpus.all) % 7 != 1 and len(_zen(oai, corpus)) % 7 != 1
    script = tmp_path / "node_harvest.js"
    script.write_text(NODE_SCRIPT)
    done = subprocess.run(
        [node, str(script), oai.url, str(NODE_OAI)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    got = {ident: deleted for ident, deleted in result["records"]}
    assert len(result["records"]) == len(got)
    assert got == _expected(oai, corpus)
    assert set(result["zen"]) == _zen(oai, corpus)
    assert result["name"] == oai.settings.oai.repository_name
