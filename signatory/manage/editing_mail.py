"""The email telling an earlier signatory that the letter's text changed substantively."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from signatory import diff
from signatory.mail.registry import MailEnv, Undeliverable, email
from signatory.manage.letters_service import NOTIFIED_STATUSES
from signatory.models import LetterVersion, Signature
from signatory.signing.mail import withdraw_url

# Unchanged paragraphs kept around each change in the emailed comparison: enough to see
# where a change sits without repeating the whole letter.
CONTEXT_PARAGRAPHS = 1


@email("version_changed")
def _version_changed(session: Session, context: dict[str, Any], env: MailEnv) -> dict[str, Any]:
    """The difference between the version signed and the new one, and a withdrawal link.

    Checked again at send time: a signature withdrawn (or otherwise gone) while the
    message waited gets nothing, and neither does one already on this version or later.
    """
    signature_id, version_id = context.get("signature_id"), context.get("version_id")
    if not isinstance(signature_id, int) or not isinstance(version_id, int):
        raise Undeliverable("the message names no signature or version")
    signature = session.get(Signature, signature_id)
    if signature is None:
        raise Undeliverable(f"signature {signature_id} no longer exists; nothing to send")
    if signature.status not in NOTIFIED_STATUSES:
        raise Undeliverable(
            f"signature {signature_id} is now {signature.status}; it is no longer on the letter"
        )
    version = session.get(LetterVersion, version_id)
    if version is None or version.letter_id != signature.letter_id:
        raise Undeliverable(f"version {version_id} is not a version of this signature's letter")
    signed = signature.version
    if signed.number >= version.number:
        raise Undeliverable(
            f"signature {signature_id} was signed against version {signed.number}, "
            f"not before version {version.number}"
        )
    letter = signature.letter
    changes = diff.compare(signed.body_markdown, version.body_markdown)
    history = f"/letters/{letter.slug}/versions"
    return {
        "signature": signature,
        "letter": letter,
        "version": version,
        "signed_version": signed,
        "diff_text": diff.to_text(changes, context=CONTEXT_PARAGRAPHS),
        "diff_html": diff.to_html(changes, context=CONTEXT_PARAGRAPHS, email=True),
        "letter_url": env.url(f"/letters/{letter.slug}"),
        "history_url": env.url(history),
        "compare_url": env.url(f"{history}/compare?from={signed.number}&to={version.number}"),
        "withdraw_url": withdraw_url(signature, env),
        "base_url": env.base_url,
        # The signer's interface language when they signed: the email is written in it.
        "locale": signature.language,
    }
