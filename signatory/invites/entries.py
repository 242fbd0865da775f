"""Invitations as coordinators type them: one organization, or a pasted list of lines.

Every field is checked and normalised here before anything is stored, so the service
(``invites.service.invite``) stores all of a list or none of it, and a refusal names the
field, or the line, that caused it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext

from signatory.core.errors import DomainError
from signatory.core.text import has_control_characters, invisible_characters
from signatory.models.invitation import EMAIL_MAX, INVITATION_NOTE_MAX
from signatory.models.signature import NAME_MAX

# The most invitations one paste may hold: a coalition's list, not a mailing list.
BATCH_MAX = 500


@dataclass(frozen=True)
class EntryRefused(Exception):
    """One invitation's field that cannot be stored (``field``), and why."""

    field: str
    message: str


class LinesRefused(DomainError):
    """Lines of a pasted list that cannot be stored: ``errors`` as (line number, message)."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(f"{number}: {message}" for number, message in errors))
        self.errors = errors


@dataclass(frozen=True)
class InviteEntry:
    """One organization to invite, as typed (``checked_entry`` normalises it)."""

    organization: str
    email: str
    name: str | None = None
    note: str | None = None


def _one_line(value: str, field: str, limit: int, *, required: bool) -> str | None:
    value = value.strip()
    if not value:
        if required:
            raise EntryRefused(field, gettext("Enter the organization's name."))
        return None
    if len(value) > limit:
        raise EntryRefused(field, gettext("Keep it under %(max)s characters.", max=limit))
    if invisible_characters(value) or has_control_characters(value):
        raise EntryRefused(
            field, gettext("Use letters, numbers and punctuation only, on one line.")
        )
    return value


def checked_entry(entry: InviteEntry) -> InviteEntry:
    """``entry`` trimmed and its address normalised; ``EntryRefused`` naming the field."""
    organization = _one_line(entry.organization, "organization", NAME_MAX, required=True)
    assert organization is not None
    email = entry.email.strip()
    if not email:
        raise EntryRefused("email", gettext("Enter the contact's email address."))
    try:
        email = validate_email(email[: EMAIL_MAX + 1], check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise EntryRefused(
            "email", gettext("Enter a valid email address: %(reason)s", reason=exc)
        ) from None
    return InviteEntry(
        organization=organization,
        email=email,
        name=_one_line(entry.name or "", "name", NAME_MAX, required=False),
        note=_one_line(entry.note or "", "note", INVITATION_NOTE_MAX, required=False),
    )


def parse_lines(text: str) -> list[InviteEntry]:
    """The pasted lines "Organization, email[, name[, note]]", each checked.

    The address is the first field holding an ``@``, so an organization's name may hold
    commas of its own ("Friends of the Earth, International, info@foe.example"); quotes
    work as in a CSV. Blank lines are skipped. ``LinesRefused`` lists every bad line.
    """
    entries: list[InviteEntry] = []
    errors: list[tuple[int, str]] = []
    lines = (text or "").splitlines()
    if len(lines) > BATCH_MAX * 2:
        raise LinesRefused([(0, gettext("Paste at most %(num)s lines at a time.", num=BATCH_MAX))])
    for number, line in enumerate(lines, start=1):
        # Each line read on its own: an unclosed quote must not swallow the lines after it.
        try:
            fields = [field.strip() for field in next(csv.reader([line], skipinitialspace=True))]
        except StopIteration:
            continue
        except csv.Error:
            errors.append((number, gettext("This line cannot be read: type it again.")))
            continue
        if not any(fields):
            continue
        at = next((i for i, field in enumerate(fields) if "@" in field), None)
        if at is None or at == 0:
            errors.append(
                (number, gettext("Write the organization, a comma, then the contact's email."))
            )
            continue
        rest = fields[at + 1 :]
        raw = InviteEntry(
            organization=", ".join(fields[:at]),
            email=fields[at],
            name=rest[0] if rest else None,
            note=", ".join(rest[1:]) or None,
        )
        try:
            entries.append(checked_entry(raw))
        except EntryRefused as refused:
            errors.append((number, refused.message))
    if len(entries) + len(errors) > BATCH_MAX:
        raise LinesRefused([(0, gettext("Paste at most %(num)s lines at a time.", num=BATCH_MAX))])
    if not entries and not errors:
        raise LinesRefused([(0, gettext("Paste one line per organization."))])
    if errors:
        raise LinesRefused(errors)
    return entries
