"""RFC 6902 JSON Patch with bounded cost.

A ``copy`` of a member into itself doubles the document: 26 operations in a 1.5 KB patch
took the server past 4.6 GB. So a patch holds at most ``ingest.max_patch_operations``
operations, and the document's size is tracked after every operation against
``max_request_bytes`` (what the client could have sent as a whole record): an upper
bound that only grows (``add``/``replace``/``copy`` add the size of the value they put
in; removals are not subtracted), so the work of measuring copied values is bounded by
the limit too, and a patch is refused at the first operation that would pass it. The
patched record must then fit ``ingest.max_record_bytes`` like any deposit.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from catalogue.web.errors import ApiError
from catalogue.web.limits import MAX_ERRORS, json_size

_GROWING = {"add", "replace", "copy"}


_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})
_NEEDS = {"add": "value", "replace": "value", "test": "value", "move": "from", "copy": "from"}


def check_patch(operations: Any, *, max_operations: int) -> list[dict[str, Any]]:
    """``operations`` if they are a well-formed RFC 6902 patch: ApiError 400 if not, 413
    when it is too long. Checked before the record's state (a malformed request is a 400
    whatever the record's ETag, not a 412)."""
    if not isinstance(operations, list):
        raise ApiError(
            400, "a JSON Patch is a list of operations", [{"field": "", "message": "not a list"}]
        )
    if len(operations) > max_operations:
        raise ApiError(
            413,
            f"a JSON Patch may hold at most {max_operations} operations",
            [{"field": "", "message": f"{len(operations)} operations given"}],
        )
    errors = []
    for n, op in enumerate(operations):
        problem = _operation_problem(op)
        if problem:
            errors.append({"field": f"/{n}", "message": problem})
    if errors:
        raise ApiError(400, "invalid JSON Patch", errors[:MAX_ERRORS])
    return operations


def _operation_problem(op: Any) -> str | None:
    if not isinstance(op, dict) or not isinstance(op.get("path"), str):
        return "an operation needs string 'op' and 'path'"
    name = op.get("op")
    if not isinstance(name, str) or name not in _OPS:
        return f"'op' must be one of {', '.join(sorted(_OPS))}"
    if "from" in op and not isinstance(op["from"], str):
        return "'from' must be a string (a JSON Pointer)"
    needed = _NEEDS.get(name)
    if needed and needed not in op:
        return f"a {name!r} operation needs '{needed}'"
    return None


def apply_patch(document: dict[str, Any], operations: list[dict[str, Any]], max_bytes: int) -> Any:
    """``document`` with ``operations`` (as :func:`check_patch` passed them) applied;
    ApiError 400 for a failing patch, 413 when it would grow the record past ``max_bytes``."""
    current = copy.deepcopy(document)
    size = json_size(current)
    for n, op in enumerate(operations):
        size += _growth(current, op, n)
        if size > max_bytes:
            raise ApiError(
                413,
                f"the patch would make the record larger than {max_bytes} bytes",
                [
                    {
                        "field": f"/{n}",
                        "message": "the record would be too large after this operation",
                    }
                ],
            )
        current = _apply_one(current, op, n)
    return current


def _growth(document: Any, op: dict[str, Any], n: int) -> int:
    kind = op["op"]
    if kind not in _GROWING:
        return 0
    if kind == "copy":
        source = op.get("from")
        if not isinstance(source, str):
            return 0  # jsonpatch refuses it when applied
        try:
            return json_size(jsonpointer.resolve_pointer(document, source))
        except (jsonpointer.JsonPointerException, TypeError, ValueError, KeyError, IndexError):
            return 0  # jsonpatch reports it when applied
    return json_size(op.get("value"))


def _apply_one(document: Any, op: dict[str, Any], n: int) -> Any:
    try:
        return jsonpatch.JsonPatch([op]).apply(document, in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise ApiError(
            400, "the patch cannot be applied", [{"field": f"/{n}", "message": str(exc)}]
        ) from exc
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        # jsonpatch lets some malformed operations through as plain Python errors
        raise ApiError(
            400,
            "invalid JSON Patch",
            [{"field": f"/{n}", "message": str(exc) or type(exc).__name__}],
        ) from exc
