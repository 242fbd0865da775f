"""Where a letter's signatures came from lately: by client-address prefix and email domain.

Only what signing stored is read: the prefix of the client's address (an IPv4 /24 or an
IPv6 /48, never the address) and the domain of the email. A group is *trending* when it
holds at least ``TREND_MIN`` signatures of the last hour and either a quarter or more of
that hour's signatures, or four times its own hourly average over the day: the shape of a
script or a mailing list pointed at the form, which a coordinator then looks at.

The report reads the last day's signatures of one letter through the index on
``(letter_id, created_at)``: its cost follows the day's traffic, not the letter's size,
and it stops reading at ``MAX_SCAN`` rows (and says so).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from signatory.core.database import DbSession
from signatory.models import Letter, Signature, SignatureStatus

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
TREND_MIN = 10
TREND_SHARE = 0.25
TREND_RATE = 4.0
# The most groups of each kind shown, busiest first, and the most rows read.
TOP = 20
MAX_SCAN = 200_000


@dataclass(frozen=True)
class Group:
    """Signatures from one prefix or domain: in the last hour, the last day, still unconfirmed."""

    value: str
    hour: int
    day: int
    unconfirmed: int
    trending: bool


@dataclass(frozen=True)
class TrafficReport:
    since: datetime
    hour_total: int
    day_total: int
    prefixes: list[Group]
    domains: list[Group]
    # True when the day held more than MAX_SCAN signatures and only the newest were read.
    truncated: bool

    @property
    def trending(self) -> list[Group]:
        return [g for g in (*self.prefixes, *self.domains) if g.trending]


def email_domain(email_key: str | None) -> str:
    """The domain part of an email key (an erased key has none)."""
    return (email_key or "").rpartition("@")[2] or "—"


def is_trending(hour: int, day: int, hour_total: int) -> bool:
    if hour < TREND_MIN:
        return False
    if hour >= TREND_SHARE * hour_total:
        return True
    # Its hourly rate over the rest of the day, against the last hour.
    earlier = max(day - hour, 0) / 23
    return hour >= TREND_RATE * max(earlier, 1.0)


def _groups(
    hour: Counter[str], day: Counter[str], unconfirmed: Counter[str], hour_total: int
) -> list[Group]:
    busiest = sorted(day, key=lambda value: (-hour[value], -day[value], value))[:TOP]
    return [
        Group(
            value=value,
            hour=hour[value],
            day=day[value],
            unconfirmed=unconfirmed[value],
            trending=is_trending(hour[value], day[value], hour_total),
        )
        for value in busiest
    ]


def traffic(session: DbSession, letter: Letter, *, now: datetime) -> TrafficReport:
    """Signatures of ``letter`` created in the last day, grouped by prefix and by domain."""
    since = now - DAY
    hour_start = now - HOUR
    rows = session.execute(
        select(
            Signature.client_prefix,
            Signature.email_key,
            Signature.status,
            Signature.created_at,
        )
        .where(Signature.letter_id == letter.id, Signature.created_at >= since)
        .order_by(Signature.created_at.desc())
        .limit(MAX_SCAN + 1)
    ).all()
    truncated = len(rows) > MAX_SCAN
    rows = rows[:MAX_SCAN]
    counters: dict[str, tuple[Counter[str], Counter[str], Counter[str]]] = {
        "prefix": (Counter(), Counter(), Counter()),
        "domain": (Counter(), Counter(), Counter()),
    }
    hour_total = 0
    for prefix, key, status, created_at in rows:
        recent = created_at >= hour_start
        hour_total += recent
        for kind, value in (("prefix", prefix or "—"), ("domain", email_domain(key))):
            hour, day, unconfirmed = counters[kind]
            day[value] += 1
            if recent:
                hour[value] += 1
            if status == SignatureStatus.UNCONFIRMED:
                unconfirmed[value] += 1
    return TrafficReport(
        since=since,
        hour_total=hour_total,
        day_total=len(rows),
        prefixes=_groups(*counters["prefix"], hour_total),
        domains=_groups(*counters["domain"], hour_total),
        truncated=truncated,
    )
