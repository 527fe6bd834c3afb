"""The lead inbox: filters, then the leads as a table people edit (saved by ID with the version they first saw)
or, for those who may not edit, a read-only table whose clicked row opens the lead."""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from app import fmt, tables, ui
from app.views.leads_common import ALL, coded, label_of, owner_label
from core.queries.leads import EDITABLE, NO_OWNER, lead_inbox
from core.services import leads

# triage first (score, grade, status, owner, duplicates), then the lead's fields
ORDER = ("company", "score", "grade", "status", "owner_name", "duplicates", "contact", "phone", "email", "source",
         "region", "industry", "budget", "authority", "need", "timeline_months", "need_text", "captured_on")
CODES = {"status": "leads.status", "grade": "leads.grade", "source": "leads.source", "authority": "leads.authority",
         "need": "leads.need"}


def filters(who, opts: dict) -> dict:
    names = opts["owners"]
    mine_first = ui.can("lead.update") and not ui.can("lead.import") and not ui.can("lead.assign")
    owners = [ALL, NO_OWNER, *names]
    default_owner = who.login if mine_first and who.login in names else ALL
    f = st.columns([1, 1, 1, 1.3, 2.2, 1.6])
    source_f = f[0].selectbox(ui.t("leads.col.source"), [ALL, *opts["sources"]], key="leads-f-source",
                              format_func=label_of("leads.source"))
    region_f = f[1].selectbox(ui.t("leads.col.region"), [ALL, *opts["regions"]], key="leads-f-region",
                              format_func=lambda v: ui.t("all") if v == ALL else v)
    grade_f = f[2].selectbox(ui.t("leads.col.grade"), [ALL, *opts["grades"]], key="leads-f-grade",
                             format_func=label_of("leads.grade"))
    owner_f = f[3].selectbox(ui.t("leads.col.owner"), owners, index=owners.index(default_owner),
                             key="leads-f-owner", format_func=owner_label(names))
    status_f = f[4].multiselect(ui.t("leads.col.status"), opts["statuses"], default=opts["open_statuses"],
                                key="leads-f-status", format_func=label_of("leads.status"))
    search_f = f[5].text_input(ui.t("leads.search"), key="leads-f-search", placeholder=ui.t("leads.search.hint"),
                               max_chars=ui.limit("search"))
    return {"statuses": status_f, "source": None if source_f == ALL else source_f,
            "region": None if region_f == ALL else region_f, "grade": None if grade_f == ALL else grade_f,
            "owner": None if owner_f == ALL else owner_f, "search": search_f}


def _config(opts: dict) -> dict:
    label = {name: ui.t(f"leads.col.{name}") for name in ORDER}

    def pick(name: str, options) -> Any:
        prefix = CODES[name]
        return st.column_config.SelectboxColumn(label[name], options=options, format_func=lambda v: coded(prefix, v))
    config: dict[str, Any] = {name: st.column_config.Column(text) for name, text in label.items()}
    config.update({
        "source": pick("source", opts["sources"]), "authority": pick("authority", opts["authorities"]),
        "need": pick("need", opts["needs"]), "status": pick("status", opts["statuses"]),
        "grade": pick("grade", opts["grades"]),
        "timeline_months": st.column_config.NumberColumn(label["timeline_months"], min_value=0, max_value=120,
                                                         step=1, format="%d"),
        "score": st.column_config.ProgressColumn(label["score"], min_value=0, max_value=100, format="%d"),
        "captured_on": st.column_config.DateColumn(label["captured_on"]),
    })
    return config


def _cell(name: str, value):
    """A table cell as the service takes it: empty cells are None, months a whole number."""
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if name == "timeline_months" and isinstance(value, float) and value.is_integer():
        return int(value)     # a number column gives 12.0; a fraction goes to core as typed and is refused there
    return value


def _save(ctx, lead_id: int, version: int, changes: dict):
    fields = {k: _cell(k, v) for k, v in changes.items() if k in EDITABLE}
    return leads.update_lead(ctx, lead_id, version=version, **fields)


def _fresh_editor() -> None:
    """A new, unedited table read from the database (after a save, or when the person drops their edits)."""
    st.session_state["leads-editor-gen"] = st.session_state.get("leads-editor-gen", 0) + 1
    st.session_state.pop("leads-seen", None)   # the lead shown below is read afresh too
    st.rerun()


def _editor(df: pd.DataFrame, flt: dict, opts: dict) -> None:
    # The table the person edits stays the one they first saw until they save, so the versions sent with
    # the save are the ones they saw: a change made meanwhile by someone else is refused as stale.
    digest = hashlib.sha1(json.dumps(flt, sort_keys=True, default=str).encode()).hexdigest()[:10]
    key = f"leads-editor-{st.session_state.get('leads-editor-gen', 0)}-{digest}"
    # the budget is typed as text ("1,200,000" is fine, core reads it) and shown with separators, not as 1200000.00
    before = ui.seen("leads-editor-before-" + key, key, lambda: df.assign(
        budget=df["budget"].map(lambda v: None if fmt.is_empty(v) else fmt.money(v))))
    edited = st.data_editor(before, key=key, hide_index=True, width="stretch", column_config=_config(opts),
                            column_order=ORDER, disabled=[c for c in before.columns if c not in EDITABLE],
                            placeholder=fmt.EMPTY)
    pending = bool((st.session_state.get(key) or {}).get("edited_rows"))
    b1, b2 = st.columns([1, 3])
    if b1.button(ui.t("save"), key="leads-save", icon=":material/save:"):
        changed = ui.changed_rows(before, edited)
        if not changed:
            st.info(ui.t("leads.nothing_changed"))
        elif ui.save_edits(before, edited, _save, where="leads-table") == len(changed):  # type: ignore[arg-type]
            _fresh_editor()
        else:
            st.caption(ui.t("leads.reload_hint"))
    if pending and b2.button(ui.t("leads.discard"), key="leads-discard", icon=":material/undo:"):
        _fresh_editor()
    ui.flash("leads-table")


def _read_only(df: pd.DataFrame) -> None:
    view = df.copy()
    for name, prefix in CODES.items():
        view[name] = view[name].map(lambda v, p=prefix: coded(p, v))
    view["budget"] = view["budget"].map(lambda v: None if v in (None, "") or pd.isna(v) else Decimal(v))
    tables.table(view[["ID", *ORDER]], "leads", key="leads-table", opens="lead", money=("budget",))


def show(who, opts: dict) -> pd.DataFrame:
    st.subheader(ui.t("leads.inbox"))
    flt = filters(who, opts)
    inbox = ui.read(lead_inbox, **flt)
    df, total = inbox["leads"], inbox["total"]
    st.caption(ui.t("leads.count", shown=f"{len(df):,}", total=f"{total:,}"))
    if total > len(df):
        st.caption(ui.t("leads.more", n=f"{total - len(df):,}"))
    if ui.can("lead.update"):
        _editor(df, flt, opts)
    else:
        _read_only(df)
    return df
