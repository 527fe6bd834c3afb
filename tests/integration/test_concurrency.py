"""Many people working on the same records at once, on PostgreSQL, while sheet-sync cycles run.

Threads play finance clerks and marketers calling the services as the pages do (each call its own unit of
work); one more thread plays the finance sheet: a clerk types payments into the workbook and the sync
applies them. Afterwards the books must balance: no lost update, no duplicate invoice number, no payment
allocated twice or beyond an invoice, no term invoiced beyond its release.

    .venv/bin/pytest tests/integration/test_concurrency.py -s     # prints what ran and what was refused
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select

from core import clock
from core.context import perform
from core.errors import AmountError, DuplicateError, StaleVersionError
from core.models import Allocation, AuditEvent, Invoice, Lead, Payment, PaymentTerm
from core.services import billing, leads
from sync.engine import run_cycle
from sync.mapping import spreadsheet
from sync.service import init_sheets
from sync.xlsx import XlsxBackend
from tests.integration.money_fixtures import make_opportunity, signed_contract
from tests.sync.conftest import XlsxDriver
from tests.figures import figure

# Refusals a person may meet when someone else got there first; anything else is a defect.
EXPECTED = (StaleVersionError, AmountError, DuplicateError)
PEOPLE, OPS = 6, 40
D = Decimal



class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.defects: list[str] = []

    def run(self, name: str, fn) -> None:
        try:
            fn()
            outcome = "ok"
        except EXPECTED as exc:
            outcome = f"refused ({type(exc).__name__})"
        except Exception as exc:   # a crash, a raw database error or a wrong refusal
            outcome = "defect"
            with self.lock:
                self.defects.append(f"{name}: {type(exc).__name__}: {exc}")
        with self.lock:
            self.counts[(name, outcome)] += 1


def _snapshot(world, model, *where):
    return world.read(lambda ctx: list(ctx.session.exec(select(model).where(*where)).all()))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_many_people_at_once_with_sync_running(world, tmp_path):
    a, b = signed_contract(world, number="HT-C-1"), signed_contract(
        world, number="HT-C-2", opp_id=make_opportunity(world, name="Second"))
    terms = [a["advance"], b["advance"]]            # released at signing: 300,000.00 each
    account = a["account"]
    lead = world.do("marketing", leads.capture_lead, company="Shared Lead Co", phone="13900000000",
                    source="website", budget=D("1000"))
    folder = tmp_path / "sheets"
    init_sheets(backend=XlsxBackend(folder), lang="en", url=world.url)
    clerk = XlsxDriver(XlsxBackend(folder))
    tally = Tally()
    start = threading.Barrier(PEOPLE + 1)

    def issue(rng):
        world.do("finance", billing.issue_invoice, rng.choice(terms), amount=D(rng.randrange(1000, 60000)))

    def pay(rng):
        world.do("finance", billing.record_payment, account_id=account, amount=D(rng.randrange(500, 40000)),
                 reference=f"T{rng.random():.8f}")

    def allocate(rng):
        pays = _snapshot(world, Payment, Payment.unapplied > 0)
        opens = _snapshot(world, Invoice, Invoice.status.in_(["issued", "partly_paid"]))
        if not pays or not opens:
            return
        p, i = rng.choice(pays), rng.choice(opens)
        world.do("finance", billing.allocate_payment, p.id, i.id, min(p.unapplied, billing.outstanding(i)))

    def bump_budget(rng):      # read, then save with the version read: a lost update would lose a bump
        row = world.get(Lead, lead)
        world.do("marketing", leads.update_lead, lead, version=row.version, budget=row.budget + 1)

    def move_due(rng):
        opens = _snapshot(world, Invoice)
        if opens:
            inv = rng.choice(opens)
            world.do("finance", billing.update_invoice, inv.id, version=inv.version,
                     due_on=inv.issued_on.replace(day=min(inv.issued_on.day, 28)) + (inv.due_on - inv.issued_on))

    ops = [issue, pay, allocate, allocate, bump_budget, bump_budget, move_due]

    def person(seed):
        rng = random.Random(seed)
        start.wait()
        for _ in range(OPS):
            op = rng.choice(ops)
            tally.run(op.__name__, lambda: op(rng))

    cycles: list[str] = []

    def sheet_clerk():
        """Types a payment against the first invoice into the finance workbook, then a sync cycle runs."""
        start.wait()
        while any(t.is_alive() for t in people):
            numbers = [i.number for i in _snapshot(world, Invoice)]
            if numbers:
                clerk.append("finance", "Payments", {"Invoice": numbers[0], "Amount": 700,
                                                     "Received on": clock.today().isoformat(),
                                                     "Reference": f"SHEET-{len(cycles)}"})
            rep = run_cycle(spreadsheet("finance"), XlsxBackend(folder), url=world.url)
            cycles.append(rep.status)
            with tally.lock:
                tally.counts[("sync cycle", rep.status)] += 1
                if rep.status != "ok":
                    tally.defects.append(f"sync cycle: {rep.status}: {rep.message}")

    people = [threading.Thread(target=person, args=(i,)) for i in range(PEOPLE)]
    sync = threading.Thread(target=sheet_clerk)
    began = time.perf_counter()
    for t in people + [sync]:
        t.start()
    for t in people + [sync]:
        t.join(timeout=600)
    figure("concurrency.seconds", round(time.perf_counter() - began, 1))

    print(f"\n{PEOPLE} people x {OPS} operations on PostgreSQL, {len(cycles)} sync cycles alongside:")
    for (name, outcome), n in sorted(tally.counts.items()):
        print(f"  {name:12} {outcome:28} {n}")
    for op in dict.fromkeys([o.__name__ for o in ops] + ["sync cycle"]):   # two figures each, 0 when none
        for kind in ("ok", "refused"):
            figure(f"concurrency.{op.replace(' ', '_')}.{kind}", sum(
                n for (name, outcome), n in tally.counts.items() if name == op and outcome.split(" ")[0] == kind))
    figure("concurrency.cycles", len(cycles))
    assert not tally.defects, "\n".join(tally.defects[:20])
    assert cycles and all(s == "ok" for s in cycles)
    refused = sum(n for (name, o), n in tally.counts.items() if o.startswith("refused"))
    assert refused, "nobody met a concurrent change: the test did not make people collide"

    # -- the books balance -------------------------------------------------------------------------
    invoices, payments = _snapshot(world, Invoice), _snapshot(world, Payment)
    allocations = _snapshot(world, Allocation)
    assert len({i.number for i in invoices}) == len(invoices), "duplicate invoice number"
    by_invoice, by_payment = Counter(), Counter()
    for al in allocations:
        by_invoice[al.invoice_id] += al.amount
        by_payment[al.payment_id] += al.amount
    for inv in invoices:
        assert inv.paid_amount == by_invoice[inv.id], f"invoice {inv.number}: paid != its allocations"
        assert D(0) <= inv.paid_amount + inv.written_off <= inv.amount, f"invoice {inv.number} over-allocated"
        assert billing.outstanding(inv) == inv.amount - by_invoice[inv.id] - inv.written_off
    for p in payments:
        assert p.unapplied == p.amount - by_payment[p.id] and p.unapplied >= 0, f"payment {p.id} misallocated"
    for term_id in terms:
        term = world.get(PaymentTerm, term_id)
        assert sum((i.amount for i in invoices if i.term_id == term_id), D(0)) <= term.amount, \
            f"term {term.name} invoiced beyond its release"

    # every successful call left exactly its record, and no lost update
    ok = Counter(name for (name, o), n in tally.counts.items() for _ in range(n) if o == "ok")
    assert len(invoices) == ok["issue"]
    sheet_payments = [p for p in payments if p.reference.startswith("SHEET-")]
    assert len(payments) == ok["pay"] + len(sheet_payments)
    assert world.get(Lead, lead).budget == D("1000") + ok["bump_budget"], "a budget bump was lost"
    issued = world.read(lambda ctx: ctx.session.exec(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "invoice.issue")).one())
    assert issued == len(invoices)


def test_a_stale_refusal_the_person_did_not_cause_is_run_again_but_never_a_stale_version_they_gave(world):
    lead = world.do("marketing", leads.capture_lead, company="Retry Co", phone="13900000001", source="website",
                    budget=D("10"))
    calls = []

    def edit(ctx, *, version=None, budget):
        """Reads the lead; on the first try someone else saves it before this one does."""
        row = ctx.session.get(Lead, lead)
        calls.append(row.version)
        if len(calls) == 1:
            world.do("marketing", leads.update_lead, lead, contact=f"someone else {row.version}")
        leads.update_lead(ctx, lead, version=version, budget=budget)

    perform(world.users["marketing"], edit, budget=D("11"), url=world.url)
    assert len(calls) == 2 and calls[1] == calls[0] + 1           # ran again on the fresh row
    saved = world.get(Lead, lead)
    assert (saved.budget, saved.contact) == (D("11"), f"someone else {calls[0]}")   # both changes kept

    calls.clear()
    with pytest.raises(StaleVersionError):
        perform(world.users["marketing"], edit, version=saved.version, budget=D("12"), url=world.url)
    assert len(calls) == 1 and world.get(Lead, lead).budget == D("11")


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_first_captures_on_a_new_database_all_go_through(world):
    """Issue 11: on a fresh database eight captures released at one barrier gave seven raw IntegrityErrors on
    setting_pkey (the round-robin pointer's row did not exist yet, so there was nothing to lock)."""
    from core.models import Setting

    n = 8
    start, tally = threading.Barrier(n), Tally()

    def capture(i: int) -> None:
        start.wait()
        tally.run("capture", lambda: perform(world.users["marketing"], leads.capture_lead,
                                             company=f"Fresh Start {i} 有限公司", phone=f"1390000{i:04d}"))
    threads = [threading.Thread(target=capture, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tally.defects == []
    assert world.read(lambda ctx: ctx.session.exec(select(func.count()).select_from(Lead)).one()) == n
    assert world.read(lambda ctx: ctx.session.get(Setting, leads.ROUND_ROBIN_KEY)) is not None


def _capture_at_the_barrier(url, actor, barrier, results, i, allow_duplicate=False) -> None:
    """One process: a marketer capturing the same company and phone as everyone else, at the same instant."""
    from core.db import get_engine

    engine = get_engine(url)
    engine.dispose(close=False)   # the parent's pooled connections are not this process's to use
    with engine.connect():        # connected before the barrier, so the captures themselves meet
        pass
    barrier.wait()
    try:
        perform(actor, leads.capture_lead, company="同时 Trading 有限公司", phone="139 0000 0000",
                contact=f"caller {i}", allow_duplicate=allow_duplicate, url=url)
        results.put("ok")
    except DuplicateError as exc:
        results.put(f"duplicate {exc.existing_id}")
    except Exception as exc:   # a raw database error is a defect
        results.put(f"defect {type(exc).__name__}: {exc}")


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_eight_processes_capturing_one_lead_at_once_make_one_lead(world):
    """Issue 11: eight processes capturing the same company and phone at one instant made eight leads on
    PostgreSQL (check, then insert). Now the database holds one original per key: one capture goes through and
    seven are told which lead they duplicate."""
    import multiprocessing

    n = 8
    mp = multiprocessing.get_context("fork")
    barrier, results = mp.Barrier(n), mp.Queue()
    procs = [mp.Process(target=_capture_at_the_barrier, args=(world.url, world.users["marketing"], barrier,
                                                             results, i)) for i in range(n)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    made = world.read(lambda ctx: list(ctx.session.exec(select(Lead)).all()))
    assert [o for o in outcomes if o.startswith("defect")] == []
    assert len(made) == 1, f"{len(made)} leads from one company and phone: {outcomes}"
    assert sorted(outcomes) == [f"duplicate {made[0].id}"] * (n - 1) + ["ok"]
    figure(f"lead_race.{world.url.split(':')[0].split('+')[0]}", f"{len(made)} lead, {n - 1} told duplicate")


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_eight_processes_keeping_duplicates_on_purpose_make_one_original_and_seven_duplicates(world):
    """With allow_duplicate every capture goes through, and the database still holds one original: a capture the
    index refused is run again and saved as the duplicate of the lead that got there first."""
    import multiprocessing

    n = 8
    mp = multiprocessing.get_context("fork")
    barrier, results = mp.Barrier(n), mp.Queue()
    procs = [mp.Process(target=_capture_at_the_barrier, args=(world.url, world.users["marketing"], barrier,
                                                             results, i, True)) for i in range(n)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert outcomes == ["ok"] * n
    made = world.read(lambda ctx: list(ctx.session.exec(select(Lead).order_by(Lead.id)).all()))
    originals = [lead for lead in made if lead.duplicate_of_id is None]
    assert len(made) == n and len(originals) == 1
    assert {lead.duplicate_of_id for lead in made if lead is not originals[0]} == {originals[0].id}
