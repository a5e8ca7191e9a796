"""Bearer-token authentication of the write API: who is calling, and may they do this.

Tokens are created by an admin (``catalogue tokens create``); the store keeps only their
SHA-256, so a leaked database does not leak usable tokens. Reads need no token.
"""

from __future__ import annotations

from datetime import timedelta

from flask import g, request

from catalogue.store import ApiToken
from catalogue.web.errors import ApiError
from catalogue.web.services import services
from harvester import clock

# What each role may do; admin may do everything.
WRITE_RECORDS = frozenset({"admin", "depositor"})
# A registered schema runs on every deposit that names it: admins register them (the
# setting ingest.depositors_register_schemas opens it to depositors).
REGISTER_SCHEMAS = frozenset({"admin"})

# last_used_at is informational: writing it on every request would add a write
# transaction to each call, so it is refreshed at most this often per token.
TOUCH_INTERVAL = timedelta(minutes=1)
_CHALLENGE = 'Bearer realm="catalogue"'


def require_role(roles: frozenset[str]) -> ApiToken:
    """The calling token, which must hold one of ``roles``; 401 or 403 otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if not header:
        raise ApiError(
            401, "this request needs a bearer token", headers={"WWW-Authenticate": _CHALLENGE}
        )
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or len(secret) > 200 or not secret.isascii():
        raise _invalid("expected 'Authorization: Bearer <token>'")
    store = services().store
    token = store.find_token(secret)
    if token is None:
        raise _invalid("the token is unknown or revoked")
    # the answer caller_is_admin() would read again from the same header (the records
    # written are answered with record_json, which asks): one token lookup per request
    g.caller_is_admin = token.role == "admin"
    if token.role not in roles:
        raise ApiError(403, f"a {token.role} token may not do this; needs one of {sorted(roles)}")
    now = clock.utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        store.touch_token(token.id, now)
    return token


def register_schema_roles() -> frozenset[str]:
    """Who may register schemas under the current settings."""
    if services().settings.ingest.depositors_register_schemas:
        return REGISTER_SCHEMAS | {"depositor"}
    return REGISTER_SCHEMAS


def caller_is_admin() -> bool:
    """Whether the request carries a valid admin token; reads need none, and a missing or
    bad token just makes the caller anonymous (who-did-what is shown to admins only)."""
    if "caller_is_admin" not in g:
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        secret = secret.strip()
        token = None
        if scheme.lower() == "bearer" and secret and len(secret) <= 200 and secret.isascii():
            token = services().store.find_token(secret)
        g.caller_is_admin = token is not None and token.role == "admin"
    return bool(g.caller_is_admin)


def _invalid(message: str) -> ApiError:
    challenge = f'{_CHALLENGE}, error="invalid_token"'
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})
