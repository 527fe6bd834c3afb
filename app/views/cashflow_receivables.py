"""Cash-flow receivables tab: ageing by customer (chart and tables), the top overdue customers and, for one of
them, their invoices (a clicked invoice links to it)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app import ui
from app.views.cashflow_kit import bucket, chart, col, first, frame, helptext, num, table, tip
from core import metrics as M
from core.metrics import Filters


def receivables_tab(f: Filters) -> None:
    a = ui.read(M.ageing, f)
    st.subheader(ui.t("cashflow.ageing"), help=helptext("ageing"))
    cols = ["current", *a["buckets"]]
    totals = pd.DataFrame([{"bucket": k, "amount": a["current"] if k == "current" else a["buckets"][k]} for k in cols])
    cust = frame(a["customers"])
    if not cust.empty:
        long = cust.melt(id_vars=["customer"], value_vars=cols, var_name="Bucket", value_name="Amount")
        long["Amount"] = long["Amount"].map(num)
        long["Age"] = long["Bucket"].map(cols.index)   # stacked from current to the oldest bucket
        long["Bucket"] = long["Bucket"].map(bucket)
        top = list(cust["customer"].head(20))           # the customers owing most (ageing sorts them)
        chart(alt.Chart(long[long["customer"].isin(top)]).mark_bar().encode(
            y=alt.Y("customer:N", sort=top, title=col("customer")), x=alt.X("Amount:Q", title=col("amount")),
            color=alt.Color("Bucket:N", title=col("bucket"),
                            scale=alt.Scale(domain=[bucket(c) for c in cols], scheme="orangered")),
            order=alt.Order("Age:Q"),
            tooltip=[tip("customer"), tip("Bucket"), tip("Amount", "Q", money=True)]))
    table(totals, f"ageing-buckets-{f.as_of}", "cf-buckets-dl", coded={"bucket": bucket})
    table(first(cust, "customer"), f"ageing-{f.as_of}", "cf-ageing-dl", opens="account", id_col="account_id")

    st.subheader(ui.t("cashflow.overdue"), help=helptext("overdue_customers"))
    od = frame(ui.read(M.overdue_customers, f, limit=10))
    table(first(od, "customer"), f"overdue-customers-{f.as_of}", "cf-overdue-dl", opens="account",
          id_col="account_id")
    if od.empty:
        return
    names = dict(zip(od["account_id"], od["customer"]))
    pick = st.selectbox(ui.t("cashflow.drill"), list(names), key="cf-drill", index=None,
                        placeholder=ui.t("record.choose"), format_func=lambda v: str(names.get(v, v)))
    if pick is not None:
        st.markdown(f"**{ui.t('cashflow.invoices_of', name=names[pick])}**")
        table(frame(ui.read(M.customer_invoices, f, int(pick))), f"invoices-{pick}-{f.as_of}", "cf-invoices-dl",
              opens="invoice", id_col="invoice_id")
