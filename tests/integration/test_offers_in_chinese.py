"""Every reason core gives for a refused action (the help beside a disabled button) can be said in Chinese:
asked on the demo's records of every kind, as every role, no refusal comes back in English only."""
from __future__ import annotations

import re
import shutil

from sqlalchemy import select

from core.context import SYSTEM, unit_of_work
from core.errors import NotFound, PermissionDenied
from core.messages import say
from core.queries.offers import KINDS, offers
from core.services import users

HAN = re.compile(r"[\u4e00-\u9fff]")
LOGINS = ("marketing", "ar", "sr", "fr", "legal", "finance", "leader")
PER_KIND = 8


def _model(spec: str):
    import importlib

    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def test_every_refusal_an_offer_gives_is_said_in_chinese(demo_template, tmp_path):
    path = tmp_path / "ltc.db"
    shutil.copy(demo_template, path)
    url = f"sqlite:///{path}"
    english_only, seen = set(), 0
    for login in LOGINS:
        with unit_of_work(SYSTEM, "test", url=url) as ctx:
            who = users.actor(ctx, login)
        with unit_of_work(who, "test", url=url) as ctx:
            for kind, (spec, _) in KINDS.items():
                model = _model(spec)
                ids = ctx.session.execute(select(model.id).order_by(model.id.desc()).limit(PER_KIND)).scalars()
                for rid in ids:
                    try:
                        offered = offers(ctx, kind, rid)
                    except (PermissionDenied, NotFound):   # a kind this role may not ask about, a record out of its scope
                        continue
                    for offer in offered.values():
                        if offer.allowed or not offer.reason:
                            continue
                        seen += 1
                        if not HAN.search(say(offer.reason, "zh")):
                            english_only.add(str(offer.reason))
    assert seen > 50
    assert english_only == set(), "\n".join(sorted(english_only)[:20])
