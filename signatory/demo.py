"""A demo letter with realistic (invented) signatories, so a first run has something to show.

The organizations, people and domains are fictional; ``.example`` domains are reserved
and can never belong to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .domains import email_matches_website
from .letters import create_letter
from .models import Letter, LetterVersion, Signature, SignatureKind, SignatureStatus, new_nonce
from .text import comparison_key

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


def load_demo(session: Session, *, now: datetime) -> DemoLoaded | None:
    """Create the demo letter and its published signatories; None if it is already there."""
    if session.scalar(select(Letter.id).where(Letter.slug == DEMO_SLUG)) is not None:
        return None
    letter = create_letter(
        session,
        slug=DEMO_SLUG,
        title=DEMO_TITLE,
        recipient=DEMO_RECIPIENT,
        body_markdown=DEMO_BODY,
        now=now - timedelta(days=21),
        open_now=True,
        actor_label="demo",
    )
    letter.deadline = now + timedelta(days=30)
    version = letter.current_version
    total = len(_ORGANIZATIONS) + len(_INDIVIDUALS)
    # Spread the signing times over the last three weeks, oldest first.
    times = [now - timedelta(days=21) + timedelta(hours=11 * i + 3) for i in range(total)]
    for (org, country, kind_of, website, signer, title, local, domain), at in zip(
        _ORGANIZATIONS, times, strict=False
    ):
        email_domain = domain or website.split("//", 1)[1]
        session.add(
            _published(
                letter,
                version,
                at,
                kind=SignatureKind.ORGANIZATION,
                organization=org,
                country=country,
                organization_type=kind_of,
                website=website,
                name=signer,
                title=title,
                email=f"{local}@{email_domain}",
                domain_verified=email_matches_website(email_domain, website),
            )
        )
    for (name, country, title, affiliation, email), at in zip(
        _INDIVIDUALS, times[len(_ORGANIZATIONS) :], strict=True
    ):
        session.add(
            _published(
                letter,
                version,
                at,
                kind=SignatureKind.INDIVIDUAL,
                organization=affiliation,
                country=country,
                name=name,
                title=title,
                email=email,
            )
        )
    session.flush()
    return DemoLoaded(letter, len(_ORGANIZATIONS), len(_INDIVIDUALS))


def _published(letter: Letter, version: LetterVersion, at: datetime, **fields: Any) -> Signature:
    organization = fields.get("organization")
    return Signature(
        letter=letter,
        version=version,
        organization_key=comparison_key(organization) if organization else None,
        email_key=fields["email"].lower(),
        status=SignatureStatus.PUBLISHED,
        confirm_nonce=new_nonce(),
        withdraw_nonce=new_nonce(),
        created_at=at - timedelta(minutes=7),
        confirmed_at=at,
        published_at=at,
        status_changed_at=at,
        **fields,
    )
