"""The crosswalks' fast paths agree with the straightforward forms they replace."""

import html
import random
import re

import pytest
from lxml import etree

from mappings._shared import collapse, local, strip_html, text, unescape
from mappings.normalize import normalize_date, start_year, year_of

# Pieces that exercise references, tags and every kind of whitespace the helpers treat apart.
PIECES = [
    "&", "&lt;", "&gt;", "&amp;", "&quot;", "&#39;", "&#x27;", "&eacute;", "&nbsp;", "&lt",
    "&amp", "lt;", ";", "#", "<p>", "</p>", "<br/>", "<b>", "</li>", "<a href='x'>", "<", ">",
    " ", "  ", "\t", "\n", "\r", "\r\n", "\xa0", "\u2028", "\x0b", "a", "bc", "é", "x y",
]  # fmt: skip


def _samples(count: int = 3000) -> list[str]:
    rng = random.Random(4)
    return ["".join(rng.choices(PIECES, k=rng.randint(0, 12))) for _ in range(count)]


def _strip_html_reference(value: str | None) -> str | None:
    """strip_html as first written, with html.unescape and plain substitutions."""
    if not value:
        return None
    unescaped = html.unescape(value) if "&lt;" in value or "&amp;" in value else value
    if not re.search(
        r"</?(?:p|br|div|span|em|strong|b|i|u|ul|ol|li|a|sub|sup|h\d)\b[^<>]*>", unescaped
    ):
        return value
    plain = re.sub(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>", " ", unescaped)
    plain = html.unescape(plain)
    plain = re.sub(r"[ \t]+", " ", plain)
    plain = re.sub(r"\s*\n\s*", "\n", plain).strip()
    return plain or None


@pytest.mark.parametrize(
    "value",
    ["&amp;lt;", "&lt;p&gt;x&lt;/p&gt;", "&#39;&quot;", "&lt;&eacute;", "a&b", "&ampx", "plain"],
)
def test_unescape_examples(value):
    assert unescape(value) == html.unescape(value)


def test_unescape_matches_html_unescape():
    for value in _samples():
        assert unescape(value) == html.unescape(value), value


def test_strip_html_matches_reference():
    for value in _samples():
        assert strip_html(value) == _strip_html_reference(value), value


def test_collapse_matches_substitution():
    for value in _samples():
        expected = re.sub(r"[ \t\r\n]+", " ", value).strip()
        assert collapse(value).strip() == expected, value


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<e>  a \n\t b  </e>", "a b"),
        ("<e>\xa0a\xa0</e>", "a"),
        ("<e>a<!-- c -->b<i> c </i>\n d</e>", "ab c d"),
        ("<e> </e>", None),
        ("<e/>", None),
    ],
)
def test_text(xml, expected):
    assert text(etree.fromstring(xml)) == expected


@pytest.mark.parametrize(
    ("xml", "expected"),
    [('<e xmlns="urn:x"/>', "e"), ("<e/>", "e"), ('<p:e xmlns:p="urn:p"/>', "e")],
)
def test_local(xml, expected):
    assert local(etree.fromstring(xml)) == expected


def test_local_of_comment():
    assert local(etree.Comment("c")) == ""


@pytest.mark.parametrize(
    "raw",
    [
        "2001", "-0044", "2001-05", "2001-05-03", "20010503", "2001-05-03t04:05z",
        "2001-05-03 04:05:06.7+0530", "2001-05-03T04:05-00:00", "2001/2002-03", " 1999 / 2000 ",
    ],
)  # fmt: skip
def test_normalize_date_is_idempotent_so_start_year_is_year_of(raw):
    normalized = normalize_date(raw)
    assert normalize_date(normalized) == normalized
    assert start_year(normalized) == year_of(normalized) == year_of(raw)
