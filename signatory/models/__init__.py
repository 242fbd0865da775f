"""Tables, one module per aggregate, and the two status machines (``status``).

Everything is re-exported here, so ``from signatory.models import Letter`` works for any
table; inside this package, modules import each other directly.
"""

from signatory.models.audit import AuditEvent
from signatory.models.bulk import BulkAction, BulkKind, ImportBatch, SignatureSource
from signatory.models.common import LANGUAGE_TAG_MAX, new_nonce
from signatory.models.invitation import InvitationState, SigningInvitation, SigningPolicy
from signatory.models.letter import (
    Delivery,
    Letter,
    LetterStatus,
    LetterTranslation,
    LetterVersion,
    Moderation,
    SignatureTally,
)
from signatory.models.membership import ROLE_RANK, Invitation, Membership, MembershipRole
from signatory.models.organization import LogoStatus, SignatureLogo
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
from signatory.models.team import Coordinator, NotifyPreference, SignInAttempt
from signatory.models.update import LetterUpdate, UpdateRecipient

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
    "ImportBatch",
    "Invitation",
    "InvitationState",
    "Letter",
    "LetterStatus",
    "LetterTranslation",
    "LetterUpdate",
    "LetterVersion",
    "LogoStatus",
    "Membership",
    "MembershipRole",
    "Moderation",
    "NotifyPreference",
    "OutboxMessage",
    "OutboxStatus",
    "Signature",
    "SignatureKind",
    "SignatureLogo",
    "SignatureSource",
    "SignatureStatus",
    "SignatureTally",
    "SigningInvitation",
    "SigningPolicy",
    "SignInAttempt",
    "UpdateRecipient",
    "change_letter_status",
    "needs_review",
    "new_nonce",
    "transition",
]
