"""Delivery acceptance, Costs and Four calculations tabs: the contract's cost entries with the form to record
one (once), and its estimate, budget, actuals and final accounts (四算) next to every listed project's."""
from __future__ import annotations

import streamlit as st

from app import fmt, forms, tables, ui
from app.views.delivery_common import MAX_DAY, MIN_DAY
from core.queries import delivery as q
from core.services import delivery as svc


def _category(code) -> str:
    key = f"delivery.category.{code}"
    from app.i18n import catalogue

    return ui.t(key) if key in catalogue() else tables.value(code)


def costs(cid: int, info, contracts) -> None:
    st.subheader(ui.t("delivery.costs"))
    rows = ui.read(q.costs, cid)
    rows = rows.assign(Category=[_category(c) for c in rows["Category"]])
    tables.table(rows, "delivery", key=f"delivery-costs-{cid}", money=("Amount",),
                 download=f"costs-{info['Contract']}")
    if not ui.can("cost.record"):
        return
    offer = ui.read(q.contract_offers, cid)["cost.record"]
    if not offer.allowed:
        st.caption(ui.words(offer.reason))
        return
    labels = {"spent_on": ui.t("delivery.cost.spent_on"), "category": ui.t("delivery.cost.category"),
              "amount": ui.t("delivery.cost.amount"), "description": ui.t("delivery.cost.description")}
    with forms.once_form("delivery-cost", ui.t("delivery.cost.new")) as f:
        k1, k2, k3 = st.columns(3)
        spent = k1.date_input(labels["spent_on"], value=fmt.today(), key=f.key("on"),
                              min_value=MIN_DAY, max_value=MAX_DAY)
        cats: dict[str, str] = {c: _category(c) for c in svc.COST_CATEGORIES}
        category = k2.selectbox(labels["category"], list(cats), key=f.key("category"),
                                format_func=lambda c: cats.get(c, c))
        amount = k3.text_input(labels["amount"], key=f.key("amount"), max_chars=ui.limit("amount"))
        description = st.text_input(labels["description"], key=f.key("description"),
                                    max_chars=ui.limit("description"))
        if st.form_submit_button(ui.t("delivery.cost.submit")):
            if f.submit(svc.record_cost, cid, spent_on=spent, category=category, amount=amount,
                        description=description, labels=labels, success=ui.t("delivery.cost.done")):
                st.rerun()


def _ratio(v):
    """The query gives margin % in points (16.67); the table shows ratios as percentages."""
    return None if v is None or v != v else v / 100


def calculation_table(calc, *, key: str, download: str) -> None:
    """Estimate, budget, actuals, final accounts and the variance (core.queries.delivery.four_calculations)."""
    shown = calc.assign(Calculation=[ui.t(f"delivery.calc.{k}") for k in calc["Calculation"]],
                        **{"Margin %": [_ratio(v) for v in calc["Margin %"]]})
    tables.table(shown, "delivery", key=key, money=("Revenue", "Cost", "Margin"), pct=("Margin %",),
                 download=download)
    st.caption(ui.t("delivery.calc.note"))


def calculations(cid: int, info, contracts) -> None:
    st.subheader(ui.t("delivery.calculations"))
    calculation_table(ui.read(q.four_calculations, cid), key=f"delivery-calc-{cid}",
                      download=f"four-calculations-{info['Contract']}")
    st.subheader(ui.t("delivery.portfolio"))
    port = ui.read(q.portfolio, [int(i) for i in contracts["ID"]])
    port = port.assign(**{"Actual margin %": [_ratio(v) for v in port["Actual margin %"]]})
    money = tuple(c for c in port.columns if c not in ("ID", "Contract", "Customer", "Actual margin %"))
    tables.table(port, "delivery", key="delivery-portfolio", opens="contract", money=money,
                 pct=("Actual margin %",), download="four-calculations-projects")
