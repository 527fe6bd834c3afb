"""Issue 11: a hostile file uploaded on the Lead triage page is refused with the safe reader's message in the
browser, not a traceback (the page and `ltc import leads` share core/tabular.py)."""
from __future__ import annotations

import io
import zipfile

import openpyxl

from tests.e2e.conftest import shot, sign_in
from tests.e2e.test_records import _wait_idle


def _broken_workbook() -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["Company", "Phone"])
    book.active.append(["Acme 有限公司", "13800138000"])
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data[: len(data) * 2 // 3] if info.filename.endswith("sheet1.xml") else data)
    return out.getvalue()


def test_a_damaged_workbook_uploaded_on_the_page_is_refused_with_a_message(page):
    sign_in(page, "marketing")
    page.get_by_role("link", name="Lead triage").click()
    page.get_by_text("Import leads from a file").click()
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "broken.xlsx", "mimeType": "application/octet-stream", "buffer": _broken_workbook()}])
    page.get_by_role("button", name="Preview (dry run)").click()
    page.get_by_text("broken.xlsx is damaged after row").wait_for()
    _wait_idle(page)
    shot(page, "leads-import-damaged")
    assert page.get_by_text("Reading the file").count() == 0          # the progress bar went with the refusal
    assert page.get_by_text("Traceback").count() == 0 and page.get_by_text("ParseError").count() >= 1
