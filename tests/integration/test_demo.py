"""The demo story: deterministic, complete, and refused on a database that holds data."""
from datetime import date

import pytest
from sqlmodel import select

from cli.demo import load_demo
from core.context import SYSTEM, unit_of_work
from core.db import migrate
from core.enums import GateKind
from core.errors import LtcError
from core.exports import ENTITIES, export_rows, to_json
from core.models import GateDecision
from core import clock
from tests.conftest import SCALE

TODAY = date(2026, 11, 27)


def exports(url):
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        return {e: to_json(*export_rows(ctx, e)) for e in ENTITIES}


@pytest.fixture(scope="module")
def demo_urls(tmp_path_factory):
    urls = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'ltc.db'}"
        migrate(url)
        load_demo(seed=1, url=url, today=TODAY)
        urls.append(url)
    return urls


def test_same_seed_same_data_in_every_export(demo_urls):
    a, b = (exports(u) for u in demo_urls)
    for entity in ENTITIES:
        assert a[entity] == b[entity], f"{entity} differs between two runs of seed 1"


def test_every_export_non_empty_and_every_gate_kind_appears(demo_urls):
    data = exports(demo_urls[0])
    assert all(data[e] != "[]" for e in ENTITIES)
    with unit_of_work(SYSTEM, "test", url=demo_urls[0]) as ctx:
        kinds = {g.kind for g in ctx.session.exec(select(GateDecision)).all()}
    assert kinds == set(GateKind)


def test_demo_refuses_a_database_with_data_unless_reset(demo_urls):
    with pytest.raises(LtcError, match="--reset"):
        load_demo(seed=1, url=demo_urls[0], today=TODAY)


def test_reset_reloads_with_another_seed(tmp_path):
    url = f"sqlite:///{tmp_path / 'ltc.db'}"
    migrate(url)
    load_demo(seed=1, url=url, today=TODAY, scale=0.2)
    first = exports(url)
    load_demo(seed=2, url=url, today=TODAY, scale=0.2, reset=True)
    second = exports(url)
    assert first["leads"] != second["leads"]


def test_demo_loads_on_both_databases(db_url):
    counts = load_demo(seed=3, url=db_url, today=TODAY, scale=0.5)
    assert counts["contracts"] >= 5 and counts["invoices"] > 0
    load_demo(seed=3, url=db_url, today=TODAY, scale=0.5, reset=True)   # the PostgreSQL wipe path too


def test_a_demo_load_that_stops_half_way_is_never_served(tmp_path, monkeypatch):
    """Issue 11: a failed demo load left a half-filled database that `ltc app --demo-if-empty` then served
    without a word (the demo commits deal by deal)."""
    import cli.demo as demo
    from cli.launcher import prepare
    from cli.main import main

    url = f"sqlite:///{tmp_path / 'ltc.db'}"
    monkeypatch.setenv("LTC_DATABASE_URL", url)
    migrate(url)
    real, calls = demo._deal, []

    def deal_that_fails_third(story, opp_id, plan):
        calls.append(opp_id)
        if len(calls) == 3:
            raise OSError("disk full")
        real(story, opp_id, plan)

    monkeypatch.setattr(demo, "_deal", deal_that_fails_third)
    with pytest.raises(OSError):
        load_demo(seed=1, url=url, today=TODAY, scale=0.2)
    stopped = demo.demo_incomplete(url)
    assert stopped is not None and stopped.startswith("2 of ")
    with pytest.raises(LtcError, match=f"a demo load stopped after {stopped} and left the database half filled"):
        prepare(demo_if_empty=True)
    assert main(["app", "--demo-if-empty"]) == 1                     # refused before Streamlit starts
    with pytest.raises(LtcError, match="an earlier demo load stopped after 2 of .* ltc demo --reset"):
        load_demo(seed=1, url=url, today=TODAY, scale=0.2)

    monkeypatch.setattr(demo, "_deal", real)
    load_demo(seed=1, url=url, today=TODAY, scale=0.2, reset=True)
    assert demo.demo_incomplete(url) is None
    prepare(demo_if_empty=True)                                        # a finished demo is served


