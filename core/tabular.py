"""One safe reader for every table a person uploads or imports (leads now, bank statements next).

A file is checked before it is parsed, and read as a stream so memory stays bounded whatever its size:

- size: the file itself (`Limits.file_bytes`); a workbook's members, as declared in its zip directory, in
  total (`expanded_bytes`) and against their compressed size (`ratio`: a zip bomb expands a thousandfold,
  a real workbook some ten times). Python's zipfile never returns more than a member declares.
- shape: rows, columns and the characters of one cell, counted while reading; the first one over is refused.
- damage: a broken zip, broken sheet XML or a CSV quote left open is refused with what the parser said.
- encoding (CSV): a byte-order mark, else UTF-8 if every byte of the file is, else the best of the legacy
  encodings people's spreadsheets write (`LEGACY`), detected by charset-normalizer with a confidence, and
  refused when it is unsure, naming the encodings it tried.
- formulas: a workbook cell holding one comes back as `Formula` (its text), for the caller to refuse.
- the header: a label holding a control character (a NUL, say, or UTF-16 saved without its byte-order mark)
  is refused, not quietly read as another word. A cell's control characters are the row validator's to refuse.

Every refusal is a ValidationError on the field "file" that names the file and ends "nothing was imported":
a caller runs the whole read inside one unit of work, so a refusal met on row 900,000 leaves no trace.
"""
from __future__ import annotations

import codecs
import csv
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import ParseError

from core.errors import ValidationError
from core.messages import Text

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 200 * MB
    expanded_bytes: int = 1024 * MB
    ratio: int = 100                # expanded / compressed, for members over RATIO_FROM bytes
    rows: int = 1_048_576           # Excel's own limits: a file past them did not come from a spreadsheet
    columns: int = 1_000
    cell_chars: int = 32_767


LIMITS = Limits()
RATIO_FROM = MB
SAMPLE = MB                        # bytes charset-normalizer judges an encoding on
CHUNK = MB
# Legacy encodings a spreadsheet saves CSV in, most likely first for a Chinese company: GB18030 (a superset
# of Excel's GBK), Big5 (Taiwan, Hong Kong), Shift-JIS and EUC-KR for Japanese and Korean partners.
LEGACY = ("gb18030", "big5", "shift_jis", "euc_kr")
SHOWN = {"utf_8": "UTF-8", "gb18030": "GB18030", "big5": "Big5", "shift_jis": "Shift-JIS", "euc_kr": "EUC-KR"}
MAX_CHAOS = 0.1     # charset-normalizer's mess ratio: above it the text reads as garbage
CLOSE = 0.05        # two encodings this close in mess and coherence, telling different languages: unsure


@dataclass
class Table:
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]   # (row number as a spreadsheet shows it, cells) after the header
    count: int | None                        # rows after the header, about (for progress)
    encoding: str = ""                       # a CSV's, as detected


def refuse(path: Path, why: Text) -> ValidationError:
    """`why` says what is wrong with the file, as core's words: Text("is empty (no header row)")."""
    return ValidationError("{field}: {name} {why}; nothing was imported", field="file", name=path.name, why=why)


