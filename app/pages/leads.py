"""Lead triage (线索分拣): the inbox with filters, score, grade and possible duplicates; per lead: assign,
qualify, disqualify, convert, merge; edit leads in the table (saved by ID with the version seen); capture a
lead; import a CSV/XLSX file (preview first, then import)."""
import hashlib
import json
import re
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app import ui
from core.leads_import import import_leads
from core.queries.leads import EDITABLE, NO_OWNER, lead_detail, lead_inbox, lead_options
from core.services import leads

ALL = "*"
IMPORT_TYPES = (".csv", ".xlsx")
MAX_MB = 20
REJECTED_SHOWN = 1000

who = ui.guard("lead.view")



st.title(ui.t("page.leads"))
ui.flash()
opts = ui.read(lead_options)
owner_names = opts["owners"]


def _owner_label(v: str) -> str:
    if v == ALL:
        return ui.t("all")
    if v == NO_OWNER:
        return ui.t("leads.unassigned")
    return f"{v} ({owner_names[v]})" if v in owner_names else v


def _label_of(prefix: str):
    return lambda v: ui.t("all") if v == ALL else ui.t(f"{prefix}.{v}")


# -- capture a lead ------------------------------------------------------------------------------------
if ui.can("lead.capture"):
    with st.expander(ui.t("leads.capture.title"), icon=":material/add:"):
        with st.form("leads-capture"):
            c1, c2, c3 = st.columns(3)
            company = c1.text_input(ui.t("leads.col.company"), key="leads-new-company")
            contact = c2.text_input(ui.t("leads.col.contact"), key="leads-new-contact")
            phone = c3.text_input(ui.t("leads.col.phone"), key="leads-new-phone")
            email = c1.text_input(ui.t("leads.col.email"), key="leads-new-email")
            source = c2.selectbox(ui.t("leads.col.source"), opts["sources"], key="leads-new-source",
                                  format_func=_label_of("leads.source"))
            region = c3.text_input(ui.t("leads.col.region"), key="leads-new-region")
            industry = c1.text_input(ui.t("leads.col.industry"), key="leads-new-industry")
            budget = c2.text_input(ui.t("leads.col.budget"), key="leads-new-budget")
            timeline = c3.number_input(ui.t("leads.col.timeline_months"), min_value=0, max_value=120, step=1,
                                       value=None, key="leads-new-timeline")
            authority = c1.selectbox(ui.t("leads.col.authority"), opts["authorities"],
                                     index=opts["authorities"].index("unknown"), key="leads-new-authority",
                                     format_func=_label_of("leads.authority"))
            need = c2.selectbox(ui.t("leads.col.need"), opts["needs"], index=opts["needs"].index("vague"),
                                key="leads-new-need", format_func=_label_of("leads.need"))
            owner = c3.selectbox(ui.t("leads.col.owner"), ["", *owner_names], key="leads-new-owner",
                                 format_func=lambda v: _owner_label(v) if v else ui.t("leads.capture.auto_owner"))
            need_text = st.text_area(ui.t("leads.col.need_text"), key="leads-new-need-text")
            allow_dup = st.checkbox(ui.t("leads.capture.allow_duplicate"), key="leads-new-allow-dup")
            if st.form_submit_button(ui.t("leads.capture.submit")):
                new_id = ui.act(leads.capture_lead, company=company, contact=contact, phone=phone, email=email,
                                source=source, region=region, industry=industry, need_text=need_text,
                                budget=budget, authority=authority, need=need, timeline_months=timeline,
                                owner=owner or None, allow_duplicate=allow_dup, success=ui.t("saved"))
                if new_id:
                    st.session_state["flash"] = ui.t("leads.capture.done", id=new_id)
                    st.rerun()


# -- import a file -------------------------------------------------------------------------------------
def _temp_name(name: str) -> str:
    """The uploaded file's own name (the import's messages name it), without folders or odd characters."""
    stem, ext = Path(name).stem, Path(name).suffix.lower()
    return (re.sub(r"[^\w.-]+", "_", stem).strip("._") or "leads")[:80] + ext


