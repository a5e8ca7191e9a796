"""Stateless resumption tokens: the keyset position plus the list's arguments, signed.

A token is ``<payload>.<mac>``: the payload is URL-safe base64 of a compact JSON array
(format version, prefix, from, until, set, last datestamp, last id, cursor,
completeListSize), the mac an HMAC-SHA256 over the verb and the payload, keyed from the
app's ``secret_key``. Nothing is kept on the server, so a token never expires: it is valid
as long as the secret key is unchanged (changing the key invalidates every token out, which
harvesters see as badResumptionToken and restart from their last ``from``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from catalogue.model import SET_SPEC
from catalogue.web.oai.arguments import PREFIX_PATTERN, ListArgs
from catalogue.web.oai.errors import BadResumptionToken

_VERSION = 1
_EPOCH = datetime(1970, 1, 1)
# 128 bits of MAC: forging one is as hard as guessing a random 128-bit key.
_MAC_BYTES = 16
_MAX_ID_CHARS = 200


@dataclass(frozen=True)
class ListState:
    """Where a list request resumes: its arguments, the last (datestamp, id) delivered, how
    many records were delivered before (``cursor``) and the list size at harvest start."""

    args: ListArgs
    after: tuple[datetime, str]
    cursor: int
    complete_list_size: int


class TokenSigner:
    """Encodes and decodes the resumption tokens of one verb family under one secret."""

    def __init__(self, secret: str) -> None:
        # A key of its own, so a token MAC can never double as any other MAC of the app.
        self._key = hashlib.sha256(b"catalogue.oai.resumptionToken\0" + secret.encode()).digest()

    def encode(self, verb: str, state: ListState) -> str:
        args = state.args
        fields = [
            _VERSION,
            args.prefix,
            _seconds(args.from_),
            _seconds(args.until),
            args.set_spec,
            _seconds(state.after[0]),
            state.after[1],
            state.cursor,
            state.complete_list_size,
        ]
        payload = _b64(json.dumps(fields, separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._mac(verb, payload))}"

    def decode(self, verb: str, token: str) -> ListState:
        """The state in ``token``; badResumptionToken if it is garbled, forged or altered."""
        payload, dot, mac = token.partition(".")
        if not dot or not hmac.compare_digest(_unb64(mac), self._mac(verb, payload)):
            raise BadResumptionToken("the resumptionToken is invalid")
        try:
            fields = json.loads(_unb64(payload))
            version, prefix, from_, until, set_spec, stamp, last_id, cursor, size = fields
            if version != _VERSION:
                raise ValueError("unknown token version")
            _check(isinstance(prefix, str) and PREFIX_PATTERN.fullmatch(prefix))
            _check(set_spec is None or _is_spec(set_spec))
            # Decoded contents are untrusted like any argument (the default secret is
            # public): an id must be one a store can hold and compare (no NUL, no lone
            # surrogate), and every record id is printable ASCII.
            _check(isinstance(last_id, str) and 0 < len(last_id) <= _MAX_ID_CHARS)
            _check(last_id.isascii() and last_id.isprintable())
            _check(_is_count(cursor) and _is_count(size))
            state = ListState(
                ListArgs(prefix, _datetime(from_), _datetime(until), set_spec),
                (_datetime(stamp), last_id),
                cursor,
                size,
            )
        except (ValueError, TypeError, OverflowError) as exc:
            # Signed by us yet unreadable: a bug or an old format, never the client's fault,
            # but the client can only restart the list.
            raise BadResumptionToken("the resumptionToken is invalid") from exc
        if state.after[0] is None:
            raise BadResumptionToken("the resumptionToken is invalid")
        return state

    def _mac(self, verb: str, payload: str) -> bytes:
        message = verb.encode() + b"\0" + payload.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def _check(condition: object) -> None:
    if not condition:
        raise ValueError("malformed token field")


def _is_spec(value: object) -> bool:
    return isinstance(value, str) and SET_SPEC.fullmatch(value) is not None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _seconds(value: datetime | None) -> int | None:
    return None if value is None else int((value - _EPOCH).total_seconds())


def _datetime(value: object) -> datetime | None:
    if value is None:
        return None
    _check(isinstance(value, int) and not isinstance(value, bool))
    return _EPOCH + timedelta(seconds=value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""
