"""The Sheets emulator, driven by unmodified gspread through ``sync.gsheets_client.client()``."""
from __future__ import annotations

import json

import gspread
import pytest
import requests
from gspread.exceptions import APIError
from gspread.utils import DateTimeOption, ValidationConditionType, ValueInputOption, ValueRenderOption

from sync.gsheets_client import CREDENTIALS_ENV, EMULATOR_ENV, SheetsConfigError, client
from tests.sheets_emulator.server import format_number, parse_user_entered


@pytest.fixture
def gc(sheets_emulator) -> gspread.Client:
    return client()


@pytest.fixture
def book(gc, sheets_emulator):
    """A spreadsheet with a 'Payment Terms' tab; the request log starts empty."""
    sh = gc.create("Finance")
    ws = sh.add_worksheet("Payment Terms", rows=20, cols=8)
    sheets_emulator.clear_requests()
    return sh, ws


# ---- the client helper ----------------------------------------------------------------------

def test_client_without_configuration_names_the_variable(monkeypatch):
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    monkeypatch.delenv(CREDENTIALS_ENV, raising=False)
    with pytest.raises(SheetsConfigError, match=CREDENTIALS_ENV):
        client()
    monkeypatch.setenv(CREDENTIALS_ENV, "/nonexistent/key.json")
    with pytest.raises(SheetsConfigError, match="not found"):
        client()


def test_client_with_a_service_account_file(monkeypatch, tmp_path):
    crypto = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    from cryptography.hazmat.primitives import serialization

    key = crypto.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "p", "private_key_id": "k", "private_key": pem,
        "client_email": "sync@p.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token"}))
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    monkeypatch.setenv(CREDENTIALS_ENV, str(path))
    gc = client()
    assert isinstance(gc, gspread.Client)
    assert gc.http_client.auth.service_account_email == "sync@p.iam.gserviceaccount.com"
    monkeypatch.delenv(CREDENTIALS_ENV)
    assert client(path).http_client.auth.service_account_email == "sync@p.iam.gserviceaccount.com"


def test_client_sends_no_credentials_to_the_emulator(gc, sheets_emulator):
    gc.create("Anything")
    log = sheets_emulator.request_log
    assert [e["api"] for e in log] == ["files.create", "spreadsheets.get"]
    for entry in log:
        assert not any(h.lower() == "authorization" for h in entry["headers"])


def test_emulator_host_must_have_a_port(monkeypatch):
    monkeypatch.setenv(EMULATOR_ENV, "localhost")
    with pytest.raises(SheetsConfigError, match=EMULATOR_ENV):
        client()


# ---- spreadsheets, worksheets, Drive ---------------------------------------------------------

def test_create_open_add_worksheets_and_share(gc, sheets_emulator):
    sh = gc.create("Sales 2026")
    assert sh.title == "Sales 2026"
    assert [w.title for w in sh.worksheets()] == ["Sheet1"]
    assert sh.sheet1.id == 0 and sh.sheet1.row_count == 1000 and sh.sheet1.col_count == 26
    leads = sh.add_worksheet("Leads", rows=50, cols=10)
    terms = sh.add_worksheet("Payment Terms", rows=20, cols=8, index=1)
    assert [w.title for w in sh.worksheets()] == ["Sheet1", "Payment Terms", "Leads"]
    assert terms.index == 1 and leads.row_count == 50 and leads.col_count == 10
    leads.freeze(rows=1)
    reopened = gc.open_by_key(sh.id)
    props = {w.title: w._properties for w in reopened.worksheets()}
    assert props["Leads"]["gridProperties"] == {"rowCount": 50, "columnCount": 10, "frozenRowCount": 1}
    assert "frozenRowCount" not in props["Payment Terms"]["gridProperties"]   # Sheets omits zeros
    assert gc.open("Sales 2026").id == sh.id
    with pytest.raises(gspread.SpreadsheetNotFound):
        gc.open("No such book")
    with pytest.raises(gspread.SpreadsheetNotFound):
        gc.open_by_key("1doesnotexist")
    with pytest.raises(APIError, match="already exists"):
        sh.add_worksheet("leads", rows=5, cols=5)
    sh.share("finance@example.com", perm_type="user", role="writer", notify=False)
    assert [(p["emailAddress"], p["role"]) for p in sheets_emulator.permissions(sh.id)] == [
        ("finance@example.com", "writer")]
    assert sh.list_permissions()[0]["type"] == "user"
    sh.reorder_worksheets([leads, terms, sh.sheet1])      # index-only property updates
    assert sheets_emulator.tabs(sh.id) == ["Leads", "Payment Terms", "Sheet1"]
    sh.del_worksheet(terms)
    leads.update_title("Leads 2026")
    leads.resize(rows=30)
    assert sheets_emulator.tabs(sh.id) == ["Leads 2026", "Sheet1"]
    assert sheets_emulator.sheet_properties(sh.id, "Leads 2026")["gridProperties"]["rowCount"] == 30
    assert sh.fetch_sheet_metadata({"fields": "sheets.properties.title"}) == {
        "sheets": [{"properties": {"title": "Leads 2026"}}, {"properties": {"title": "Sheet1"}}]}


