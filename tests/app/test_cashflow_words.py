"""The cash-flow page in both languages: every table header and chart axis in the person's language, coded
values (stages, buckets, gates, funnel steps) in words, KPI tiles all formatted one way (fmt.compact), money
as money and ratios as percentages in every table."""
import json
import re

from core.enums import InvoiceStatus, Stage
from tests.app.conftest import texts

PAGE = "screens/cashflow.py"
CJK = re.compile(r"[\u4e00-\u9fff]")
RAW = {"on_hold", "atc_pending", "partly_paid", "initiation", "guidance", "bidding", "negotiation", "current",
       "atb", "atc", "ati", "lead", "qualified", "opportunity", "initiated", "bid", "won", "signed", "amount",
       "weighted", "None", "nan", *[str(s) for s in Stage], *[str(s) for s in InvoiceStatus]}


def every_tab(at):
    for label in [t.label for t in at.tabs]:
        at.session_state["cf-tab"] = label
        at.run()
        assert not at.exception, label
        yield label


def columns(df) -> dict:
    """The table's visible columns: {column: its column_config} (hidden and index ones left out)."""
    config = json.loads(df.proto.columns or "{}")
    order = list(df.proto.column_order) or [c for c in df.value.columns]
    return {c: config.get(c, {}) for c in order if c != "_index" and not config.get(c, {}).get("hidden")}


def test_a_leader_in_chinese_sees_no_raw_code_and_no_english_header(page):
    at = page("leader", PAGE, "zh")
    seen_tables = charts = 0
    for label in every_tab(at):
        for df in at.dataframe:
            seen_tables += 1
            cols = columns(df)
            for col, cfg in cols.items():
                assert CJK.search(cfg.get("label") or col), f"{label}: English header {col!r}"
            shown = df.value[[c for c in cols if c in df.value.columns]]
            for col in shown.columns:
                if shown[col].dtype == object:
                    raw = {str(v) for v in shown[col].dropna()} & RAW
                    assert not raw, f"{label}: raw codes {raw} in column {col!r}"
        for chart in at.get("vega_lite_chart"):
            charts += 1
            spec = json.dumps(json.loads(chart.proto.spec), ensure_ascii=False)
            for word in ("\"Amount\"", "\"Month\"", "\"Layer\"", "\"Bucket\"", "\"Measure\"", "\"Median\"",
                         "\"Count\"", "\"on_hold\"", "\"current\""):
                assert f"\"title\": {word}" not in spec and f"\"value\": {word}" not in spec, (label, word)
            for enc in json.loads(chart.proto.spec).get("encoding", {}).values():
                if isinstance(enc, dict) and enc.get("field") and "title" in enc and enc["title"]:
                    assert CJK.search(enc["title"]), (label, enc)
        assert "None" not in texts(at)
    assert seen_tables >= 10 and charts >= 4


def test_kpi_tiles_are_all_compact_and_tables_format_money_and_ratios(page):
    at = page("leader", PAGE)
    tiles = {m.label: m.value for m in at.metric}
    money = [tiles[k] for k in ("Bookings (signed)", "Invoiced", "Collected", "Outstanding receivables",
                                "Released, not invoiced", "Weighted pipeline")]
    for v in money:   # one way for every tile: '28.23 M', '264.00 K'
        assert re.fullmatch(r"-?[\d,]+\.\d{2} [KMB]|-?\d{1,3}\.\d{2}|—", v), v
    for label in every_tab(at):
        for df in at.dataframe:
            cols = columns(df)
            for col, cfg in cols.items():
                if col in ("conversion", "estimate_accuracy", "budget_execution") or col.endswith("margin_rate"):
                    # hundredths with one decimal on every row (not "30%" beside "29.75%")
                    assert cfg.get("type_config", {}).get("format") == "%.1f%%", (label, col, cfg)
                if col in ("bookings", "collected", "amount", "outstanding", "total", "weighted"):
                    assert cfg.get("type_config", {}).get("format") in ("accounting", "localized"), (label, col, cfg)
