"""Core's words in the person's language.

Core writes every refusal and every reason in English, as a template with its figures kept apart
(`Text("{field}: at most {max_len} characters (got {got})", field=..., max_len=..., got=...)`, or the same
arguments given to an `LtcError`). Its English is what the CLI, the logs and the sheets' Sync notes print;
`say(text, "zh")` looks the template up in `core/messages_zh.toml` (keyed by the English template, as gettext
keys by its msgid) and fills in the same figures. A template with no translation is said in English, and a test
forbids that for every template core raises.

A figure may itself be core's words: a `Text` (a record's label, "bid 7 'Grid'"; a reason inside a reason), a
`Joined` list of them (what is missing, "; "-separated) or a record kind (`kind("opportunity")`); each is said in
the same language as the message around it. A stored code (a status, a stage, a decision: `code(bid.status)`)
stays the code in the English of the CLI and the logs; a page says it as the word people read ("awaiting
ATB", "待投标决策") by giving `say` its words for codes.
"""
from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path
from collections.abc import Callable, Iterable
from typing import Any

CATALOGUE = Path(__file__).resolve().parent / "messages_zh.toml"


class Text(str):
    """A message in English that remembers its template and figures."""
    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        self = super().__new__(cls, _fill(template, params))
        self.template, self.params = template, params
        return self


class Joined(str):
    """Pieces of core's words (Texts or plain figures) joined by a separator, each piece said in the person's
    language and the separator too ("; " is "；" in Chinese)."""
    sep: str
    parts: tuple[Any, ...]

    def __new__(cls, sep: str, parts: Iterable[Any]) -> Joined:
        pieces = tuple(parts)
        self = super().__new__(cls, sep.join(str(p) for p in pieces))
        self.sep, self.parts = sep, pieces
        return self


class Code(str):
    """A stored code inside core's words (atb_pending, signed, approve): a page says it as its word."""


def code(value: Any) -> Code:
    return Code(getattr(value, "value", value))


SEPARATORS = {"zh": {"; ": "；", ", ": "、", " or ": " 或 "}}

@cache
def catalogue() -> dict[str, str]:
    with CATALOGUE.open("rb") as fh:
        return tomllib.load(fh)


def fields(template: str) -> set[str]:
    """The placeholders of a template ({field}, {got}, ...)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def say(text: object, lang: str, words: Callable[[str], str] | None = None) -> str:
    """The message in `lang` (en, zh): the translation of its template when there is one, else the English;
    `words(code)` says a stored code in that language (without it a code stays as it is)."""
    if isinstance(text, Code):
        return words(text) if words else str(text)
    if isinstance(text, Joined):
        sep = SEPARATORS.get(lang, {}).get(text.sep, text.sep)
        return sep.join(say(part, lang, words) for part in text.parts)
    template = getattr(text, "template", None)
    params = getattr(text, "params", None) or {}
    if template is None or (lang == "en" and words is None):
        return str(text)
    translated = template if lang == "en" else catalogue().get(template, template)
    return _fill(translated, {k: say(v, lang, words) if isinstance(v, (Text, Joined, Code)) else v
                              for k, v in params.items()})


def _fill(template: str, params: dict[str, Any]) -> str:
    """The template with its figures; a text that is no template (braces typed by someone) stays as it is."""
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return template


# The kinds of record core's messages name ("opportunity 7 not found"), in words a translation can look up.
KINDS = {str(text): text for text in (
    Text("account"), Text("bid"), Text("change order"), Text("change_order"), Text("contract"), Text("cost entry"),
    Text("invoice"), Text("lead"), Text("milestone"), Text("opportunity"), Text("payment"), Text("payment term"),
    Text("stakeholder"), Text("term"), Text("user"),
)}


def kind(name: str) -> str:
    """A record kind as core's words (a Text when there is one, so it is said in the message's language)."""
    return KINDS.get(name, name)
