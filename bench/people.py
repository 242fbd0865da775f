"""Realistic signatories for the benchmarks, as the app would have stored them.

About 70% organizations and 30% individuals from 40 countries (a Zipf curve), with names,
titles and websites in many scripts and spellings, signing over six weeks: a launch spike,
then a long tail. Each row holds what signing, confirming and moderating write (the
derived keys of ``signatory.models.signature``, the nonces, the statuses and their times,
the moderator of an approved one), since Core bulk inserts bypass the model's events.
Nothing here touches a database: ``bench.seed`` inserts the rows.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from signatory.core.domains import email_matches_website
from signatory.core.i18n import ORGANIZATION_TYPES, country_name
from signatory.core.text import comparison_key
from signatory.models import Moderation, SignatureKind, SignatureStatus
from signatory.models import signature as signature_keys
from signatory.models.common import new_nonce
from signatory.models.signature import ReviewReason

CAMPAIGN_START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
CAMPAIGN_DAYS = 42

# 40 countries; shares follow a Zipf curve (1/rank), from ~23% for the first to ~0.6%.
COUNTRIES = (
    "DE", "FR", "GB", "US", "KE", "NG", "BR", "IN", "ES", "IT",
    "NL", "BE", "SE", "PL", "AR", "MX", "ZA", "CA", "AU", "JP",
    "KR", "PH", "ID", "CO", "CL", "PE", "UA", "GH", "UG", "TZ",
    "EG", "MA", "TN", "SN", "PK", "BD", "NP", "TR", "GR", "PT",
)  # fmt: skip
COUNTRY_WEIGHTS = tuple(1 / rank for rank in range(1, len(COUNTRIES) + 1))

CITIES = (
    "Berlin", "Lyon", "Manchester", "Chicago", "Nairobi", "Lagos", "São Paulo", "Bengaluru",
    "Sevilla", "Torino", "Utrecht", "Gent", "Malmö", "Kraków", "Córdoba", "Guadalajara",
    "Durban", "Montréal", "Melbourne", "Ōsaka", "Busan", "Cebu", "Yogyakarta", "Medellín",
    "Valparaíso", "Arequipa", "Lviv", "Kumasi", "Gulu", "Arusha", "Alexandria", "Rabat",
    "Sfax", "Thiès", "Lahore", "Chattogram", "Pokhara", "İzmir", "Thessaloniki", "Porto",
)  # fmt: skip
FIRST_NAMES = (
    "Ana", "María José", "Jean-Baptiste", "Wanjiru", "Chinedu", "Oluwaseun", "Priya",
    "Siddharth", "Zoë", "Łukasz", "Małgorzata", "Søren", "Björn", "Ngozi", "Aisha",
    "Mohammed", "Fatima Zahra", "Yuki", "Min-jun", "Thandiwe", "Olena", "Dmytro", "Ольга",
    "محمد", "Nguyễn Thị", "Juan Pablo", "Emma", "Liam", "Sofía", "Mateus", "Amara",
    "Kwame", "Ingrid", "François", "Chloé", "Hiroshi", "Ji-woo", "Rahul", "Ayşe", "Eleni",
    "João", "Beatriz", "Tomás", "Achieng", "Kofi", "Nomvula", "Siobhán", "Pedro", "Lena",
    "Samuel",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "Dubois", "Smith", "Johnson", "Otieno", "Okafor", "Silva", "Sharma", "García",
    "Rossi", "de Vries", "Peeters", "Lindqvist", "Kowalski", "Fernández", "Hernández",
    "Nkosi", "Tremblay", "Nguyen", "Tanaka", "Kim", "Santos", "Wijaya", "Restrepo",
    "González", "Quispe", "Shevchenko", "Mensah", "Okello", "Mwakyusa", "Hassan", "El Amrani",
    "Ben Salah", "Diop", "Qureshi", "Rahman", "Shrestha", "Yılmaz", "Papadopoulos",
    "Ferreira", "O'Brien", "Ivanova", "Nakamura", "Achterberg", "Van den Broeck",
    "Abdullahi", "Wainaina", "Lefèvre", "Schmidt-Hoffmann", "Castillo Rojas",
)  # fmt: skip
TITLES = (
    "Executive Director", "Director", "Chair of the Board", "Policy Officer",
    "Secretary General", "Programme Manager", "Senior Legal Adviser", "Co-founder and CEO",
    "Head of Advocacy", "Professor of International Law", "President", "Coordinator",
    "General Counsel", "Campaigns Lead", "Research Fellow", "Deputy Director for Policy",
    "Board Member", "Head of Public Affairs", "Senior Researcher, Digital Rights Programme",
)  # fmt: skip
TOPICS = (
    "Digital Rights", "Human Rights", "Open Government", "Press Freedom", "Civic Space",
    "Climate Justice", "Privacy", "Internet Freedom", "Transparency", "Access to Information",
    "Democracy", "Women's Rights", "Indigenous Peoples' Rights", "Free Expression",
    "Data Protection", "Public Interest Technology", "Consumer Rights", "Workers' Rights",
    "Media Development", "Legal Aid", "Rule of Law", "Accountability", "Open Knowledge",
    "Youth Participation", "Environmental Law",
)  # fmt: skip
FORMS = (
    "Network", "Coalition", "Foundation", "Association", "Institute", "Centre", "Alliance",
    "Initiative", "Forum", "Council", "Collective", "Society", "Trust", "Observatory", "Lab",
    "Project", "Federation",
)  # fmt: skip
SECTORS = ("Media", "Transport", "Health", "Education", "Tech", "Public Service", "Textile")
WEBMAIL = ("gmail.com", "outlook.com", "proton.me", "yahoo.com", "posteo.de")

LETTER_BODY = """We, the undersigned organizations and individuals, write to you ahead of the
final session of the Ad Hoc Committee.

