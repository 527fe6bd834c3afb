"""`ltc backup` / `ltc restore`: SQLite's online backup API while the app writes, checked restores that keep a
safety copy, and refusals that leave the live database as it was. PostgreSQL refuses and shows pg_dump."""
import hashlib
import io
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from cli.main import main
from core.backup import backup, restore
from core.context import SYSTEM, unit_of_work
from core.db import alembic_config, get_engine, migrate
from core.errors import ValidationError
from core.exports import ENTITIES, export_rows, to_csv
from core.services.leads import capture_lead
from tests.conftest import PG_SCHEMA

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def checksum(url) -> str:
    """One sha256 over the CSV export of every entity."""
    digest = hashlib.sha256()
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        for entity in sorted(ENTITIES):
            digest.update(entity.encode() + to_csv(*export_rows(ctx, entity)).encode())
    return digest.hexdigest()


def add_lead(url, company) -> int:
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        return capture_lead(ctx, company=company, email=f"{company.replace(' ', '.').lower()}@example.com")


@pytest.fixture
def live(demo_template, tmp_path, monkeypatch):
    path = tmp_path / "live" / "ltc.db"
    path.parent.mkdir()
    shutil.copy(demo_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("LTC_DATABASE_URL", url)
    monkeypatch.setenv("LTC_DATA_DIR", str(tmp_path / "data"))
    yield url
    get_engine(url).dispose()


def safety_copies(url):
    db = url.split("///", 1)[1]
    return sorted(Path(db).parent.glob("*.before-restore-*"))


def test_backup_then_restore_gives_identical_exports_and_keeps_a_safety_copy(live, tmp_path):
    before = checksum(live)
    steps = []
    report = backup(live, tmp_path / "b.db", step_pages=32, progress=lambda done, total: steps.append((done, total)))
    assert report.pages > 32 and steps[-1] == (report.pages, report.pages)
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)          # stepped, never restarted
    assert (tmp_path / "b.db").read_bytes()[18:20] == b"\x01\x01"        # rollback journal: one file
    assert not list(tmp_path.glob("b.db*-wal")) and not list(tmp_path.glob(".b.db*"))

    add_lead(live, "Changed Since Backup")
    changed = checksum(live)
    assert changed != before
    held = get_engine(live).connect()                                    # an app connection open throughout
    assert held.execute(text("SELECT count(*) FROM lead WHERE company = 'Changed Since Backup'")).scalar() == 1
    held.commit()

    result = restore(live, tmp_path / "b.db", yes=True)
    assert checksum(live) == before and result.migrated_from is None
    assert held.execute(text("SELECT count(*) FROM lead WHERE company = 'Changed Since Backup'")).scalar() == 0
    held.close()
    assert safety_copies(live) == [result.safety_copy]
    assert checksum(f"sqlite:///{result.safety_copy}") == changed

    fresh = f"sqlite:///{tmp_path / 'new' / 'ltc.db'}"                   # a new server: nothing to keep
    assert restore(fresh, tmp_path / "b.db", yes=True).safety_copy is None
    assert checksum(fresh) == before
    get_engine(fresh).dispose()


def test_backup_while_the_app_writes_is_one_consistent_moment(live, tmp_path):
    written, steps, stop, wrote_during = [], [], threading.Event(), threading.Event()

    def writer():
        while not stop.is_set():
            name = f"Writer {len(written):04d}"
            add_lead(live, name)
            written.append(name)
            if steps:
                wrote_during.set()

    def progress(done, total):
        steps.append(done)
        assert len(steps) < 1000, "the backup keeps restarting"
        if len(steps) == 1:
            assert wrote_during.wait(10), "the writer never committed while the backup ran"

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not written:
            stop.wait(0.01)
        backup(live, tmp_path / "b.db", step_pages=16, progress=progress)
    finally:
        stop.set()
        thread.join()
    assert steps == sorted(steps) and len(steps) > 10                  # no restart though the source changed
    conn = sqlite3.connect(tmp_path / "b.db")
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    got = [r[0] for r in conn.execute("SELECT company FROM lead WHERE company LIKE 'Writer %' ORDER BY id")]
    audited = conn.execute("SELECT count(*) FROM auditevent WHERE action = 'lead.capture' AND entity = 'lead' "
                           "AND entity_id IN (SELECT id FROM lead WHERE company LIKE 'Writer %')").fetchone()[0]
    conn.close()
    assert 1 <= len(got) < len(written) and got == written[:len(got)]  # a prefix: what was committed by then
    assert audited == len(got)                                         # each lead with its audit record