def _run_import(upload, dry_run: bool):
    bar = st.progress(0.0, text=ui.t("leads.import.reading"))

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=ui.t("leads.import.progress", done=done, total=total))

    with tempfile.TemporaryDirectory(prefix="ltc-import-") as folder:
        path = Path(folder) / _temp_name(upload.name)
        path.write_bytes(upload.getvalue())
        report = ui.act(import_leads, path, dry_run=dry_run, progress=progress)
    if report:
        bar.progress(1.0, text=ui.t("leads.import.finished"))
        st.session_state["leads-import-report"] = {
            "file": upload.name, "dry_run": report.dry_run, "total": report.total, "created": report.created,
            "merged": report.merged, "rejected_count": len(report.rejected),
            "rejected": [{"row": r, "field": f, "message": m} for r, f, m in report.rejected[:REJECTED_SHOWN]]}
    return report


def _show_report(r: dict) -> None:
    st.markdown(ui.t("leads.import.preview_of" if r["dry_run"] else "leads.import.done_of", file=r["file"]))
    m = st.columns(4)
    m[0].metric(ui.t("leads.import.rows"), f"{r['total']:,}")
    m[1].metric(ui.t("leads.import.created"), f"{r['created']:,}")
    m[2].metric(ui.t("leads.import.merged"), f"{r['merged']:,}")
    m[3].metric(ui.t("leads.import.rejected"), f"{r['rejected_count']:,}")
    if r["rejected"]:
        st.dataframe(pd.DataFrame(r["rejected"], columns=["row", "field", "message"]), hide_index=True,
                     width="stretch", key="leads-import-rejected",
                     column_config={"row": ui.t("leads.import.row"), "field": ui.t("leads.import.field"),
                                    "message": ui.t("leads.import.message")})
        if r["rejected_count"] > len(r["rejected"]):
            st.caption(ui.t("leads.more", n=r["rejected_count"] - len(r["rejected"])))


if ui.can("lead.import"):
    report = st.session_state.get("leads-import-report")
    with st.expander(ui.t("leads.import.title"), icon=":material/upload_file:", expanded=report is not None):
        # A MIME type in `type` keeps the browser's file filter but leaves the check to us, so a wrong file
        # gets our message rather than a Streamlit exception.
        upload = st.file_uploader(ui.t("leads.import.file", mb=MAX_MB), type=["csv", "xlsx", "text/csv"],
                                  max_upload_size=MAX_MB, key="leads-import-file")
        if upload is not None:
            ext = Path(upload.name).suffix.lower()
            if ext not in IMPORT_TYPES:
                st.error(ui.t("leads.import.bad_type", file=upload.name, types=", ".join(IMPORT_TYPES)))
            elif upload.size > MAX_MB * 1024 * 1024:
                st.error(ui.t("leads.import.too_big", file=upload.name, mb=f"{upload.size / 1024 / 1024:.1f}",
                              max=MAX_MB))
            elif upload.size == 0:
                st.error(ui.t("leads.import.empty", file=upload.name))
            else:
                fingerprint = [upload.name, upload.size, upload.file_id]
                if st.button(ui.t("leads.import.preview"), key="leads-import-preview"):
                    st.session_state.pop("leads-import-previewed", None)
                    if _run_import(upload, dry_run=True):
                        st.session_state.pop("flash", None)   # nothing was saved
                        st.session_state["leads-import-previewed"] = fingerprint
                report = st.session_state.get("leads-import-report")
                if report:
                    _show_report(report)
                if st.session_state.get("leads-import-previewed") == fingerprint:
                    st.caption(ui.t("leads.import.then"))
                    if st.button(ui.t("leads.import.run"), key="leads-import-run", type="primary"):
                        done = _run_import(upload, dry_run=False)
                        if done:
                            st.session_state.pop("leads-import-previewed", None)
                            st.session_state["flash"] = ui.t("leads.import.saved", created=done.created,
                                                             merged=done.merged, rejected=len(done.rejected))
                            st.rerun()
        elif report:
            _show_report(report)


# -- the inbox -----------------------------------------------------------------------------------------
st.subheader(ui.t("leads.inbox"))
mine_first = "ar" in who.roles and not ({"marketing", "leader"} & set(who.roles))
owners = [ALL, NO_OWNER, *owner_names]
default_owner = who.login if mine_first and who.login in owner_names else ALL
f = st.columns([1, 1, 1, 1.3, 2.2, 1.6])
source_f = f[0].selectbox(ui.t("leads.col.source"), [ALL, *opts["sources"]], key="leads-f-source",
                          format_func=_label_of("leads.source"))
