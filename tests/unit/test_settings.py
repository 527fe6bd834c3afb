"""config/settings.py: every environment variable read in one place; a bad value is refused by name."""
from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import NAMES, SettingsError, get_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LTC_DATA_DIR", str(tmp_path))


def test_defaults(tmp_path):
    s = get_settings()
    assert s.data_dir == tmp_path.resolve() and s.database_url == f"sqlite:///{tmp_path.resolve() / 'ltc.db'}"
    assert s.workbook_dir == tmp_path.resolve() / "sheets"
    assert (s.lang, s.sheets_backend, s.sheets_share_with, s.sync_lock_ttl) == ("en", "xlsx", (), 600)


def test_each_call_sees_the_environment_and_empty_means_default(monkeypatch):
    monkeypatch.setenv("LTC_LANG", "zh")
    monkeypatch.setenv("LTC_SHEETS_BACKEND", " GSheets ")
    monkeypatch.setenv("LTC_SHEETS_SHARE_WITH", "a@x.com, b@y.com,")
    monkeypatch.setenv("LTC_WORKBOOK_DIR", "books")
    s = get_settings()
    assert (s.lang, s.sheets_backend, s.sheets_share_with) == ("zh", "gsheets", ("a@x.com", "b@y.com"))
    assert s.workbook_dir == Path("books")
    monkeypatch.setenv("LTC_LANG", "")
    monkeypatch.setenv("LTC_DATABASE_URL", "sqlite:///other.db")
    assert (get_settings().lang, get_settings().database_url) == ("en", "sqlite:///other.db")


@pytest.mark.parametrize("name, value, message", [
    ("LTC_LANG", "fr", "LTC_LANG must be 'en' or 'zh', not 'fr'"),
    ("LTC_SHEETS_BACKEND", "excel", "LTC_SHEETS_BACKEND: 'excel' is not one of xlsx, gsheets, off"),
    ("LTC_SYNC_LOCK_TTL", "1.5", "LTC_SYNC_LOCK_TTL: '1.5' is not a whole number of seconds from 1 to 86400"),
    ("LTC_SYNC_BACKOFF_BASE", "0", "LTC_SYNC_BACKOFF_BASE: '0' is not a number of seconds above 0 and at most 30"),
    ("LTC_SESSION_HOURS", "0", "LTC_SESSION_HOURS: '0' is not a whole number of hours from 1 to 720"),
])
def test_a_bad_value_is_refused_by_name(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        get_settings()
    assert (err.value.field, str(err.value)) == (name, message)
    assert isinstance(err.value, ValueError)
    monkeypatch.delenv(name)
    get_settings()   # a refusal is not cached


def test_two_bad_values_are_both_named(monkeypatch):
    monkeypatch.setenv("LTC_LANG", "fr")
    monkeypatch.setenv("LTC_SYNC_LOCK_TTL", "ten")
    with pytest.raises(SettingsError, match="LTC_LANG.*; LTC_SYNC_LOCK_TTL: 'ten'"):
        get_settings()
