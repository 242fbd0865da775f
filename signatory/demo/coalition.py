"""What the demo letter shows of a coalition's tools: lead organizations, logos (most
approved, two awaiting the coordinator), an update posted to the signatories,
signatories who asked for updates by email, and "why we signed" statements (two
approved, one awaiting the coordinator). Logos are drawn and checked by the same code
as an upload, and the update is posted by the workspace's own service; the decisions
are set as a coordinator's would leave them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from signatory.core.database import DbSession
from signatory.models import Coordinator, Letter, LogoStatus, Signature
from signatory.models.signature import LeadRole
from signatory.organizations.images import prepare_logo
from signatory.organizations.logos import attach_new
from signatory.organizations.statements import StatementStatus
from signatory.updates.service import UpdateText, post_update

# The wording an organization's signer ticks on the sign form, as the demo's signers saw it.
AUTHORISED_WORDING = "I am authorised to sign on behalf of this organization"
# The first organizations to sign started the letter; the third joined as a co-sponsor.
INITIATORS = 2
CO_SPONSORS = 1
# Organizations with a logo, and how many of those still wait for the coordinator.
WITH_LOGO = 12
LOGOS_PENDING = 2
# Every third signatory asked for updates by email when signing.
CONSENT_EVERY = 3
# "Why we signed": the letter asks, three organizations answered; the last still waits
# for the coordinator.
STATEMENTS = (
    "A treaty that criminalises security research makes everyone less safe.",
    "Civil society was in the room for the first draft; it should be there for the last.",
    "Our members defend journalists in the region, and the safeguards are what protect them.",
)

DEMO_UPDATE = UpdateText(
    title="The Chair has received the letter's first signatories",
    body=(
        "Thank you for signing. The Chair of the Ad Hoc Committee acknowledged the first "
        "forty signatories at the opening of the session and invited written comments "
        "on the revised draft.\n\n"
        "We will hand over the full list before the last reading. Until then, please "
        "share the letter with organizations in your networks: [the letter page]"
        "(/letters/civic-space-in-the-treaty) says how to sign."
    ),
)

# Colours for the drawn logos: each dark enough for white initials (WCAG AA).
_COLOURS = ("#0b4f8a", "#1d6b35", "#8a1c4b", "#5b3f8a", "#8a4b0b", "#0b6b6b")


def _initials(name: str) -> str:
    words = [word for word in name.replace("-", " ").split() if word[:1].isalpha()]
    return "".join(word[0] for word in words[:3]).upper()


def _drawable(name: str | None) -> bool:
    """Whether a name's initials are Latin letters, which a drawn monogram can show well
    (Arabic letters would lose their joining, and a CJK name has no initials)."""
    initials = _initials(name or "")
    return bool(initials) and all(ord(letter) < 0x250 for letter in initials)


def logo_svg(name: str, n: int) -> bytes:
    """A plain logo for a demo organization: its initials on a coloured square."""
    colour = _COLOURS[n % len(_COLOURS)]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240">'
        f'<rect width="240" height="240" rx="36" fill="{colour}"/>'
        '<text x="120" y="144" font-family="DejaVu Sans, sans-serif" font-size="72" '
        f'font-weight="bold" fill="#ffffff" text-anchor="middle">{escape(_initials(name))}</text>'
        "</svg>"
    ).encode()


def add_coalition_demo(
    session: DbSession,
    letter: Letter,
    coordinator: Coordinator,
    signatures: Sequence[Signature],
    *,
    now: datetime,
) -> None:
    """Leads, logos, consent and an update on the demo ``letter`` (signatures flushed)."""
    organizations = [s for s in signatures if s.kind == "organization"]
    for rank, signature in enumerate(organizations[:INITIATORS], start=1):
        signature.lead_role, signature.lead_rank = LeadRole.INITIATOR, rank
    for rank, signature in enumerate(organizations[INITIATORS : INITIATORS + CO_SPONSORS], start=1):
        signature.lead_role, signature.lead_rank = LeadRole.CO_SPONSOR, rank
    for n, signature in enumerate(signatures):
        if n % CONSENT_EVERY == 0:
            signature.updates_consent_at = signature.confirmed_at
    drawable = [s for s in organizations if _drawable(s.organization)]
    for n, signature in enumerate(drawable[:WITH_LOGO]):
        prepared = prepare_logo(logo_svg(signature.organization or "", n), max_bytes=1 << 20)
        logo = attach_new(
            session,
            signature_id=signature.id,
            letter_id=letter.id,
            prepared=prepared,
            now=signature.confirmed_at or now,
        )
        if n < WITH_LOGO - LOGOS_PENDING:
            logo.status = LogoStatus.APPROVED
            logo.decided_by_id = coordinator.id
            logo.decided_at = (signature.confirmed_at or now) + timedelta(hours=5)
    letter.statements_enabled = True
    answered = organizations[INITIATORS + CO_SPONSORS : INITIATORS + CO_SPONSORS + len(STATEMENTS)]
    for n, (signature, statement) in enumerate(zip(answered, STATEMENTS, strict=True)):
        signature.statement = statement
        if n < len(STATEMENTS) - 1:
            signature.statement_status = StatementStatus.APPROVED
            signature.statement_decided_by_id = coordinator.id
            signature.statement_decided_at = (signature.confirmed_at or now) + timedelta(hours=4)
        else:
            signature.statement_status = StatementStatus.PENDING
    post_update(session, letter, DEMO_UPDATE, actor=coordinator, now=now - timedelta(days=2))
