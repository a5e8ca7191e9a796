"""What the pages take from a search backend's highlighting, and their own marking."""

from __future__ import annotations

from catalogue.web.page_helpers import _safe_marked, highlight, snippet


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
