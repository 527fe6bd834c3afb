"""What the parts of the invoicing and cash page share: refreshing after a save, amounts as typed shown as money,
record labels, and core's offers for a record."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import fmt, ui
from core import validate
from core.errors import LtcError
from core.queries.offers import offers as _offers


def forget() -> None:
    """Drop the tables kept as the person saw them, so they are read again after a change."""
    for k in [k for k in st.session_state if str(k).startswith(("cash-seen-", "cash-inv-editor-"))]:
        del st.session_state[k]


def done(result) -> None:
    if result:
        forget()
        st.rerun()


def typed(text) -> str:
    """An amount as the person typed it, shown as money ('602000' → '602,000.00'); unreadable text as it is."""
    try:
        return fmt.money(validate.amount("amount", text))
    except LtcError:
        return str(text)


def offers(kind: str, record_id: int) -> dict:
    return ui.read(_offers, kind, int(record_id))


def invoice_labels(df: pd.DataFrame) -> dict:
    due = ui.t("cash.due")
    return {int(i): f"{r['Invoice']} · {r['Customer']} · {due} {fmt.day(r['Due on'])} · {fmt.money(r['Outstanding'])}"
            for i, r in df.set_index("ID").iterrows()}


def choose(label: str, options: dict, *, key: str, where=st):
    """A selectbox over {value: shown text} that chooses nothing until the person does."""
    return where.selectbox(label, list(options), key=key, index=None, format_func=lambda v: options.get(v, str(v)),
                           placeholder=ui.t("record.choose"))


def disabled_reason(offer_map: dict, action: str) -> str | None:
    """Core's reason an offered action is refused now (None when allowed)."""
    offer = offer_map.get(action)
    return None if offer is None or offer.allowed else ui.words(offer.reason)
