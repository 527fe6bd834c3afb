"""Issue 11: text columns (phone, reference, contract numbers) are text in both backends, so what a person types
stays as typed; a number found in a text column (an older sheet, a column someone reformatted) is written
back as text when it is the database's own value parsed, and refused otherwise: never silently changed.

A Shanghai landline typed as 02112345678 reached the database as 2112345678; a 19-digit account number would
lose its last four digits (spreadsheets keep 15)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from core.models import Invoice, Lead, Payment
from core.services import leads
from sync.engine import run_cycle
from sync.mapping import spreadsheet
from sync.xlsx import XlsxBackend

LANDLINE = "02112345678"


def cycle(world, factory, key="marketing"):
    rep = run_cycle(spreadsheet(key), factory(), url=world.url)
    assert rep.status == "ok", rep.message
    return rep


def _as_an_older_sheet(person, key: str, tab: str, header: str) -> None:
    """Give the column the automatic number format an older sheet had: typing digits makes a number."""
    if _xlsx(person):
        return   # the xlsx driver writes the typed number itself, as Excel stores it in a General column
    from sync.gsheets_client import client
    ws = client().open_by_key(person.keys[key]).worksheet(tab)
    col = [str(h) for h in person._grid(key, tab)[0]].index(header)
    ws.format(f"{chr(65 + col)}2:{chr(65 + col)}1000", {"numberFormat": {"type": "NUMBER", "pattern": "0"}})


def test_a_landline_typed_into_a_new_sheet_keeps_its_leading_zero(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory)
    person.set("marketing", "Leads", chain["lead1"], "Phone", LANDLINE)     # typed, as digits
    cycle(world, factory)
    assert world.get(Lead, chain["lead1"]).phone == LANDLINE
    assert person.row("marketing", "Leads", chain["lead1"])["Phone"] == LANDLINE


def test_the_workbooks_text_columns_are_formatted_as_text(world, tmp_path, chain):
    from sync.service import init_sheets

    folder = tmp_path / "books"
    init_sheets(backend=XlsxBackend(folder), lang="en", url=world.url)
    cycle(world, lambda: XlsxBackend(folder))
    ws = load_workbook(folder / "marketing.xlsx")["Leads"]
    header = [c.value for c in ws[1]]
    phone = header.index("Phone") + 1
    letter = ws.cell(1, phone).column_letter
    assert ws.column_dimensions[letter].number_format == "@"          # cells typed into later are text
    assert {ws.cell(r, phone).number_format for r in range(2, ws.max_row + 1)} == {"@"}
    assert ws.column_dimensions[ws.cell(1, header.index("Budget") + 1).column_letter].number_format == "#,##0.00"


def test_a_number_in_a_text_column_that_is_not_the_databases_value_is_refused(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory)
    _as_an_older_sheet(person, "marketing", "Leads", "Phone")
    person.set("marketing", "Leads", chain["lead1"], "Phone", 2112345678 if _xlsx(person) else LANDLINE)
    cycle(world, factory)
    assert world.get(Lead, chain["lead1"]).phone == "13800000001"         # not changed
    note = person.row("marketing", "Leads", chain["lead1"])["Sync note"]
    assert "Phone: the sheet holds the number 2112345678, not text" in note and "plain text" in note


def test_the_databases_own_value_turned_into_a_number_is_written_back_as_text(world, sheets, chain):
    factory, person = sheets
    world.do("marketing", leads.update_lead, chain["lead1"], phone=LANDLINE)
    cycle(world, factory)
    _as_an_older_sheet(person, "marketing", "Leads", "Phone")
    person.set("marketing", "Leads", chain["lead1"], "Phone", 2112345678 if _xlsx(person) else LANDLINE)
    assert person.row("marketing", "Leads", chain["lead1"])["Phone"] == 2112345678   # the sheet made it a number
    cycle(world, factory)
    row = person.row("marketing", "Leads", chain["lead1"])
    assert row["Phone"] == LANDLINE and world.get(Lead, chain["lead1"]).phone == LANDLINE
    assert "written back as text" in row["Sync note"]


def test_a_nineteen_digit_reference_arriving_as_a_number_is_refused_not_rounded(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "finance")
    _as_an_older_sheet(person, "finance", "Payments", "Reference")
    invoice = world.get(Invoice, chain["invoice"]).number
    account = "6222021234567890123"
    person.append("finance", "Payments", {"Invoice": invoice, "Amount": 1000, "Received on": "2026-01-05",
                                          "Reference": float(account) if _xlsx(person) else account})
    cycle(world, factory, "finance")
    assert world.read(lambda ctx: ctx.session.exec(select(Payment).where(Payment.amount == Decimal("1000"))).all()) \
        == []
    refused = [r for r in person.rows("finance", "Payments") if not r.get("ID")]
    assert refused and "Reference: the sheet holds the number 6222021234567890" in refused[0]["Sync note"]


def _xlsx(person) -> bool:
    return hasattr(person, "backend")


@pytest.mark.parametrize("typed,stored,same", [(2112345678, "02112345678", True), (2112345678.0, "2112345678", True),
                                               (6.222021234567890e18, "6222021234567890123", True),
                                               (2112345679, "02112345678", False), (12, "12a", False)])
def test_same_number_recognises_the_databases_text_parsed(typed, stored, same):
    from sync.cells import same_number
    assert same_number(typed, stored) is same