def _damaged(tmp_path, good):
    data = good.read_bytes()
    (tmp_path / "notes.txt").write_text("not a database\n")
    (tmp_path / "truncated.db").write_bytes(data[:len(data) // 2])
    corrupt = bytearray(data)
    corrupt[4096 * 5:4096 * 5 + 300] = b"\xa5" * 300
    (tmp_path / "corrupt.db").write_bytes(bytes(corrupt))
    shutil.copy(good, tmp_path / "newer.db")
    with sqlite3.connect(tmp_path / "newer.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("CREATE TABLE t (x)")
    with sqlite3.connect(good) as conn:   # an empty shell: alembic_version at the newest revision, nothing else
        head = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    with sqlite3.connect(tmp_path / "shell.db") as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (head,))
    shutil.copy(good, tmp_path / "narrow.db")   # every table, one of them without a column
    with sqlite3.connect(tmp_path / "narrow.db") as conn:
        conn.execute("ALTER TABLE lead DROP COLUMN budget")
    return {"notes.txt": "is not a SQLite database", "truncated.db": "damaged", "corrupt.db": "damaged",
            "newer.db": "9999_future", "other.db": "not an ltc one", "missing.db": "does not exist",
            "shell.db": "tables are missing", "narrow.db": "columns are missing (lead.budget)"}


def test_refusals_name_the_field_and_change_nothing(live, tmp_path):
    good = tmp_path / "good.db"
    backup(live, good)
    add_lead(live, "After The Backup")
    before = checksum(live)
    for name, reason in _damaged(tmp_path, good).items():
        with pytest.raises(ValidationError) as exc:
            restore(live, tmp_path / name, yes=True)
        assert exc.value.field == "path" and str(exc.value).startswith("path: ") and reason in str(exc.value), name
    for confirm in (None, lambda path, db: False):
        with pytest.raises(ValidationError, match="^yes: restoring replaces every record") as exc:
            restore(live, good, confirm=confirm)
        assert exc.value.field == "yes"
    good_bytes = good.read_bytes()
    with pytest.raises(ValidationError, match="^path: .* already exists; use --force") as exc:
        backup(live, good)
    with pytest.raises(ValidationError, match="^path: .* is the live database itself"):
        backup(live, live.split("///", 1)[1], force=True)
    assert good.read_bytes() == good_bytes
    assert checksum(live) == before and safety_copies(live) == []
    backup(live, good, force=True)
    assert checksum(f"sqlite:///{good}") == before


@pytest.mark.parametrize("older", ["base", "0001"])
def test_an_older_backup_is_migrated_after_restoring(live, tmp_path, older):
    """A backup made by an older version of ltc (an empty one, and one at the first schema holding data)."""
    old = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(old)
    with unit_of_work(SYSTEM, "test", url=old) as ctx:
        capture_lead(ctx, company="Kept Across Versions", phone="13900000009", source="website")
    command.downgrade(alembic_config(old), older)
    get_engine(old).dispose()
    before = (tmp_path / "old.db").read_bytes()
    report = restore(live, tmp_path / "old.db", yes=True)
    assert report.migrated_from == older and report.revision == HEAD
    with unit_of_work(SYSTEM, "test", url=live) as ctx:
        companies = [r["company"] for r in export_rows(ctx, "leads")[1]]
    assert companies == ([] if older == "base" else ["Kept Across Versions"])
    assert (tmp_path / "old.db").read_bytes() == before                  # the backup file is left as it was


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_cli_backup_and_restore(live, tmp_path, capsys, monkeypatch):
    before = checksum(live)
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    assert "backup written to" in capsys.readouterr().out
    assert main(["backup", str(tmp_path / "b.db")]) == 1
    assert "error: path: " in capsys.readouterr().err
    add_lead(live, "Typed After Backup")
    changed = checksum(live)

    assert main(["restore", str(tmp_path / "b.db")]) == 1               # pytest's stdin is no terminal
    assert "error: yes: " in capsys.readouterr().err and checksum(live) == changed
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    assert main(["restore", str(tmp_path / "b.db")]) == 1
    assert "error: yes: " in capsys.readouterr().err and checksum(live) == changed
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    assert main(["restore", str(tmp_path / "b.db")]) == 0
    out = capsys.readouterr().out
    assert "safety copy of the previous database: " in out and "restored from" in out
    assert checksum(live) == before
    assert main(["restore", str(tmp_path / "nothing.db"), "--yes"]) == 1
    assert "error: path: " in capsys.readouterr().err


def test_each_backend(db_url, tmp_path):
    """The same calls: SQLite backs up; PostgreSQL refuses and shows the pg_dump / pg_restore commands."""
    if db_url.startswith("sqlite"):
        assert backup(db_url, tmp_path / "b.dump").bytes > 0
        return
    for fn, kwargs in ((backup, {}), (restore, {"yes": True})):
        with pytest.raises(ValidationError) as exc:
            fn(db_url, tmp_path / "b.dump", **kwargs)
        message = str(exc.value)
        assert exc.value.field == "database" and message.startswith("database: ")
        assert f"pg_dump -Fc -n {PG_SCHEMA} -d 'postgresql://" in message
        assert f"-f {tmp_path / 'b.dump'}" in message
        assert "pg_restore --clean --if-exists --single-transaction -d 'postgresql://" in message
        assert "psycopg" not in message
    assert not (tmp_path / "b.dump").exists()