The draft treaty, as it stands, would let any state party demand data about journalists,
human rights defenders and researchers with no independent review, and would make
ordinary security research a crime. We ask the Committee to **protect civic space**:

1. Keep the negotiations open to observers, and publish every draft as it is tabled.
2. Narrow the scope to the crimes the treaty names, with intent and harm both required.
3. Make every cross-border request subject to prior independent judicial authorisation.
4. Protect good-faith security research, journalism and whistleblowing explicitly.
5. Include enforceable human rights safeguards, not only references to domestic law.

A treaty that meets these five tests can have our support. One that does not will make
all of us less safe online and off. We stand ready to meet the Chair and the delegations
at any time before the final session.
"""


def _ascii_slug(value: str, fallback: str) -> str:
    ascii_key = comparison_key(value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_key)[:40] or fallback


def _tld(country: str) -> str:
    return {"GB": "org.uk", "US": "org"}.get(country, country.lower())


def _person(rng: random.Random) -> str:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    roll = rng.random()
    if roll < 0.10:
        return f"{first} {rng.choice(FIRST_NAMES)} {last}"
    if roll < 0.18:
        return f"{first} {last}-{rng.choice(LAST_NAMES)}"
    return f"{first} {last}"


def _organization_name(rng: random.Random, country: str, org_type: str) -> str:
    city = rng.choice(CITIES)
    topic = rng.choice(TOPICS)
    form = rng.choice(FORMS)
    if org_type == "company":
        suffix = rng.choice(("GmbH", "Ltd", "SAS", "B.V.", "LLC", "S.A.", "AB"))
        return f"{rng.choice(LAST_NAMES)} & {rng.choice(LAST_NAMES)} {topic} {suffix}"
    if org_type == "union":
        return f"{rng.choice(SECTORS)} Workers' Union of {country_name(country)}"
    if org_type == "academic":
        return rng.choice(
            (
                f"Centre for {topic}, University of {city}",
                f"{city} Institute of Technology",
                f"{topic} Clinic, {city} School of Law",
            )
        )
    pattern = rng.randrange(4)
    if pattern == 0:
        return f"{topic} {form} {country_name(country)}"
    if pattern == 1:
        return f"{form} for {topic}"
    if pattern == 2:
        return f"{city} {topic} {form}"
    return f"{country_name(country)} {form} for {topic} and {rng.choice(TOPICS)}"


def _unique_organization(
    rng: random.Random, country: str, org_type: str, taken: set[str]
) -> tuple[str, str]:
    """A name and its comparison key, unique among the organizations (the partial index)."""
    for _ in range(3):
        name = _organization_name(rng, country, org_type)
        key = signature_keys.organization_key(name) or ""
        if key not in taken:
            taken.add(key)
            return name, key
    chapter = 2
    while True:
        candidate = f"{name} – {rng.choice(CITIES)} Chapter {chapter}"
        key = signature_keys.organization_key(candidate) or ""
        if key not in taken:
            taken.add(key)
            return candidate, key
        chapter += 1


ORGANIZATION_TYPE_WEIGHTS = (40, 10, 8, 6, 12, 8, 5, 3, 8)  # in ORGANIZATION_TYPES' order
KIND_WEIGHTS = (70, 30)  # organizations, individuals
# The interface languages signers used (``Signature.language``).
LANGUAGES = ("en", "fr", "es")
LANGUAGE_WEIGHTS = (70, 15, 15)
# Moderators approve the queue in batches at these hours (UTC) of a day, or the next day.
BATCH_HOURS = (10, 16, 34)


def signing_times(rng: random.Random, n: int) -> list[tuple[datetime, datetime]]:
    """(created_at, confirmed_at) of n signatures, in signing (id) order.

    A launch spike then a long tail over six weeks; the signer confirms minutes to hours
    after signing, so the order of signing and the order of publication differ.
    """
    span = CAMPAIGN_DAYS * 86_400
    offsets = sorted(
        rng.uniform(0, 3 * 86_400)
        if rng.random() < 0.35
        else min(span - 1, rng.expovariate(1 / (10 * 86_400)))
        for _ in range(n)
    )
    times = []
    for offset in offsets:
        created = CAMPAIGN_START + timedelta(seconds=offset)
        times.append((created, created + timedelta(seconds=20 + rng.expovariate(1 / 5_400))))
    return times


def next_batch(confirmed: datetime) -> datetime:
    """When a moderator's batch approval publishes a signature confirmed at ``confirmed``.

    Every signature of a batch gets the same instant: exact ties on ``published_at``,
    hundreds of rows long, which the list's keyset pages must step through.
    """
    day = confirmed.replace(hour=0, minute=0, second=0, microsecond=0)
    return next(
        batch for batch in (day + timedelta(hours=h) for h in BATCH_HOURS) if batch > confirmed
    )


def _needs_review(moderation: str, kind: str, verified: bool) -> bool:
    # ``models.status.needs_review`` for a signature without a review reason or a hold.
    if moderation == Moderation.ALL:
        return True
    return moderation == Moderation.MISMATCH and kind == SignatureKind.ORGANIZATION and not verified


@dataclass
class Signatories:
    """Signature rows for one letter, each with an email and an organization of its own.

    ``counts`` holds the published ones made so far per (kind, country). Keep the object
    to make more rows for the same letter later: it remembers the organizations taken.
    The same seed makes the same rows.
    """

    letter_id: int
    version_id: int
    seed: int = 2025
    moderation: str = Moderation.MISMATCH
    # Who approved the signatures that waited for review (None: no coordinator on file).
    moderator_id: int | None = None
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    # The organization and lookalike keys already on the letter, and the last email's
    # number: a letter made by another process carries on from what it holds.
    taken: set[str] = field(default_factory=set)
    lookalikes: set[str] = field(default_factory=set)
    serial: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def published(self, n: int) -> Iterator[dict[str, Any]]:
        """n published signatures, in signing order, over the campaign's six weeks.

        Those the letter's moderation sends to review (organizations whose email is not at
        their website's domain, on a letter moderating mismatches) or whose name looks
        like one already on the letter are published at a moderator's batch approval.
        """
        for created, confirmed in signing_times(self._rng, n):
            row = self._row(created)
            reviewed = row["review_reason"] is not None or _needs_review(
                self.moderation, row["kind"], row["domain_verified"]
            )
            published = next_batch(confirmed) if reviewed else confirmed
            row.update(
                status=SignatureStatus.PUBLISHED.value,
                confirmed_at=confirmed,
                published_at=published,
                status_changed_at=published,
            )
            if reviewed:
                row.update(moderated_by_id=self.moderator_id, moderated_at=published)
            self.counts[row["kind"], row["country"]] += 1
            yield row

    def unconfirmed(self, n: int, *, now: datetime) -> Iterator[dict[str, Any]]:
        """n signatures made in the hour before ``now``, their confirmation link unused."""
        for i in range(n):
            created = now - timedelta(seconds=3600 * (n - i) / n)
            row = self._row(created)
            row.update(status=SignatureStatus.UNCONFIRMED.value, status_changed_at=created)
            yield row

    def _row(self, created: datetime) -> dict[str, Any]:
        rng = self._rng
        self.serial += 1
        kind = rng.choices(
            (SignatureKind.ORGANIZATION.value, SignatureKind.INDIVIDUAL.value), KIND_WEIGHTS
        )[0]
        country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
        name = _person(rng)
        local = _ascii_slug(name.split()[0], "signer")
        review_reason = None
        organization: str | None
        key: str | None
        if kind == SignatureKind.ORGANIZATION:
            org_type = rng.choices(tuple(ORGANIZATION_TYPES), ORGANIZATION_TYPE_WEIGHTS)[0]
            organization, key = _unique_organization(rng, country, org_type, self.taken)
            domain = f"{_ascii_slug(organization, 'org')}.{_tld(country)}"
            website = f"https://www.{domain}/" if rng.random() < 0.5 else f"https://{domain}"
            email_domain = domain if rng.random() < 0.65 else rng.choice(WEBMAIL)
            title = rng.choice(TITLES) if rng.random() < 0.9 else None
            lookalike = signature_keys.lookalike_key(organization)
            if lookalike in self.lookalikes:
                review_reason = ReviewReason.LOOKALIKE_NAME.value
            self.lookalikes.add(lookalike or "")
        else:
            org_type = None
            website = None
            roll = rng.random()
            if roll < 0.45:
                organization = f"University of {rng.choice(CITIES)}"
            elif roll < 0.6:
                organization = f"{rng.choice(TOPICS)} {rng.choice(FORMS)}"
            else:
                organization = None
            key = signature_keys.organization_key(organization)
            lookalike = signature_keys.lookalike_key(organization)
            email_domain = rng.choice(WEBMAIL)
            title = rng.choice(TITLES) if rng.random() < 0.5 else None
        email = f"{local}.{self.serial}@{email_domain}"
        return {
            "letter_id": self.letter_id,
            "version_id": self.version_id,
            "kind": kind,
            "organization": organization,
            "organization_key": key,
            "country": country,
            "organization_type": org_type,
            "website": website,
            "name": name,
            "title": title,
            "email": email,
            "email_key": signature_keys.email_key(email),
            # As signing decides it: the email's registrable domain is the website's.
            "domain_verified": bool(website and email_matches_website(email_domain, website)),
            "status": SignatureStatus.UNCONFIRMED.value,
            "confirm_nonce": new_nonce(),
            "withdraw_nonce": new_nonce(),
            "manage_nonce": new_nonce(),
            "created_at": created,
            "confirmed_at": None,
            "published_at": None,
            "withdrawn_at": None,
            "status_changed_at": created,
            "moderated_by_id": None,
            "moderated_at": None,
            "moderation_reason": None,
            "language": rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0],
            "review_reason": review_reason,
            # Erased 30 days after signing (``CLIENT_PREFIX_RETENTION_DAYS``): the campaign
            # is older, and new rows come from no address worth keeping.
            "client_prefix": None,
            # Core inserts bypass the model's events, so the keys are filled here.
            "sort_key": signature_keys.sort_key(kind, organization, name),
            "search_key": signature_keys.search_key(organization, name),
            "lookalike_key": lookalike,
        }


def signature_rows(
    rng: random.Random, n: int, letter_id: int, version_id: int
) -> tuple[list[dict[str, Any]], Counter[tuple[str, str]]]:
    """n published signatures as Core insert rows, and their counts per (kind, country)."""
    signatories = Signatories(letter_id, version_id, seed=rng.randrange(2**32))
    rows = list(signatories.published(n))
    return rows, signatories.counts
