"""Delivery acceptance (issue 10): records open by address (?contract=, ?milestone=), the milestone with its
acceptance form, certificates, history and the actions core offers; names instead of ids and storage paths;
money, statuses and percentages as people read them; forms that record once."""
from __future__ import annotations

import json

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.models import CostEntry
from tests.app.conftest import texts
from tests.app import test_delivery as base
from tests.app.test_delivery import PDF, db, days, show

deal = base.deal   # the signed test deal (a fixture)

PAGE = "screens/delivery.py"


def opened(page, login: str, **params) -> AppTest:
    at = page(login)
    for k, v in params.items():
        at.query_params[k] = str(v)
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def frame(at: AppTest, column: str):
    return next(d for d in at.dataframe if column in d.value.columns)


def buttons(at: AppTest) -> dict[str, object]:
    return {b.label: b for b in at.button}


def test_no_contract_is_preselected(page, deal):
    at = page("fr", PAGE)
    assert at.selectbox(key="delivery-contract").value is None


def test_a_contract_address_opens_that_contract(page, deal):
    at = opened(page, "leader", contract=deal["contract"])
    assert at.selectbox(key="delivery-contract").value == deal["contract"]
    assert "Test Customer 测试客户" in texts(at)


def test_a_milestone_address_opens_the_milestone_with_its_acceptance_and_offers(page, deal):
    at = opened(page, "fr", milestone=deal["m1"])
    assert at.selectbox(key="delivery-contract").value == deal["contract"]
    assert at.selectbox(key="delivery-milestone").value == deal["m1"]
    offered = buttons(at)
    assert not offered["Accept preliminary (初验)"].disabled and not offered["Accept final (终验)"].disabled
    at = opened(page, "leader", milestone=deal["m1"])   # who reads the audit trail sees the milestone's history
    assert at.selectbox(key="delivery-milestone").value == deal["m1"]
    assert [e for e in at.expander if e.label == "History"]


def test_a_milestone_outside_my_data_scope_opens_nothing_and_reveals_nothing(page, deal):
    at = opened(page, "ar2", milestone=deal["m1"])     # ar2 carries none of the test deal: it is not theirs to see
    assert [w.value for w in at.warning] == [f"Milestone #{deal['m1']} does not exist or is not yours to see."]
    pickers = [s for s in at.selectbox if s.key == "delivery-contract"]
    assert not pickers or deal["contract"] not in pickers[0].options
    assert "Go-live" not in texts(at)
    at = opened(page, "fr", milestone=deal["m1"])       # the deal's FR opens it
    assert at.selectbox(key="delivery-milestone").value == deal["m1"]


def test_final_acceptance_then_the_offers_are_disabled_with_cores_reason(page, demo_url, deal):
    at = opened(page, "fr", milestone=deal["m1"])
    uploader = next(u for u in at.get("file_uploader"))
    uploader.upload("终验证书 final.pdf", PDF, "application/pdf")
    buttons(at)["Accept final (终验)"].click().run()
    assert not at.exception and not at.error
    offered = buttons(at)
    for label in ("Accept preliminary (初验)", "Accept final (终验)"):
        assert offered[label].disabled
        assert "already finally accepted" in offered[label].help
    # the certificate is a download named by its file, not a storage path
    assert [b.label for b in at.get("download_button") if "终验证书_final.pdf" in b.label]
    assert "certificates/" not in texts(at)
    show(at, "Milestones")
    ms = frame(at, "Certificate").value
    assert list(ms["Certificate"]) == ["终验证书_final.pdf"]


def test_terms_name_their_milestone_and_money_and_status_read_well(page, deal):
    at = opened(page, "leader", contract=deal["contract"])
    terms = frame(at, "Trigger").value
    assert "Go-live" in set(terms["Milestone"]) and deal["m1"] not in set(terms["Milestone"])
    shown = texts(at)
    assert "amount 1,000,000.00" in shown and "· Signed" in shown and "· signed\n" not in shown + "\n"


def test_four_calculations_show_margin_as_a_percentage(page, deal):
    at = show(opened(page, "leader", contract=deal["contract"]), "Four calculations")
    calc = frame(at, "Calculation")
    budget = calc.value.set_index("Calculation").loc["Budget (预算)", "Margin %"]
    assert 1 < float(budget) < 100        # a ratio, shown in hundredths as a percentage with one decimal
    config = json.loads(calc.proto.columns)
    assert config["Margin %"]["type_config"]["format"] == "%.1f%%"


def test_a_cost_is_recorded_once_and_the_form_comes_back_empty(page, demo_url, deal):
    at = show(opened(page, "finance", contract=deal["contract"]), "Costs")
    amount = next(t for t in at.text_input if t.label == "Amount")
    amount.input("2,000.00")
    submit = next(b for b in at.button if b.label == "Record cost")
    submit.click().run()
    assert not at.exception and not at.error
    assert next(t for t in at.text_input if t.label == "Amount").value == ""
    rows = db(demo_url, lambda ctx: ctx.session.exec(select(CostEntry).where(
        CostEntry.contract_id == deal["contract"])).all())
    assert [str(r.amount) for r in rows] == ["2000.00"]
    costs = frame(at, "Category").value
    assert list(costs["Category"]) == ["Labour"]


def test_a_future_acceptance_date_is_refused_with_a_message_not_dropped(page, demo_url, deal):
    from core.enums import MilestoneStatus
    from core.models import Milestone

    at = opened(page, "fr", milestone=deal["m1"])
    on = next(d for d in at.date_input if d.key and d.key.startswith("delivery-accept-on-"))
    on.set_value(days(30))
    buttons(at)["Accept preliminary (初验)"].click().run()
    assert not at.exception
    assert any("is in the future" in e.value for e in at.error), [e.value for e in at.error]
    assert db(demo_url, lambda ctx: ctx.session.get(Milestone, deal["m1"]).status) == MilestoneStatus.PLANNED


def test_a_clicked_milestone_row_opens_the_milestone_in_the_acceptance_tab(page, deal):
    at = opened(page, "leader", contract=deal["contract"])
    key = f"delivery-ms-table-{deal['contract']}"
    at.session_state[key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.query_params.get("milestone") in (str(deal["m1"]), [str(deal["m1"])])
    assert at.selectbox(key="delivery-milestone").value == deal["m1"]