def read_table(path: Path, limits: Limits = LIMITS) -> Table:
    """The header and a stream of the rows of a CSV or XLSX file, every check above applied."""
    if not path.is_file():
        raise refuse(path, Text("does not exist or is not a file"))
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise refuse(path, Text("is {mb} MB, more than the {max} MB a file may have", mb=f"{size / MB:.1f}",
                                max=limits.file_bytes // MB))
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise refuse(path, Text("is an Excel 97-2003 .xls workbook; save it as .xlsx or CSV"))
    with path.open("rb") as fh:
        is_zip = fh.read(4) == b"PK\x03\x04"
    if suffix in (".xlsx", ".xlsm") or is_zip:
        return _xlsx_table(path, limits)
    return _csv_table(path, limits)


# -- shape -------------------------------------------------------------------------------------

def _bounded(path: Path, records: Iterator[tuple[int, list[str]]], limits: Limits
             ) -> Iterator[tuple[int, list[str]]]:
    for number, cells in records:
        if number > limits.rows:
            raise refuse(path, Text("has more than {max} rows", max=f"{limits.rows:,}"))
        if len(cells) > limits.columns:
            raise refuse(path, Text("row {row} has {n} columns, more than {max}", row=number, n=f"{len(cells):,}",
                                    max=f"{limits.columns:,}"))
        for col, cell in enumerate(cells, start=1):
            if len(cell) > limits.cell_chars:
                raise refuse(path, Text("row {row}, column {col} holds {n} characters, more than the {max} a cell "
                                        "may hold", row=number, col=col, n=f"{len(cell):,}",
                                        max=f"{limits.cell_chars:,}"))
        yield number, cells


def _split_header(path: Path, records: Iterator[tuple[int, list[str]]], total: int | None,
                  encoding: str = "") -> Table:
    for number, cells in records:
        if any(str(c).strip() for c in cells):
            header = [str(c).strip() for c in cells]
            for col, label in enumerate(header, start=1):
                odd = next((ch for ch in label if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co")), None)
                if odd is not None:
                    raise refuse(path, Text("header column {col} ({label}) holds the control character U+{code}",
                                            col=col, label=repr(label), code=f"{ord(odd):04X}"))
            return Table(header=header, rows=records, count=None if total is None else max(total - number, 0),
                         encoding=encoding)
    raise refuse(path, Text("is empty (no header row)"))


# -- CSV -------------------------------------------------------------------------------------------

def _scan(path: Path) -> tuple[bool, int, bytes]:
    """One pass in chunks: is every byte UTF-8, how many lines (for progress), and the first SAMPLE bytes."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, lines, head = True, 0, b""
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if len(head) < SAMPLE:
                head += chunk[:SAMPLE - len(head)]
            lines += chunk.count(b"\n")
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    return utf8, lines, head


def detect_encoding(path: Path) -> tuple[str, int, bytes]:
    """The file's encoding, its line count and its first bytes. Refused when no legacy encoding reads it cleanly,
    or two that tell different languages read it about as well."""
    from charset_normalizer import from_bytes

    utf8, lines, head = _scan(path)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", lines, head
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", lines, head
    if utf8:
        return "utf-8", lines, head
    sample = head[:head.rfind(b"\n") + 1] or head   # whole lines: a character cut in two is not a clue
    tried = ", ".join(["UTF-8"] + [SHOWN[e] for e in LEGACY])
    # mess first, then coherence: how much the text reads like its language (Chinese bytes decode as Japanese
    # without mess too, but do not read as Japanese)
    found = sorted((m for m in from_bytes(sample, cp_isolation=list(LEGACY), threshold=MAX_CHAOS)
                    if m.encoding in LEGACY), key=lambda m: (round(m.chaos / CLOSE), -m.coherence))
    if not found:
        raise refuse(path, Text("is not text in any encoding tried ({tried}); save it as CSV UTF-8", tried=tried))
    best = found[0]
    rival = next((m for m in found[1:] if m.language != best.language and m.chaos - best.chaos < CLOSE
                  and best.coherence - m.coherence < CLOSE), None)
    if rival is not None:
        raise refuse(path, Text("could be {one} or {other} text (tried {tried}); save it as CSV UTF-8",
                                one=SHOWN[best.encoding], other=SHOWN[rival.encoding], tried=tried))
    return best.encoding, lines, head


def _csv_table(path: Path, limits: Limits) -> Table:
    encoding, lines, head = detect_encoding(path)
    first = next((line for line in head[:64 * 1024].decode(encoding, errors="ignore").splitlines() if line.strip()),
                 "")
    delimiter = max(",\t;", key=first.count) if first else ","
    csv.field_size_limit(limits.cell_chars + 1)   # the reader stops a runaway cell itself, past our limit

    def records() -> Iterator[tuple[int, list[str]]]:
        with path.open(encoding=encoding, newline="", errors="strict") as text:
            number = 0
            try:
                for number, cells in enumerate(csv.reader(text, delimiter=delimiter), start=1):
                    yield number, cells
            except UnicodeDecodeError as exc:
                raise refuse(path, Text("is not valid {encoding} text after row {row} (byte {at} of a block)",
                                        encoding=SHOWN.get(codecs.lookup(encoding).name, encoding), row=number,
                                        at=exc.start)) from None
            except csv.Error as exc:
                if "field larger than field limit" in str(exc):
                    raise refuse(path, Text("row {row} holds a cell of more than {max} characters", row=number + 1,
                                            max=f"{limits.cell_chars:,}")) from None
                raise refuse(path, Text("is not a readable CSV file ({error})", error=str(exc))) from None

    return _split_header(path, _bounded(path, records(), limits), lines, SHOWN.get(encoding, encoding))


# -- XLSX ------------------------------------------------------------------------------------------

def _check_zip(path: Path, limits: Limits) -> None:
    """Refuse a workbook by its zip directory alone, before any XML is read."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise refuse(path, Text("is not a readable .xlsx workbook ({error})", error=str(exc))) from None
    expanded = sum(m.file_size for m in members)
    if expanded > limits.expanded_bytes:
        raise refuse(path, Text("expands to {mb} MB, more than the {max} MB a workbook may", mb=f"{expanded / MB:,.0f}",
                                max=f"{limits.expanded_bytes // MB:,}"))
    for m in members:
        if m.file_size > RATIO_FROM and m.file_size > limits.ratio * max(m.compress_size, 1):
            raise refuse(path, Text("is a zip bomb: its part {part} expands {ratio} times (to {mb} MB); a workbook "
                                    "expands about ten", part=m.filename, ratio=m.file_size // max(m.compress_size, 1),
                                    mb=f"{m.file_size / MB:,.0f}"))


class Formula(str):
    """A workbook cell holding a formula ('=A2&B2'): its text, marked, so the caller can refuse it by field.
    Its value is what Excel showed when the file was saved, if the writer saved one; a formula is not data."""


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):   # a phone typed as a number comes back as 13800138000.0
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    return str(value)


DAMAGE = (ParseError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, TypeError, IndexError, OSError)


def _xlsx_table(path: Path, limits: Limits) -> Table:
    import openpyxl

    _check_zip(path, limits)
    try:
        book = openpyxl.load_workbook(path, read_only=True)   # formulas as formulas, not their cached values
        sheet = book.worksheets[0]
        total = sheet.max_row
        sheet.reset_dimensions()   # some writers store a wrong size; read every row there is
    except DAMAGE as exc:
        raise refuse(path, Text("is not a readable .xlsx workbook ({error})", error=f"{type(exc).__name__}: {exc}")
                     ) from None

    def records() -> Iterator[tuple[int, list[str]]]:
        number = 0
        try:
            for number, cells in enumerate(sheet.iter_rows(), start=1):
                yield number, [Formula(c.value) if c.data_type == "f" else _cell_text(c.value) for c in cells]
        except DAMAGE as exc:   # broken sheet XML, a member cut short
            error = f"{type(exc).__name__}: {exc}"
            raise refuse(path, Text("is damaged after row {row} ({error})", row=number, error=error) if number
                         else Text("is damaged before its first row ({error})", error=error)) from None
        finally:
            book.close()

    return _split_header(path, _bounded(path, records(), limits), total)

