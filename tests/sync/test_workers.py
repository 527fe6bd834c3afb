"""Two sync workers on one spreadsheet, as separate processes, on SQLite and PostgreSQL: started at the same
moment exactly one works and the other says so; a worker killed while holding the lock blocks the sheet
only until the lock expires."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlmodel import select

from core.models import SyncLock, SyncRun
from sync.engine import acquire_lock, lock_ttl
from sync.service import init_sheets
from sync.xlsx import XlsxBackend
from tests.figures import figure

ROUNDS = 3
ROOT = Path(__file__).resolve().parents[2]

# The workers are separate Python processes started from source (not multiprocessing: under pytest the
# parent's __main__ may be a page script, which a spawned child would run again).
RACER = """
import json, os, sys, time
from pathlib import Path
from core.context import SYSTEM, unit_of_work
from core.models import SyncLock
from sync.engine import run_cycle
from sync.mapping import spreadsheet
from sync.xlsx import XlsxBackend
url, folder, go, rounds = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
with unit_of_work(SYSTEM, "sync", url=url) as ctx:   # warm up (imports, connection) so both start level
    ctx.session.get(SyncLock, "finance")
for n in range(rounds):
    print("ready", flush=True)
    while not go.with_name(f"{go.name}-{n}").exists():
        time.sleep(0.0005)
    # a cycle here takes some milliseconds: hold the lock half a second, as a cycle on real data would, so the
    # other worker tries while it is held even when the machine is busy (under pytest -n, one was once late)
    rep = run_cycle(spreadsheet("finance"), XlsxBackend(folder), url=url,
                    crash=lambda step: time.sleep(0.5) if step == "locked" else None)
    print(json.dumps([os.getpid(), rep.status, rep.message]), flush=True)
"""

STUCK = """
import sys, time
from pathlib import Path
from sync.engine import run_cycle
from sync.mapping import spreadsheet
from sync.xlsx import XlsxBackend

def hang(step):   # after taking the lock, while reading the workbook: hang until killed
    if step == "read":
        print("holding", flush=True)
        time.sleep(600)

run_cycle(spreadsheet("finance"), XlsxBackend(Path(sys.argv[2])), url=sys.argv[1], crash=hang)
"""


def _python(code: str, *args: str, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def _sheets(world, tmp_path) -> Path:
    folder = tmp_path / "sheets"
    init_sheets(backend=XlsxBackend(folder), lang="en", url=world.url)
    return folder


def test_two_workers_started_together_exactly_one_works(world, tmp_path):
    folder = _sheets(world, tmp_path)
    go = tmp_path / "go"
    procs = [_python(RACER, world.url, str(folder), str(go), str(ROUNDS)) for _ in range(2)]
    outcomes = []
    for n in range(ROUNDS):
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        go.with_name(f"go-{n}").touch()        # both are waiting: start them at the same moment
        outcomes += [tuple(json.loads(p.stdout.readline())) for p in procs]
    for p in procs:
        assert p.wait(timeout=60) == 0, "a worker did not exit cleanly"
    statuses = sorted(s for _, s, _ in outcomes)
    assert statuses == ["busy"] * ROUNDS + ["ok"] * ROUNDS, outcomes
    backend = world.url.split(":")[0].split("+")[0]
    figure(f"workers.{backend}.rounds", ROUNDS)
    figure(f"workers.{backend}.ok", statuses.count("ok"))
    figure(f"workers.{backend}.busy", statuses.count("busy"))
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
    # a lock long enough that a busy machine cannot outlast it by accident (it flaked at 3 s); its end is then
    # brought forward in the database, as the clock would
    worker = _python(STUCK, world.url, str(folder), LTC_SYNC_LOCK_TTL="600")
    assert worker.stdout.readline().strip() == "holding", "the worker never took the lock"
    worker.kill()                       # SIGKILL: no clean-up runs
    worker.wait(timeout=30)
    lock = world.read(lambda c: c.session.get(SyncLock, "finance"))
    assert lock is not None and lock.holder.endswith(f":{worker.pid}")

    busy = _cli_sync(world, folder)     # while the dead worker's lock lasts: the CLI says so, exits 0
    assert busy.returncode == 0, busy.stderr
    assert "busy" in busy.stdout and "another sync of 'finance' is running" in busy.stdout

    def expire(ctx):
        row = ctx.session.get(SyncLock, "finance")
        row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    world.read(expire)
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