def test_spreadsheets_create_endpoint(gc, sheets_emulator):
    body = {"properties": {"title": "Direct"},
            "sheets": [{"properties": {"title": "Leads", "gridProperties": {"rowCount": 10, "columnCount": 3}}}]}
    r = gc.http_client.request("post", "https://sheets.googleapis.com/v4/spreadsheets", json=body).json()
    assert r["properties"]["title"] == "Direct"
    assert r["sheets"][0]["properties"]["gridProperties"] == {"rowCount": 10, "columnCount": 3}
    assert gc.open_by_key(r["spreadsheetId"]).worksheet("Leads").col_count == 3


# ---- writing and reading values --------------------------------------------------------------

def test_batch_update_raw_and_user_entered_in_one_request_each(book, sheets_emulator):
    sh, ws = book
    ws.batch_update([
        {"range": "A1:D1", "values": [["ID", "Company", "Amount", "Due"]]},
        {"range": "A2:D3", "values": [["7", "=IMPORTXML(1)", "1,234.50", "2026-01-15"],
                                      [8, "'quoted", 99.5, True]]},
    ], value_input_option=ValueInputOption.raw)
    assert sheets_emulator.api_calls() == ["values.batchUpdate"]
    assert sheets_emulator.sheet_values(sh.id, "Payment Terms") == [
        ["ID", "Company", "Amount", "Due"],
        ["7", "=IMPORTXML(1)", "1,234.50", "2026-01-15"],      # RAW: strings stay text, even "=..."
        [8, "'quoted", 99.5, True],
    ]
    assert sheets_emulator.cell(sh.id, "Payment Terms", "B2")["formula"] is None

    sheets_emulator.clear_requests()
    ws.batch_update([
        {"range": "A2:D2", "values": [["007", "=1+2", "1,234.50", "2026-01-15"]]},
        {"range": "A3:D3", "values": [["12%", "'=x", "1/15/2026", "true"]]},
    ], value_input_option=ValueInputOption.user_entered)
    assert sheets_emulator.api_calls() == ["values.batchUpdate"]
    assert sheets_emulator.sheet_values(sh.id, "Payment Terms")[1:] == [
        [7, "=1+2", 1234.5, 46037],
        [0.12, "=x", 46037, True],
    ]
    b3 = sheets_emulator.cell(sh.id, "Payment Terms", "B3")
    assert b3["formula"] is None and b3["value"] == "=x"          # apostrophe: text, not stored
    assert sheets_emulator.cell(sh.id, "Payment Terms", "B2")["value"] == 3
    assert sheets_emulator.formatted_values(sh.id, "Payment Terms")[1:] == [
        ["7", "3", "1,234.50", "2026-01-15"],
        ["12%", "=x", "1/15/2026", "TRUE"],
    ]


