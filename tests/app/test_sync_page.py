"""The Sync centre page: Sync now with progress, the conflict queue and its resolve actions, access."""
import json

import pytest
from sqlmodel import select

from core import permissions
from core.context import SYSTEM, unit_of_work
from core.models import Lead, SyncConflict, SyncRun, SyncSnapshot
from sync.service import init_sheets
from sync.xlsx import XlsxBackend
from tests.app.conftest import texts


@pytest.fixture
def workbooks(demo_url, tmp_path, monkeypatch):
    folder = tmp_path / "sheets"
    monkeypatch.setenv("LTC_WORKBOOK_DIR", str(folder))
    monkeypatch.setenv("LTC_SHEETS_BACKEND", "xlsx")
    init_sheets(backend=XlsxBackend(folder), lang="en", url=demo_url)
    return folder


def test_sync_now_runs_every_spreadsheet(page, demo_url, workbooks):
    at = page("finance", "screens/sync.py")
    assert not at.exception
    at.button(key="sync-now").click().run()
    assert not at.exception
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        runs = ctx.session.exec(select(SyncRun)).all()
    assert {r.spreadsheet for r in runs} == {"marketing", "sales", "contracts", "delivery", "finance"}
    assert all(r.status == "ok" for r in runs)
    shown = [df.value for df in at.dataframe if "Spreadsheet" in df.value.columns and "Requests" in df.value.columns]
    assert len(shown) == 1 and set(shown[0]["Spreadsheet"]) == {r.spreadsheet.title() for r in runs}   # in words


def _conflict(demo_url):
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        lead = ctx.session.exec(select(Lead).where(Lead.status == "assigned")).first()
        ctx.session.add(SyncSnapshot(tab="leads", record_id=lead.id, values_json=json.dumps({"contact": "Old"})))
        c = SyncConflict(spreadsheet="marketing", tab="leads", record_id=lead.id, field="contact",
                         sheet_value="From the sheet", db_value=lead.contact, base_value="Old")
        ctx.session.add(c)
        ctx.session.flush()
        return c.id, lead.id


def test_conflict_shows_both_values_and_taking_the_sheets_applies_it(page, demo_url):
    cid, lead_id = _conflict(demo_url)
    at = page("marketing", "screens/sync.py")
    assert "From the sheet" in texts(at)
    at.button(key=f"sync-sheet-{cid}").click().run()
    assert not at.exception and not at.error
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        assert ctx.session.get(Lead, lead_id).contact == "From the sheet"
        c = ctx.session.get(SyncConflict, cid)
        assert (c.status, c.resolution, c.resolved_by) == ("resolved", "sheet", "marketing")


def test_resolving_needs_the_right_to_make_that_edit(page, demo_url):
    cid, lead_id = _conflict(demo_url)
    at = page("legal", "screens/sync.py")          # legal may see the queue but not edit leads
    before = None
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        before = ctx.session.get(Lead, lead_id).contact
    at.button(key=f"sync-sheet-{cid}").click().run()
    assert "lead.update" in at.error[0].value
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        assert ctx.session.get(Lead, lead_id).contact == before
        assert ctx.session.get(SyncConflict, cid).status == "open"


@pytest.mark.parametrize("role", permissions.ROLES)
def test_access_follows_the_matrix(page, role):
    at = page(role)
    if permissions.allowed({role}, "sync.view"):
        at.switch_page("screens/sync.py").run()
        assert not at.exception
    else:
        with pytest.raises(Exception):
            at.switch_page("screens/sync.py").run()


def test_in_chinese_the_page_names_no_variable_and_its_tables_are_in_words(page, demo_url, workbooks):
    import json
    import re

    at = page("finance", "screens/sync.py", "zh")
    at.button(key="sync-now").click().run()
    assert not at.exception
    assert "LTC_" not in texts(at) and "config/" not in texts(at)
    runs = [df for df in at.dataframe if "Requests" in df.value.columns]
    assert len(runs) == 1
    config = json.loads(runs[0].proto.columns)
    shown = [c for c in runs[0].proto.column_order if not config.get(c, {}).get("hidden")]
    assert shown and all(re.search(r"[\u4e00-\u9fff]", config[c]["label"]) for c in shown), config
    assert "ok" not in set(runs[0].value["Status"]) and "xlsx" not in set(runs[0].value["Backend"])


def test_a_conflict_names_its_field_in_words(page, demo_url):
    _conflict(demo_url)
    at = page("marketing", "screens/sync.py", "zh")
    assert not at.exception
    assert "联系人" in texts(at) and "`contact`" not in texts(at)
