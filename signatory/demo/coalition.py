"""What the demo letter shows of a coalition's tools: lead organizations, logos (most
approved, two awaiting the coordinator), an update posted to the signatories, and
signatories who asked for updates by email. Everything goes through the same services
as the workspace's pages, so the demo shows what they make."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from signatory.core.database import DbSession
from signatory.models import Coordinator, Letter, LogoStatus, Signature
from signatory.models.signature import LeadRole
from signatory.organizations.images import prepare_logo
from signatory.organizations.logos import attach_new
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
    return "".join(word[0] for word in words[:3]).upper() or "?"


def logo_svg(name: str, n: int) -> bytes:
    """A plain logo for a demo organization: its initials on a coloured square."""
    colour = _COLOURS[n % len(_COLOURS)]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240">'
        f'<rect width="240" height="240" rx="36" fill="{colour}"/>'
        '<text x="120" y="146" font-family="DejaVu Sans, sans-serif" font-size="84" '
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
    for n, signature in enumerate(organizations[:WITH_LOGO]):
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
    post_update(session, letter, DEMO_UPDATE, actor=coordinator, now=now - timedelta(days=2))
