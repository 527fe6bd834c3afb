import csv
import io
from datetime import date
from decimal import Decimal

from core.exports import plain, to_csv


def test_csv_cells_that_look_like_formulas_stay_text():
    rows = [{"company": "=IMPORTXML(\"http://x\",\"//a\")", "note": "+1", "who": "@me", "dash": "-x",
             "amount": plain(Decimal("-12.50")), "ok": "ACME"}]
    out = list(csv.DictReader(io.StringIO(to_csv(list(rows[0]), rows))))[0]
    assert out["company"].startswith("'=") and out["note"] == "'+1" and out["who"] == "'@me" and out["dash"] == "'-x"
    assert out["ok"] == "ACME" and out["amount"] == "-12.50"


def test_plain_values():
    assert plain(Decimal("1234.50")) == "1234.50"
    assert plain(date(2026, 1, 15)) == "2026-01-15"
    assert plain(None) == ""
