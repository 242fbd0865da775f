"""A demo letter with realistic (invented) signatories, so a first run has something to show.

The organizations, people and domains are fictional; ``.example`` domains are reserved
and can never belong to anyone.

It also makes a demo coordinator account (owner of the demo letter, with a fixed,
documented password: it exists only in a local demo database), a moderation queue with
the cases a moderator meets (a free-mail address, a near-duplicate organization name, an
acronym of a name already on the list, a plain domain mismatch) and a second,
substantive version of the text, with earlier signatures still on the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signatory.core.domains import email_matches_website
from signatory.core.text import render_markdown
from signatory.letters.service import create_letter
from signatory.models import (
    LIVE_STATUSES,
    Coordinator,
    Letter,
    LetterVersion,
    Membership,
    MembershipRole,
    Moderation,
    NotifyPreference,
    Signature,
    SignatureKind,
    SignatureStatus,
    audit,
    new_nonce,
)
from signatory.models.signature import email_key
from signatory.team.accounts import create_coordinator

DEMO_SLUG = "civic-space-in-the-treaty"
DEMO_TITLE = "Keep civil society in the room: an open letter on the draft convention"
DEMO_RECIPIENT = "Chair of the Ad Hoc Committee on the draft convention"
DEMO_BODY = """\
Dear Madam Chair,

We, the undersigned organizations and individuals from every region, write as the
Committee enters its **final negotiating session**.

Civil society, industry and the technical community have contributed expertise at every
stage of these negotiations. We ask the Committee to keep that door open until the end:

1. **Keep informal consultations open** to accredited observers, with documents shared
   at least 48 hours in advance.
2. **Publish every revised draft** on the Committee's website on the day it is circulated.
3. **Protect the human-rights safeguards** in the current draft, including independent
   oversight and the principle of proportionality.

An instrument negotiated in the open will be stronger, more widely ratified and more
faithfully implemented.

Respectfully,

