import pandas as pd

from app.ui import _safe, _xlsx


def test_downloads_neutralise_formulas_and_drop_time_zones():
    df = pd.DataFrame({"Customer": ["=HYPERLINK(\"x\")", "ACME"], "Amount": ["-5.00", "10.00"],
                       "When": pd.to_datetime(["2026-01-01T10:00Z", "2026-01-02T10:00Z"], utc=True)})
    safe = _safe(df)
    assert list(safe["Customer"]) == ["'=HYPERLINK(\"x\")", "ACME"] and list(safe["Amount"]) == ["-5.00", "10.00"]
    assert safe["When"].dt.tz is None
    assert _xlsx(safe)[:2] == b"PK"     # a real workbook
