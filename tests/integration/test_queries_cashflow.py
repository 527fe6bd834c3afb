"""The cash-flow page's filter choices: regions and industries of opportunities, their ARs, customers."""
import pytest

from core import permissions
from core.errors import PermissionDenied
from core.queries import cashflow as q
from core.services import opportunities


def test_filter_options_list_each_choice_once_sorted(world):
    world.do("ar", opportunities.create_opportunity, name="Grid upgrade", account_name="Zeta Power", amount="100",
             region="South", industry="Energy")
    world.do("ar2", opportunities.create_opportunity, name="Metro", account_name="Alpha Rail", amount="200",
             region="North", industry="Transport")
    world.do("ar", opportunities.create_opportunity, name="Substation", account_name="Zeta Power", amount="300",
             region="South", industry="Energy")
    opts = world.do("finance", q.filter_options)
    assert opts["regions"] == ["North", "South"]
    assert opts["industries"] == ["Energy", "Transport"]
    assert sorted(a["id"] for a in opts["ars"]) == sorted([world.users["ar"].id, world.users["ar2"].id])
    assert [c["name"] for c in opts["customers"]] == ["Alpha Rail", "Zeta Power"]


@pytest.mark.parametrize("role", [r for r in permissions.ROLES if not permissions.allowed({r}, "metrics.cash")])
def test_roles_without_metrics_cash_are_refused(world, role):
    with pytest.raises(PermissionDenied):
        world.do(role, q.filter_options)
