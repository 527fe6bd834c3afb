"""What only the offline workbooks have: Excel's lock file, a damaged file, a save during our cycle."""
import pytest
from openpyxl import load_workbook

from sync.engine import run_cycle
from sync.mapping import spreadsheet
from sync.service import init_sheets
from sync.xlsx import XlsxBackend
from tests.sync.conftest import XlsxDriver


@pytest.fixture
def sheets(world, tmp_path):
    """Workbooks only (this module is about files)."""
    factory = lambda: XlsxBackend(tmp_path / "sheets")   # noqa: E731
    init_sheets(backend=factory(), lang="en", url=world.url)
    return factory, XlsxDriver(factory())


def test_a_workbook_open_in_excel_is_left_alone_and_retried(world, sheets, chain):
    factory, person = sheets
    path = factory().path(spreadsheet("marketing"))
    lock = path.with_name("~$" + path.name)
    lock.write_text("owner")
    before = path.read_bytes()
    rep = run_cycle(spreadsheet("marketing"), factory(), url=world.url)
    assert rep.status == "failed" and "open in Excel" in rep.message and path.read_bytes() == before
    lock.unlink()
    assert run_cycle(spreadsheet("marketing"), factory(), url=world.url).status == "ok"


def test_a_damaged_workbook_gets_a_clear_message_and_is_not_overwritten(world, sheets, chain):
    factory, _ = sheets
    path = factory().path(spreadsheet("finance"))
    path.write_bytes(b"not a zip at all")
    rep = run_cycle(spreadsheet("finance"), factory(), url=world.url)
    assert rep.status == "failed" and "cannot be read" in rep.message
    assert path.read_bytes() == b"not a zip at all"


def test_a_save_by_someone_during_the_cycle_is_noticed_and_the_cycle_runs_again(world, sheets, chain):
    factory, person = sheets
    run_cycle(spreadsheet("marketing"), factory(), url=world.url)
    from core.services import leads
    world.do("marketing", leads.update_lead, chain["lead2"], contact="Changed in the app")   # a write is due
    backend = factory()
    real_read = backend.read
    calls = []

    def read_then_someone_saves(sheet):
        grids = real_read(sheet)
        if not calls:      # after our first read, a person saves a change
            person.set("marketing", "Leads", chain["lead1"], "Contact", "Typed during the sync")
        calls.append(1)
        return grids
    backend.read = read_then_someone_saves
    rep = run_cycle(spreadsheet("marketing"), backend, url=world.url)
    assert rep.status == "ok" and len(calls) == 2
    from core.models import Lead
    assert world.get(Lead, chain["lead1"]).contact == "Typed during the sync"    # not lost
    assert person.row("marketing", "Leads", chain["lead2"])["Contact"] == "Changed in the app"


def test_saves_are_atomic_no_temporary_files_left(world, sheets, chain):
    factory, _ = sheets
    run_cycle(spreadsheet("delivery"), factory(), url=world.url)
    folder = factory().folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{s}.xlsx" for s in
                                                              ("marketing", "sales", "contracts", "delivery", "finance"))
    wb = load_workbook(folder / "delivery.xlsx")
    assert wb["Milestones"].freeze_panes == "A2"
