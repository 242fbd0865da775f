"""A letter's versions: what was signed against each, one version by number, two compared."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext, ngettext
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession
from signatory.letters import diff
from signatory.letters.queries import StatusCounts
from signatory.letters.service import SUBSTANTIVE, LetterError
from signatory.models import STANDING_STATUSES, Letter, LetterVersion, Signature


class VersionNotFound(LetterError):
    pass


@dataclass(frozen=True)
class VersionSummary(StatusCounts):
    version: LetterVersion
    # Signatures signed against this version, by status.
    counts: dict[str, int]
    # Live signatures signed against an earlier version: whom a notice of this one reaches.
    earlier_signatories: int

    @property
    def can_notify(self) -> bool:
        return (
            self.version.kind == SUBSTANTIVE
            and self.version.notified_at is None
            and self.earlier_signatories > 0
        )


def versions_with_authors(session: DbSession, letter: Letter) -> list[LetterVersion]:
    """The letter's versions, first to current, each with its author loaded (for pages)."""
    return list(
        session.scalars(
            select(LetterVersion)
            .options(joinedload(LetterVersion.author))
            .where(LetterVersion.letter_id == letter.id)
            .order_by(LetterVersion.number)
        )
    )


def version_summaries(session: DbSession, letter: Letter) -> list[VersionSummary]:
    """Every version of the letter, newest first, with the signatures made against each
    and who wrote it."""
    rows = session.execute(
        select(Signature.version_id, Signature.status, func.count())
        .where(Signature.letter_id == letter.id)
        .group_by(Signature.version_id, Signature.status)
    ).all()
    by_version: dict[int, dict[str, int]] = {}
    for version_id, status, count in rows:
        by_version.setdefault(version_id, {})[status] = count
    summaries: list[VersionSummary] = []
    live_before = 0
    for version in versions_with_authors(session, letter):
        counts = by_version.get(version.id, {})
        summaries.append(VersionSummary(version, counts, live_before))
        live_before += sum(counts.get(status, 0) for status in STANDING_STATUSES)
    return list(reversed(summaries))


def version_by_number(session: DbSession, letter: Letter, number: int) -> LetterVersion:
    version = session.scalar(
        select(LetterVersion).where(
            LetterVersion.letter_id == letter.id, LetterVersion.number == number
        )
    )
    if version is None:
        latest = letter.current_version.number
        raise VersionNotFound(
            ngettext(
                "This letter has no version %(number)s; it has version 1.",
                "This letter has no version %(number)s; it has versions 1 to %(num)s.",
                latest,
                number=number,
            )
        )
    return version


_VERSION_NUMBER = re.compile(r"[0-9]{1,9}")


def parse_compare(raw_from: str, raw_to: str, *, latest: int) -> tuple[int, int]:
    """Two version numbers as typed in a query string, checked against 1..``latest``."""
    if not raw_from or not raw_to:
        raise LetterError(gettext("Say which two versions to compare, for example ?from=1&to=2."))
    if not _VERSION_NUMBER.fullmatch(raw_from) or not _VERSION_NUMBER.fullmatch(raw_to):
        raise LetterError(gettext("Versions are given by their number, for example ?from=1&to=2."))
    numbers = int(raw_from), int(raw_to)
    for number in numbers:
        if not 1 <= number <= latest:
            raise LetterError(
                ngettext(
                    "This letter has only version 1; there is no version %(number)s.",
                    "This letter has versions 1 to %(num)s; there is no version %(number)s.",
                    latest,
                    number=number,
                )
            )
    return numbers


@dataclass(frozen=True)
class Comparison:
    old: LetterVersion
    new: LetterVersion
    diff: diff.TextDiff
    # The versions that lead from ``old`` to ``new``, with their kinds and notes.
    steps: list[LetterVersion]

    @property
    def html(self) -> Markup:
        """The whole text, changes marked with ``<ins>``/``<del>``; every word escaped."""
        return diff.to_html(self.diff)


def compare_versions(
    session: DbSession, letter: Letter, from_number: int, to_number: int
) -> Comparison:
    """The difference between two versions of the letter's text, older one first."""
    old = version_by_number(session, letter, from_number)
    new = version_by_number(session, letter, to_number)
    low, high = sorted((old.number, new.number))
    steps = [v for v in letter.versions if low < v.number <= high]
    return Comparison(old, new, diff.compare(old.body_markdown, new.body_markdown), steps)
