"""Paths into JSON documents, as the generic JSON source config writes them.

Two spellings, both compiled once (so a bad path is refused when a source is registered):

- JSON Pointer (RFC 6901): ``/data/items``, ``/attributes/0/value``; ``~0``/``~1`` escapes.
  One extension: a ``*`` segment stands for every item of a list (or value of an object).
- Simple paths: ``data.items``, ``authors[*].name``, ``links.next``, ``titles[0]``, and the
  filter that MDM-style records need, ``attributes[name=title].value`` (every item of
  ``attributes`` whose ``name`` is ``title``, then its ``value``).

The empty path (``""``, ``"/"`` or ``"$"``) is the document itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mappings.numbers import ascii_digits

_SEGMENT = re.compile(r"^(?P<key>[^.\[\]]*)(?P<subs>(?:\[[^\[\]]*\])*)$")
_SUBSCRIPT = re.compile(r"\[([^\[\]]*)\]")
_FILTER = re.compile(r"^\s*([^=\s]+)\s*=\s*(.*?)\s*$")
_MAX_PATH = 500


class PathError(ValueError):
    """A path that cannot be compiled."""


@dataclass(frozen=True)
class Step:
    kind: str  # "key", "index", "all" or "match"
    key: str = ""
    index: int = 0
    value: str = ""


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    def values(self, document: Any) -> list[Any]:
        """Every value the path reaches; a list reached at the end gives its items."""
        current = [document]
        for step in self.steps:
            current = [found for item in current for found in _apply(step, item)]
        out: list[Any] = []
        for item in current:
            if isinstance(item, list):
                out.extend(v for v in item if v is not None)
            elif item is not None:
                out.append(item)
        return out

    def first(self, document: Any) -> Any:
        """The first value the path reaches, or None."""
        found = self.values(document)
        return found[0] if found else None

    def node(self, document: Any) -> Any:
        """The single node the path names, lists not expanded (a records array)."""
        current = [document]
        for step in self.steps:
            current = [found for item in current for found in _apply(step, item)]
        return current[0] if len(current) == 1 else (current or None)


def compile_path(text: str) -> JsonPath:
    """Compile a JSON Pointer or a simple path; PathError with the reason when malformed."""
    if not isinstance(text, str):
        raise PathError(f"path must be a string, not {type(text).__name__}")
    if len(text) > _MAX_PATH:
        raise PathError(f"path longer than {_MAX_PATH} characters")
    stripped = text.strip()
    if stripped in ("", "/", "$"):
        return JsonPath(text, ())
    if stripped.startswith("/"):
        return JsonPath(text, tuple(_pointer_steps(stripped)))
    return JsonPath(text, tuple(_simple_steps(stripped)))


def _pointer_steps(text: str) -> list[Step]:
    steps = []
    for raw in text[1:].split("/"):
        if re.search(r"~(?![01])", raw):
            raise PathError(f"bad escape in JSON Pointer segment {raw!r} (use ~0 or ~1)")
        segment = raw.replace("~1", "/").replace("~0", "~")
        if segment == "*":
            steps.append(Step("all"))
        elif ascii_digits(segment):
            # Also valid as an object key: _apply tries both.
            steps.append(Step("index", key=segment, index=int(segment)))
        else:
            steps.append(Step("key", key=segment))
    return steps


def _simple_steps(text: str) -> list[Step]:
    steps = []
    for segment in text.split("."):
        match = _SEGMENT.match(segment)
        if match is None or (not match.group("key") and not match.group("subs")):
            raise PathError(f"bad path segment {segment!r} in {text!r}")
        key = match.group("key")
        if key == "*":
            steps.append(Step("all"))
        elif key:
            steps.append(Step("key", key=key))
        for sub in _SUBSCRIPT.findall(match.group("subs")):
            steps.append(_subscript(sub, text))
    return steps


def _subscript(sub: str, text: str) -> Step:
    sub = sub.strip()
    if sub == "*":
        return Step("all")
    if re.fullmatch(r"-?\d+", sub):
        return Step("index", key=sub, index=int(sub))
    match = _FILTER.match(sub)
    if match and match.group(2):
        return Step("match", key=match.group(1), value=match.group(2).strip("'\""))
    raise PathError(f"bad subscript [{sub}] in {text!r}: use [N], [*] or [field=value]")


def _apply(step: Step, item: Any) -> list[Any]:
    if step.kind == "key":
        return [item[step.key]] if isinstance(item, dict) and step.key in item else []
    if step.kind == "index":
        if isinstance(item, list):
            return [item[step.index]] if -len(item) <= step.index < len(item) else []
        if isinstance(item, dict) and step.key in item:
            return [item[step.key]]
        return []
    if step.kind == "all":
        if isinstance(item, list):
            return list(item)
        return list(item.values()) if isinstance(item, dict) else []
    # match: items of a list whose field equals the value (as text)
    if not isinstance(item, list):
        return []
    return [
        entry
        for entry in item
        if isinstance(entry, dict) and str(entry.get(step.key)) == step.value
    ]
