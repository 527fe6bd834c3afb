"""Backup and restore of the SQLite database through SQLite's online backup API, safe while the app runs.

PostgreSQL has its own tools (pg_dump / pg_restore): for it both functions refuse and show the commands.
"""
from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from core.errors import ValidationError
from core.messages import Text

STEP_PAGES = 1024           # 4 MiB a step with the default page size; bigger files report progress
SQLITE_MAGIC = b"SQLite format 3\x00"
BASE = "base"               # the revision of a database with no schema yet

Progress = Callable[[int, int], None]
Confirm = Callable[[Path, Path], bool]


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    pages: int
    seconds: float


@dataclass(frozen=True)
class RestoreReport:
    database: Path
    safety_copy: Path | None     # the database as it was before, None if there was none
    revision: str
    migrated_from: str | None    # the backup's older revision, when the restored copy was migrated
    seconds: float


def backup(url: str, path, *, force: bool = False, progress: Progress | None = None,
           step_pages: int = STEP_PAGES) -> BackupReport:
    """Copy the database to `path` (checked, then renamed into place); refuse an existing path unless force."""
    db, path = _sqlite_file(url, path), Path(path)
    if not db.is_file():
        raise ValidationError("{field}: {db} does not exist (nothing to back up)", field="database", db=db)
    if path.exists() and path.resolve() == db.resolve():
        raise ValidationError("{field}: {path} is the live database itself", field="path", path=path)
    if path.is_dir():
        raise ValidationError("{field}: {path} is a folder; give a file name", field="path", path=path)
    if path.exists() and not force:
        raise ValidationError("{field}: {path} already exists; use --force to overwrite it", field="path", path=path)
    started = time.monotonic()
    path.parent.mkdir(parents=True, exist_ok=True)
    pages = _copy_to_new_file(db, path, progress, step_pages, check=True)
    return BackupReport(path, path.stat().st_size, pages, time.monotonic() - started)


def restore(url: str, path, *, yes: bool = False, confirm: Confirm | None = None,
            progress: Progress | None = None, step_pages: int = STEP_PAGES) -> RestoreReport:
    """Replace the database's contents with the backup at `path`, after checking it, migrating it if older and
    keeping a safety copy of the current database. Needs `yes` or `confirm(path, database)` to say so."""
    db, path = _sqlite_file(url, path), Path(path)
    if not path.is_file():
        raise ValidationError("{field}: {path} does not exist or is not a file", field="path", path=path)
    if db.exists() and path.resolve() == db.resolve():
        raise ValidationError("{field}: {path} is the live database itself", field="path", path=path)
    started = time.monotonic()
    db.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=db.parent, prefix=".ltc-restore-") as folder:
        staging = Path(folder) / "restore.db"      # the backup file itself is never opened for writing
        _check_header(path)
        shutil.copyfile(path, staging)
        _check_integrity(staging, path)
        found, head = _revision(staging, path), _head()
        if found != head:
            _migrate_file(staging)
        _check_tables(staging, path)
        if not yes and not (confirm and confirm(path, db)):
            raise ValidationError("{field}: restoring replaces every record in {db}; nothing was changed. Run again "
                                  "with --yes to confirm", field="yes", db=db)
        safety = _safety_copy(db) if db.exists() else None
        try:
            _online_copy(staging, db, progress, step_pages)
        except sqlite3.Error as exc:
            if safety:
                raise ValidationError("{field}: restoring into {db} failed ({error}); it is unchanged; the previous "
                                      "database is also kept at {safety}", field="database", db=db, error=str(exc),
                                      safety=safety) from exc
            raise ValidationError("{field}: restoring into {db} failed ({error}); it is unchanged", field="database",
                                  db=db, error=str(exc)) from exc
    return RestoreReport(db, safety, head, found if found != head else None, time.monotonic() - started)


def _online_copy(src: Path, dest: Path, progress: Progress | None, step_pages: int) -> int:
    """Copy src into dest page by page. The source's read transaction stays open through every step: one
    consistent snapshot while writers go on (WAL), and the copy never restarts. The destination is
    written in one transaction, so its other connections see the old or the new contents, never a mix."""
    source = sqlite3.connect(src, timeout=30, isolation_level=None)
    target = sqlite3.connect(dest, timeout=30)
    pages = 0
    try:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def step(_status, remaining, total):
            nonlocal pages
            pages = total
            if progress and total > step_pages:
                progress(total - remaining, total)

        source.backup(target, pages=step_pages, progress=step)
        source.rollback()
    finally:
        source.close()
        target.close()
    return pages


def _copy_to_new_file(src: Path, dest: Path, progress: Progress | None, step_pages: int, *, check: bool) -> int:
    """Copy to a temporary file beside dest, then rename it: no half-written file is ever found at dest."""
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(name)
    try:
        pages = _online_copy(src, tmp, progress, step_pages)
        with _closing(tmp) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")      # one self-contained file, no -wal beside it
        if check:
            _check_integrity(tmp, dest)
        os.replace(tmp, dest)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
            leftover.unlink(missing_ok=True)
    return pages


