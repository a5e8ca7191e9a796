"""The schema registry (metastore2's): versioned JSON Schemas and XSDs."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from catalogue.store.engine import StoreBase
from catalogue.store.types import LocalWriteConflict, RegisteredSchema
from catalogue.tables import SchemaRow
from harvester import clock

log = logging.getLogger(__name__)


class Schemas(StoreBase):
    """The schema registry aggregate."""

    def register_schema(
        self,
        schema_id: str,
        type: str,
        mime_type: str,
        content: str,
        *,
        label: str | None = None,
        comment: str | None = None,
        actor: str | None = None,
    ) -> tuple[RegisteredSchema, bool]:
        """Store ``content`` as the next version of ``schema_id``; returns (version, created).

        Registering the content of the latest version again creates nothing (idempotent).
        """
        digest = hashlib.sha256(content.encode()).hexdigest()
        for _attempt in range(3):
            latest = self.get_schema(schema_id)
            if latest is not None and latest.sha256 == digest and latest.type == type:
                return latest, False
            row = SchemaRow(
                schema_id=schema_id,
                version=(latest.version + 1) if latest else 1,
                type=type,
                mime_type=mime_type,
                label=label,
                comment=comment,
                content=content,
                sha256=digest,
                created_at=clock.utcnow(),
                created_by=actor,
            )
            try:
                with self._session.begin() as s:
                    s.add(row)
            except IntegrityError:
                continue  # another request took this version number; number again
            return _schema(row), True
        raise LocalWriteConflict(f"schema {schema_id!r} is being registered concurrently")

    def get_schema(self, schema_id: str, version: int | None = None) -> RegisteredSchema | None:
        """One version of a registered schema; the latest when ``version`` is None."""
        stmt = select(SchemaRow).where(SchemaRow.schema_id == schema_id)
        if version is None:
            stmt = stmt.order_by(SchemaRow.version.desc()).limit(1)
        else:
            stmt = stmt.where(SchemaRow.version == version)
        with self._session() as s:
            row = s.scalars(stmt).first()
            return _schema(row) if row else None

    def schema_versions(self, schema_id: str) -> list[int]:
        with self._session() as s:
            return list(
                s.scalars(
                    select(SchemaRow.version)
                    .where(SchemaRow.schema_id == schema_id)
                    .order_by(SchemaRow.version)
                )
            )

    def list_schemas(self) -> list[RegisteredSchema]:
        """The latest version of every registered schema, by id."""
        latest = (
            select(SchemaRow.schema_id, func.max(SchemaRow.version).label("version"))
            .group_by(SchemaRow.schema_id)
            .subquery()
        )
        stmt = (
            select(SchemaRow)
            .join(
                latest,
                (SchemaRow.schema_id == latest.c.schema_id)
                & (SchemaRow.version == latest.c.version),
            )
            .order_by(SchemaRow.schema_id)
        )
        with self._session() as s:
            return [_schema(r) for r in s.scalars(stmt)]


def _schema(row: SchemaRow) -> RegisteredSchema:
    return RegisteredSchema(
        schema_id=row.schema_id,
        version=row.version,
        type=row.type,
        mime_type=row.mime_type,
        label=row.label,
        comment=row.comment,
        content=row.content,
        sha256=row.sha256,
        created_at=row.created_at,
        created_by=row.created_by,
    )