*The undersigned*
"""

# Version 2: a substantive change (a fourth request, and more in the second), so the
# version history has a readable diff and earlier signatures visibly point at version 1.
DEMO_BODY_V2 = DEMO_BODY.replace(
    "2. **Publish every revised draft** on the Committee's website on the day it is circulated.",
    "2. **Publish every revised draft**, with its annexes and a summary of what changed, on\n"
    "   the Committee's website on the day it is circulated.",
).replace(
    "   oversight and the principle of proportionality.\n",
    "   oversight and the principle of proportionality.\n"
    "4. **Record who takes part** in informal consultations, and publish that record after\n"
    "   each session.\n",
)
DEMO_V2_NOTE = (
    "Added a fourth request (a public record of who takes part in informal consultations) "
    "and asked for revised drafts to be published with their annexes."
)
# How long ago version 2 was published: signatures before it signed version 1.
DEMO_V2_AGE = timedelta(days=8)

# The demo coordinator. The password is fixed and printed by ./scripts/serve: this
# account only ever exists in a local demo database, never in production data.
DEMO_COORDINATOR_EMAIL = "demo@signatory.example"
DEMO_COORDINATOR_NAME = "Demo Coordinator (demo account)"
DEMO_COORDINATOR_PASSWORD = "demo-coordinator-password"  # noqa: S105 - documented demo login

# Awaiting review, each a case a moderator meets: kind of case, organization, country,
# type, website, signer, title, email, hours ago.
_PENDING: list[tuple[str, str, str, str, str, str, str, str, int]] = [
    (
        "free-mail address",
        "Coastal Fishers Cooperative",
        "ID",
        "union",
        "https://coastalfishers.example",
        "Budi Santoso",
        "Chair",
        "coastal.fishers.coop@gmail.com",
        46,
    ),
    (
        "near-duplicate of Open Networks Alliance",
        "Open Network Alliance",
        "US",
        "ngo",
        "https://open-network-alliance.example",
        "Jordan Lee",
        "Campaigns Officer",
        "jordan@ona-campaigns.example",
        20,
    ),
    (
        "acronym of Nairobi Internet Policy Forum",
        "NIPF",
        "KE",
        "ngo",
        "https://nipf.example",
        "Otieno Were",
        "Volunteer",
        "otieno@nipf-kenya.example",
        9,
    ),
    (
        "domain mismatch",
        "Observatorio Latinoamericano de Internet",
        "UY",
        "academic",
        "https://olai.example",
        "Valentina Pereira",
        "Investigadora",
        "vpereira@olai-uy.example",
        3,
    ),
]

# name, country, type, website, signer, title, email local part, email domain (None = website's)
_ORGANIZATIONS: list[tuple[str, str, str, str, str, str, str, str | None]] = [
    (
        "Open Networks Alliance",
        "US",
        "ngo",
        "https://opennetworks.example",
        "Maya Thompson",
        "Executive Director",
        "maya",
        None,
    ),
    (
        "Fundación Datos Cívicos",
        "AR",
        "ngo",
        "https://datoscivicos.example",
        "Lucía Fernández",
        "Directora",
        "lucia",
        None,
    ),
    (
        "Digitale Freiheit e.V.",
        "DE",
        "ngo",
        "https://digitale-freiheit.example",
        "Jonas Weber",
        "Vorstand",
        "j.weber",
        None,
    ),
    (
        "Association Libertés Numériques",
        "FR",
        "ngo",
        "https://libertes-numeriques.example",
        "Camille Martin",
        "Déléguée générale",
        "camille",
        None,
    ),
    (
        "Nairobi Internet Policy Forum",
        "KE",
        "ngo",
        "https://nipf.example",
        "Wanjiru Kamau",
        "Coordinator",
        "wkamau",
        None,
    ),
    (
        "Lagos Digital Rights Initiative",
        "NG",
        "ngo",
        "https://ldri.example",
        "Chinedu Okafor",
        "Programme Lead",
        "chinedu",
        None,
    ),
    (
        "مركز الحقوق الرقمية",
        "JO",
        "ngo",
        "https://digitalrights-jo.example",
        "ليلى حداد",
        "مديرة البرامج",
        "layla",
        None,
    ),
    (
        "Інститут цифрової безпеки",
        "UA",
        "academic",
        "https://cyber-institute.example",
        "Олена Коваль",
        "Директорка",
        "olena",
        None,
    ),
    ("數位人權協會", "TW", "ngo", "https://dhr-tw.example", "林怡君", "秘書長", "yijun", None),
    (
        "Secure Software Guild",
        "GB",
        "association",
        "https://ssguild.example",
        "Oliver Bennett",
        "Chief Executive",
        "oliver",
        None,
    ),
    (
        "Cloudbridge Systems",
        "IE",
        "company",
        "https://cloudbridge.example",
        "Aoife Byrne",
        "General Counsel",
        "aoife.byrne",
        None,
    ),
    (
        "Nordlys Encryption AS",
        "NO",
        "company",
        "https://nordlys.example",
        "Ingrid Solberg",
        "CEO",
        "ingrid",
        None,
    ),
    (
        "Saffron Payments Ltd",
        "IN",
        "company",
        "https://saffronpay.example",
        "Arjun Mehta",
        "Head of Public Policy",
        "arjun",
        None,
    ),
    (
        "Kaveh Security Research",
        "CA",
        "company",
        "https://kavehsec.example",
        "Dana Kaveh",
        "Founder",
        "dana",
        "gmail.com",
    ),
    (
        "Instituto de Estudos da Rede",
        "BR",
        "academic",
        "https://ier.example",
        "Rafael Souza",
        "Pesquisador",
        "rafael",
        None,
    ),
    (
        "Centre for Law and Technology",
        "ZA",
        "academic",
        "https://clt.example",
        "Thandiwe Nkosi",
        "Director",
        "t.nkosi",
        None,
    ),
    (
        "Pacific Islands Connectivity Trust",
        "FJ",
        "foundation",
        "https://pict.example",
        "Sereana Vula",
        "Trustee",
        "sereana",
        None,
    ),
    (
        "Fondazione Rete Aperta",
        "IT",
        "foundation",
        "https://reteaperta.example",
        "Giulia Romano",
        "Presidente",
        "giulia",
        None,
    ),
    (
        "Unión de Trabajadores de Telecomunicaciones",
        "MX",
        "union",
        "https://utt.example",
        "Miguel Hernández",
        "Secretario General",
        "miguel",
        None,
    ),
    (
        "Nordic Journalists' Federation",
        "SE",
        "union",
        "https://njf.example",
        "Erik Lindqvist",
        "President",
        "erik",
        None,
    ),
    (
        "Interfaith Council on Technology",
        "PH",
        "faith",
        "https://ict-faith.example",
        "Fr. Paolo Reyes",
        "Convenor",
        "paolo",
        None,
    ),
    (
        "Open Source Hardware Cooperative",
        "NL",
        "company",
        "https://oshw-coop.example",
        "Sanne de Vries",
        "Board Member",
        "sanne",
        None,
    ),
    (
        "Mekong Digital Voices",
        "KH",
        "ngo",
        "https://mekongvoices.example",
        "Sokha Chan",
        "Founder",
        "sokha",
        None,
    ),
    (
        "Himalayan Internet Society",
        "NP",
        "ngo",
        "https://his.example",
        "Anil Shrestha",
        "Chair",
        "anil",
        None,
    ),
    (
        "Asociación Chilena de Ciberseguridad",
        "CL",
        "association",
        "https://acc.example",
        "Francisca Muñoz",
        "Presidenta",
        "fmunoz",
        None,
    ),
    (
        "Baltic Privacy Lab",
        "EE",
        "academic",
        "https://balticprivacy.example",
        "Kadri Tamm",
        "Lab Lead",
        "kadri",
        None,
    ),
    (
        "Seoul Civic Tech Network",
        "KR",
        "ngo",
        "https://sctn.example",
        "김민준",
        "대표",
        "minjun",
        None,
    ),
    (
        "Tokyo Cryptography Forum",
        "JP",
        "association",
        "https://tcf.example",
        "佐藤 花子",
        "理事",
        "hanako",
        None,
    ),
    (
        "Dakar Numérique Solidaire",
        "SN",
        "ngo",
        "https://dns-sn.example",
        "Awa Diop",
        "Présidente",
        "awa",
        None,
    ),
    (
        "Cairo Centre for Digital Policy",
        "EG",
        "ngo",
        "https://ccdp.example",
        "Omar Said",
        "Researcher",
        "omar",
        "outlook.com",
    ),
    (
        "Andean Community Radio Network",
        "PE",
        "ngo",
        "https://andeanradio.example",
        "Rosa Quispe",
        "Coordinadora",
        "rosa",
        None,
    ),
    (
        "Helvetic Trust Services SA",
        "CH",
        "company",
        "https://helvetic-trust.example",
        "Luca Meier",
        "CTO",
        "luca",
        None,
    ),
    (
        "Public Interest Tech Foundation",
        "AU",
        "foundation",
        "https://pitf.example",
        "Grace Nguyen",
        "Program Officer",
        "grace",
        None,
    ),
    (
        "Warsaw Institute for Digital Society",
        "PL",
        "academic",
        "https://wids.example",
        "Katarzyna Nowak",
        "Fellow",
        "k.nowak",
        None,
    ),
    (
        "Accra Tech Workers Union",
        "GH",
        "union",
        "https://atwu.example",
        "Kwame Mensah",
        "General Secretary",
        "kwame",
        None,
    ),
    (
        "Municipal Data Office of Riverton",
        "US",
        "public",
        "https://data.riverton.example",
        "Priya Raman",
        "Chief Data Officer",
        "priya",
        None,
    ),
]

# name, country, title, affiliation (for identification only), email
_INDIVIDUALS: list[tuple[str, str, str, str | None, str]] = [
    (
        "Prof. Amara Okeke",
        "NG",
        "Professor of International Law",
        "University of the Coast",
        "amara@uni-coast.example",
    ),
    ("Dr. Henrik Larsen", "DK", "Security researcher", None, "henrik@mailbox.example"),
    ("Sofía Castillo", "CO", "Human rights lawyer", "Colectivo Jurídico", "sofia@cj.example"),
    ("Nadia Rahman", "BD", "Journalist", "The Daily Ledger", "nadia@ledger.example"),
    ("Tomás Ó Briain", "IE", "Software engineer", None, "tomas@mailbox.example"),
    ("Yara Haddad", "LB", "Researcher", "Beirut Policy Institute", "yara@bpi.example"),
    ("Ahmad Karimi", "AF", "Digital security trainer", None, "ahmad@mailbox.example"),
    ("Élodie Laurent", "BE", "Policy analyst", "Brussels Forum", "elodie@bf.example"),
    ("Иван Петров", "BG", "Cryptographer", None, "ivan@mailbox.example"),
    ("Mele Taufa", "TO", "Community organiser", None, "mele@mailbox.example"),
    (
        "Dr. Chen Wei",
        "SG",
        "Lecturer in Computer Science",
        "Straits Institute of Technology",
        "chen@sit.example",
    ),
    ("Beatriz Alves", "PT", "Data protection officer", None, "beatriz@mailbox.example"),
]


@dataclass(frozen=True)
class DemoLoaded:
    letter: Letter
    organizations: int
    individuals: int
    coordinator_email: str = DEMO_COORDINATOR_EMAIL
    pending: int = len(_PENDING)


def load_demo(session: Session, *, now: datetime) -> DemoLoaded | None:
    """Create the demo letter, its signatories, coordinator, queue and versions.

    None if everything is already there: a second run changes nothing. A database whose
    demo letter predates the workspace gets the coordinator, the queue and version 2.
    """
    letter = session.scalar(select(Letter).where(Letter.slug == DEMO_SLUG))
    coordinator = session.scalar(
        select(Coordinator).where(Coordinator.email == DEMO_COORDINATOR_EMAIL)
    )
    if letter is not None and coordinator is not None:
        return None
    if coordinator is None:
        coordinator = _demo_coordinator(session, now=now)
    if letter is None:
        return _new_demo_letter(session, coordinator, now=now)
    return _add_workspace_demo(session, letter, coordinator, now=now)


def _demo_coordinator(session: Session, *, now: datetime) -> Coordinator:
    coordinator = create_coordinator(
        session,
        email=DEMO_COORDINATOR_EMAIL,
        name=DEMO_COORDINATOR_NAME,
        password=DEMO_COORDINATOR_PASSWORD,
        now=now - timedelta(days=22),
    )
    # An email per signature awaiting review: when a newcomer signs the demo letter from
    # a mismatched address, the review request lands beside their confirmation email.
    coordinator.notify = NotifyPreference.EACH
    return coordinator


def _new_demo_letter(session: Session, coordinator: Coordinator, *, now: datetime) -> DemoLoaded:
    letter = create_letter(
        session,
        slug=DEMO_SLUG,
        title=DEMO_TITLE,
        recipient=DEMO_RECIPIENT,
        body_markdown=DEMO_BODY,
        now=now - timedelta(days=21),
        owner=coordinator,
        open_now=True,
        moderation=Moderation.MISMATCH,
        actor_label="demo",
    )
    letter.deadline = now + timedelta(days=30)
    first = letter.current_version
    second = _second_version(session, letter, coordinator, at=now - DEMO_V2_AGE)
    total = len(_ORGANIZATIONS) + len(_INDIVIDUALS)
    # Spread the signing times over twenty days, oldest first, all in the past.
    step = timedelta(days=20) / total
    times = [now - timedelta(days=21) + timedelta(hours=3) + step * i for i in range(total)]

    def signed(at: datetime) -> LetterVersion:
        return first if at < second.created_at else second

    for (org, country, kind_of, website, signer, title, local, domain), at in zip(
        _ORGANIZATIONS, times, strict=False
    ):
        email_domain = domain or website.split("//", 1)[1]
        verified = email_matches_website(email_domain, website)
        signature = _published(
            letter,
            signed(at),
            at,
            kind=SignatureKind.ORGANIZATION,
            organization=org,
            country=country,
            organization_type=kind_of,
            website=website,
            name=signer,
            title=title,
            email=f"{local}@{email_domain}",
            domain_verified=verified,
        )
        if not verified:
            # Under the letter's moderation these were reviewed and approved.
            signature.moderated_by_id = coordinator.id
            signature.moderated_at = at
        session.add(signature)
    for (name, country, title, affiliation, email), at in zip(
        _INDIVIDUALS, times[len(_ORGANIZATIONS) :], strict=True
    ):
        session.add(
            _published(
                letter,
                signed(at),
                at,
                kind=SignatureKind.INDIVIDUAL,
                organization=affiliation,
                country=country,
                name=name,
                title=title,
                email=email,
            )
        )
    _add_pending(session, letter, second, now=now)
    session.flush()
    return DemoLoaded(letter, len(_ORGANIZATIONS), len(_INDIVIDUALS))


def _add_workspace_demo(
    session: Session, letter: Letter, coordinator: Coordinator, *, now: datetime
) -> DemoLoaded:
    """The workspace parts, added to a demo letter loaded before there was a workspace."""
    member = session.scalar(
        select(Membership.id).where(
            Membership.letter_id == letter.id, Membership.coordinator_id == coordinator.id
        )
    )
    if member is None:
        session.add(
            Membership(
                coordinator=coordinator, letter=letter, role=MembershipRole.OWNER, created_at=now
            )
        )
    letter.moderation = Moderation.MISMATCH
    version = letter.current_version
    if version.number == 1:
        version = _second_version(session, letter, coordinator, at=now)
    _add_pending(session, letter, version, now=now)
    session.flush()
    published = {
        kind: session.scalar(
            select(func.count()).where(
                Signature.letter_id == letter.id,
                Signature.kind == kind,
                Signature.status == SignatureStatus.PUBLISHED,
            )
        )
        or 0
        for kind in SignatureKind
    }
    return DemoLoaded(
        letter, published[SignatureKind.ORGANIZATION], published[SignatureKind.INDIVIDUAL]
    )


def _second_version(
    session: Session, letter: Letter, author: Coordinator, *, at: datetime
) -> LetterVersion:
    # Inserted directly rather than through the editing service: the demo dates it in the
    # past, and its audit event says "demo".
    version = LetterVersion(
        letter=letter,
        number=2,
        kind="substantive",
        change_note=DEMO_V2_NOTE,
        body_markdown=DEMO_BODY_V2,
        body_html=render_markdown(DEMO_BODY_V2),
        author_id=author.id,
        created_at=at,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        "letter.text_changed",
        actor_label="demo",
        actor_id=author.id,
        letter_id=letter.id,
        detail={"version": 2, "kind": "substantive", "change_note": DEMO_V2_NOTE},
        now=at,
    )
    return version


def _add_pending(session: Session, letter: Letter, version: LetterVersion, *, now: datetime) -> int:
    """The moderation queue; entries whose address already signed are left as they are."""
    added = 0
    for _case, org, country, kind_of, website, signer, title, email, hours in _PENDING:
        taken = session.scalar(
            select(Signature.id).where(
                Signature.letter_id == letter.id,
                Signature.email_key == email_key(email),
                Signature.status.in_(LIVE_STATUSES),
            )
        )
        if taken is not None:
            continue
        at = now - timedelta(hours=hours)
        session.add(
            Signature(
                letter=letter,
                version=version,
                kind=SignatureKind.ORGANIZATION,
                organization=org,
                country=country,
                organization_type=kind_of,
                website=website,
                name=signer,
                title=title,
                email=email,
                domain_verified=email_matches_website(email.rpartition("@")[2], website),
                status=SignatureStatus.PENDING_REVIEW,
                confirm_nonce=new_nonce(),
                withdraw_nonce=new_nonce(),
                created_at=at - timedelta(minutes=12),
                confirmed_at=at,
                status_changed_at=at,
            )
        )
        added += 1
    return added


def _published(letter: Letter, version: LetterVersion, at: datetime, **fields: Any) -> Signature:
    return Signature(
        letter=letter,
        version=version,
        status=SignatureStatus.PUBLISHED,
        confirm_nonce=new_nonce(),
        withdraw_nonce=new_nonce(),
        created_at=at - timedelta(minutes=7),
        confirmed_at=at,
        published_at=at,
        status_changed_at=at,
        **fields,
    )
