"""Sheet sync at volume: 10,000 rows in each of five tabs (Leads, Opportunities, Milestones, Costs, Payments).

    .venv/bin/python benchmarks/sync.py [--backend gsheets|xlsx|both] [--rows 10000] [--changes 1000]

For each backend: set the spreadsheets up, run the first cycle (fills the sheets), a cycle with no change
(requests and time per spreadsheet), then a cycle after a person changed N cells of the Leads tab (each one
applied through the lead service, with audit). Google Sheets runs against the project's emulator on
loopback. The bulk rows are inserted directly (set-up, not what is measured); the measured cycles go through
the real engine, backends and services.
Goals: at most 2 requests per spreadsheet with no change and 4 with changes; no-change cycle < 3 s;
1,000 changed cells < 5 s.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from core import clock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_db(url: str, n: int) -> None:
    from core.context import SYSTEM, unit_of_work
    from core.db import migrate
    from core.enums import ContractStatus, Stage
    from core.models import Account, Contract, CostEntry, Lead, Milestone, Opportunity, Payment
    from core.services import users

    migrate(url)
    with unit_of_work(SYSTEM, "bench", url=url) as ctx:
        for login, role in (("marketing", "marketing"), ("ar", "ar"), ("fr", "fr"), ("finance", "finance")):
            users.create_user(ctx, login, roles=[role])
    today = clock.today()
    with unit_of_work(SYSTEM, "bench", url=url) as ctx:
        s = ctx.session
        acc = Account(name="Bench Co", name_norm="bench")
        s.add(acc)
        s.flush()
        opp0 = Opportunity(name="Bench deal", account_id=acc.id, amount=Decimal("1000000"), stage=Stage.WON)
        s.add(opp0)
        s.flush()
        con = Contract(number="HT-BENCH", name="Bench", opportunity_id=opp0.id, account_id=acc.id,
                       amount=Decimal("1000000"), status=ContractStatus.SIGNED, signed_on=today - timedelta(days=300))
        s.add(con)
        s.flush()
        s.add_all([Lead(company=f"Company {i}", company_norm=f"company{i}", contact=f"Person {i}",
                        phone=f"138{i:08d}", phone_norm=f"138{i:08d}", source="website", region="East",
                        budget=Decimal(100000 + i)) for i in range(n)])
        s.add_all([Opportunity(name=f"Deal {i}", account_id=acc.id, amount=Decimal(500000 + i),
                               expected_close=today + timedelta(days=i % 300)) for i in range(n)])
        s.add_all([Milestone(contract_id=con.id, seq=i, name=f"Step {i}", planned_on=today + timedelta(days=i % 400))
                   for i in range(n)])
        s.add_all([CostEntry(contract_id=con.id, spent_on=today - timedelta(days=i % 300), category="labour",
                             amount=Decimal(1000 + i), description=f"Week {i}") for i in range(n)])
        s.add_all([Payment(account_id=acc.id, amount=Decimal(100 + i), received_on=today - timedelta(days=i % 300),
                           reference=f"BANK-{i}", unapplied=Decimal(100 + i)) for i in range(n)])


def run(backend_name: str, n: int, changes: int) -> None:
    from sync.backends import make_backend
    from sync.engine import run_cycle
    from sync.mapping import spreadsheets
    from sync.service import init_sheets

    folder = Path(tempfile.mkdtemp(prefix=f"ltc-sync-{backend_name}-"))
    url = f"sqlite:///{folder / 'ltc.db'}"
    os.environ["LTC_WORKBOOK_DIR"] = str(folder / "sheets")
    t0 = time.perf_counter()
    build_db(url, n)
    print(f"\n== {backend_name}: {n:,} rows in each of 5 tabs (set-up {time.perf_counter() - t0:.1f}s)")
    factory = lambda: make_backend(backend_name, url=url)   # noqa: E731
    init_sheets(backend=factory(), lang="en", url=url)

    def cycle_all(label):
        total_t, lines = 0.0, []
        for sheet in spreadsheets():
            t = time.perf_counter()
            rep = run_cycle(sheet, factory(), url=url)
            dt = time.perf_counter() - t
            total_t += dt
            tot = rep.as_dict()["totals"]
            lines.append(f"   {sheet.key:10} {rep.status:7} requests {rep.requests}  {dt:6.2f}s  "
                         f"appended {tot['appended']}  applied {tot['applied']}  written {tot['written']}")
        print(f"{label}: {total_t:.2f}s in all")
        print("\n".join(lines))

    cycle_all("first cycle (fills the sheets)")
    cycle_all("cycle with no change")
    _person_edits(backend_name, url, folder, changes)
    t = time.perf_counter()
    from sync.mapping import spreadsheet
    rep = run_cycle(spreadsheet("marketing"), factory(), url=url)
    dt = time.perf_counter() - t
    tot = rep.as_dict()["totals"]
    print(f"cycle with {changes:,} changed cells (marketing): {dt:.2f}s, requests {rep.requests}, "
          f"applied {tot['applied']}, rejected {tot['rejected']}, status {rep.status}")


def _person_edits(backend_name: str, url: str, folder: Path, changes: int) -> None:
    """A person changes the Contact of `changes` leads."""
    if backend_name == "xlsx":
        from openpyxl import load_workbook
        path = folder / "sheets" / "marketing.xlsx"
        wb = load_workbook(path)
        ws = wb["Leads"]
        col = [c.value for c in ws[1]].index("Contact") + 1
        for r in range(2, 2 + changes):
            ws.cell(r, col).value = f"Edited {r}"
        wb.save(path)
        return
    from sync.backends import known_locations
    from sync.gsheets import key_from
    key = key_from(known_locations("gsheets", url=url)["marketing"])
    from tests.sheets_emulator.server import cell_a1
    grid = EMULATOR_HANDLE.sheet_values(key, "Leads")
    col = grid[0].index("Contact")
    for r in range(1, 1 + changes):
        EMULATOR_HANDLE.type_as_user(key, "Leads", cell_a1(r, col), f"Edited {r}")


EMULATOR = EMULATOR_HANDLE = None   # the in-process Sheets emulator (gsheets runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["gsheets", "xlsx", "both"], default="both")
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--changes", type=int, default=1_000)
    args = ap.parse_args()
    global EMULATOR, EMULATOR_HANDLE
    if args.backend in ("gsheets", "both"):
        from tests.sheets_emulator.fixtures import EmulatorHandle
        from tests.sheets_emulator.server import EmulatorServer
        EMULATOR = EmulatorServer("127.0.0.1", 0).start()
        EMULATOR_HANDLE = EmulatorHandle(EMULATOR)
        os.environ["SHEETS_EMULATOR_HOST"] = EMULATOR.host
        run("gsheets", args.rows, args.changes)
    if args.backend in ("xlsx", "both"):
        run("xlsx", args.rows, args.changes)


if __name__ == "__main__":
    main()
