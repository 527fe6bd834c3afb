"""Stages, statuses and kinds of the lead-to-cash chain (stored as strings)."""
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MARKETING = "marketing"
    AR = "ar"
    MANAGER = "manager"
    SR = "sr"
    FR = "fr"
    LEGAL = "legal"
    FINANCE = "finance"
    LEADER = "leader"


class LeadStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"
    CONVERTED = "converted"
    MERGED = "merged"


class Authority(StrEnum):
    DECISION_MAKER = "decision_maker"
    INFLUENCER = "influencer"
    USER = "user"
    UNKNOWN = "unknown"


class Need(StrEnum):
    URGENT = "urgent"
    CLEAR = "clear"
    VAGUE = "vague"
    NONE = "none"


class Grade(StrEnum):
    HOT = "hot"
    WARM = "warm"
    COLD = "cold"


class Stage(StrEnum):
    """Opportunity stage, in chain order (probabilities in config/pipeline.toml)."""
    INITIATION = "initiation"
    GUIDANCE = "guidance"
    BIDDING = "bidding"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"
    KILLED = "killed"
    ON_HOLD = "on_hold"


OPEN_STAGES = (Stage.INITIATION, Stage.GUIDANCE, Stage.BIDDING, Stage.NEGOTIATION, Stage.ON_HOLD)


class Stance(StrEnum):
    SUPPORTER = "supporter"
    NEUTRAL = "neutral"
    OPPONENT = "opponent"
    UNKNOWN = "unknown"


class GateKind(StrEnum):
    ATI = "ati"
    ATB = "atb"
    ATC = "atc"
    CHANGE_ORDER = "change_order"
    WRITE_OFF = "write_off"
    CLOSURE = "closure"


class Decision(StrEnum):
    PENDING = "pending"
    GO = "go"
    KILL = "kill"
    HOLD = "hold"
    APPROVE = "approve"
    REJECT = "reject"


class BidStatus(StrEnum):
    DRAFT = "draft"
    ATB_PENDING = "atb_pending"
    APPROVED = "approved"
    SUBMITTED = "submitted"
    WON = "won"
    LOST = "lost"


class ContractStatus(StrEnum):
    DRAFT = "draft"
    ATC_PENDING = "atc_pending"
    SIGNED = "signed"
    CLOSED = "closed"


class Trigger(StrEnum):
    SIGNING = "signing"
    ACCEPTANCE = "acceptance"   # final acceptance of the term's milestone
    WARRANTY = "warranty"       # end of warranty: the retention


class ChangeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class MilestoneStatus(StrEnum):
    PLANNED = "planned"
    PRELIMINARY = "preliminary"   # 初验 done
    ACCEPTED = "accepted"         # 终验 done


class AcceptanceKind(StrEnum):
    PRELIMINARY = "preliminary"
    FINAL = "final"


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    PARTLY_PAID = "partly_paid"
    PAID = "paid"
    WRITTEN_OFF = "written_off"
    CREDITED = "credited"     # credited in full by credit notes (红字发票)
    VOID = "void"             # voided unpaid (作废): counts nothing, its term's amount invoiceable again


class InvoiceKind(StrEnum):
    """An invoice, or a credit note (红字发票) against one: a row of its own, in its own number series, whose
    negative amount nets it off every sum of invoices."""
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Calculation(StrEnum):
    """The four calculations (四算)."""
    ESTIMATE = "estimate"
    BUDGET = "budget"
    ACTUAL = "actual"
    FINAL = "final"
