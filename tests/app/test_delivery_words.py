"""Delivery acceptance in Chinese (issue 10): statuses, triggers, kinds and categories translated, no 'None'."""
from __future__ import annotations

import re

from core.services import delivery
from tests.app.conftest import texts
from tests.app import test_delivery as base
from tests.app.test_delivery import days, show

deal = base.deal   # the signed test deal (a fixture)

CODES = r"planned|preliminary|accepted|signed|closed|signing|acceptance|warranty|labour|travel|estimate|budget|" \
        r"actual|variance"
RAW = re.compile(rf"\b({CODES}|None|nan)\b")       # in what the page writes
RAW_CELL = re.compile(rf"^({CODES})$")              # a table cell holding a bare code (empty cells show '—')


def cells(at) -> set[str]:
    """Cells of the page's tables holding a raw code (the record history's change texts are the kit's)."""
    return {str(v) for d in at.dataframe if "Changes" not in d.value.columns
            for v in d.value.to_numpy().ravel() if RAW_CELL.match(str(v))}


def test_every_tab_in_chinese_shows_no_raw_code(page, deal):
    w = deal["world"]
    w.do("fr", delivery.record_cost, deal["contract"], spent_on=days(-1), category="travel", amount="100")
    w.do("fr", delivery.accept_milestone, deal["m1"], kind="preliminary", accepted_on=days(-1))
    at = page("leader", lang="zh")
    at.query_params["milestone"] = str(deal["m1"])
    at.switch_page("screens/delivery.py").run()
    assert not at.exception
    found: set[str] = set()
    for tab in ("里程碑", "验收", "成本", "四算"):
        show(at, tab)
        shown = texts(at).replace("Final acceptance 60%", "")   # the test deal's term name is data, not a code
        found |= set(RAW.findall(shown)) | cells(at)
    assert not found, found
