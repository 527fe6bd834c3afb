"""Record history names other records as people know them: 'customer: — → 华东电网', not '→ 44', and the
latest events name their record by its number ('Invoice INV-2026-0001', not 'Invoice 38')."""
from core.models import Account, Contract, Invoice
from core.queries.history import recent_activity, record_history
from core.services import billing, delivery
from tests.integration.money_fixtures import days, signed_contract


def test_history_says_names_where_the_audit_keeps_ids(world):
    ids = signed_contract(world)
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-100))
    inv = world.do("finance", billing.issue_invoice, ids["advance"], amount="1000")
    invoice, contract = world.get(Invoice, inv), world.get(Contract, ids["contract"])
    name = world.get(Account, contract.account_id).name

    created = world.read(record_history, "invoices", inv, detail=True).iloc[-1]["Changes"]
    fields = {k: new for k, _, new in created}
    assert fields["account_id"] == name and fields["contract_id"] == contract.number
    assert fields["amount"] == "1000.00"                       # figures stay figures
    recent = world.read(recent_activity)
    mine = recent[(recent["Entity"] == "invoice") & (recent["Record ID"] == inv)]
    assert set(mine["Label"]) == {invoice.number}
