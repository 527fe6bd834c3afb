"""Two sync workers on one spreadsheet, as separate processes, on SQLite and PostgreSQL: started at the same
moment exactly one works and the other says so; a worker killed while holding the lock blocks the sheet
only until the lock expires."""
from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import select

from core.models import SyncLock, SyncRun
from sync.engine import acquire_lock, lock_ttl
from sync.mapping import spreadsheet
from sync.service import init_sheets
from sync.xlsx import XlsxBackend

ROUNDS = 3
ROOT = Path(__file__).resolve().parents[2]


def _racer(url: str, folder: str, start, results) -> None:
    """A worker process: at each round, waits for the other, then runs one cycle of the finance sheet."""
    from core.context import SYSTEM, unit_of_work
    from sync.engine import run_cycle
    with unit_of_work(SYSTEM, "sync", url=url) as ctx:   # warm up (imports, connection) so both start level
        ctx.session.get(SyncLock, "finance")
    for _ in range(ROUNDS):
        start.wait()
        rep = run_cycle(spreadsheet("finance"), XlsxBackend(Path(folder)), url=url)
        results.put((os.getpid(), rep.status, rep.message))


def _stuck(url: str, folder: str, ttl: str, holding) -> None:
    """A worker that hangs in the middle of a cycle (after taking the lock, while reading) until killed."""
    os.environ["LTC_SYNC_LOCK_TTL"] = ttl
    from sync.engine import run_cycle

    def hang(step):
        if step == "read":
            holding.set()
            time.sleep(600)
    run_cycle(spreadsheet("finance"), XlsxBackend(Path(folder)), url=url, crash=hang)


def _sheets(world, tmp_path) -> Path:
    folder = tmp_path / "sheets"
    init_sheets(backend=XlsxBackend(folder), lang="en", url=world.url)
    return folder


def test_two_workers_started_together_exactly_one_works(world, tmp_path):
    folder = _sheets(world, tmp_path)
    ctx = mp.get_context("spawn")
    start, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(world.url, str(folder), start, results)) for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0, "a worker did not exit cleanly"
    statuses = sorted(s for _, s, _ in outcomes)
    assert statuses == ["busy"] * ROUNDS + ["ok"] * ROUNDS, outcomes
    assert all("another sync of 'finance' is running" in m for _, s, m in outcomes if s == "busy")
    runs = world.read(lambda c: c.session.exec(select(SyncRun)).all())
    assert len(runs) == ROUNDS and all(r.status == "ok" and r.finished_at for r in runs), \
        "the busy worker must not record a run"
    assert world.read(lambda c: c.session.exec(select(SyncLock)).all()) == []


def _cli_sync(world, folder) -> subprocess.CompletedProcess:
    env = dict(os.environ, LTC_DATABASE_URL=world.url, LTC_SHEETS_BACKEND="xlsx", LTC_WORKBOOK_DIR=str(folder),
               PYTHONPATH=str(ROOT))
    env.pop("LTC_SYNC_LOCK_TTL", None)
    return subprocess.run([sys.executable, "-m", "cli.main", "sync", "--once", "--only", "finance"], env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_lock_left_by_a_killed_worker_expires(world, tmp_path):
    folder = _sheets(world, tmp_path)
    ctx = mp.get_context("spawn")
    holding = ctx.Event()
    worker = ctx.Process(target=_stuck, args=(world.url, str(folder), "3", holding))
    worker.start()
    assert holding.wait(timeout=120), "the worker never took the lock"
    worker.kill()                       # SIGKILL: no clean-up runs
    worker.join(timeout=30)
    lock = world.read(lambda c: c.session.get(SyncLock, "finance"))
    assert lock is not None and lock.holder.endswith(f":{worker.pid}")

    busy = _cli_sync(world, folder)     # while the dead worker's lock lasts: the CLI says so, exits 0
    assert busy.returncode == 0, busy.stderr
    assert "busy" in busy.stdout and "another sync of 'finance' is running" in busy.stdout

    expires = lock.expires_at if lock.expires_at.tzinfo else lock.expires_at.replace(tzinfo=timezone.utc)
    time.sleep(max(0.0, (expires - datetime.now(timezone.utc)).total_seconds()) + 0.5)
    done = _cli_sync(world, folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["finance", "ok"], done.stdout
    runs = world.read(lambda c: c.session.exec(select(SyncRun).order_by(SyncRun.id)).all())
    assert runs[0].finished_at is None and runs[-1].status == "ok"   # the killed run stays unfinished
    assert world.read(lambda c: c.session.exec(select(SyncLock)).all()) == []


def test_lock_lifetime_setting(monkeypatch):
    monkeypatch.setenv("LTC_SYNC_LOCK_TTL", "90")
    assert lock_ttl().total_seconds() == 90
    for bad in ("0", "-5", "ten", "1.5", "99999999"):
        monkeypatch.setenv("LTC_SYNC_LOCK_TTL", bad)
        try:
            acquire_lock("finance", "w", url="sqlite://")
        except Exception as exc:
            assert getattr(exc, "field", None) == "LTC_SYNC_LOCK_TTL" and repr(bad) in str(exc)
        else:
            raise AssertionError(f"LTC_SYNC_LOCK_TTL={bad} was accepted")
