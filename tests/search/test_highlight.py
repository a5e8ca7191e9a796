"""The embedded backend's highlighter: stems as the index stems, escapes everything else."""

from __future__ import annotations

from catalogue.search.highlight import fragment, highlights, mark, query_stems


def test_stems_match_like_the_index() -> None:
    stems = query_stems("Glaciers running")
    assert mark("A glacier runs; GLACIERS ran", stems) == (
        "A <mark>glacier</mark> <mark>runs</mark>; <mark>GLACIERS</mark> ran"
    )
    assert mark("nothing here", stems) is None


def test_markup_in_records_is_escaped() -> None:
    stems = query_stems("glacier")
    assert mark('<script>alert("glacier")</script>', stems) == (
        "&lt;script&gt;alert(&quot;<mark>glacier</mark>&quot;)&lt;/script&gt;"
    )


def test_fragment_is_around_the_first_match() -> None:
    text = "word " * 200 + "the glacier melts " + "word " * 200
    found = fragment(text, query_stems("glacier"), size=100)
    assert found is not None and "<mark>glacier</mark>" in found and len(found) < 140


def test_no_highlights_without_positive_words() -> None:
    hit = {"id": "x", "metadata": {"titles": [{"title": "Glacier"}]}}
    assert highlights([hit], "") == {}
    assert highlights([hit], "*") == {}
    assert highlights([hit], "glacier") == {"x": {"title": ["<mark>Glacier</mark>"]}}
