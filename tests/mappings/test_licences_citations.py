"""Licences to SPDX ids, and the citation formats (issue 14): pure functions."""

from __future__ import annotations

import pytest

from mappings.export.citation import citation_line, to_bibtex, to_csl_json, to_ris
from mappings.licences import licence_id, spdx_id, with_spdx


@pytest.mark.parametrize(
    "text,expected",
    [
        ("CC-BY-4.0", "CC-BY-4.0"),
        ("cc-by-4.0", "CC-BY-4.0"),
        ("CC BY 4.0", "CC-BY-4.0"),
        ("Creative Commons Attribution 4.0 International", "CC-BY-4.0"),
        ("Creative Commons Attribution 4.0 International (CC BY 4.0)", "CC-BY-4.0"),
        ("Creative Commons Attribution 4.0 International Public License", "CC-BY-4.0"),
        ("https://creativecommons.org/licenses/by/4.0/legalcode", "CC-BY-4.0"),
        ("http://creativecommons.org/licenses/by-nc-sa/3.0/", "CC-BY-NC-SA-3.0"),
        ("CC BY-SA 4.0", "CC-BY-SA-4.0"),
        ("CC0", "CC0-1.0"),
        ("CC0 1.0 Universal", "CC0-1.0"),
        ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0"),
        ("MIT License", "MIT"),
        ("https://opensource.org/licenses/MIT", "MIT"),
        ("http://www.apache.org/licenses/LICENSE-2.0", "Apache-2.0"),
        ("https://spdx.org/licenses/GPL-3.0-or-later.html", "GPL-3.0-or-later"),
        ("https://opendatacommons.org/licenses/odbl/1-0/", "ODbL-1.0"),
        ("info:eu-repo/semantics/openAccess", None),
        ("Open Access", None),
        ("All rights reserved", None),
        ("cc-by", None),  # no version: no single SPDX id
        ("", None),
        ("x" * 10_000, None),
    ],
)
def test_licence_ids(text: str, expected: str | None) -> None:
    assert licence_id(text) == expected


def test_with_spdx_keeps_what_the_source_wrote() -> None:
    entry = {"rights": "CC BY 4.0", "rightsUri": "https://example.org/licence", "lang": "en"}
    assert with_spdx(entry) == {
        **entry,
        "rightsIdentifier": "CC-BY-4.0",
        "rightsIdentifierScheme": "SPDX",
        "schemeUri": "https://spdx.org/licenses/",
    }
    unknown = {"rights": "All rights reserved"}
    assert with_spdx(unknown) is unknown
    assert spdx_id({"rightsIdentifier": "cc0-1.0", "rightsIdentifierScheme": "SPDX"}) == "CC0-1.0"


METADATA = {
    "identifiers": [{"identifier": "10.5281/zenodo.1", "identifierType": "DOI"}],
    "creators": [
        {"name": "Müller, Anna", "givenName": "Anna Maria", "familyName": "Müller"},
        {"name": "Polar {Consortium} & Co", "nameType": "Organizational"},
    ],
    "titles": [{"title": "Sea ice 50% thinner_{2020}"}],
    "publisher": "Zenodo",
    "publicationYear": 2021,
    "version": "2",
    "types": {"resourceTypeGeneral": "Dataset"},
    "subjects": [{"subject": "Sea ice"}],
    "descriptions": [{"description": "Line one\nline two", "descriptionType": "Abstract"}],
}


def test_citation_line_follows_datacite() -> None:
    assert citation_line(METADATA, "https://cat/records/x") == (
        "Müller, A. M.; Polar {Consortium} & Co (2021): Sea ice 50% thinner_{2020}. "
        "Version 2. Zenodo. (Dataset). https://doi.org/10.5281/zenodo.1"
    )
    bare = {"titles": [{"title": "Untitled thing"}]}
    assert citation_line(bare, "https://cat/records/y") == (
        "Anonymous: Untitled thing. https://cat/records/y"
    )
    many = {**METADATA, "creators": [{"name": f"P{i}"} for i in range(30)]}
    assert "P18; …; P29 (2021)" in citation_line(many)


def test_bibtex_escapes_and_keeps_organisations_whole() -> None:
    bib = to_bibtex(METADATA, key="ab/c d", url=None)
    assert bib.startswith("@misc{ab_c_d,\n")
    assert "title = {{Sea ice 50\\% thinner\\_\\{2020\\}}}" in bib
    assert "author = {Müller, Anna and {Polar \\{Consortium\\} \\& Co}}" in bib
    assert bib.count("{") == bib.count("}")


def test_ris_is_line_based() -> None:
    ris = to_ris(METADATA)
    lines = ris.split("\r\n")
    assert lines[0] == "TY  - DATA" and lines[-2] == "ER  - " and lines[-1] == ""
    assert "AB  - Line one line two" in lines
    assert all(line[:2].isupper() and line[2:6] == "  - " for line in lines[:-1])


def test_csl_json() -> None:
    item = to_csl_json(METADATA, rid="x")
    assert item["type"] == "dataset" and item["DOI"] == "10.5281/zenodo.1"
    assert item["author"] == [
        {"family": "Müller", "given": "Anna Maria"},
        {"literal": "Polar {Consortium} & Co"},
    ]
    assert item["issued"] == {"date-parts": [[2021]]}


@pytest.mark.parametrize(
    "handle", ["11304/7e9a7e04-7b3f-4dd9-b0b5-4ae4ba0e9e57", "https://hdl.handle.net/11304/7e9a"]
)
def test_records_without_a_doi_are_cited_with_their_handle(handle: str) -> None:
    md = {
        "titles": [{"title": "Soil cores"}],
        "publicationYear": 2019,
        "identifiers": [{"identifier": handle, "identifierType": "Handle"}],
    }
    link = handle if handle.startswith("https:") else f"https://hdl.handle.net/{handle}"
    landing = "https://catalogue.example.org/records/abc"
    assert citation_line(md, landing).endswith(link)
    assert to_csl_json(md, rid="abc", url=landing)["URL"] == link
    assert f"UR  - {link}" in to_ris(md, url=landing)
    assert link in to_bibtex(md, key="k", url=landing)
