"""Use cases, one module per stage of the chain. Every public service is declared with @action,
which checks the permission matrix before anything else happens (deny by default)."""
from __future__ import annotations

import functools
from collections.abc import Callable

ACTIONS: dict[str, Callable] = {}   # action name -> service function, for the permission tests


def action(name: str):
    def wrap(fn):
        @functools.wraps(fn)
        def inner(ctx, *args, **kwargs):
            ctx.require(name)
            return fn(ctx, *args, **kwargs)

        inner.action = name
        ACTIONS[f"{fn.__module__}.{fn.__name__}"] = inner
        return inner

    return wrap
