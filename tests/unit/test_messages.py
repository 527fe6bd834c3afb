"""Core's refusals and reasons can be said in Chinese: every message core raises or returns is a template with
its figures apart (never an f-string, so the words can be looked up), and every template has its Chinese with
the same placeholders (core/messages_zh.toml)."""
import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

from core import errors, messages
from core.messages import Text, say

CORE = Path(__file__).resolve().parents[2] / "core"


# every refusal class core defines (validate.ValidationErrors too), whatever this test runs after
for _module in pkgutil.walk_packages([str(CORE)], "core."):
    if not _module.name.startswith("core.migrations"):
        importlib.import_module(_module.name)


def _classes(cls) -> set[str]:
    out = {cls.__name__}
    for sub in cls.__subclasses__():
        out |= _classes(sub)
    return out


REFUSALS = _classes(errors.LtcError) | {"Text"}


def _calls():
    """(file:line, first argument) of every refusal raised and every Text built in core."""
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in REFUSALS \
                    and node.args:
                yield f"{path.relative_to(CORE.parent)}:{node.lineno}", node.args[0]


def test_no_message_is_built_before_core_raises_it():
    """An f-string, a concatenation or .format() bakes the figures into the English and cannot be translated;
    a message is a literal template (figures as keyword arguments) or a Text."""
    built = [where for where, arg in _calls()
             if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str))
             and not (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id == "Text")
             and not isinstance(arg, ast.Name)]
    assert built == [], f"messages built in place (use a template and keyword figures): {built}"


def _templates() -> dict[str, str]:
    return {arg.value: where for where, arg in _calls()
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}


def test_every_template_has_its_chinese_with_the_same_figures():
    zh = messages.catalogue()
    missing = [f"{where}: {t!r}" for t, where in _templates().items() if t not in zh]
    assert missing == [], "no Chinese for:\n" + "\n".join(missing)
    odd = [t for t, tr in zh.items() if messages.fields(t) != messages.fields(tr)]
    assert odd == [], f"Chinese with other placeholders than the English: {odd}"


def test_the_catalogue_holds_no_template_core_no_longer_says():
    used = set(_templates())
    assert sorted(set(messages.catalogue()) - used) == []


def test_a_refusal_says_its_figures_in_both_languages():
    from core import validate

    with pytest.raises(errors.ValidationError) as exc:
        validate.text("company", "x" * 300, max_len=200)
    assert str(exc.value) == "company: at most 200 characters (got 300)"
    zh = say(exc.value.text, "zh")
    assert zh.startswith("company: ") and "200" in zh and "300" in zh and "characters" not in zh


def test_typed_braces_are_no_template():
    assert str(Text("{field}: {got!r} is not an amount", field="amount", got="{x}")) == "amount: '{x}' is not an amount"
    assert str(errors.ValidationError("a {b} c")) == "a {b} c"


def test_a_stored_code_in_core_words_is_said_as_the_persons_word():
    """The walk read "bid 24 is atb_pending" and "状态为 signed" on pages: codes stay codes for the CLI and the
    logs, and a page gives `say` its words for them, in English as in Chinese."""
    from core.enums import BidStatus
    from core.lifecycle import only_from

    reason = only_from("bid 24 'Grid'", BidStatus.ATB_PENDING, (BidStatus.DRAFT, BidStatus.APPROVED), "bid")
    assert str(reason) == "bid 24 'Grid' is atb_pending; this is allowed only while the bid is draft or approved"
    words = {"en": {"atb_pending": "Awaiting ATB", "draft": "Draft", "approved": "Approved"},
             "zh": {"atb_pending": "待投标决策", "draft": "草稿", "approved": "已批准"}}
    en = messages.say(reason, "en", words=words["en"].get)
    zh = messages.say(reason, "zh", words=words["zh"].get)
    assert en == "bid 24 'Grid' is Awaiting ATB; this is allowed only while the bid is Draft or Approved"
    assert "待投标决策" in zh and "草稿 或 已批准" in zh and "atb_pending" not in zh
    assert messages.say(reason, "en") == str(reason)     # no words given: the codes as they are