def _safety_copy(db: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        path = db.with_name(f"{db.name}.before-restore-{stamp}{'' if n == 1 else f'-{n}'}.db")
        if not path.exists():
            break
    try:    # no integrity check: a damaged database is often the reason to restore, keep it as it is
        _copy_to_new_file(db, path, None, STEP_PAGES, check=False)
    except sqlite3.Error as exc:
        raise ValidationError("{field}: could not keep a safety copy of {db} ({error}); nothing was changed. "
                              "Stop the app and move the file aside first", field="database", db=db,
                              error=str(exc)) from exc
    return path


def _check_header(path: Path) -> None:
    with path.open("rb") as fh:
        if fh.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise ValidationError("{field}: {path} is not a SQLite database", field="path", path=path)


def _check_integrity(db: Path, shown: Path) -> None:
    try:
        with _closing(db) as conn:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
    except sqlite3.DatabaseError as exc:
        raise ValidationError("{field}: {path} is damaged or not a database ({error})", field="path", path=shown,
                              error=str(exc)) from exc
    if problems != ["ok"]:
        raise ValidationError("{field}: {path} failed the integrity check: {problems}", field="path", path=shown,
                              problems="; ".join(problems))


def _check_tables(db: Path, shown: Path) -> None:
    """Every table and column of the schema is there: a file holding only `alembic_version` at the newest
    revision (an empty shell) passed every other check and left a database that "no such table" broke."""
    from sqlmodel import SQLModel

    import core.models  # noqa: F401  (registers every table)

    with _closing(db) as conn:
        present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {t: {r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')} for t in present}
    wanted = SQLModel.metadata.tables
    missing = sorted(set(wanted) - present)
    if missing:
        raise ValidationError("{field}: {path} is not a whole ltc database: {n} tables are missing ({tables}); "
                              "nothing was changed", field="path", path=shown, n=len(missing),
                              tables=", ".join(missing[:5]) + (", …" if len(missing) > 5 else ""))
    gaps = sorted(f"{t}.{c}" for t, table in wanted.items() for c in table.columns.keys() if c not in columns[t])
    if gaps:
        raise ValidationError("{field}: {path} is not a whole ltc database: {n} columns are missing ({columns}); "
                              "nothing was changed", field="path", path=shown, n=len(gaps),
                              columns=", ".join(gaps[:5]) + (", …" if len(gaps) > 5 else ""))


def _revision(db: Path, shown: Path) -> str:
    """The backup's schema revision: one this code knows (the newest or an older one), else a refusal."""
    try:
        with _closing(db) as conn:
            rows = [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.DatabaseError:
        raise ValidationError("{field}: {path} is a SQLite database but not an ltc one (no alembic_version)",
                              field="path", path=shown) from None
    found = rows[0] if len(rows) == 1 else BASE
    known = _known_revisions()
    if found not in known or len(rows) > 1:
        raise ValidationError("{field}: {path} has schema version {found}, unknown to this ltc (at {head}): it was "
                              "made by a newer ltc; upgrade ltc before restoring it", field="path", path=shown,
                              found=", ".join(rows), head=known[-1])
    return found


def _known_revisions() -> list[str]:
    """Every schema revision, oldest first, from core/migrations."""
    from alembic.script import ScriptDirectory

    from core.db import MIGRATIONS

    return [BASE] + [s.revision for s in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))]


def _head() -> str:
    return _known_revisions()[-1]


def _migrate_file(db: Path) -> None:
    from core.db import get_engine, migrate

    url = f"sqlite:///{db}"
    migrate(url)
    get_engine(url).dispose()       # closes the file, so the staging folder can go


def _closing(path: Path):
    """A short connection, closed (not just committed) on leaving the block."""
    return closing(sqlite3.connect(path, timeout=30))


def _sqlite_file(url: str, path) -> Path:
    """The SQLite database file of url; for PostgreSQL a refusal that shows the pg_dump / pg_restore commands."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql":
        advice = _postgres_advice(u, Path(path))
        raise ValidationError(advice, field="database")
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:"):
        raise ValidationError("{field}: backup and restore work on a SQLite file; {url} is not one", field="database",
                              url=u.render_as_string(hide_password=True))
    return Path(u.database)


def _postgres_advice(u, path: Path) -> Text:
    plain = URL.create("postgresql", username=u.username, host=u.host, port=u.port, database=u.database,
                       query=u.query)     # no password, libpq's own scheme
    conn, file = shlex.quote(plain.render_as_string(hide_password=False)), shlex.quote(str(path))
    options = u.query.get("options", ())
    schemas = [part.split("=", 1)[1].split(",")[0] for option in ([options] if isinstance(options, str) else options)
               for part in option.split() if part.startswith("-csearch_path=")]
    only = f" -n {shlex.quote(schemas[0])}" if schemas else ""
    commands = Text("\n  backup:  pg_dump -Fc{only} -d {conn} -f {file}"
                    "\n  restore: pg_restore --clean --if-exists --single-transaction -d {conn} {file}",
                    only=only, conn=conn, file=file)
    if u.password:
        return Text("{field}: ltc backup and restore copy SQLite files; this database is PostgreSQL, use its own tools "
                    "(password left out: give it with PGPASSWORD or ~/.pgpass):{commands}", field="database",
                    commands=commands)
    return Text("{field}: ltc backup and restore copy SQLite files; this database is PostgreSQL, use its own "
                "tools:{commands}", field="database", commands=commands)
