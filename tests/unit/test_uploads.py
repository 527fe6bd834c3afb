"""Certificate uploads: only real pdf/png/jpg files up to 10 MB are kept, under safe names in the data folder."""
from datetime import date

import pytest

from core import uploads
from core.errors import NotFound, ValidationError

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LTC_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def stored(data_dir):
    folder = data_dir / "certificates"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize("name,data", [("final.pdf", PDF), ("scan.PNG", PNG), ("photo.jpg", JPG),
                                       ("photo.jpeg", JPG)])
def test_a_real_certificate_is_kept_and_its_reference_returned(data_dir, name, data):
    ref = uploads.store_certificate(name, data, on=date(2026, 3, 1))
    assert ref.startswith("certificates/2026/") and ref.endswith("-" + uploads.safe_name(name))
    path = data_dir / ref
    assert path.read_bytes() == data
    assert uploads.certificate_path(ref) == path.resolve()
    assert uploads.read_certificate(ref) == (uploads.safe_name(name), data)


def test_two_uploads_of_the_same_name_never_overwrite_each_other(data_dir):
    a = uploads.store_certificate("cert.pdf", PDF)
    b = uploads.store_certificate("cert.pdf", PDF + b"% second")
    assert a != b and len(stored(data_dir)) == 2


def test_an_exe_renamed_pdf_is_refused_by_its_content_and_nothing_is_stored(data_dir):
    with pytest.raises(ValidationError, match=r"'setup\.pdf' is named \.pdf but its content is not a PDF document "
                                              r"\(it looks like: Windows program\)") as exc:
        uploads.store_certificate("setup.pdf", EXE)
    assert exc.value.field == "certificate"
    assert stored(data_dir) == []


def test_content_of_another_allowed_type_under_the_wrong_extension_is_refused(data_dir):
    with pytest.raises(ValidationError, match="content is not a PDF document .it looks like: PNG image"):
        uploads.store_certificate("scan.pdf", PNG)
    with pytest.raises(ValidationError, match="not a JPEG image"):
        uploads.store_certificate("scan.jpg", PDF)
    assert stored(data_dir) == []


@pytest.mark.parametrize("name", ["setup.exe", "contract.docx", "certificate", "archive.pdf.zip", ""])
def test_types_other_than_pdf_png_jpg_are_refused(data_dir, name):
    with pytest.raises(ValidationError, match="is not an allowed type; use one of pdf, png, jpg, jpeg"):
        uploads.store_certificate(name, PDF)
    assert stored(data_dir) == []


def test_empty_and_oversized_files_are_refused_but_exactly_10_mb_is_kept(data_dir):
    with pytest.raises(ValidationError, match="'empty.pdf' is empty"):
        uploads.store_certificate("empty.pdf", b"")
    too_big = PDF + b"0" * (uploads.MAX_BYTES - len(PDF) + 1)
    with pytest.raises(ValidationError, match=r"'big.pdf' is 10.0 MB, more than the 10 MB allowed"):
        uploads.store_certificate("big.pdf", too_big)
    assert stored(data_dir) == []
    ref = uploads.store_certificate("max.pdf", too_big[:uploads.MAX_BYTES])
    assert (data_dir / ref).stat().st_size == uploads.MAX_BYTES


@pytest.mark.parametrize("raw,safe", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\fay\\验收 证书 (final).PDF", "验收_证书_final.pdf"),
    ("..pdf", "certificate.pdf"),
    ("a<b>|c?.jpg", "a_b_c.jpg"),
    ("x" * 300 + ".png", "x" * 80 + ".png"),
])
def test_safe_names_keep_no_folders_and_no_odd_characters(raw, safe):
    assert uploads.safe_name(raw) == safe


def test_a_path_traversal_name_is_stored_inside_the_certificate_folder(data_dir):
    ref = uploads.store_certificate("../../../outside.pdf", PDF)
    assert (data_dir / ref).resolve().parent.parent == (data_dir / "certificates").resolve()


@pytest.mark.parametrize("ref", ["certificates/../../secret.pdf", "/etc/passwd", "certificates/2026/missing.pdf",
                                 "", "other/x.pdf"])
def test_references_outside_the_folder_or_missing_are_not_found(data_dir, ref):
    (data_dir.parent / "secret.pdf").write_bytes(PDF)
    with pytest.raises(NotFound):
        uploads.certificate_path(ref)


def test_discard_removes_an_unused_certificate_and_ignores_bad_references(data_dir):
    ref = uploads.store_certificate("cert.pdf", PDF)
    uploads.discard(ref)
    uploads.discard("certificates/../../nothing.pdf")
    assert stored(data_dir) == []
