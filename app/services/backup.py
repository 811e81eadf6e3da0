"""Backups: SQLite's online backup API; pg_dump / pg_restore for PostgreSQL (custom format)."""

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from app.db import normalise_url


def _libpq(url: str) -> str:
    """The URL as libpq tools expect it (no SQLAlchemy driver suffix)."""
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be backed up")
    return database


def backup(url: str, target: Path) -> None:
    """Write a consistent copy of the database at `url` to `target`, while it serves."""
    if make_url(normalise_url(url)).get_backend_name() == "sqlite":
        with sqlite3.connect(_sqlite_path(url)) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq(url)])


def restore(url: str, source: Path) -> None:
    """Replace the contents of the (empty or expendable) database at `url` with the backup."""
    if not source.is_file():
        raise FileNotFoundError(source)
    if make_url(normalise_url(url)).get_backend_name() == "sqlite":
        path = Path(_sqlite_path(url))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        with sqlite3.connect(source) as backup_db, sqlite3.connect(path) as live:
            backup_db.backup(live)
        return
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", f"--dbname={_libpq(url)}", str(source)])


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise RuntimeError(f"{command[0]} is not installed (Debian: postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")