def test_values_batch_get_reads_many_tabs_in_one_request(book, sheets_emulator):
    sh, ws = book
    leads = sh.add_worksheet("Leads", rows=10, cols=4)
    leads.update([["ID", "Company"], ["1", "ACME"]], "A1")
    ws.update([["ID", "Amount"], ["T1", "100"]], "A1", value_input_option=ValueInputOption.user_entered)
    sheets_emulator.clear_requests()
    result = sh.values_batch_get(["'Payment Terms'!A1:H20", "Leads", "'Leads'!B2"],
                                 params={"valueRenderOption": "UNFORMATTED_VALUE"})
    assert len(sheets_emulator.requests) == 1
    assert sheets_emulator.requests[0] == ("GET", f"/v4/spreadsheets/{sh.id}/values:batchGet")
    ranges = result["valueRanges"]
    assert [r["range"] for r in ranges] == ["'Payment Terms'!A1:H20", "Leads!A1:D10", "Leads!B2"]
    assert ranges[0]["values"] == [["ID", "Amount"], ["T1", 100]]
    assert ranges[1]["values"] == [["ID", "Company"], ["1", "ACME"]]
    assert ranges[2]["values"] == [["ACME"]]


def test_rendering_formatted_unformatted_formula_and_dates(book, sheets_emulator):
    sh, ws = book
    ws.update([["2026-01-15", "1/15/2026", "1,234.5", "12.5%", "=2*3", "$1,000", "10:30", "2026-01-15 10:30"]],
              "A1", value_input_option=ValueInputOption.user_entered)
    rng = "A1:H1"
    assert ws.get(rng)[0] == ["2026-01-15", "1/15/2026", "1,234.50", "12.50%", "6", "$1,000.00", "10:30:00 AM",
                              "2026-01-15 10:30:00"]
    assert ws.get(rng, value_render_option=ValueRenderOption.unformatted)[0] == [
        46037, 46037, 1234.5, 0.125, 6, 1000, 0.4375, 46037.4375]
    assert ws.get(rng, value_render_option=ValueRenderOption.formula)[0][4] == "=2*3"
    as_strings = ws.get(rng, value_render_option=ValueRenderOption.unformatted,
                        date_time_render_option=DateTimeOption.formatted_string)[0]
    assert as_strings[:3] == ["2026-01-15", "1/15/2026", 1234.5]        # only dates become strings
    # number formats set through repeatCell render in FORMATTED_VALUE; the value is unchanged
    ws.update([[46037.5, 1234.567, 0.5]], "A2")
    ws.format("A2", {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}})
    ws.format("B2", {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}})
    ws.format("C2", {"numberFormat": {"type": "DATE"}})
    assert ws.get("A2:C2")[0] == ["2026-01-15", "1,234.57", "12/30/1899"]
    assert ws.get("A2:C2", value_render_option=ValueRenderOption.unformatted)[0] == [46037.5, 1234.567, 0.5]
    assert sheets_emulator.cell(sh.id, "Payment Terms", "B2")["number_format"] == {
        "type": "NUMBER", "pattern": "#,##0.00"}
    # a typed date keeps the cell's date format; a RAW number written later is shown as a date
    ws.update([[46040]], "A2")
    assert ws.acell("A2").value == "2026-01-18"
    # majorDimension COLUMNS
    assert ws.get("A1:B2", major_dimension="COLUMNS",
                  value_render_option=ValueRenderOption.unformatted) == [[46037, 46040], [46037, 1234.567]]


@pytest.mark.parametrize("typed, value, pattern", [
    ("1,234.50", 1234.5, "#,##0.00"),
    ("1,234", 1234, "#,##0"),
    ("-42", -42, None),
    ("007", 7, None),
    ("12%", 0.12, "0%"),
    ("$1,234.50", 1234.5, '"$"#,##0.00'),
    ("1e3", 1000, "0.00E+00"),
    ("2026-01-15", 46037, "yyyy-mm-dd"),
    ("1/15/2026", 46037, "M/d/yyyy"),
    ("2026/1/15", 46037, "yyyy/M/d"),
    ("Jan 15, 2026", 46037, "mmm d, yyyy"),
    ("TRUE", True, None),
    ("false", False, None),
    ("2026-02-30", "2026-02-30", None),      # not a date: text
    ("12,34", "12,34", None),                # not a number in en_US: text
    ("+86 138 0013 8000", "+86 138 0013 8000", None),
    ("'007", "007", None),
])
def test_user_entered_parsing(typed, value, pattern):
    parsed, formula, fmt = parse_user_entered(typed)
    assert formula is None
    assert parsed == value and type(parsed) is (type(value) if not isinstance(value, int) or isinstance(value, bool)
                                                else float)
    assert (fmt or {}).get("pattern") == pattern


