"""The files of an embedded deployment, created owner-only.

The SQLite file holds inline source tokens and every deposit, and the data directory the
search index: both are private to the account that runs the catalogue (0700 / 0600), so
another local user can read neither. SQLite creates its ``-wal`` and ``-shm`` files with
the database file's permissions, so making that file first is enough.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

DIR_MODE = 0o700
FILE_MODE = 0o600


def prepare_data_dir(data_dir: str | Path) -> Path:
    """Create ``data_dir`` (and missing parents' last level) owner-only."""
    path = Path(data_dir)
    if not path.exists():
        path.mkdir(parents=True, mode=DIR_MODE, exist_ok=True)
        path.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def prepare_database_file(database_url: str) -> None:
    """Create the SQLite file of ``database_url`` owner-only before SQLite opens it
    (a file that exists and is ours is tightened to owner-only too)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    if url.database.startswith("file:"):
        return
    path = Path(url.database)
    prepare_data_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
    os.close(fd)
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if name.stat().st_uid == os.getuid():
                name.chmod(FILE_MODE)
        except FileNotFoundError:
            continue
