"""Tables, one module per aggregate, and the two status machines (``status``).

Everything is re-exported here, so ``from signatory.models import Letter`` works for any
table; inside this package, modules import each other directly.
"""

from signatory.models.audit import AuditEvent
from signatory.models.bulk import BulkAction, BulkKind
from signatory.models.common import LANGUAGE_TAG_MAX, new_nonce
from signatory.models.delivery import Delivery
from signatory.models.letter import (
    Letter,
    LetterStatus,
    LetterTranslation,
    LetterVersion,
    Moderation,
)
from signatory.models.membership import ROLE_RANK, Invitation, Membership, MembershipRole
from signatory.models.outbox import OutboxMessage, OutboxStatus
from signatory.models.signature import (
    HELD_STATUSES,
    LIVE_STATUSES,
    STANDING_STATUSES,
    Signature,
    SignatureKind,
    SignatureStatus,
)
from signatory.models.status import (
    DeadlinePassed,
    IllegalTransition,
    change_letter_status,
    needs_review,
    transition,
)
from signatory.models.tally import SignatureTally
from signatory.models.team import Coordinator, NotifyPreference, SignInAttempt

__all__ = [
    "HELD_STATUSES",
    "LANGUAGE_TAG_MAX",
    "LIVE_STATUSES",
    "ROLE_RANK",
    "STANDING_STATUSES",
    "AuditEvent",
    "BulkAction",
    "BulkKind",
    "Coordinator",
    "DeadlinePassed",
    "Delivery",
    "IllegalTransition",
    "Invitation",
    "Letter",
    "LetterStatus",
    "LetterTranslation",
    "LetterVersion",
    "Membership",
    "MembershipRole",
    "Moderation",
    "NotifyPreference",
    "OutboxMessage",
    "OutboxStatus",
    "Signature",
    "SignatureKind",
    "SignatureStatus",
    "SignatureTally",
    "SignInAttempt",
    "change_letter_status",
    "needs_review",
    "new_nonce",
    "transition",
]