@pytest.mark.parametrize("value, fmt, shown", [
    (1234.5, None, "1234.5"),
    (3.0, None, "3"),
    (0.1 + 0.2, None, "0.3"),
    (-1234.567, {"type": "NUMBER", "pattern": "#,##0.00"}, "-1,234.57"),
    (2.675, {"type": "NUMBER", "pattern": "0.00"}, "2.68"),
    (0.125, {"type": "PERCENT", "pattern": "0.0%"}, "12.5%"),
    (1500, {"type": "CURRENCY", "pattern": "[$¥-804]#,##0.00"}, "¥1,500.00"),
    (46037, {"type": "DATE", "pattern": "dd.mm.yyyy"}, "15.01.2026"),
    (46037.75, {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}, "2026-01-15 18:00"),
    (46037, {"type": "DATE", "pattern": "dddd, mmmm d"}, "Thursday, January 15"),
    (12345.678, {"type": "SCIENTIFIC", "pattern": "0.00E+00"}, "1.23E+04"),
])
def test_number_formats(value, fmt, shown):
    assert format_number(value, fmt) == shown


def test_formulas_compute_simple_arithmetic_and_references(book, sheets_emulator):
    sh, ws = book
    ws.update([["=1+2*3", "=(1+2)*3", "=2^10", "=10/4", "=A1+B1", "=SUM(A1:D1)", '="a"&"b"', "=VLOOKUP(1)"],
               ["=1/0", "=A3", "=C2", "=1+", "=Leads!A1", "text", "=F2*2", "=50%"]],
              "A1", value_input_option=ValueInputOption.user_entered)
    assert ws.get("A1:H2", value_render_option=ValueRenderOption.unformatted) == [
        [7, 9, 1024, 2.5, 16, 1042.5, "ab", "#NAME?"],
        ["#DIV/0!", "", "#REF!", "#ERROR!", "#NAME?", "text", "#VALUE!", 0.5],
    ]
    assert ws.acell("H1", value_render_option=ValueRenderOption.formula).value == "=VLOOKUP(1)"
    ws.update([[5]], "A1")                         # references recalculate
    assert ws.acell("E1", value_render_option=ValueRenderOption.unformatted).value == 14


def test_trailing_empty_cells_and_rows_are_trimmed(book, sheets_emulator):
    sh, ws = book
    ws.update([["a", "", "c", ""], ["", "", "", ""], ["", "x"], ["", ""]], "A1")
    result = sh.values_get("'Payment Terms'!A1:F10")
    assert result["range"] == "'Payment Terms'!A1:F10"
    assert result["values"] == [["a", "", "c"], [], ["", "x"]]
    empty = sh.values_get("'Payment Terms'!E5:F6")
    assert "values" not in empty and empty["majorDimension"] == "ROWS"
    assert ws.get_all_values() == [["a", "", "c"], ["", "", ""], ["", "x", ""]]   # gspread pads


def test_ranges_beyond_the_grid_are_refused(book, sheets_emulator):
    sh, ws = book
    with pytest.raises(APIError, match=r"exceeds grid limits. Max rows: 20, max columns: 8") as err:
        ws.update([["x"]], "A21")
    assert err.value.code == 400
    with pytest.raises(APIError, match="exceeds grid limits"):
        ws.get("A1:Z5")
    with pytest.raises(APIError, match="tried writing to row"):
        ws.update([["1"], ["2"], ["3"]], "A1:A2")
    with pytest.raises(APIError, match="Unable to parse range"):
        sh.values_get("'No such tab'!A1")


def test_append_and_clear(book, sheets_emulator):
    sh, ws = book
    ws.update([["ID", "Name"], ["1", "a"], ["2", "b"]], "A1")
    res = ws.append_row(["3", "c"])
    assert res["tableRange"] == "'Payment Terms'!A1:B3"
    assert res["updates"]["updatedRange"] == "'Payment Terms'!A4:B4"
    ws.append_rows([[str(i), "x"] for i in range(4, 25)])          # grows the grid past 20 rows
    assert sheets_emulator.sheet_properties(sh.id, "Payment Terms")["gridProperties"]["rowCount"] == 25
    assert len(ws.get_all_values()) == 25
    ws.batch_clear(["A2:B25"])
    assert ws.get_all_values() == [["ID", "Name"]]
    ws.clear()
    assert sheets_emulator.sheet_values(sh.id, "Payment Terms") == []


