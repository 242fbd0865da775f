"""Who was told of a substantive version and how they answered, and the letter's policy that
takes the silent ones off the list.

A signature was *told* of substantive version V when it stood on the letter (confirmed,
not withdrawn) on a version before V at the moment the coordinators emailed V's change
(``LetterVersion.notified_at``). It *answered* by keeping its signature on V or a later
version (``Signature.reconfirmed_version_id``) or by withdrawing it.

The policy (``Letter.reconfirm_days``, off by default): a published signature told of V
that has not answered ``reconfirm_days`` days after V was told *lapses* (status
``lapsed``): off the public list and out of the counts the database keeps, holding its
address and organization, and back in its place when its signer uses the keep link.

The mail worker lapses what is due (``LapseWatch``) in batches: each batch one conditional
``UPDATE`` on a range of ids (keyset, ``LAPSE_BATCH`` at a time, each its own transaction),
so a letter of a hundred thousand signatures never holds one long transaction, and a
signature kept while the chore runs is never lapsed (the condition is in the UPDATE).
One audit event per run and letter says how many lapsed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import ColumnElement, and_, case, func, or_, select, update

from signatory.core.database import DbSession
from signatory.core.errors import DomainError
from signatory.letters.service import SUBSTANTIVE
from signatory.models import (
    STANDING_STATUSES,
    Coordinator,
    Letter,
    LetterStatus,
    LetterVersion,
    Signature,
    SignatureStatus,
    audit,
)
from signatory.models.status import sources

log = logging.getLogger(__name__)

# Rows per conditional UPDATE: short transactions however large the letter.
LAPSE_BATCH = 2000
# How often the mail worker looks for signatures due to lapse: a policy counted in days.
LAPSE_CHECK_EVERY = timedelta(minutes=10)
# The policy's bounds, in days.
DAYS_MIN, DAYS_MAX = 1, 365
# Letters whose list may still change: a delivered one's is final.
_WATCHED = (LetterStatus.OPEN, LetterStatus.CLOSED)


@dataclass(frozen=True)
class _Versions:
    """The ids of a letter's versions before a told version, and from it on."""

    earlier: list[int]
    from_on: list[int]


def _split(session: DbSession, letter_id: int, number: int) -> _Versions:
    rows = session.execute(
        select(LetterVersion.id, LetterVersion.number).where(LetterVersion.letter_id == letter_id)
    ).all()
    return _Versions(
        earlier=[row.id for row in rows if row.number < number],
        from_on=[row.id for row in rows if row.number >= number],
    )


def _told(letter_id: int, version: LetterVersion, versions: _Versions) -> ColumnElement[bool]:
    """The signatures told of ``version`` (see the module's docstring), in any status since."""
    told_at = version.notified_at
    assert told_at is not None
    standing_since = func.coalesce(
        Signature.confirmed_at, Signature.published_at, Signature.created_at
    )
    return and_(
        Signature.letter_id == letter_id,
        Signature.version_id.in_(versions.earlier),
        Signature.status.in_((*STANDING_STATUSES, SignatureStatus.WITHDRAWN)),
        standing_since <= told_at,
        or_(Signature.withdrawn_at.is_(None), Signature.withdrawn_at > told_at),
    )


def _kept(versions: _Versions) -> ColumnElement[bool]:
    return Signature.reconfirmed_version_id.in_(versions.from_on)


# --- What the coordinators see ------------------------------------------------------------


@dataclass(frozen=True)
class VersionCounts:
    """How the signatories told of one substantive version answered."""

    version: LetterVersion
    told: int
    reconfirmed: int
    withdrawn: int
    lapsed: int
    # When the letter's policy lapses the silent ones (None: no policy).
    lapses_at: datetime | None

    @property
    def not_answered(self) -> int:
        return self.told - self.reconfirmed - self.withdrawn


def told_versions(session: DbSession, letter: Letter) -> list[LetterVersion]:
    """The letter's substantive versions whose earlier signatories were told, newest first."""
    return list(
        session.scalars(
            select(LetterVersion)
            .where(
                LetterVersion.letter_id == letter.id,
                LetterVersion.kind == SUBSTANTIVE,
                LetterVersion.notified_at.is_not(None),
            )
            .order_by(LetterVersion.number.desc())
        )
    )


def version_counts(session: DbSession, letter: Letter) -> list[VersionCounts]:
    """Per told substantive version, newest first: told, re-confirmed, withdrawn since,
    lapsed (of those not answered), one aggregate query each."""
    counted = []
    for version in told_versions(session, letter):
        versions = _split(session, letter.id, version.number)
        withdrawn = Signature.status == SignatureStatus.WITHDRAWN
        row = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((and_(_kept(versions), ~withdrawn), 1), else_=0)), 0),
                func.coalesce(func.sum(case((withdrawn, 1), else_=0)), 0),
                func.coalesce(
                    func.sum(case((Signature.status == SignatureStatus.LAPSED, 1), else_=0)), 0
                ),
            ).where(_told(letter.id, version, versions))
        ).one()
        assert version.notified_at is not None
        counted.append(
            VersionCounts(
                version=version,
                told=int(row[0]),
                reconfirmed=int(row[1]),
                withdrawn=int(row[2]),
                lapsed=int(row[3]),
                lapses_at=(
                    version.notified_at + timedelta(days=letter.reconfirm_days)
                    if letter.reconfirm_days
                    else None
                ),
            )
        )
    return counted


