"""Alembic environment: the engine comes from ``catalogue.migrate`` (never from a URL in a file)."""

from alembic import context

from catalogue.tables import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