# ---- structure changes a person makes ---------------------------------------------------------

def test_sort_and_insert_rows_and_columns(book, sheets_emulator):
    sh, ws = book
    ws.update([["ID", "Amount", "Total"], ["a", "30", "=B2*2"], ["b", "", "=B3*2"], ["c", "10", "=B4*2"],
               ["d", "20", "=B5*2"]], "A1", value_input_option=ValueInputOption.user_entered)
    ws.freeze(rows=1)
    ws.sort((2, "asc"))                                   # below the frozen header, blanks last
    assert [r[0] for r in ws.get_all_values()] == ["ID", "c", "d", "a", "b"]
    ws.sort((2, "des"))
    assert [r[0] for r in ws.get_all_values()] == ["ID", "a", "d", "c", "b"]
    sheets_emulator.sort_as_user(sh.id, "Payment Terms", "A", descending=True)
    assert [r[0] for r in ws.get_all_values()] == ["ID", "d", "c", "b", "a"]

    sheets_emulator.clear_requests()
    ws.insert_rows([["new", "5", "=B2*2"]], row=2, value_input_option=ValueInputOption.user_entered)
    assert sheets_emulator.api_calls() == ["spreadsheets.batchUpdate", "values.append"]
    values = ws.get_all_values()
    assert values[1] == ["new", "5", "10"] and values[2][0] == "d"
    assert sheets_emulator.sheet_properties(sh.id, "Payment Terms")["gridProperties"]["rowCount"] == 21
    # formulas below the inserted row follow their rows
    assert sheets_emulator.cell(sh.id, "Payment Terms", "C3")["formula"] == "=B3*2"

    ws.insert_cols([["Note", "n1"]], col=1)
    assert ws.get_all_values()[0] == ["Note", "ID", "Amount", "Total"]
    assert sheets_emulator.cell(sh.id, "Payment Terms", "D2")["formula"] == "=C2*2"
    ws.delete_rows(2)
    assert [r[1] for r in ws.get_all_values()] == ["ID", "d", "c", "b", "a"]
    ws.delete_columns(1)
    assert ws.get_all_values()[0] == ["ID", "Amount", "Total"]
    sheets_emulator.delete_rows_as_user(sh.id, "Payment Terms", 2, 3)
    sheets_emulator.insert_rows_as_user(sh.id, "Payment Terms", 2)
    assert [r[0] for r in ws.get_all_values()] == ["ID", "", "b", "a"]


def test_protection_and_validation_are_stored_and_bind_a_person(book, sheets_emulator):
    sh, ws = book
    ws.update([["ID", "Status"], ["1", "open"]], "A1")
    ws.add_protected_range("A1:A20", warning_only=True, description="owned by the database")
    ws.add_protected_range("H1:H20", editor_users_emails=["sync@example.com"], description="locked")
    ws.add_validation("B2:B20", ValidationConditionType.one_of_list, ["open", "paid"], strict=True,
                      showCustomUi=True)
    protected = sh.list_protected_ranges(ws.id)
    assert [(p["description"], p["warningOnly"] if "warningOnly" in p else False) for p in protected] == [
        ("owned by the database", True), ("locked", False)]
    assert protected[0]["range"] == {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 20,
                                     "startColumnIndex": 0, "endColumnIndex": 1}
    rule = sheets_emulator.cell(sh.id, "Payment Terms", "B5")["validation"]
    assert rule["condition"] == {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "open"},
                                                                  {"userEnteredValue": "paid"}]}
    assert rule["strict"] is True
    meta = sh.fetch_sheet_metadata({"includeGridData": "true", "ranges": "'Payment Terms'!B2"})
    assert meta["sheets"][0]["data"][0]["rowData"][0]["values"][0]["dataValidation"]["condition"]["type"] == "ONE_OF_LIST"

    sheets_emulator.type_as_user(sh.id, "Payment Terms", "A2", "2")        # warning-only: allowed
    sheets_emulator.type_as_user(sh.id, "Payment Terms", "B2", "paid")
    with pytest.raises(ValueError, match="validation"):
        sheets_emulator.type_as_user(sh.id, "Payment Terms", "B2", "lost")
    with pytest.raises(PermissionError):
        sheets_emulator.type_as_user(sh.id, "Payment Terms", "H2", "x")
    sheets_emulator.type_as_user(sh.id, "Payment Terms", "H2", "x", user="sync@example.com")
    ws.update([["lost"]], "B3")                           # the API is not stopped by validation
    assert ws.get("A2:B3") == [["2", "paid"], ["", "lost"]]
    # inserting rows above shifts the protected range
    ws.insert_rows([["x"]], row=1)
    assert sh.list_protected_ranges(ws.id)[0]["range"]["startRowIndex"] == 1
    with pytest.raises(APIError, match="warningOnly"):
        sh.batch_update({"requests": [{"addProtectedRange": {"protectedRange": {
            "range": {"sheetId": ws.id}, "warningOnly": True, "editors": {"users": ["a@example.com"]}}}}]})


