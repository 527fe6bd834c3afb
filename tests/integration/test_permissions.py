"""The permission matrix, tested against the services themselves: every action x every role, each expected
outcome taken from the reviewed table in permission_expectations.py, never from config/permissions.toml (a
test comparing the code with the file it reads could never catch a wrong grant).

Each service checks permissions before it loads anything, so calling it with an ID that does not exist
tells the two cases apart: a role without the permission gets PermissionDenied; a role with it gets past
the check (to NotFound, a validation error, or success, which is rolled back).
"""
import importlib
import inspect
import pkgutil

import pytest

import core.services
from core import permissions
from core.context import Actor, unit_of_work
from core.errors import PermissionDenied
from core.services import ACTIONS
from tests.integration.permission_expectations import MAY, roles_for

for mod in pkgutil.iter_modules(core.services.__path__):
    importlib.import_module(f"core.services.{mod.name}")
importlib.import_module("core.exports")
for mod in pkgutil.iter_modules(importlib.import_module("core.queries").__path__):
    importlib.import_module(f"core.queries.{mod.name}")
importlib.import_module("core.leads_import")
importlib.import_module("core.metrics")
importlib.import_module("sync.service")

MISSING_ID = 987_654_321


class _Rollback(Exception):
    pass


def _dummy_args(fn):
    sig = inspect.signature(inspect.unwrap(fn))
    args, kwargs = [], {}
    for name, p in list(sig.parameters.items())[1:]:   # after ctx
        if p.default is not inspect.Parameter.empty:
            continue
        value = MISSING_ID if ("id" in name or name in ("term", "invoice")) else "x"
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            args.append(value)
        elif p.kind == p.KEYWORD_ONLY:
            kwargs[name] = value
    return args, kwargs


def test_every_action_in_code_is_in_the_matrix_and_back():
    in_code = {fn.action for fn in ACTIONS.values()}
    in_matrix = set(permissions.matrix())
    assert in_code - in_matrix == set(), "actions the matrix does not know (nobody could use them)"
    assert in_matrix - in_code == set(), "matrix entries no service uses"


def test_the_matrix_grants_exactly_what_the_reviewed_table_expects():
    matrix = permissions.matrix()
    assert set(MAY) == set(permissions.ROLES)
    wrong = {a: (sorted(roles_for(a)), sorted(matrix.get(a, ()))) for a in set(matrix) | {x for v in MAY.values()
                                                                                          for x in v}
             if roles_for(a) != set(matrix.get(a, ()))}
    assert wrong == {}, "action: (expected roles, permissions.toml roles)"


def test_unknown_action_is_denied_to_everyone():
    assert not permissions.allowed(set(permissions.ROLES), "no.such.action")


@pytest.mark.parametrize("role", permissions.ROLES)
def test_matrix_every_action_every_role(db_url, role):
    actor = Actor(id=None, login=f"only-{role}", roles=frozenset({role}))
    checked = 0
    for qualname, fn in sorted(ACTIONS.items()):
        args, kwargs = _dummy_args(fn)
        denied = None
        try:
            with unit_of_work(actor, "test", url=db_url) as ctx:
                fn(ctx, *args, **kwargs)
                raise _Rollback
        except PermissionDenied as exc:
            denied = exc
        except Exception:  # noqa: BLE001 - got past the permission check; the rest is other tests' business
            denied = None
        expected_denied = fn.action not in MAY[role]
        assert (denied is not None) == expected_denied, (
            f"{qualname} ({fn.action}) as {role}: expected {'denied' if expected_denied else 'allowed'}")
        if denied:
            assert fn.action in str(denied) and role in str(denied)
        checked += 1
    assert checked == len(ACTIONS) > 30