# a year's end and first day, a leap day, a half-year end, a Monday, a Sunday, a day in the middle of the month
DATES = [date(2025, 12, 31), date(2027, 1, 1), date(2028, 2, 29), date(2026, 6, 30), date(2026, 11, 30),
         date(2026, 11, 29), date(2026, 11, 12)]
# seeds 1-30, each on one of the dates (issue 12: seeds 5, 22 and 42 failed on most dates); nightly, every
# seed on every date at the README's scale
STORIES = ([(seed, day, 1.0) for seed in range(1, 31) for day in DATES] if SCALE > 1 else
           [(seed, DATES[seed % len(DATES)], 0.3) for seed in range(1, 31)] + [(42, date(2028, 2, 29), 0.3),
                                                                              (1234, date(2026, 6, 30), 0.3)])
# and today, at the README's scale, for the seeds that failed (seed 5 failed on 2026-12-04 while every fixed date
# above passed): the story must hold on any day, so the day the suite runs is as good a witness as any
STORIES += [(seed, clock.today(), 1.0) for seed in (5, 22, 42)] + [(5, date(2026, 12, 4), 1.0)]


@pytest.mark.parametrize("seed,today,scale", STORIES)
def test_every_seed_on_every_date_tells_a_story_whose_books_balance(tmp_path, seed, today, scale):
    """Not only seed 1 on one date: `ltc demo` is the README's first command and must work for any seed, any day."""
    from collections import Counter
    from decimal import Decimal

    from cli.demo import demo_incomplete
    from core.enums import InvoiceKind, InvoiceStatus
    from core.models import Allocation, Contract, Invoice, Payment, PaymentTerm, Refund

    url = f"sqlite:///{tmp_path / 'ltc.db'}"
    migrate(url)
    counts = load_demo(seed=seed, url=url, today=today, scale=scale)
    assert counts["contracts"] > 0 and counts["invoices"] > 0 and demo_incomplete(url) is None
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        rows = {m: ctx.session.exec(select(m)).all()
                for m in (Invoice, Payment, Allocation, PaymentTerm, Contract, Refund)}
    by_invoice, by_payment, by_term, credited = Counter(), Counter(), Counter(), Counter()
    for al in rows[Allocation]:
        by_invoice[al.invoice_id] += al.amount
        by_payment[al.payment_id] += al.amount
    for r in rows[Refund]:
        by_payment[r.payment_id] += r.amount
    for inv in rows[Invoice]:
        assert inv.paid_amount == by_invoice[inv.id] and inv.issued_on <= today
        if inv.kind == InvoiceKind.CREDIT_NOTE:
            credited[inv.credits_id] -= inv.amount
        else:
            assert inv.paid_amount + inv.written_off + inv.credited <= inv.amount
        by_term[inv.term_id] += inv.billed
    for inv in rows[Invoice]:
        assert inv.credited == credited[inv.id]
    if scale >= 1:   # the story's corrections (issue 12): a void issued again, a credit note; a smaller demo
        # may have no unpaid invoice left to void
        assert any(i.status == InvoiceStatus.VOID for i in rows[Invoice])
        assert any(i.kind == InvoiceKind.CREDIT_NOTE for i in rows[Invoice])
    for p in rows[Payment]:
        assert p.unapplied == p.amount - by_payment[p.id] >= 0 and p.received_on <= today
    for term in rows[PaymentTerm]:
        assert by_term[term.id] <= term.amount, f"term {term.id} invoiced beyond its amount"
    for c in rows[Contract]:
        terms = [t for t in rows[PaymentTerm] if t.contract_id == c.id and t.active]   # a change order replaces
        assert sum((t.amount for t in terms), Decimal(0)) == c.amount, f"contract {c.number}: terms != amount"