def test_person_typing_follows_sheets_rules(book, sheets_emulator):
    sh, ws = book
    ws.format("A1:A5", {"numberFormat": {"type": "TEXT"}})
    for a1, typed in [("A1", "007"), ("B1", "007"), ("C1", "=1+1"), ("D1", "1/15/2026"), ("E1", " 42 ")]:
        sheets_emulator.type_as_user(sh.id, "Payment Terms", a1, typed)
    assert sheets_emulator.sheet_values(sh.id, "Payment Terms") == [["007", 7, "=1+1", 46037, 42]]
    sheets_emulator.type_as_user(sh.id, "Payment Terms", "B1", "")
    assert sheets_emulator.sheet_values(sh.id, "Payment Terms") == [["007", "", "=1+1", 46037, 42]]


def test_batch_update_is_atomic_and_unknown_requests_are_refused(book, sheets_emulator):
    sh, ws = book
    with pytest.raises(APIError) as err:
        sh.batch_update({"requests": [
            {"addSheet": {"properties": {"title": "Kept?"}}},
            {"mergeCells": {"range": {"sheetId": ws.id}, "mergeType": "MERGE_ALL"}}]})
    assert err.value.code == 400
    assert "requests[1].mergeCells" in err.value.error["message"]
    assert err.value.error["status"] == "INVALID_ARGUMENT"
    assert "Kept?" not in sheets_emulator.tabs(sh.id)
    with pytest.raises(APIError, match="Unknown name"):
        sh.batch_update({"requests": [{"frobnicate": {}}]})
    with pytest.raises(APIError, match="You can't remove all the sheets"):
        for w in sh.worksheets():
            sh.del_worksheet(w)
    resp = requests.get(f"{sheets_emulator.url}/v4/spreadsheets/{sh.id}/developerMetadata/1")
    assert resp.status_code == 404 and "emulator" in resp.json()["error"]["message"]


def test_update_cells_and_repeat_cell(book, sheets_emulator):
    sh, ws = book
    sh.batch_update({"requests": [
        {"updateCells": {"start": {"sheetId": ws.id, "rowIndex": 0, "columnIndex": 0},
                         "rows": [{"values": [{"userEnteredValue": {"stringValue": "=not a formula"}},
                                              {"userEnteredValue": {"numberValue": 46037},
                                               "userEnteredFormat": {"numberFormat": {"type": "DATE",
                                                                                      "pattern": "yyyy-mm-dd"}}},
                                              {"userEnteredValue": {"formulaValue": "=B1+1"}},
                                              {"note": "from the sync"}]}],
                         "fields": "userEnteredValue,userEnteredFormat.numberFormat,note"}},
        {"repeatCell": {"range": {"sheetId": ws.id, "startRowIndex": 1, "endRowIndex": 3,
                                  "startColumnIndex": 0, "endColumnIndex": 1},
                        "cell": {"userEnteredValue": {"boolValue": False}}, "fields": "userEnteredValue"}},
    ]})
    assert ws.get("A1:D3") == [["=not a formula", "2026-01-15", "46038"], ["FALSE"], ["FALSE"]]
    assert sheets_emulator.cell(sh.id, "Payment Terms", "D1")["note"] == "from the sync"
    assert ws.get_note("D1") == "from the sync"


