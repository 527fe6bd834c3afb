"""Every page, for every role, in both languages: it draws without an error, every message key it asks for exists,
and it shows no stored code (on_hold, atc_pending, partly_paid, role codes ...) and no 'None' to people."""
from __future__ import annotations

import enum
import json
import re

import numpy as np
import pandas as pd
import pytest

import app.ui
import core.enums
from app.i18n import catalogue
from app.nav import pages_for
from core import permissions
from tests.app.conftest import texts

CODES = {m.value for cls in vars(core.enums).values()
         if isinstance(cls, type) and issubclass(cls, enum.Enum) and cls is not enum.StrEnum for m in cls}
SNAKE = sorted(c for c in CODES if "_" in c)
SNAKE_RE = re.compile(r"\b(" + "|".join(map(re.escape, SNAKE)) + r")\b")


def _missing_keys(monkeypatch) -> list[str]:
    """Record every key a page asks for that the catalogue lacks (ui.t shows such a key as it is)."""
    missing: list[str] = []
    real = app.ui._t

    def t(key, lang="en", **kwargs):
        if key not in catalogue():
            missing.append(key)
        return real(key, lang, **kwargs)

    monkeypatch.setattr(app.ui, "_t", t)
    return missing


MISSING = "<missing>"
# a login is data, not a code (a team's manager and members are listed by login)
LOGIN_HEADERS = {catalogue()[key][lang] for key in ("login.login", "admin.manager", "admin.members")
                 for lang in ("en", "zh")}


def _missing(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):   # a list or array cell
        return False


def _cells(at) -> list[tuple[str, str]]:
    """(column header, cell as shown) of every table on the page (hidden columns left out): a select column's
    cells through its option labels, a missing value as MISSING unless the table shows a placeholder for it."""
    out = []
    for el in list(at.dataframe) + list(getattr(at, "data_editor", [])):
        df = el.value
        config = json.loads(el.proto.columns or "{}") if getattr(el.proto, "columns", "") else {}
        placeholder = getattr(el.proto, "placeholder", "")
        order = list(el.proto.column_order) or list(df.columns)
        for col in order:
            if col not in df.columns:
                continue
            conf = config.get(col) or {}
            head = conf.get("label") or str(col)
            if head in LOGIN_HEADERS:
                continue
            labels = {o.get("value"): o.get("label") for o in (conf.get("type_config") or {}).get("options", [])
                      if isinstance(o, dict)}
            for v in df[col].head(50):
                if _missing(v):
                    out.append((head, placeholder or MISSING))
                elif isinstance(v, (list, tuple, np.ndarray)):   # a multiselect cell: each value
                    out.extend((head, str(labels.get(x, x))) for x in list(v))
                else:
                    out.append((head, str(labels.get(v, v))))
            out.append(("<header>", head))
    return out


def _pages():
    seen = []
    for role in permissions.ROLES:
        for spec in pages_for({role}):
            seen.append((role, spec.path))
    return seen


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("role,path", _pages())
def test_page_shows_no_raw_code_and_no_missing_key(page, monkeypatch, role, path, lang):
    missing = _missing_keys(monkeypatch)
    at = page(role, path, lang=lang)
    assert not at.exception, [e.value for e in at.exception]
    assert missing == [], f"{path} as {role} ({lang}) asks for keys the catalogue lacks: {sorted(set(missing))}"
    shown = texts(at)
    raw = sorted(set(SNAKE_RE.findall(shown)))
    assert raw == [], f"{path} as {role} ({lang}) shows raw codes in its text: {raw}"
    bad = sorted({(h, v) for h, v in _cells(at) if v in CODES or SNAKE_RE.search(v) or v in ("None", "nan", "NaT", MISSING)})
    assert bad == [], f"{path} as {role} ({lang}) shows raw codes or empty markers in its tables: {bad[:10]}"