region_f = f[1].selectbox(ui.t("leads.col.region"), [ALL, *opts["regions"]], key="leads-f-region",
                          format_func=lambda v: ui.t("all") if v == ALL else v)
grade_f = f[2].selectbox(ui.t("leads.col.grade"), [ALL, *opts["grades"]], key="leads-f-grade",
                         format_func=_label_of("leads.grade"))
owner_f = f[3].selectbox(ui.t("leads.col.owner"), owners, index=owners.index(default_owner), key="leads-f-owner",
                         format_func=_owner_label)
status_f = f[4].multiselect(ui.t("leads.col.status"), opts["statuses"], default=opts["open_statuses"],
                            key="leads-f-status", format_func=_label_of("leads.status"))
search_f = f[5].text_input(ui.t("leads.search"), key="leads-f-search", placeholder=ui.t("leads.search.hint"))
filters = {"statuses": status_f, "source": None if source_f == ALL else source_f,
           "region": None if region_f == ALL else region_f, "grade": None if grade_f == ALL else grade_f,
           "owner": None if owner_f == ALL else owner_f, "search": search_f}
inbox = ui.read(lead_inbox, **filters)
df, total = inbox["leads"], inbox["total"]
st.caption(ui.t("leads.count", shown=f"{len(df):,}", total=f"{total:,}"))
if total > len(df):
    st.caption(ui.t("leads.more", n=f"{total - len(df):,}"))

# triage first (score, grade, status, owner, duplicates), then the lead's fields; the version last
ORDER = ("ID", "company", "score", "grade", "status", "owner", "duplicates", "contact", "phone", "email", "source",
         "region", "industry", "budget", "authority", "need", "timeline_months", "need_text", "captured_on", "Version")
columns = {name: ui.t(f"leads.col.{name}") for name in df.columns if name not in ("ID", "Version")}
config = {name: st.column_config.Column(label) for name, label in columns.items()}
config.update({
    "ID": st.column_config.NumberColumn("ID", format="%d"),
    "Version": st.column_config.NumberColumn(ui.t("leads.col.version"), format="%d"),
    "source": st.column_config.SelectboxColumn(columns["source"], options=opts["sources"]),
    "authority": st.column_config.SelectboxColumn(columns["authority"], options=opts["authorities"]),
    "need": st.column_config.SelectboxColumn(columns["need"], options=opts["needs"]),
    "timeline_months": st.column_config.NumberColumn(columns["timeline_months"], min_value=0, max_value=120,
                                                     step=1, format="%d"),
    "score": st.column_config.ProgressColumn(columns["score"], min_value=0, max_value=100, format="%d"),
    "captured_on": st.column_config.DateColumn(columns["captured_on"]),
})


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
    st.rerun()


