"""XML Schema validation of deposited documents, offline.

The schemas of the formats the ingest API accepts (DataCite kernel 3 and 4, the
oai_datacite wrapper, oai_dc) ship under ``catalogue/schemas/xsd``; every include and import
there is a relative path inside that folder and nothing is ever fetched. Schemas registered
through the API are compiled with the same guard: their includes and imports may name only
the XML namespace schema, which is served from the shipped copy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from mappings.datacite import KERNEL_PREFIX, OAI_DATACITE_NAMESPACES
from mappings.oai_dc import OAI_DC_NS

XSD_DIR = Path(__file__).resolve().parent.parent / "schemas" / "xsd"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XML_NS = "http://www.w3.org/XML/1998/namespace"

# Root namespace of a deposit -> (format name stored with the record, schema file)
DEPOSIT_FORMATS = {
    f"{KERNEL_PREFIX}4": ("datacite", "datacite/kernel-4/metadata.xsd"),
    f"{KERNEL_PREFIX}3": ("datacite", "datacite/kernel-3/metadata.xsd"),
    OAI_DATACITE_NAMESPACES[0]: ("oai_datacite", "datacite/oai_datacite/oai_datacite-1.0.xsd"),
    OAI_DATACITE_NAMESPACES[1]: ("oai_datacite", "datacite/oai_datacite/oai_datacite-1.1.xsd"),
    OAI_DC_NS: ("oai_dc", "oai_dc.xsd"),
}
# Validation errors listed per document; a broken document can have thousands.
MAX_ERRORS = 20
MAX_MESSAGE_CHARS = 300


class SchemaCompileError(ValueError):
    """A registered XSD that cannot be compiled (or would need fetching something)."""


@dataclass(frozen=True)
class _Compiled:
    schema: etree.XMLSchema
    # An XMLSchema object is not safe to share between threads (lxml's error log is
    # per object): validations of one schema take turns.
    lock: threading.Lock


class _LocalOnly(etree.Resolver):
    """Refuse every location outside the shipped schema folder (and any network URL)."""

    def resolve(self, url: str | None, pubid: str | None, context: object) -> object:
        if url and url.startswith("file:"):
            url = url[len("file:") :].lstrip("/")
            url = "/" + url
        if url and Path(url).resolve().is_relative_to(XSD_DIR):
            return None  # the default loader reads the shipped file
        raise etree.XMLSchemaParseError(f"schema location refused: {url}")


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False
    )
    parser.resolvers.add(_LocalOnly())
    return parser


@cache
def _shipped(rel: str) -> _Compiled:
    doc = etree.parse(str(XSD_DIR / rel), _parser())
    return _Compiled(etree.XMLSchema(doc), threading.Lock())


def deposit_format(root: etree._Element) -> str | None:
    """The format name of a deposited document (by its root namespace), None if unknown."""
    found = DEPOSIT_FORMATS.get(etree.QName(root).namespace or "")
    return found[0] if found else None


def validate_deposit(root: etree._Element) -> list[str]:
    """Errors of a deposited document against the XSD of its format ("line N: ...")."""
    namespace = etree.QName(root).namespace or ""
    _, rel = DEPOSIT_FORMATS[namespace]
    if namespace in OAI_DATACITE_NAMESPACES and root.find(f"{{{namespace}}}payload") is None:
        # DSpace writes the resource straight inside the wrapper: the wrapper's XSD says no,
        # the resource itself is what must be valid (the crosswalk reads it either way).
        inner = [
            c for c in root if isinstance(c.tag, str) and etree.QName(c).localname == "resource"
        ]
        inner_ns = (etree.QName(inner[0]).namespace or "") if inner else ""
        if inner and inner_ns.startswith(KERNEL_PREFIX) and inner_ns in DEPOSIT_FORMATS:
            return _validate(_shipped(DEPOSIT_FORMATS[inner_ns][1]), inner[0])
    errors = _validate(_shipped(rel), root)
    if namespace in OAI_DATACITE_NAMESPACES and not errors:
        # The wrapper's payload is lax in its schema: check the resource inside it too.
        payload = root.find(f"{{{namespace}}}payload")
        inner = [c for c in payload if isinstance(c.tag, str)] if payload is not None else []
        if not inner:
            return ["the oai_datacite <payload> holds no DataCite resource"]
        inner_ns = etree.QName(inner[0]).namespace or ""
        if inner_ns not in DEPOSIT_FORMATS or not inner_ns.startswith(KERNEL_PREFIX):
            return [f"the oai_datacite <payload> holds {inner[0].tag}, not a DataCite resource"]
        errors = _validate(_shipped(DEPOSIT_FORMATS[inner_ns][1]), inner[0])
    return errors


def _validate(compiled: _Compiled, root: etree._Element) -> list[str]:
    # Validate a copy as its own document, so that a wrapped element keeps its namespaces.
    doc = etree.ElementTree(etree.fromstring(etree.tostring(root), _parser()))
    with compiled.lock:
        try:
            if compiled.schema(doc):
                return []
        except etree.XMLSchemaValidateError:
            # libxml2 gives up inside the validation (e.g. a pattern whose automaton passes
            # its internal limits): the schema cannot judge this document, a client problem.
            return [
                "the document cannot be validated against this schema: the XML Schema "
                "validator reached an internal limit (a pattern or content model too complex)"
            ]
        return [
            f"line {e.line}: {_short(e.message)}"
            for e in list(compiled.schema.error_log)[:MAX_ERRORS]
        ]


def _short(message: str) -> str:
    # libxml2 quotes the whole invalid value; a response must not echo megabytes back.
    return message if len(message) <= MAX_MESSAGE_CHARS else message[: MAX_MESSAGE_CHARS - 1] + "…"


def compile_registered(content: str) -> etree.XMLSchema:
    """Compile a registered XSD; raise SchemaCompileError when it is not a usable schema."""
    from mappings import MappingError
    from mappings.xml import parse_xml

    try:
        root = parse_xml(content.encode(), max_bytes=5 * 1024 * 1024)
    except MappingError as exc:
        raise SchemaCompileError(str(exc)) from exc
    if root.tag != f"{{{XSD_NS}}}schema":
        raise SchemaCompileError("the root element is not xs:schema")
    for ref in root.iter(
        *(f"{{{XSD_NS}}}{t}" for t in ("include", "import", "redefine", "override"))
    ):
        location = ref.get("schemaLocation")
        if location is None:
            continue
        if etree.QName(ref).localname == "import" and ref.get("namespace") == XML_NS:
            ref.set("schemaLocation", (XSD_DIR / "xml.xsd").as_uri())
            continue
        raise SchemaCompileError(
            f"schemaLocation {location!r}: registered schemas must be self-contained "
            "(only the XML namespace schema may be imported)"
        )
    try:
        return etree.XMLSchema(etree.ElementTree(root))
    except etree.XMLSchemaParseError as exc:
        raise SchemaCompileError(f"not a valid XML Schema: {exc}") from exc


_registered_lock = threading.Lock()
_registered: dict[str, _Compiled] = {}


def validate_registered(sha256: str, content: str, root: etree._Element) -> list[str]:
    """Errors of ``root`` against a registered XSD (compiled once per content hash)."""
    with _registered_lock:
        compiled = _registered.get(sha256)
    if compiled is None:
        compiled = _Compiled(compile_registered(content), threading.Lock())
        with _registered_lock:
            _registered[sha256] = compiled
    return _validate(compiled, root)
