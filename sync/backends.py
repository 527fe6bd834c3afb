"""Which backend the sync uses: LTC_SHEETS_BACKEND = xlsx (default) | gsheets | off."""
from __future__ import annotations

import os

from core.errors import ValidationError

CHOICES = ("xlsx", "gsheets", "off")


def backend_name() -> str:
    name = os.environ.get("LTC_SHEETS_BACKEND", "xlsx").strip().lower() or "xlsx"
    if name not in CHOICES:
        raise ValidationError(f"LTC_SHEETS_BACKEND: {name!r} is not one of {', '.join(CHOICES)}",
                              field="LTC_SHEETS_BACKEND")
    return name


def make_backend(name: str | None = None):
    """A fresh backend (its request counter starts at zero); None when the sync is off."""
    name = name or backend_name()
    if name == "off":
        return None
    if name == "xlsx":
        from sync.xlsx import XlsxBackend
        return XlsxBackend()
    from sync.gsheets import GSheetsBackend
    return GSheetsBackend()
