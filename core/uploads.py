"""Stored uploads: acceptance certificates (验收证书) kept under the data folder.

A certificate is checked before it is kept: an allowed type (pdf, png, jpg, jpeg), at most 10 MB, and
content that really is that type (magic bytes, not only the name: an .exe renamed .pdf is refused). It
is stored under `<data_dir>/certificates/<year>/` with a safe name (no folders, no odd characters, a
random prefix so names never collide) and the returned reference is what the acceptance records
(`certificate_ref`). No Streamlit here: the page passes the name and bytes it received.
"""
from __future__ import annotations

import os
import re
import secrets
import tempfile
import unicodedata
from datetime import date
from pathlib import Path

from core import clock
from config.settings import get_settings
from core.errors import NotFound, ValidationError
from core.messages import Text

FOLDER = "certificates"
MAX_BYTES = 10 * 1024 * 1024
# extension -> (kind shown in messages, magic prefix)
SIGNATURES = {
    "pdf": (Text("PDF document"), b"%PDF-"),
    "png": (Text("PNG image"), b"\x89PNG\r\n\x1a\n"),
    "jpg": (Text("JPEG image"), b"\xff\xd8\xff"),
    "jpeg": (Text("JPEG image"), b"\xff\xd8\xff"),
}
ALLOWED_TYPES = tuple(SIGNATURES)
_OTHER_MAGIC = ((b"MZ", Text("Windows program")), (b"\x7fELF", Text("Linux program")),
                (b"PK\x03\x04", Text("ZIP archive")), (b"GIF8", Text("GIF image")), (b"<", Text("HTML or XML text")),
                (b"#!", Text("script")))
_UNSAFE = re.compile(r"[^\w.-]+")
_FIELD = "certificate"


def root() -> Path:
    return get_settings().data_dir / FOLDER


def _kind_of(data: bytes) -> Text:
    """What the content looks like, for the refusal message."""
    for ext, (kind, _magic) in SIGNATURES.items():
        if _matches(ext, data):
            return kind
    for magic, kind in _OTHER_MAGIC:
        if data.lstrip()[:len(magic)] == magic:
            return kind
    return Text("unknown content")


def _matches(ext: str, data: bytes) -> bool:
    magic = SIGNATURES[ext][1]
    if ext == "pdf":   # the PDF header may follow a little junk (up to 1 KB) and readers accept that
        return magic in data[:1024]
    return data.startswith(magic)


def safe_name(filename: str) -> str:
    """The file's own name reduced to letters (any script), digits, '.', '-' and '_', no folders."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", filename or ""))[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._-")[:80] or "certificate"
    ext = _UNSAFE.sub("", ext).lower()[:10]
    return f"{stem}.{ext}" if ext else stem


def check_certificate(filename: str, data: bytes) -> str:
    """Refuse anything that is not an allowed, non-empty, small enough file of the type its name says;
    returns the (lower-case) extension."""
    shown = (filename or "").strip()[:120] or "(no name)"
    ext = shown.rpartition(".")[2].lower() if "." in shown else ""
    if ext not in SIGNATURES:
        raise ValidationError("{field}: '{name}' is not an allowed type; use one of {allowed}", field=_FIELD,
                              name=shown, allowed=", ".join(ALLOWED_TYPES))
    size = len(data or b"")
    if size == 0:
        raise ValidationError("{field}: '{name}' is empty", field=_FIELD, name=shown)
    if size > MAX_BYTES:
        raise ValidationError("{field}: '{name}' is {size:.1f} MB, more than the {max} MB allowed", field=_FIELD,
                              name=shown, size=size / 1024 / 1024, max=MAX_BYTES // 1024 // 1024)
    if not _matches(ext, data):
        raise ValidationError("{field}: '{name}' is named .{ext} but its content is not a {expected} (it looks like: "
                              "{found})", field=_FIELD, name=shown, ext=ext, expected=SIGNATURES[ext][0],
                              found=_kind_of(data))
    return ext


def store_certificate(filename: str, data: bytes, *, on: date | None = None) -> str:
    """Check and keep a certificate; returns its reference ('certificates/<year>/<token>-<name>')."""
    check_certificate(filename, data)
    year = str((on or clock.today()).year)
    folder = root() / year
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(6)}-{safe_name(filename)}"
    # write to a temporary file first, so a crash never leaves half a certificate under the final name
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o640)
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return f"{FOLDER}/{year}/{name}"


def certificate_path(ref: str) -> Path:
    """The stored file of a reference; refuses references that point outside the certificate folder."""
    base = root().resolve()
    rel = (ref or "").strip()
    if not rel.startswith(FOLDER + "/"):
        raise NotFound("certificate: '{ref}' is not a stored certificate", ref=rel[:120])
    path = (base.parent / rel).resolve()
    if base not in path.parents or not path.is_file():
        raise NotFound("certificate: '{ref}' is not a stored certificate", ref=rel[:120])
    return path


def discard(ref: str) -> None:
    """Remove a stored certificate that ended up unused (its acceptance was refused)."""
    try:
        certificate_path(ref).unlink(missing_ok=True)
    except NotFound:
        pass


def download_name(ref: str) -> str:
    """The name a stored certificate is offered under: its safe name without the random prefix."""
    name = (ref or "").rsplit("/", 1)[-1]
    return name.split("-", 1)[1] if "-" in name else name


def shown_name(ref) -> str:
    """A certificate as people read it: a stored file by its name (never where it is stored), a reference typed
    elsewhere (a sheet, an import) as it is."""
    ref = "" if ref is None else str(ref)
    return download_name(ref) if ref.startswith(FOLDER + "/") else ref


def read_certificate(ref: str) -> tuple[str, bytes]:
    """A stored certificate's download name and bytes."""
    return download_name(ref), certificate_path(ref).read_bytes()
