"""One-time keys for writes that may be repeated: a double click, a browser retry or a rerun of a page, an API
retry, a sheet row read twice. The first run of a key records the action and keeps its result in the same
transaction; any later run with that key returns the kept result and changes nothing. Two runs of one key at the
same moment both try to insert it: the database's primary key lets one commit and the other runs again and finds
it (core.context.perform)."""
from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from core import validate
from core.errors import ValidationError
from core.models import RequestKey

_MISSING = object()


def check(key) -> str:
    """A key as the pages, the sync and an API send it: 8 to 64 letters, digits, '-', '_' or ':'."""
    text = validate.text("request_key", key, max_len=64, required=True)
    if len(text) < 8 or not all(ch.isascii() and (ch.isalnum() or ch in "-_:") for ch in text):
        raise ValidationError("{field}: 8 to 64 letters, digits, '-', '_' or ':'", field="request_key")
    return text


def recall(ctx, key: str, action: str) -> Any:
    """The kept result of an earlier run of `key`, or _MISSING. A key is one action by one person: used for
    another, it is refused rather than answered with a result that belongs to something else."""
    row = ctx.session.exec(select(RequestKey).where(RequestKey.key == key)).first()
    if row is None:
        return _MISSING
    if row.action != action or row.user_login != ctx.actor.login:
        raise ValidationError("{field}: {key!r} was already used for another action", field="request_key", key=key)
    return json.loads(row.result_json)


def remember(ctx, key: str, action: str, result: Any) -> None:
    """Keep the result with the key, in the action's transaction (flushed now, so a concurrent run of the same
    key fails here, before its commit, and is run again)."""
    try:
        kept = json.dumps(result)
    except TypeError:   # a service returning something else than plain data: keep that it ran, not what
        kept = "true"
    ctx.session.add(RequestKey(key=key, action=action, user_login=ctx.actor.login, result_json=kept, at=ctx.now()))
    ctx.session.flush()


def is_missing(value) -> bool:
    return value is _MISSING