if ui.can("lead.update"):
    # The table the person edits stays the one they first saw until they save, so the versions sent with
    # the save are the ones they saw: a change made meanwhile by someone else is refused as stale.
    digest = hashlib.sha1(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[:10]
    key = f"leads-editor-{st.session_state.get('leads-editor-gen', 0)}-{digest}"
    snap = st.session_state.get("leads-editor-before")
    pending = bool((st.session_state.get(key) or {}).get("edited_rows"))
    if pending and snap is not None and snap[0] == key:
        before = snap[1]
    else:
        before = df
        st.session_state["leads-editor-before"] = (key, df)
    edited = st.data_editor(before, key=key, hide_index=True, width="stretch", column_config=config,
                            column_order=ORDER, disabled=[c for c in before.columns if c not in EDITABLE])
    b1, b2 = st.columns([1, 3])
    if b1.button(ui.t("save"), key="leads-save", icon=":material/save:"):
        changed = ui.changed_rows(before, edited)
        if not changed:
            st.info(ui.t("leads.nothing_changed"))
        elif ui.save_edits(before, edited, _save) == len(changed):
            _fresh_editor()
        else:
            st.caption(ui.t("leads.reload_hint"))
    if pending and b2.button(ui.t("leads.discard"), key="leads-discard", icon=":material/undo:"):
        _fresh_editor()
else:
    st.dataframe(df, hide_index=True, width="stretch", column_config=config, column_order=ORDER, key="leads-table")


# -- the selected lead ---------------------------------------------------------------------------------
if df.empty:
    st.info(ui.t("nothing"))
    st.stop()

ids = [int(i) for i in df["ID"]]
names = dict(zip(ids, df["company"]))
sel = st.selectbox(ui.t("leads.selected"), ids, key="leads-selected", format_func=lambda i: f"{i} · {names.get(i, '')}")
d = ui.read(lead_detail, sel)
version = d["version"]
st.subheader(f"{d['company']} (#{d['id']})")
st.caption(ui.t("leads.summary", status=ui.t(f"leads.status.{d['status']}"), score=d["score"],
                grade=ui.t(f"leads.grade.{d['grade']}"), owner=d["owner"] or ui.t("leads.unassigned")))
if d["disqualify_reason"]:
    st.caption(ui.t("leads.dq.was", reason=d["disqualify_reason"]))

dups = d["duplicates"]
with st.expander(ui.t("leads.dups.title", n=len(dups)), expanded=bool(dups), icon=":material/content_copy:"):
    if not dups:
        st.caption(ui.t("leads.dups.none"))
    else:
        st.dataframe(pd.DataFrame(dups), hide_index=True, width="stretch", key=f"leads-dups-{sel}",
                     column_config={k: ui.t(f"leads.col.{k}") for k in dups[0] if k != "ID"})
        if ui.can("lead.merge"):
            for dup in dups:
                if st.button(ui.t("leads.dups.merge", drop=dup["ID"], keep=sel), key=f"leads-merge-{sel}-{dup['ID']}"):
                    if ui.act(leads.merge_leads, sel, dup["ID"], success=ui.t("leads.dups.merged", drop=dup["ID"],
                                                                               keep=sel)):
                        st.rerun()

left, right = st.columns(2)
if ui.can("lead.assign"):
    with left.form(f"leads-assign-{sel}"):
        logins = list(owner_names)
        current = logins.index(d["owner"]) if d["owner"] in logins else 0
        new_owner = st.selectbox(ui.t("leads.assign.owner"), logins, index=current, key=f"leads-assign-owner-{sel}",
                                 format_func=_owner_label)
        if st.form_submit_button(ui.t("leads.assign.submit")):
            if ui.act(leads.assign_lead, sel, new_owner, version=version,
                      success=ui.t("leads.assign.done", id=sel, owner=new_owner)):
                st.rerun()
if ui.can("lead.qualify"):
    if left.button(ui.t("leads.qualify"), key=f"leads-qualify-{sel}", icon=":material/verified:"):
        if ui.act(leads.qualify_lead, sel, version=version, success=ui.t("leads.qualified", id=sel)):
            st.rerun()
if ui.can("lead.disqualify"):
    with left.form(f"leads-disqualify-{sel}"):
        reason = st.text_input(ui.t("leads.dq.reason"), key=f"leads-dq-reason-{sel}")
        if st.form_submit_button(ui.t("leads.dq.submit")):
            if ui.act(leads.disqualify_lead, sel, reason, version=version, success=ui.t("leads.dq.done", id=sel)):
                st.rerun()
if ui.can("lead.convert"):
    sug = d["suggested"]
    with right.form(f"leads-convert-{sel}"):
        st.markdown(ui.t("leads.cv.title"))
        opp_name = st.text_input(ui.t("leads.cv.name"), value=sug["name"], key=f"leads-cv-name-{sel}")
        amount = st.text_input(ui.t("leads.cv.amount"), key=f"leads-cv-amount-{sel}",
                               value="" if sug["amount"] is None else f"{sug['amount']:.2f}")
        close = st.date_input(ui.t("leads.cv.close"), value=sug["expected_close"], key=f"leads-cv-close-{sel}")
        if st.form_submit_button(ui.t("leads.cv.submit")):
            opp_id = ui.act(leads.convert_lead, sel, opportunity_name=opp_name, amount=amount, expected_close=close)
            if opp_id:
                st.session_state["flash"] = ui.t("leads.cv.done", id=sel, opp=opp_id)
                st.rerun()