# ---- failures: injected errors and quota ------------------------------------------------------

def test_injected_429_then_success(book, sheets_emulator):
    sh, ws = book
    ws.update([["x"]], "A1")
    sheets_emulator.inject(429, 1)
    with pytest.raises(APIError) as err:
        sh.values_batch_get(["'Payment Terms'!A1"])
    assert err.value.code == 429
    assert err.value.error["status"] == "RESOURCE_EXHAUSTED"
    assert "Quota exceeded" in err.value.error["message"]
    assert sh.values_batch_get(["'Payment Terms'!A1"])["valueRanges"][0]["values"] == [["x"]]
    assert [e["status"] for e in sheets_emulator.request_log][-2:] == [429, 200]


def test_injected_5xx_only_for_chosen_methods_and_lost_responses(book, sheets_emulator):
    sh, ws = book
    sheets_emulator.inject(503, 2, methods=["values.batchUpdate"])
    assert ws.get_all_values() == [[]]                            # reads are not affected
    for _ in range(2):
        with pytest.raises(APIError) as err:
            ws.batch_update([{"range": "A1", "values": [["a"]]}])
        assert err.value.code == 503 and err.value.error["status"] == "UNAVAILABLE"
    assert sheets_emulator.sheet_values(sh.id, "Payment Terms") == []   # refused requests change nothing
    ws.batch_update([{"range": "A1", "values": [["a"]]}])
    sheets_emulator.inject(500, 1, methods="POST", applied=True)   # acted, but the answer was lost
    with pytest.raises(APIError) as err:
        ws.batch_update([{"range": "A2", "values": [["b"]]}])
    assert err.value.code == 500
    assert sheets_emulator.sheet_values(sh.id, "Payment Terms") == [["a"], ["b"]]


def test_gspread_backoff_client_retries_through_injected_errors(sheets_emulator, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    gc = client(http_client=gspread.BackOffHTTPClient)
    ws = gc.create("Retry").sheet1
    sheets_emulator.inject(429, 2)
    assert ws.get_all_values() == [[]]
    assert [e["status"] for e in sheets_emulator.request_log][-3:] == [429, 429, 200]


def test_per_minute_quota(book, sheets_emulator):
    sh, ws = book
    sheets_emulator.set_quota(read_per_minute=2, window_seconds=0.5)
    ws.get_all_values()
    ws.get_all_values()
    with pytest.raises(APIError) as err:
        ws.get_all_values()
    assert err.value.code == 429 and "Read requests" in err.value.error["message"]
    ws.update([["writes have their own quota"]], "A1")
    import time
    time.sleep(0.55)
    assert ws.get_all_values() == [["writes have their own quota"]]
    sheets_emulator.set_quota(per_minute=1)
    ws.get_all_values()
    with pytest.raises(APIError, match="Quota exceeded"):
        ws.update([["x"]], "A1")
    sheets_emulator.set_quota()
    ws.update([["x"]], "A1")


def test_drive_errors_are_drive_shaped(gc, sheets_emulator):
    sheets_emulator.inject(429, 1, methods=["files.list"])
    with pytest.raises(APIError) as err:
        gc.open("x")
    assert err.value.code == 429
    assert err.value.error["errors"][0]["reason"] == "rateLimitExceeded"
    with pytest.raises(APIError) as err:
        gc.get_file_drive_metadata("nope")
    assert err.value.code == 404 and err.value.error["errors"][0]["reason"] == "notFound"


def test_fixture_reset_and_setup_helpers(sheets_emulator, gc):
    sid = sheets_emulator.create_spreadsheet("Setup", {"Leads": [["ID", "Amount"], ["L-1", "1,000"]]})
    assert sheets_emulator.requests == []                 # helpers are not API requests
    ws = gc.open_by_key(sid).worksheet("Leads")
    assert ws.get_all_records() == [{"ID": "L-1", "Amount": 1000}]
    sheets_emulator.reset()
    assert sheets_emulator.spreadsheet_ids() == [] and sheets_emulator.requests == []