# --- The policy -----------------------------------------------------------------------------


class InvalidPolicy(DomainError):
    pass


def set_policy(
    session: DbSession, letter: Letter, days: int | None, *, actor: Coordinator, now: datetime
) -> bool:
    """Set the letter's policy to ``days`` (None: off); whether it changed. Audited.

    Turning it off lapses nobody more; signatures already lapsed come back when their
    signers keep them, as before.
    """
    if days is not None and not DAYS_MIN <= days <= DAYS_MAX:
        raise InvalidPolicy(
            gettext(
                "Choose between %(min)s and %(max)s days, or leave the field empty.",
                min=DAYS_MIN,
                max=DAYS_MAX,
            )
        )
    if letter.status == LetterStatus.DELIVERED:
        raise InvalidPolicy(gettext("The letter was delivered: its list is final."))
    before = letter.reconfirm_days
    if before == days:
        return False
    letter.reconfirm_days = days
    audit.record(
        session,
        "letter.reconfirm_policy_changed",
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        detail={"days": days, "before": before},
        now=now,
    )
    session.flush()
    return True


# --- Lapsing --------------------------------------------------------------------------------


def _lapse_version(
    session: DbSession, letter_id: int, version: LetterVersion, *, now: datetime, batch_size: int
) -> int:
    versions = _split(session, letter_id, version.number)
    due = and_(
        _told(letter_id, version, versions),
        Signature.status.in_(sources("lapse")),
        or_(Signature.reconfirmed_version_id.is_(None), ~_kept(versions)),
        # An erased signer can be written to no more: nothing asks them to answer.
        Signature.erased_at.is_(None),
    )
    lapsed, after = 0, 0
    while True:
        ids = list(
            session.scalars(
                select(Signature.id)
                .where(due, Signature.id > after)
                .order_by(Signature.id)
                .limit(batch_size)
            )
        )
        if not ids:
            return lapsed
        result = session.execute(
            update(Signature)
            .where(Signature.id >= ids[0], Signature.id <= ids[-1], due)
            .values(status=SignatureStatus.LAPSED, status_changed_at=now)
            .execution_options(synchronize_session=False)
        )
        lapsed += result.rowcount  # type: ignore[attr-defined]
        session.commit()
        if len(ids) < batch_size:
            return lapsed
        after = ids[-1]


def lapse_due(
    session: DbSession, *, now: datetime, batch_size: int = LAPSE_BATCH
) -> dict[int, int]:
    """Lapse every signature due under its letter's policy; how many, per letter id.

    Commits after each batch, and after each letter's audit event: one letter's failure
    does not undo another's, and a batch never waits for the whole letter.
    """
    letters = session.execute(
        select(Letter.id, Letter.reconfirm_days)
        .where(Letter.reconfirm_days.is_not(None), Letter.status.in_(_WATCHED))
        .order_by(Letter.id)
    ).all()
    session.commit()
    done = {}
    for letter_id, days in letters:
        if not days:
            continue
        due_versions = list(
            session.scalars(
                select(LetterVersion)
                .where(
                    LetterVersion.letter_id == letter_id,
                    LetterVersion.kind == SUBSTANTIVE,
                    LetterVersion.notified_at <= now - timedelta(days=days),
                )
                .order_by(LetterVersion.number)
            )
        )
        count, numbers = 0, []
        for version in due_versions:
            lapsed = _lapse_version(session, letter_id, version, now=now, batch_size=batch_size)
            if lapsed:
                count += lapsed
                numbers.append(version.number)
        if not count:
            continue
        audit.record(
            session,
            "letter.signatures_lapsed",
            actor_label="system",
            letter_id=letter_id,
            detail={"count": count, "days": days, "versions": numbers},
            now=now,
        )
        session.commit()
        done[letter_id] = count
    return done


@dataclass
class LapseWatch:
    """The mail worker's chore: ``lapse_due`` every ``LAPSE_CHECK_EVERY``."""

    every: timedelta = LAPSE_CHECK_EVERY
    next_at: datetime | None = field(default=None)

    @classmethod
    def from_config(cls, _config: Mapping[str, Any]) -> LapseWatch:
        return cls()

    def run_if_due(self, session: DbSession, *, now: datetime) -> dict[int, int] | None:
        if self.next_at is not None and now < self.next_at:
            return None
        self.next_at = now + self.every
        try:
            done = lapse_due(session, now=now)
        except Exception:
            # The policy must never stop the mail.
            session.rollback()
            log.exception("lapsing signatures not re-confirmed failed")
            return None
        if done:
            log.info("lapsed %s signature(s) not re-confirmed in time", sum(done.values()))
        return done
