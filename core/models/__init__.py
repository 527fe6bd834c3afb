"""All tables; importing this module registers them on SQLModel.metadata."""
from core.models.people import Account, Contact, Delegation, SignIn, Team, TeamMember, User
from core.models.leads import Lead
from core.models.opportunities import GateDecision, Opportunity, Stakeholder, StageChange
from core.models.bids import Bid
from core.models.contracts import ChangeOrder, Contract, PaymentTerm
from core.models.delivery import Acceptance, CostEntry, Milestone
from core.models.billing import Allocation, Invoice, Payment, Refund
from core.models.finance import Baseline, ClosureReview
from core.models.system import AuditEvent, RequestKey, Setting
from core.models.sync import SyncConflict, SyncCreated, SyncLock, SyncRun, SyncSnapshot

__all__ = [
    "Account", "Contact", "Delegation", "SignIn", "Team", "TeamMember", "User", "Lead", "GateDecision", "Opportunity",
    "Stakeholder", "StageChange",
    "Bid", "ChangeOrder", "Contract", "PaymentTerm", "Acceptance", "CostEntry", "Milestone",
    "Allocation", "Invoice", "Payment", "Refund", "Baseline", "ClosureReview", "AuditEvent", "RequestKey", "Setting",
    "SyncConflict", "SyncCreated", "SyncLock", "SyncRun", "SyncSnapshot",
]
