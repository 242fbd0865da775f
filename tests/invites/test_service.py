"""The invitations' service without a request: all-or-nothing inviting, and one signature
per invitation even when two forms sent with one link race."""

from __future__ import annotations

import pytest

from signatory.core.time import utcnow
from signatory.invites import service
from signatory.invites.entries import InviteEntry, LinesRefused
from signatory.models import SigningInvitation
from tests.factories import make_letter, make_member, make_signature


def test_two_forms_sent_with_one_link_make_one_signature(session):
    letter = make_letter(session)
    editor = make_member(session, letter, role="editor")
    [invitation] = service.invite(
        session, letter, [InviteEntry("Org", "a@org.example")], actor=editor, now=utcnow()
    )
    admission = service.Admission(invitation.id, invitation.nonce, invitation.email)
    first, second = make_signature(session, letter), make_signature(session, letter)
    service.use_invitation(
        session, admission, letter_id=letter.id, signature_id=first.id, email="a@org.example",
        now=utcnow(),
    )  # fmt: skip
    with pytest.raises(service.InvitationRequired) as refused:
        service.use_invitation(
            session, admission, letter_id=letter.id, signature_id=second.id,
            email="b@org.example", now=utcnow(),
        )  # fmt: skip
    assert refused.value.reason == "used"
    session.refresh(invitation)
    assert invitation.signature_id == first.id


def test_a_list_with_an_organization_already_invited_stores_none_of_it(session):
    letter = make_letter(session)
    editor = make_member(session, letter, role="editor")
    service.invite(
        session, letter, [InviteEntry("Org", "a@org.example")], actor=editor, now=utcnow()
    )
    with pytest.raises(LinesRefused) as refused:
        service.invite(
            session,
            letter,
            [InviteEntry("New Org", "n@new.example"), InviteEntry("ORG", "b@org.example")],
            actor=editor,
            now=utcnow(),
        )
    assert [number for number, _ in refused.value.errors] == [2]
    assert session.query(SigningInvitation).count() == 1
