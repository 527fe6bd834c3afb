"""Page script run times on `ltc demo --scale 10` data, through Streamlit's AppTest (the whole script:
frame, queries, rendering to the element tree; no browser).

    .venv/bin/python benchmarks/pages.py [--db PATH] [--runs 5] [--as LOGIN ...]

Without --db it builds the scale-10 demo in a temporary folder first (about two minutes).
Prints, per page and role (and with a record of each kind the page shows opened by its address), the median
and worst of the runs after one warm-up. Goal: every page < 0.5 s. With --as (repeatable; e.g. `--as mgr-east
--as ar`), every page that person may open, as them: their data scope narrows every query.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.nav import PAGES  # noqa: E402
from core import clock  # noqa: E402

# (page, the demo login that uses it most)
WHO = {"screens/home.py": "leader", "screens/work.py": "leader", "screens/leads.py": "marketing",
       "screens/initiation.py": "leader", "screens/bids_contracts.py": "leader", "screens/delivery.py": "fr",
       "screens/cash.py": "finance", "screens/cashflow.py": "leader",
       "screens/history.py": "leader", "screens/sync.py": "finance",
       "screens/admin.py": "admin"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--as", dest="logins", action="append", default=[],
                    help="time every page this demo login may open, as them (repeatable)")
    args = ap.parse_args()
    if args.db is None:
        folder = Path(tempfile.mkdtemp(prefix="ltc-bench-"))
        args.db = folder / "ltc.db"
        os.environ["LTC_DATABASE_URL"] = f"sqlite:///{args.db}"
        from cli.demo import load_demo
        from core.db import migrate
        migrate()
        t0 = time.perf_counter()
        counts = load_demo(seed=1, scale=10)
        print(f"demo --scale 10 built in {time.perf_counter() - t0:.0f}s: {counts}")
    os.environ["LTC_DATABASE_URL"] = f"sqlite:///{args.db}"

    from streamlit.testing.v1 import AppTest

    print(f"{'page':40} {'as':10} {'median s':>9} {'worst s':>9}")
    opened = _records()
    if args.logins:
        from app.nav import pages_for
        from core.context import SYSTEM, unit_of_work
        from core.services import users

        for login in args.logins:
            with unit_of_work(SYSTEM, "bench") as ctx:
                roles = users.actor(ctx, login).roles
            for spec in pages_for(roles):
                for kind, rid in [(None, None)] + [(k, opened[k]) for k in OPENS.get(spec.path, ()) if opened.get(k)]:
                    _time_page(AppTest, spec.path, login, kind, rid, args.runs)
        return
    for spec in PAGES:
        login = WHO[spec.path]
        for kind, rid in [(None, None)] + [(k, opened[k]) for k in OPENS.get(spec.path, ()) if opened.get(k)]:
            _time_page(AppTest, spec.path, login, kind, rid, args.runs)
    _metrics_times(args.runs)


# each page also timed with a record open by its address (the record's view, offers and history drawn)
OPENS = {"screens/leads.py": ("lead",), "screens/initiation.py": ("opportunity",),
         "screens/bids_contracts.py": ("bid", "contract"), "screens/delivery.py": ("milestone",),
         "screens/cash.py": ("invoice", "payment")}


def _records() -> dict[str, int]:
    """A busy record of each kind: the newest one (the most history, the most related rows in the demo)."""
    from sqlmodel import func, select

    from core.context import SYSTEM, unit_of_work
    from core.models import Bid, Contract, Invoice, Lead, Milestone, Opportunity, Payment

    models = {"lead": Lead, "opportunity": Opportunity, "bid": Bid, "contract": Contract, "milestone": Milestone,
              "invoice": Invoice, "payment": Payment}
    with unit_of_work(SYSTEM, "bench") as ctx:
        return {k: ctx.session.exec(select(func.max(m.id))).one() for k, m in models.items()}


def _time_page(AppTest, path: str, login: str, kind: str | None, rid: int | None, runs: int) -> None:
    from core.context import SYSTEM, unit_of_work
    from core.services import users

    with unit_of_work(SYSTEM, "bench") as ctx:
        actor = users.actor(ctx, login)
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.session_state["actor"] = actor
    at.run()
    if kind:
        at.query_params[kind] = str(rid)
    at.switch_page(path)
    at.run()   # warm-up: imports, caches
    shown = path + (f"?{kind}={rid}" if kind else "")
    if at.exception:
        print(f"{shown:40} {login:10} EXCEPTION {at.exception[0].message[:80]}")
        return
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
    flag = "" if max(times) < 0.5 else "  <-- over 0.5 s"
    print(f"{shown:40} {login:10} {statistics.median(times):9.3f} {max(times):9.3f}{flag}")


def _metrics_times(runs: int) -> None:
    """`ltc metrics`: the whole command as a process, and the computation alone (metrics_summary)."""
    import subprocess

    from core.context import SYSTEM, unit_of_work
    from core.metrics import Filters, metrics_summary

    procs, calcs, floors = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()   # the floor: the interpreter and the libraries every ltc command imports
        subprocess.run([sys.executable, "-c", "import core.models"], cwd=ROOT, check=True)
        floors.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cli.main", "metrics", "--json"], cwd=ROOT, check=True,
                       capture_output=True)
        procs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with unit_of_work(SYSTEM, "bench") as ctx:
            metrics_summary(ctx, Filters(as_of=clock.today()))
        calcs.append(time.perf_counter() - t0)
    print(f"{'ltc metrics (process)':51} {statistics.median(procs):9.3f} {max(procs):9.3f}")
    print(f"{'metrics_summary (in process)':51} {statistics.median(calcs):9.3f} {max(calcs):9.3f}")
    print(f"{'  floor: python -c import core.models':51} {statistics.median(floors):9.3f} {max(floors):9.3f}")


if __name__ == "__main__":
    main()
