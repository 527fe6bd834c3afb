"""The message catalogue is complete in both languages, and every key a page uses exists."""
import re
from pathlib import Path

from app.i18n import LANGS, catalogue, t
from app.nav import PAGES

APP = Path(__file__).resolve().parents[2] / "app"
KEY_USE = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")


def test_every_key_has_both_languages():
    for key, texts in catalogue().items():
        for lang in LANGS:
            assert texts.get(lang, "").strip(), f"{key} has no {lang} text"


def test_every_key_used_in_the_app_exists():
    used = set()
    for path in APP.rglob("*.py"):
        used |= set(KEY_USE.findall(path.read_text(encoding="utf-8")))
    used |= {p.title for p in PAGES}
    missing = sorted(k for k in used if k not in catalogue())
    assert missing == []


def test_lookup_and_formatting():
    assert t("signed_in", "zh", name="王敏", roles="marketing") == "当前用户:王敏(marketing)"
    assert t("page.cash", "en") == "Invoicing and cash"


def test_one_of_a_count_is_said_in_the_singular():
    """The walk read "1 invoices" and "1 days left"."""
    assert t("cash.dunning.level", "en", level=2, n=1, amount="5.00") == "Level 2: 1 invoice, 5.00 outstanding"
    assert t("cash.dunning.level", "en", level=2, n=3, amount="5.00") == "Level 2: 3 invoices, 5.00 outstanding"
    assert t("bids_contracts.days_left", "en", n="1") == "1 day left"
    assert "en_one" not in t("bids_contracts.days_left", "zh", n=1) and "1" in t("bids_contracts.days_left", "zh", n=1)
    for key, texts in catalogue().items():   # a singular names nothing its plural does not
        if "en_one" in texts:
            assert set(re.findall(r"{(\w+)", texts["en_one"])) <= set(re.findall(r"{(\w+)", texts["en"])), key


def test_every_stored_code_has_words_in_both_languages():
    """Every value of core's enums (stages, statuses, triggers, roles, decisions, kinds) is in values.toml, the
    one catalogue pages show codes through (app.tables.value)."""
    import enum

    import core.enums

    codes = {m.value for cls in vars(core.enums).values()
             if isinstance(cls, type) and issubclass(cls, enum.Enum) and cls is not enum.StrEnum for m in cls}
    assert sorted(c for c in codes if f"value.{c}" not in catalogue()) == []
