"""Integers from text anyone may send: ASCII digits only, never an exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mappings.numbers import ascii_digits, ascii_int


def test_ascii_digits_only() -> None:
    assert ascii_int("0") == 0 and ascii_int("42") == 42
    for text in ("", "³", "²⁰²⁴", "٣", "-1", "+1", " 1", "1_0", "1.0", "1" * 19):
        assert ascii_int(text) is None, text
    assert ascii_int("1" * 19, max_digits=19) == int("1" * 19)
    assert not ascii_digits("٣") and ascii_digits("0123")


@given(st.text(max_size=30))
def test_any_text_is_a_number_or_none(text: str) -> None:
    value = ascii_int(text)
    assert value is None or (str(value).zfill(len(text)) == text and value >= 0)


def test_crosswalks_take_other_digits_as_text() -> None:
    """The DataCite export's year fallback and the DataCite-JSON year read a number only
    from ASCII digits ("²⁰²⁴".isdigit() is true; int() raises on it)."""
    from lxml import etree

    from mappings.datacite_json import _year
    from mappings.export.datacite import to_datacite

    md = {"publicationYear": "³"}
    _year(md)
    assert md == {"publicationYear": "³"}  # left for the schema check to refuse (400)
    metadata = {
        "titles": [{"title": "t"}],
        "identifiers": [{"identifier": "10.1/x", "identifierType": "DOI"}],
        "creators": [{"name": "a"}],
        "publisher": "p",
        "types": {"resourceTypeGeneral": "Dataset"},
        "dates": [{"date": "²⁰²⁴-01-01", "dateType": "Issued"}],
    }
    xml = etree.tostring(to_datacite(metadata, fallback_year=2020)).decode()
    assert "<publicationYear>2020</publicationYear>" in xml.replace("ns0:", "")
