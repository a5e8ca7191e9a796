"""The OAI-PMH provider for people: browsers get each response as an HTML page (our XSLT,
applied here on the server, since browsers are dropping XSLT), harvesters the XML.

A client gets HTML only when it prefers ``text/html`` to XML, as browsers do; harvesters
send ``*/*``, an XML type or no Accept at all, and get exactly the OAI-PMH document.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Response, request
from lxml import etree

STYLESHEET = Path(__file__).resolve().parent / "static" / "oai2.xsl"


def wants_html() -> bool:
    """A browser's request. Browsers name application/xhtml+xml beside text/html; harvesters
    that prefer text/html without it exist (Java's HttpURLConnection by default sends
    "text/html, image/gif, image/jpeg, *; q=.2") and must still get the XML."""
    accept = request.accept_mimetypes
    offers = ["text/xml", "application/xml", "text/html"]
    return accept.best_match(offers) == "text/html" and "application/xhtml+xml" in accept


@cache
def _transform() -> etree.XSLT:
    # our own stylesheet; still, no file or network access from inside the transform
    access = etree.XSLTAccessControl.DENY_ALL
    return etree.XSLT(etree.parse(str(STYLESHEET)), access_control=access)


def html_response(document: str) -> Response:
    """The OAI-PMH ``document`` rendered as an HTML page."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    tree = etree.fromstring(document.encode("utf-8"), parser)
    page = "<!doctype html>\n" + str(_transform()(tree))
    response = Response(page, content_type="text/html; charset=utf-8")
    response.vary.add("Accept")
    return response
