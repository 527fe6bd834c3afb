"""Who may do what, written out per role from the roles' jobs (DESIGN.md §2 and the LTC article), reviewed by
hand and kept apart from config/permissions.toml: a grant changed there, by mistake or on purpose, fails
tests/integration/test_permissions.py until this table is changed too, in review.

Read it as a job description: each role's line lists everything that role may do."""
from __future__ import annotations

EVERYONE_READS = {"work.view"}          # My work: each person's own list
SHEET_USERS = {"sync.view", "sync.run", "sync.resolve"}   # those who keep a department spreadsheet

MAY: dict[str, set[str]] = {
    # runs the system: people, imports on others' behalf, exports and the audit trail; no business decisions
    "admin": EVERYONE_READS | SHEET_USERS | {"user.manage", "audit.view", "data.export", "lead.capture",
                                             "lead.import"},
    # finds and triages demand: leads only, from capture to qualification; hands over, never converts
    "marketing": EVERYONE_READS | SHEET_USERS | {"lead.view", "lead.capture", "lead.import", "lead.update",
                                                 "lead.assign", "lead.merge", "lead.qualify", "lead.disqualify"},
    # the account responsible carries the deal from lead to cash: asks for every gate, never decides one
    "ar": EVERYONE_READS | SHEET_USERS | {
        "lead.view", "lead.capture", "lead.update", "lead.merge", "lead.qualify", "lead.disqualify",
        "lead.convert", "opportunity.view", "opportunity.update", "opportunity.team", "opportunity.guidance",
        "opportunity.estimate", "ati.request", "bid.create", "bid.update", "atb.request", "bid.submit",
        "bid.result", "contract.view", "contract.draft", "contract.terms", "atc.request", "contract.sign",
        "change.request", "delivery.view", "milestone.plan", "billing.view"},
    # the sales manager runs a team of ARs: sees the team's leads, deals, contracts, delivery, money and cash
    # figures (data scope `team`), hands leads and deals to the team's people, exports them; decides no gate
    "manager": EVERYONE_READS | SHEET_USERS | {
        "lead.view", "lead.assign", "opportunity.view", "opportunity.update", "opportunity.team", "contract.view",
        "delivery.view", "billing.view", "metrics.cash", "data.export"},
    # the solution responsible shapes guidance, estimate and bid; no contract, delivery or money writes
    "sr": EVERYONE_READS | {"opportunity.view", "opportunity.guidance", "opportunity.estimate", "bid.create",
                            "bid.update", "atb.request", "bid.submit", "bid.result", "contract.view"},
    # the fulfilment responsible delivers: milestones, acceptance, costs, releases, change requests, closure
    "fr": EVERYONE_READS | SHEET_USERS | {"opportunity.view", "delivery.view", "milestone.plan",
                                          "milestone.forecast", "milestone.accept", "cost.record", "term.release", "warranty.set",
                                          "change.request", "closure.request"},
    # reviews contracts and changes for ATC, and reads the audit trail
    "legal": EVERYONE_READS | SHEET_USERS | {"contract.view", "contract.draft", "contract.terms",
                                             "atc.review_legal", "change.review_legal", "audit.view"},
    # money: estimates and payment plans reviewed, releases, invoices, payments, write-off requests, final
    # accounts; never decides a gate or a write-off
    "finance": EVERYONE_READS | SHEET_USERS | {
        "opportunity.estimate", "contract.view", "contract.terms", "atc.review_finance", "change.review_finance",
        "delivery.view", "cost.record", "term.release", "warranty.set", "billing.view", "invoice.issue", "invoice.update",
        "payment.record", "payment.allocate", "payment.refund", "invoice.void", "invoice.credit", "daily.run", "writeoff.request", "closure.final_accounts", "audit.view",
        "data.export", "metrics.cash"},
    # leadership decides the gates and write-offs, signs, sees everything; does no clerical data entry
    "leader": EVERYONE_READS | SHEET_USERS | {
        "lead.view", "lead.assign", "lead.convert", "opportunity.view", "opportunity.update", "opportunity.team",
        "ati.decide", "atb.decide", "atc.review_leader", "change.review_leader", "contract.view", "contract.sign", "delivery.view", "billing.view",
        "writeoff.decide", "closure.decide", "audit.view", "metrics.view", "metrics.cash", "data.export"},
}


def roles_for(action: str) -> set[str]:
    return {role for role, actions in MAY.items() if action in actions}
