"""Safe XML parsing for untrusted documents, and repair of pages that are not well-formed.

Harvested and posted XML is hostile until parsed: no entity expansion, no DTD loading,
no network access, a size limit, and documents that declare entities are refused outright
(billion laughs, XXE) rather than parsed with the declarations ignored.
"""

from __future__ import annotations

import html.entities
import re
import threading
from collections.abc import Callable
from xml.sax.saxutils import escape

from lxml import etree

from mappings import MappingError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# Bytes fed to an incremental parser at a time: large enough that feeding costs nothing,
# small beside any page worth parsing incrementally.
_FEED_BYTES = 1 << 16

# Characters allowed by XML 1.0 section 2.2; everything else makes libxml2 refuse the page.
_ILLEGAL_CHARS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Character references to the same illegal code points (&#6; &#x1F; ...), as common in the wild.
_ILLEGAL_CHAR_REFS = re.compile(
    r"&#(?:x0*(?:[0-8bcef]|1[0-9a-f]|fff[ef]|d[89a-f][0-9a-f]{2})"
    r"|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|6553[45]|5[56][0-9]{3}));",
    re.IGNORECASE,
)
_XML_DECL_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*)(["'])([^"']*)\2""")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


_local = threading.local()


def _parser() -> etree.XMLParser:
    # One parser per thread, reused: lxml parsers must not be shared between threads, and
    # a fresh one costs about a third of parsing a 1 KB record (its context is set up on
    # first use; harvests parse every record's payload again from its bytes).
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_blank_text=False,
        )
    return parser


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted XML and return its root element; raise MappingError when unsafe or broken."""
    data = _checked(data, max_bytes)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise MappingError(f"not well-formed XML: {exc.msg} (line {exc.lineno})") from exc
    except ValueError as exc:  # e.g. unsupported encoding declarations
        raise MappingError(f"not parseable as XML: {exc}") from exc
    if root is None:
        raise MappingError("no root element")
    _refuse_entities(root)
    return root


def iterparse_xml(
    data: bytes,
    tag: str,
    handle: Callable[[etree._Element], bool],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> etree._Element:
    """Parse untrusted XML as :func:`parse_xml` does, handing each complete ``tag`` element
    to ``handle`` as soon as it is parsed; when ``handle`` returns True (it took the
    element), the element's content and everything before it in its parent are dropped.
    Returns the root, without them.

    For documents of many large elements (a ListRecords page near the size cap): the whole
    tree would cost several times the document; this holds one chunk's worth of ``tag``
    elements at a time. The elements taken are expected to be siblings (the records of a
    list): after each chunk fed, their parent's children up to the last one taken are
    dropped. ``handle`` may keep what it made of an element, never the element itself or
    its descendants. A document that fails may have handed over elements before failing:
    the caller drops what it made of them.
    """
    data = _checked(data, max_bytes)
    parser = etree.XMLPullParser(
        events=("end",),
        tag=tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=False,
    )
    checked = False
    try:
        for start in range(0, len(data), _FEED_BYTES):
            parser.feed(data[start : start + _FEED_BYTES])
            taken = None
            for _event, element in parser.read_events():
                if not checked:  # the DTD, if any, came before the first element
                    _refuse_entities(element)
                    checked = True
                if handle(element):
                    taken = element
            if taken is not None:  # once per chunk: cheaper than per element
                _drop_through(taken)
        root = parser.close()
    except etree.XMLSyntaxError as exc:
        raise MappingError(f"not well-formed XML: {exc.msg} (line {exc.lineno})") from exc
    except ValueError as exc:
        raise MappingError(f"not parseable as XML: {exc}") from exc
    if root is None:
        raise MappingError("no root element")
    _refuse_entities(root)
    return root


def _drop_through(element: etree._Element) -> None:
    """Drop ``element`` and its preceding siblings from the tree being parsed."""
    parent = element.getparent()
    if parent is None:
        element.clear()
    else:
        del parent[: parent.index(element) + 1]


def _checked(data: bytes | str, max_bytes: int) -> bytes:
    """``data`` as bytes, when it is worth parsing: not too large, not empty, no entities."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise MappingError(f"document too large: {len(data)} bytes > limit of {max_bytes}")
    if not data or data.isspace():  # not data.strip(): a copy of a 50 MB page
        raise MappingError("empty document")
    if _declares_entities_raw(data):
        raise MappingError("document type declaration with entities refused (possible XXE)")
    return data


def _refuse_entities(element: etree._Element) -> None:
    # Belt and braces for encodings the raw byte scan cannot see (UTF-16, EBCDIC, ...).
    dtd = element.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise MappingError("document type declaration with entities refused (possible XXE)")


def _declares_entities_raw(data: bytes) -> bool:
    start = data.find(b"<!DOCTYPE")
    # Conservative on purpose: any entity declaration after a DOCTYPE refuses the document
    # (a CDATA section quoting "<!ENTITY" is a price worth paying for not parsing the subset).
    return start >= 0 and data.find(b"<!ENTITY", start) >= 0


def repair_xml(data: bytes) -> tuple[bytes, list[str]]:
    """Best-effort repair of a page that failed strict parsing; returns UTF-8 bytes and warnings.

    Bad bytes are decoded one by one as cp1252 (the usual culprit: Windows text pasted into a
    UTF-8 page), characters and character references illegal in XML 1.0 are removed, and the
    XML declaration is rewritten to say UTF-8.
    """
    warnings: list[str] = []
    text = _decode(data, warnings)
    text, count = _ILLEGAL_CHAR_REFS.subn("", text)
    if count:
        warnings.append(f"removed {count} character reference(s) illegal in XML 1.0")
    found = _ILLEGAL_CHARS.findall(text)
    if found:
        sample = ", ".join(sorted({f"U+{ord(c):04X}" for c in found})[:5])
        warnings.append(f"removed {len(found)} character(s) illegal in XML 1.0 ({sample})")
        text = _ILLEGAL_CHARS.sub("", text)
    text = _html_references(text, warnings)
    text = _XML_DECL_ENCODING.sub(r"\1\2UTF-8\2", text, count=1)
    return text.encode("utf-8"), warnings


def _html_references(text: str, warnings: list[str]) -> str:
    """HTML's named references (&eacute;, &nbsp;) as the characters they stand for, and a
    bare "&" as "&amp;": text pasted from web pages into records, undefined in XML."""
    replaced: set[str] = set()

    def character(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _XML_ENTITIES or f"{name};" not in html.entities.html5:
            return match.group()
        replaced.add(name)
        return escape(html.entities.html5[f"{name};"])

    if "&" not in text:
        return text
    text = _NAMED_REFERENCE.sub(character, text)
    if replaced:
        sample = ", ".join(sorted(replaced)[:5])
        warnings.append(f"replaced HTML character references undefined in XML ({sample})")
    text, count = _BARE_AMPERSAND.subn("&amp;", text)
    if count:
        warnings.append(f"escaped {count} bare '&'")
    return text


_XML_ENTITIES = frozenset({"lt", "gt", "amp", "quot", "apos"})
_NAMED_REFERENCE = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_BARE_AMPERSAND = re.compile(r"&(?!#[0-9]+;|#x[0-9A-Fa-f]+;|[A-Za-z][A-Za-z0-9._-]*;)")


def _decode(data: bytes, warnings: list[str]) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        warnings.append("re-encoded from UTF-16 to UTF-8")
        return data.decode("utf-16", errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    declared = _DECLARED_ENCODING.match(data)
    encoding = declared.group(1).decode("ascii").lower() if declared else "utf-8"
    if encoding.replace("_", "-") not in ("utf-8", "utf8"):
        try:
            text = data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            pass
        else:
            warnings.append(f"re-encoded from {encoding} to UTF-8")
            return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # surrogateescape keeps each undecodable byte as U+DC80..U+DCFF so it can be fixed alone.
    text = data.decode("utf-8", errors="surrogateescape")
    bad = 0

    def as_cp1252(match: re.Match[str]) -> str:
        nonlocal bad
        bad += len(match.group())
        raw = bytes(ord(c) - 0xDC00 for c in match.group())
        return raw.decode("cp1252", errors="replace")

    text = re.sub("[\udc80-\udcff]+", as_cp1252, text)
    warnings.append(f"{bad} byte(s) invalid in UTF-8 decoded as cp1252")
    return text


def xml_safe(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry (lxml refuses to serialise them)."""
    return _ILLEGAL_CHARS.sub("", value)


def any_uri(value: str) -> str | None:
    """``value`` made a valid xs:anyURI (as libxml2 checks it: RFC 3986 after escaping
    spaces and non-ASCII): stray "%", a second "#", brackets outside an IPv6 host and a ":"
    in a first segment that is no scheme are percent-encoded. None when nothing is left.

    Metadata carries such values (a licence URL ending in "100%", a scheme URI "::"); written
    verbatim they make the whole OAI-PMH page fail schema validation."""
    uri = xml_safe(value).strip()
    if not uri:
        return None
    if _COMMON_URL.fullmatch(uri):  # nearly every value: no repair, no check
        return uri
    if "%" in uri:
        uri = _STRAY_PERCENT.sub("%25", uri)
    if uri.count("#") > 1:
        head, _, fragment = uri.partition("#")
        uri = f"{head}#{fragment.replace('#', '%23')}"
    if "[" in uri or "]" in uri:
        host = _IPV6_HOST.match(uri)
        start = host.end() if host else 0
        uri = uri[:start] + uri[start:].replace("[", "%5B").replace("]", "%5D")
    first = _FIRST_SEGMENT.match(uri)
    if first and ":" in first.group() and not _SCHEME.match(first.group()):
        uri = first.group().replace(":", "%3A") + uri[first.end() :]
    return uri if _ANY_URI_CHECK(uri) else None  # what the repairs cannot mend is left out


def _any_uri_check() -> Callable[[str], bool]:
    schema = etree.XMLSchema(
        etree.fromstring(
            b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="e">'
            b'<xs:complexType><xs:attribute name="u" type="xs:anyURI"/></xs:complexType>'
            b"</xs:element></xs:schema>"
        )
    )

    def check(uri: str) -> bool:
        element = etree.Element("e", u=uri)
        return schema.validate(etree.ElementTree(element))

    return check


_ANY_URI_CHECK = _any_uri_check()
_COMMON_URL = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)?"
    r"(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?(?:#[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?"
)


_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_IPV6_HOST = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\[[0-9A-Fa-f:.]+\]")
_FIRST_SEGMENT = re.compile(r"[^/?#]*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
