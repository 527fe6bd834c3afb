"""Lead triage (线索分拣): the inbox with filters, score, grade and possible duplicates; edit leads in the table
(saved by ID with the version seen); one lead opened by its address (?lead=<id>) with its details, history and
the actions core offers (assign, qualify, disqualify, convert, merge); capture a lead; import a CSV/XLSX file
(preview first, then import). The parts live in app/views/leads_*.py."""
import streamlit as st

from app import ui
from app.views import leads_capture, leads_detail, leads_import, leads_inbox
from core.queries.leads import lead_options

who = ui.guard("lead.view")

st.title(ui.t("page.leads"))
ui.flash()
opts = ui.read(lead_options)

if ui.can("lead.capture"):
    leads_capture.show(opts)
if ui.can("lead.import"):
    leads_import.show()
inbox = leads_inbox.show(who, opts)
leads_detail.show(inbox, opts["owners"])
