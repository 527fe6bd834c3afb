"""Issue 11: files an attacker or an unlucky export could hand the lead import, each refused with a message that
names the file and the reason before it costs time or memory, and nothing imported (core/tabular.py).

The files are real: workbooks written by openpyxl and then damaged, zips built with zipfile, CSV encoded by
Python's own codecs."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from sqlmodel import select

from core.errors import ValidationError
from core.models import Lead
from core.tabular import Limits, read_table
from tests.integration.test_cli import env, run as cli  # noqa: F401  (env: a fixture)
from tests.integration.test_lead_import import count, run, write_csv

SHEET = "xl/worksheets/sheet1.xml"


def _workbook(path, rows) -> None:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


def _replace_member(path, name: str, data: bytes, *, level: int = 6) -> None:
    """Write the workbook again with one member's bytes replaced, the rest as they were."""
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members[name] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for member, content in members.items():
            zf.writestr(member, content)


LEADS = [["Company", "Phone"], ["Acme 有限公司", "13800138000"], ["Beta Co", "13900139000"]]


def test_a_workbook_with_broken_sheet_xml_is_refused_by_the_import_and_the_cli(world, tmp_path, env):  # noqa: F811
    path = tmp_path / "broken.xlsx"
    _workbook(path, LEADS)
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(SHEET)
    _replace_member(path, SHEET, xml[: len(xml) * 2 // 3])     # cut off inside a row, as a failed download is
    with pytest.raises(ValidationError, match=r"broken.xlsx is damaged after row \d+ \(ParseError") as exc:
        run(world, path)
    assert exc.value.field == "file" and "nothing was imported" in str(exc.value)
    assert count(world, Lead) == 0

    assert cli(["init"], env).returncode == 0
    r = cli(["import", "leads", str(path)], env)
    assert r.returncode == 1 and "Traceback" not in r.stderr + r.stdout, r.stderr
    assert "broken.xlsx is damaged" in r.stderr + r.stdout


def test_a_zip_bomb_is_refused_from_its_zip_directory_before_any_xml_is_read(world, tmp_path):
    """A 1 MB workbook whose sheet expands to 180 MB cost 92 s and 345 MB before it was refused; its zip
    directory already says so."""
    path = tmp_path / "bomb.xlsx"
    _workbook(path, LEADS)
    row = b'<row><c t="inlineStr"><is><t>Acme</t></is></c></row>'
    xml = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + \
        row * (30 * 1024 * 1024 // len(row)) + b"</sheetData></worksheet>"
    _replace_member(path, SHEET, xml, level=9)
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(ValidationError, match=r"bomb.xlsx is a zip bomb: its part xl/worksheets/sheet1.xml "
                                              r"expands \d+ times \(to 30 MB\)"):
        run(world, path)
    assert count(world, Lead) == 0


def test_a_workbook_expanding_past_the_limit_is_refused(tmp_path):
    path = tmp_path / "big.xlsx"
    _workbook(path, LEADS + [[f"Firm {i}", f"139{i:08d}"] for i in range(20_000)])
    with pytest.raises(ValidationError, match=r"big.xlsx expands to \d+ MB, more than the 1 MB a workbook may"):
        read_table(path, Limits(expanded_bytes=1024 * 1024))
    assert sum(1 for _ in read_table(path).rows) == 20_002        # within the default limits it reads


def test_a_file_past_the_size_limit_is_refused_before_it_is_read(tmp_path):
    path = write_csv(tmp_path / "huge.csv", LEADS * 40_000)
    with pytest.raises(ValidationError, match=r"huge.csv is \d+\.\d MB, more than the 1 MB a file may have"):
        read_table(path, Limits(file_bytes=1024 * 1024))


@pytest.mark.parametrize("limits,words", [
    (Limits(rows=10), "has more than 10 rows"),
    (Limits(columns=3), "row 1 has 4 columns, more than 3"),
    (Limits(cell_chars=100), "row 3, column 2 holds 101 characters, more than the 100 a cell may hold"),
])
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_rows_columns_and_cells_past_their_limits_are_refused_naming_where(tmp_path, limits, words, kind):
    rows = [["Company", "Phone", "Email", "Need text"]] + [[f"Firm {i}", f"139{i:08d}", "", ""] for i in range(20)]
    rows[2][1] = "1" * 101
    path = tmp_path / f"shape.{kind}"
    write_csv(path, rows) if kind == "csv" else _workbook(path, rows)
    with pytest.raises(ValidationError, match=words.replace("(", r"\(")):
        list(read_table(path, limits).rows)


def test_a_csv_cell_longer_than_a_spreadsheet_cell_is_refused_not_read_into_memory(world, tmp_path):
    path = write_csv(tmp_path / "long.csv", [["Company", "Phone", "Need text"], ["Acme", "13800138000",
                                                                              "x" * 1_000_000]])
    with pytest.raises(ValidationError, match="long.csv row 2 holds a cell of more than 32,767 characters"):
        run(world, path)
    assert count(world, Lead) == 0


def test_a_shift_jis_file_is_read_as_shift_jis_not_as_gb18030(world, tmp_path):
    """It was decoded as GB18030 and stored as garbage without a word."""
    names = ["株式会社山田製作所", "トヨタ自動車株式会社", "ソニーグループ株式会社"]
    path = write_csv(tmp_path / "取引先.csv", [["Company", "Phone"]] + [[n, f"0312345{i:03d}"]
                                                                     for i, n in enumerate(names)],
                     encoding="shift_jis")
    assert read_table(path).encoding == "Shift-JIS"
    report = run(world, path)
    assert (report.created, report.rejected) == (3, [])
    stored = world.read(lambda ctx: sorted(lead.company for lead in ctx.session.exec(select(Lead)).all()))
    assert stored == sorted(names)


@pytest.mark.parametrize("encoding,companies", [
    ("gb18030", ["北京堃昇科技有限公司", "上海电气集团股份有限公司"]),
    ("big5", ["台灣積體電路製造股份有限公司", "鴻海精密工業股份有限公司"]),
    ("utf-8", ["上海电气 ÄÖÜ", "株式会社山田"])])
def test_gbk_big5_and_utf8_files_are_each_read_in_their_own_encoding(tmp_path, encoding, companies):
    path = write_csv(tmp_path / "leads.csv", [["Company", "Phone"]] + [[c, "0212345678"] for c in companies],
                     encoding=encoding)
    assert [cells[0] for _, cells in read_table(path).rows] == companies


def test_bytes_no_encoding_reads_cleanly_are_refused_naming_the_encodings_tried(world, tmp_path):
    path = tmp_path / "noise.csv"
    path.write_bytes(b"Company,Phone\r\n" + bytes(range(0x80, 0x100)) * 8 + b",1\r\n")
    with pytest.raises(ValidationError, match=r"noise.csv is not text in any encoding tried "
                                              r"\(UTF-8, GB18030, Big5, Shift-JIS, EUC-KR\)"):
        run(world, path)


@pytest.mark.parametrize("header", [["Comp\x00any", "Phone"], ["Company", "Pho\u200bne"]])
def test_a_control_character_in_a_header_is_refused_not_read_as_the_word(world, tmp_path, header):
    """'Comp\\x00any' was read as Company."""
    path = write_csv(tmp_path / "nul.csv", [header, ["Acme", "13800138000"]])
    with pytest.raises(ValidationError, match=r"nul.csv header column \d \(.*\) holds the control character U\+"):
        run(world, path)
    assert count(world, Lead) == 0


def test_utf16_saved_without_its_byte_order_mark_is_refused_by_its_header(world, tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes("Company,Phone\r\nAcme,13800138000\r\n".encode("utf-16-le"))
    with pytest.raises(ValidationError, match="U\\+0000"):
        run(world, path)


def test_a_csv_whose_bytes_go_bad_after_the_sample_is_refused_naming_the_row(world, tmp_path):
    good = io.StringIO()
    rows = [["Company", "Phone"]] + [[f"华东{i}有限公司", f"139{i:08d}"] for i in range(40_000)]   # > 1 MB
    for r in rows:
        good.write(",".join(r) + "\r\n")
    data = good.getvalue().encode("gb18030") + b"\xff\xff,1\r\n"   # not GB18030: the file ends in noise
    path = tmp_path / "tail.csv"
    path.write_bytes(data)
    assert path.stat().st_size > 1024 * 1024                       # past the sample the encoding is judged on
    with pytest.raises(ValidationError, match=r"tail.csv is not valid GB18030 text after row 39\d\d\d"):
        run(world, path, dry_run=True)
    assert count(world, Lead) == 0


def test_a_file_too_short_to_tell_chinese_from_japanese_or_korean_is_refused_naming_both(world, tmp_path):
    path = write_csv(tmp_path / "short.csv", [["公司", "电话"], ["华为", "13800138000"]], encoding="gb18030")
    with pytest.raises(ValidationError, match=r"short.csv could be .+ or .+ text \(tried UTF-8, GB18030, Big5, "
                                              r"Shift-JIS, EUC-KR\); save it as CSV UTF-8"):
        run(world, path)


def test_a_workbook_damaged_before_its_first_row_says_so(tmp_path):
    path = tmp_path / "early.xlsx"
    _workbook(path, LEADS)
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(SHEET)
    _replace_member(path, SHEET, xml[:xml.index(b"<row")] + b"<row><c")    # cut inside the first row's start
    with pytest.raises(ValidationError, match=r"early.xlsx is damaged before its first row \(ParseError"):
        list(read_table(path).rows)
