"""Every record the cash-flow page lists is one click from its own page: a clicked stuck deal links to its
opportunity, a clicked invoice of an overdue customer to that invoice."""


def _click(at, key: str):
    at.session_state[key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    return at.run()


def test_a_clicked_stuck_deal_links_to_its_opportunity(page):
    at = page("leader", "screens/cashflow.py")
    at.session_state["cf-tab"] = "Where it is stuck"
    at.run()
    first = [df for df in at.dataframe if "days" in df.value.columns and "stage" in df.value.columns][0].value
    _click(at, "cf-stuck-dl")
    assert not at.exception
    want = f"opportunity={int(first['opportunity_id'].iloc[0])}"
    links = [p for p in at.get("page_link") if want in p.proto.query_string]
    assert links and links[0].proto.page == "initiation"


def test_a_clicked_invoice_of_an_overdue_customer_links_to_it(page):
    at = page("finance", "screens/cashflow.py")
    at.session_state["cf-tab"] = "Receivables"
    at.run()
    pick = at.selectbox(key="cf-drill")
    pick.select(pick.options[0]).run()
    invoices = at.dataframe[-1].value
    _click(at, "cf-invoices-dl")
    assert not at.exception
    want = f"invoice={int(invoices['invoice_id'].iloc[0])}"
    assert any(want in p.proto.query_string for p in at.get("page_link"))
