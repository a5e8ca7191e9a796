"""What the pages take from a search backend's highlighting, and their own marking."""

from __future__ import annotations

import re

from flask import Flask, url_for
from markupsafe import escape

from catalogue.web.page_helpers import (
    ASCII_TWINS,
    SNIPPET_CHARS,
    _compiled,
    _safe_marked,
    _stems,
    highlight,
    landing_url,
    snippet,
)


def test_backend_fragments_are_used_only_when_plain_marked_text() -> None:
    assert _safe_marked(["A <mark>glacier</mark> &amp; ice"]) == "A <mark>glacier</mark> &amp; ice"
    assert _safe_marked(["<b>bold</b> <mark>x</mark>"]) is None
    assert _safe_marked(['<mark onclick="x">a</mark>']) is None
    assert _safe_marked(["<script>alert(1)</script>"]) is None
    assert _safe_marked([]) is None and _safe_marked(None) is None
    # a title fragment must be the title shown, not another (translated) title
    assert _safe_marked(["<mark>Gletscher</mark>"], "Glacier") is None
    assert _safe_marked(["<mark>Glacier</mark> &lt;1&gt;"], "Glacier <1>") is not None


def test_own_highlighting_escapes_and_marks() -> None:
    assert str(highlight("Oceans & <seas>", ["ocean"])) == "<mark>Oceans</mark> &amp; &lt;seas&gt;"
    assert str(highlight("nothing", [])) == "nothing"
    text = "word " * 100 + "the glacier melts " + "word " * 100
    cut = snippet(text, ["glacier"])
    assert "glacier" in cut and cut.startswith("… ") and cut.endswith(" …") and len(cut) < 260


def test_texts_that_cannot_match_are_marked_as_the_full_pattern_would() -> None:
    # the pattern is compiled only when a text may hold a stem; what it marks is unchanged
    def marked_by_pattern(text: str, words: list[str]) -> str:
        """``highlight`` as it was before texts were tested for a possible match."""
        out, last = [], 0
        for match in _compiled(_stems(tuple(words))[0]).finditer(text):
            out += [str(escape(text[last : match.start()])), f"<mark>{escape(match[0])}</mark>"]
            last = match.end()
        return "".join([*out, str(escape(text[last:]))])

    texts = [
        "Ice sheets … and the KELVIN scale",
        "Ice sheets … and the \u212aelvin scale",  # KELVIN SIGN matches k, case aside
        "Mas\u017five ice",  # LONG S matches s
        "\u0130ce and \u0131ce",  # dotted capital I, dotless i
        "Grüße aus Köln: Gletscher-Schmelze",
        "no stem here at all",
        "ICESHEET glaciers",
    ]
    for words in (["kelvin"], ["massive"], ["ice"], ["köln"], ["glaciers", "ice"], ["schmelze"]):
        for text in texts:
            assert str(highlight(text, words)) == marked_by_pattern(text, words), (text, words)
            assert snippet(text * 20, words) == snippet_with_pattern(text * 20, words)


def snippet_with_pattern(text: str, words: list[str]) -> str:
    """``snippet`` as it was before texts were tested for a possible match."""
    stems, _ = _stems(tuple(words))
    pattern = _compiled(stems)
    text = " ".join(text.split())
    match = pattern.search(text)
    size = SNIPPET_CHARS
    start = max(0, (match.start() if match else 0) - size // 3)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + size // 2 else end
    return ("… " if start else "") + text[start:end] + (" …" if end < len(text) else "")


def test_ascii_twins_are_the_non_ascii_characters_ignorecase_matches_to_ascii() -> None:
    everything = "".join(chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c < 0xE000)
    ascii_class = "[" + re.escape("".join(chr(c) for c in range(0x80))) + "]"
    assert set(re.findall(ascii_class, everything, re.IGNORECASE)) == ASCII_TWINS


def test_landing_urls_are_url_for_landing_page() -> None:
    app = Flask(__name__)
    app.add_url_rule("/records/<rid>", "landing", lambda rid: rid)
    with app.test_request_context("/", base_url="http://x/mount"):
        prefix = url_for("landing", rid="-").removesuffix("-")
        for rid in ("plain", "a b", "ä/ö", "x?y#z", "100%", "a+b&c=d", "'\"<>", "\u212a"):
            assert landing_url(prefix, rid) == url_for("landing", rid=rid), rid


def test_openaire_resource_types_are_shown_as_words() -> None:
    from catalogue.web.pages import _type_label

    assert _type_label("info:eu-repo/semantics/conferenceObject") == "Conference object"
    assert _type_label("info:eu-repo/semantics/other") == "Other"
    assert _type_label("Dataset of CTD casts") == "Dataset of CTD casts"


def test_language_codes_are_shown_with_their_names() -> None:
    from catalogue.web.pages import _language_name

    assert _language_name("en") == "English (en)"
    assert _language_name("nb") == "Norwegian Bokmål (nb)"
    assert _language_name("ang") == "ang"  # no name known: the code as it is


def test_engine_fragments_show_where_they_cut_the_text() -> None:
    from markupsafe import Markup

    from catalogue.web.page_helpers import _with_ellipses

    text = "The first sentence. A glacier & ice survey over ten years. The last sentence."
    middle = Markup("A <mark>glacier</mark> &amp; ice survey over ten years.")
    assert str(_with_ellipses(middle, text)) == f"… {middle} …"
    whole = Markup(str(escape(text)).replace("glacier", "<mark>glacier</mark>"))
    assert str(_with_ellipses(whole, text)) == str(whole)
    assert _with_ellipses(None, text) is None
