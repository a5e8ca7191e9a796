"""Safe parsing of hostile XML, and repair of broken pages."""

import pytest
from crosswalk_support import FIXTURES, demo_file, fixture

from mappings import MappingError
from mappings.datacite import from_datacite
from mappings.oai_dc import from_oai_dc
from mappings.xml import parse_xml, repair_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<resource xmlns="http://datacite.org/schema/kernel-4"><titles><title>&xxe;</title></titles></resource>"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext; ]>
<foo/>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE, XXE_PARAMETER])
def test_entity_declarations_are_refused(document):
    with pytest.raises(MappingError, match="entities"):
        parse_xml(document)


def test_entities_in_utf16_are_refused_after_parsing():
    # The raw byte scan cannot see UTF-16 text; the parsed DTD check still refuses it.
    document = XXE.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"')
    with pytest.raises(MappingError, match="entities"):
        parse_xml(document.decode().encode("utf-16"))


def test_external_dtd_is_never_loaded():
    # Loading /etc/passwd as a DTD would fail to parse; not loading it parses fine.
    root = parse_xml(b'<!DOCTYPE foo SYSTEM "file:///etc/passwd"><foo>safe</foo>')
    assert root.text == "safe"


def test_oversize_input_is_refused():
    with pytest.raises(MappingError, match="too large"):
        parse_xml(b"<a>" + b"x" * 100 + b"</a>", max_bytes=50)


@pytest.mark.parametrize(
    "garbage", [b"", b"   ", b"broken xml", b"\x00\xff\xfe\x01", b"<a><b></a>"]
)
def test_garbage_is_a_mapping_error(garbage):
    with pytest.raises(MappingError):
        parse_xml(garbage)


def test_syntax_error_names_the_line():
    with pytest.raises(MappingError, match="line 3"):
        parse_xml(b"<a>\n<b>\n</c>")


def test_recorded_broken_response_is_a_mapping_error():
    with pytest.raises(MappingError):
        parse_xml((FIXTURES / "oai-pmh/sickle/ListRecordsBroken.xml").read_bytes())


def test_plain_document_parses():
    root = parse_xml(b"<?xml version='1.0'?><a xmlns='urn:x'><b>t\xc3\xa9</b></a>")
    assert root[0].text == "t\u00e9"


def test_repair_badbytes_fixture():
    data = (FIXTURES / "oai-pmh/perl-oai-lib/badbytes.xml").read_bytes()
    with pytest.raises(MappingError):
        parse_xml(data)
    fixed, warnings = repair_xml(data)
    root = parse_xml(fixed)
    assert root.tag == "{http://www.openarchives.org/OAI/2.0/}OAI-PMH"
    assert any("cp1252" in w for w in warnings)
    assert any("U+0006" in w for w in warnings)
    dc = next(root.iter("{http://www.openarchives.org/OAI/2.0/oai_dc/}dc"))
    metadata, _ = from_oai_dc(dc)
    assert metadata["titles"][0]["title"] == "Compactification, Geometry and Duality: N=2"


def test_repair_illegal_character_references_and_declared_encoding():
    data = "<?xml version='1.0' encoding='ISO-8859-1'?><a>caf\u00e9&#x1;&#6;ok\u0007</a>"
    fixed, warnings = repair_xml(data.encode("latin-1"))
    assert parse_xml(fixed).text == "caf\u00e9ok"
    assert fixed.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert len(warnings) == 3


def test_repair_html_references_and_bare_ampersands():
    # text pasted from web pages: undefined in XML, each made a whole page unreadable
    data = b"<a t='x &amp; y'>Caf&eacute;&nbsp;&Uuml; &lt;b&gt; Taylor & Francis &#233; &amp;</a>"
    with pytest.raises(MappingError):
        parse_xml(data)
    fixed, warnings = repair_xml(data)
    root = parse_xml(fixed)
    assert root.text == "Caf\u00e9\u00a0\u00dc <b> Taylor & Francis \u00e9 &"
    assert root.get("t") == "x & y"
    assert warnings == [
        "replaced HTML character references undefined in XML (Uuml, eacute, nbsp)",
        "escaped 1 bare '&'",
    ]


def test_repair_leaves_good_documents_alone():
    data = (FIXTURES / "oai-pmh/sickle/GetRecord.xml").read_bytes()
    fixed, warnings = repair_xml(data)
    assert warnings == []
    assert parse_xml(fixed).tag == parse_xml(data).tag


def test_readers_refuse_the_wrong_root():
    dc = next(fixture("oai-pmh/sickle/GetRecord.xml").iter("{*}dc"))
    resource = demo_file("datacite/xml-kernel-4/datacite-example-full-v4.xml")
    with pytest.raises(MappingError):
        from_datacite(dc)
    with pytest.raises(MappingError):
        from_oai_dc(resource)
    with pytest.raises(MappingError):
        from_datacite(parse_xml(b"<oai_datacite xmlns='http://schema.datacite.org/oai/oai-1.1/'/>"))
