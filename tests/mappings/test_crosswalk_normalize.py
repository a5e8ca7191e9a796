"""Normalisers: DOI, ORCID, dates, languages, resource types, identifier classification."""

import pytest

from mappings.normalize import (
    classify_identifier,
    normalize_date,
    normalize_doi,
    normalize_language,
    normalize_orcid,
    resource_type_general,
    year_of,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.5281/ZENODO.123", "10.5281/zenodo.123"),
        ("doi:10.5281/zenodo.123", "10.5281/zenodo.123"),
        ("DOI: 10.5281/zenodo.123", "10.5281/zenodo.123"),
        ("https://doi.org/10.5281/zenodo.123", "10.5281/zenodo.123"),
        ("http://dx.doi.org/10.1000/XYZ", "10.1000/xyz"),
        ("https://doi.org/10.1000%2Fabc%28x%29", "10.1000/abc(x)"),
        ("info:doi/10.1000/abc", "10.1000/abc"),
        ("  10.1000/abc  ", "10.1000/abc"),
        ("https://example.org/10.1000/abc", None),
        ("11.1000/abc", None),
        ("10.1000", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_doi(raw, expected):
    assert normalize_doi(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0000-0002-1825-0097", "https://orcid.org/0000-0002-1825-0097"),
        ("https://orcid.org/0000-0002-1825-0097", "https://orcid.org/0000-0002-1825-0097"),
        ("http://orcid.org/0000-0002-1825-0097/", "https://orcid.org/0000-0002-1825-0097"),
        ("orcid.org/0000-0002-1825-0097", "https://orcid.org/0000-0002-1825-0097"),
        ("0000000218250097", "https://orcid.org/0000-0002-1825-0097"),
        ("0000-0002-7285-027x", "https://orcid.org/0000-0002-7285-027X"),
        ("0000-0002-1825-0098", None),  # checksum
        ("0000-0002-1825", None),
        ("not an orcid", None),
        (None, None),
    ],
)
def test_normalize_orcid(raw, expected):
    assert normalize_orcid(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2001", "2001"),
        ("2001-05", "2001-05"),
        ("2001-05-03", "2001-05-03"),
        ("20010503", "2001-05-03"),
        ("2003-04-22T13:13:44Z", "2003-04-22T13:13:44Z"),
        ("2003-04-22 13:13:44", "2003-04-22T13:13:44"),
        ("2003-04-22T13:13+02:00", "2003-04-22T13:13+02:00"),
        ("2003-04-22T13:13:44.5+0200", "2003-04-22T13:13:44.5+02:00"),
        ("2003-04-22T13:13:44+00:00", "2003-04-22T13:13:44Z"),
        ("2001/2003", "2001/2003"),
        ("2001-01-01/2001-12-31", "2001-01-01/2001-12-31"),
        ("-0024/-0022", "-0024/-0022"),
        ("1939-1945", "1939/1945"),  # a span of years, as dc:date and dc:coverage give it
        ("1990 \u2013 2000", "1990/2000"),
        ("2000-1990", None),
        ("2001-13-45", None),
        ("2001-02-30", None),
        ("2001-13", None),
        ("2003-04-22T25:00:00Z", None),
        ("2001/foo", None),
        ("1/2/3", None),
        ("foo", None),
        ("", None),
    ],
)
def test_normalize_date(raw, expected):
    assert normalize_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2001-05-03", 2001),
        ("2001/2003", 2001),
        ("-0024/-0022", -24),
        ("2003-04-22 13:13:44.0 CET", 2003),
        ("circa 1850", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_year_of(raw, expected):
    assert year_of(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("eng", "en"),
        ("English", "en"),
        ("en-US", "en"),
        ("en_US", "en"),
        ("English (United States)", "en"),
        ("ger", "de"),
        ("deu", "de"),
        ("German", "de"),
        ("fre", "fr"),
        ("fra", "fr"),
        ("dut", "nl"),
        ("slk", "sk"),
        ("ukr", "uk"),
        ("spa", "es"),
        ("zu", "zu"),
        ("gsw", "gsw"),  # no 639-1 code: the 3-letter code is kept
        ("other", None),
        ("not a language at all", None),
        ("", None),
    ],
)
def test_normalize_language(raw, expected):
    assert normalize_language(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dataset", "Dataset"),
        ("dataset", "Dataset"),
        ("Text", "Text"),
        ("MovingImage", "Audiovisual"),
        ("StillImage", "Image"),
        ("http://purl.org/dc/dcmitype/Software", "Software"),
        ("PhysicalObject", "PhysicalObject"),
        ("info:eu-repo/semantics/article", "JournalArticle"),
        ("info:eu-repo/semantics/doctoralThesis", "Dissertation"),
        ("info:eu-repo/semantics/masterThesis", "Dissertation"),
        ("info:eu-repo/semantics/conferenceObject", "ConferencePaper"),
        ("info:eu-repo/semantics/bookPart", "BookChapter"),
        ("info:eu-repo/semantics/preprint", "Preprint"),
        ("info:eu-repo/semantics/lecture", "Text"),
        ("info:eu-repo/semantics/other", "Other"),
        ("publication-article", "JournalArticle"),
        ("publication-thesis", "Dissertation"),
        ("image-figure", "Image"),
        ("poster", "Text"),
        ("presentation", "Text"),
        ("software", "Software"),
        ("Working Paper", "Report"),
        ("doc-type:article", "JournalArticle"),
        ("JournalArticle", "JournalArticle"),
        ("ComputationalNotebook", "ComputationalNotebook"),
        ("something odd", None),
        (None, None),
    ],
)
def test_resource_type_general(raw, expected):
    assert resource_type_general(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://doi.org/10.5281/zenodo.1", ("10.5281/zenodo.1", "DOI")),
        ("http://hdl.handle.net/1765/315", ("1765/315", "Handle")),
        ("hdl:1765/315", ("1765/315", "Handle")),
        ("http://arXiv.org/abs/hep-th/0001001", ("http://arXiv.org/abs/hep-th/0001001", "URL")),
        ("urn:nbn:de:101:1-201102033592", ("urn:nbn:de:101:1-201102033592", "URN")),
        ("1566-5283", ("1566-5283", "ISSN")),
        ("90-9014980-5", ("90-9014980-5", "ISBN")),
        ("oai:zenodo.org:1", ("oai:zenodo.org:1", "OAI")),
        ("Sample Source", ("Sample Source", "Other")),
        ("  ", None),
    ],
)
def test_classify_identifier(raw, expected):
    assert classify_identifier(raw) == expected


def test_dedupe_keeps_the_first_of_equal_items_in_long_lists():
    from mappings._shared import dedupe

    items = [{"subject": f"s{i % 500}", "scheme": {"uri": [i % 2]}} for i in range(5_000)]
    items += [{"subject": "s1", "scheme": {"uri": [1]}}, {"subject": "s1"}]
    kept = dedupe(items)
    assert kept == [*items[:500], {"subject": "s1"}]  # i % 2 follows from i % 500
    assert kept[0] is items[0]


@pytest.mark.parametrize("hostile", ["1" * 20_000 + "!", "(" * 20_000 + "x"])
def test_long_hostile_values_are_classified_without_backtracking(hostile):
    # these took tens of seconds each before the length guards (the regexes backtrack)
    assert classify_identifier(hostile) == (hostile, "Other")
    assert normalize_language(hostile) is None
