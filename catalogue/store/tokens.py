"""API tokens: only a secret's SHA-256 is stored; a token is shown once."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime

from sqlalchemy import bindparam, select, update

from catalogue.store.engine import StoreBase
from catalogue.store.types import ApiToken
from catalogue.tables import ApiTokenRow
from harvester import clock

log = logging.getLogger(__name__)


TOKEN_ROLES = ("admin", "depositor", "reader")
# Makes a leaked token recognisable (secret scanners, logs) as one of ours.
TOKEN_PREFIX = "cat_"


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Tokens(StoreBase):
    """The API tokens aggregate."""

    def create_token(
        self, name: str, role: str, *, created_by: str | None = None
    ) -> tuple[ApiToken, str]:
        """A new bearer token; returns it with its secret, which is shown once and only its
        SHA-256 is stored."""
        if role not in TOKEN_ROLES:
            raise ValueError(f"role must be one of {TOKEN_ROLES}")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiTokenRow(
            name=name,
            role=role,
            token_hash=token_hash(secret),
            created_at=clock.utcnow(),
            created_by=created_by,
        )
        with self._session.begin() as s:
            s.add(row)
            s.flush()
            return _token(row), secret

    def find_token(self, secret: str) -> ApiToken | None:
        """The active (not revoked) token with this secret, or None.

        Read on every authenticated request, so it is a Core statement built once (through
        the ORM it cost ~0.5 ms); never cached, so a revocation applies to the next request.
        One statement outside a transaction: no BEGIN and ROLLBACK round trips around it.
        """
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(_SELECT_ACTIVE_TOKEN, {"hash": token_hash(secret)}).first()
        return _token(row) if row is not None else None

    def touch_token(self, token_id: int, when: datetime) -> None:
        with self._session.begin() as s:
            s.execute(
                update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=when)
            )

    def list_tokens(self) -> list[ApiToken]:
        with self._session() as s:
            return [_token(r) for r in s.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id))]

    def revoke_token(self, token_id: int) -> ApiToken | None:
        """Revoke a token (idempotent); None when there is no such token."""
        with self._session.begin() as s:
            row = s.get(ApiTokenRow, token_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = clock.utcnow()
            return _token(row)


_TOKENS = ApiTokenRow.__table__
_SELECT_ACTIVE_TOKEN = select(_TOKENS).where(
    _TOKENS.c.token_hash == bindparam("hash"), _TOKENS.c.revoked_at.is_(None)
)


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        role=row.role,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
