"""The embedded backend's highlighter: stems as the index stems, escapes everything else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from catalogue.search.highlight import fragment, highlights, mark, query_stems, stem


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


# -- only words that may match are stemmed: the same marks as stemming every word ---------
_WORDS = [
    "dying",
    "Die",
    "lying",
    "lie",
    "tying",
    "skies",
    "sky",
    "ugly",
    "ugli",
    "early",
    "only",
    "news",
    "Ocean",
    "OCEANS",
    "oceanic",
    "Ïle",
    "île",
    "İstanbul",
    "straße",
    "STRASSE",
    "σοφία",
    "ΣΟΦΊΑ",
    "數據",
    "x_y",
    "_ocean",
    "ocean_",
    "yelling",
    "Yell",
    "42",
    "4th",
    "generously",
    "general",
    "communism",
    "ÉTUDE",
    "étude",
    "a",
    "I",
]


# any letters and digits as query words (the query language's syntax is tested elsewhere)
_LETTERS = st.characters(categories=["L", "N", "M"])


def _reference_mark(text: str, stems: frozenset[str]) -> str | None:
    """Every word of ``text`` stemmed, as the highlighter did before it filtered words."""
    import html
    import re

    out, last = [], 0
    for match in re.finditer(r"[^\W_]+", text):
        if stem(match.group().lower()) in stems:
            out += [
                html.escape(text[last : match.start()]),
                f"<mark>{html.escape(match.group())}</mark>",
            ]
            last = match.end()
    return "".join([*out, html.escape(text[last:])]) if out else None


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.one_of(st.sampled_from(_WORDS), st.text(min_size=1, max_size=8)), max_size=30
    ),
    seps=st.lists(st.sampled_from([" ", ", ", "-", "_", "'", "<b>", "\u00a0"]), min_size=1),
    query=st.lists(
        st.one_of(st.sampled_from(_WORDS), st.text(_LETTERS, min_size=1, max_size=6)),
        min_size=1,
        max_size=3,
    ),
    start=st.integers(0, 40),
    end=st.one_of(st.none(), st.integers(0, 120)),
)
def test_marks_are_those_of_stemming_every_word(words, seps, query, start, end) -> None:
    text = "".join(w + seps[i % len(seps)] for i, w in enumerate(words))
    stems = query_stems(" ".join(query))
    assert mark(text, stems, start, end) == _reference_mark(text[start:end], stems)
