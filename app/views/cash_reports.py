"""The Ageing, Dunning and Statement tabs of the invoicing and cash page (?account=<id> opens a customer's
statement)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import streamlit as st

from app import fmt, records, tables, ui
from core.queries import cash as q


def _sum(values) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal("0.00"))


def ageing_tab() -> None:
    st.subheader(ui.t("cash.ageing"))
    as_of = st.date_input(ui.t("cash.as_of"), value=fmt.today(), min_value=date(2000, 1, 1), key="cash-ageing-asof")
    age = ui.read(q.ageing, as_of=as_of)
    total, current = _sum(age["Total"]), _sum(age["Current"])
    unapplied = _sum(ui.read(q.payments, unapplied_only=True, limit=0)["Unapplied"])
    m1, m2, m3 = st.columns(3)
    m1.metric(ui.t("cash.metric.outstanding"), fmt.money(total))
    m2.metric(ui.t("cash.metric.overdue"), fmt.money(total - current))
    m3.metric(ui.t("cash.metric.unapplied"), fmt.money(unapplied))
    tables.table(age, "cash", key="cash-ageing", opens="account", id_col="Customer ID", download=f"ageing-{as_of}")
    st.caption(ui.t("cash.ageing.note"))


def dunning_tab() -> None:
    st.subheader(ui.t("cash.dunning"))
    today = fmt.today()
    dun = ui.read(q.dunning, as_of=today)
    if dun.empty:
        st.info(ui.t("nothing"))
    else:
        for level, rows in sorted(dun.groupby("Level"), key=lambda g: g[0], reverse=True):
            head = ui.t("cash.dunning.level", level=level, n=len(rows), amount=fmt.money(_sum(rows["Outstanding"])))
            st.markdown(f"**{head}**")
            tables.table(rows.drop(columns=["Level"]), "cash", key=f"cash-dunning-{level}", opens="invoice")
        people = tables.shown(dun)
        people = people[[c for c in people.columns if not tables.internal(c)]]
        ui.downloads(people.rename(columns=lambda c: ui.header("cash", c)), f"dunning-{today}", key="cash-dunning-dl")
    st.caption(ui.t("cash.dunning.note"))


def statement_tab(names: dict) -> None:
    st.subheader(ui.t("cash.statement"))
    if not names:
        st.info(ui.t("nothing"))
        return
    acc = records.picker("account", names, label=ui.t("cash.customer"), key="cash-statement-customer")
    if acc is None:
        return
    today = fmt.today()
    stmt = ui.read(q.statement, int(acc), as_of=today)
    tiles = (("cash.metric.invoiced", "invoiced"), ("cash.metric.credited", "credited"),
             ("cash.metric.received", "received"), ("cash.metric.written_off", "written_off"),
             ("cash.metric.outstanding", "outstanding"), ("cash.metric.unapplied", "unapplied"))
    ui.tiles((ui.t(key), fmt.money(stmt[field])) for key, field in tiles)
    st.markdown(ui.t("cash.statement.balance", amount=fmt.money(stmt["balance"]), as_of=fmt.day(stmt["as_of"])))
    lines = stmt["lines"].copy()
    lines["Type"] = lines["Type"].map(lambda v: ui.t(f"cash.type.{v}"))
    tables.table(lines, "cash", key="cash-statement-lines", download=f"statement-{stmt['customer']}-{today}")
    st.markdown(f"**{ui.t('cash.invoices')}**")
    tables.table(stmt["invoices"], "cash", key="cash-statement-invoices", opens="invoice",
                 download=f"statement-{stmt['customer']}-invoices")
    st.markdown(f"**{ui.t('cash.allocations')}**")
    tables.table(stmt["allocations"], "cash", key="cash-statement-allocations", opens="invoice", id_col="Invoice ID",
                 download=f"statement-{stmt['customer']}-allocations")
