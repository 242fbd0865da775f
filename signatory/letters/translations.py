"""Translations of a letter's text, the authoritative text, and the language of each signature.

The rules this module keeps:

- A translation belongs to one version of the text. Publishing a new version carries no
  translation over as if it matched the new text: the new version starts with its own
  text only, and an editor may copy the translations of an earlier version as a starting
  point. A copy, like any translation whose version's text changed after it was written
  (a draft corrected in place), *needs review*: it stays off the public page until an
  editor saves it against the text it translates. ``LetterTranslation.source_sha256``
  records which text that was.
- One text of each version is authoritative: the version's own, unless an editor makes a
  translation authoritative. Adding, changing and removing translations and changing the
  authoritative text are editor actions, each audited.
- What people signed is not rewritten: the authoritative translation of a version that
  has signatures cannot be edited in place, and the authoritative text cannot be removed.
- A delivered letter is frozen: its translations do not change either.
- There is one list of signatories whatever the language. Each signature records the
  interface language its signer used (``Signature.language``). The coordinators see the
  counts per language here; the public list, its CSV and JSON downloads and the API do not
  show it. It is harmless, but signers were told which of their details would be public,
  and the language of the pages they happened to read was not among them.

Services take the session and explicit arguments, add and flush, and never commit.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession, savepoint
from signatory.core.text import render_markdown
from signatory.letters import diff
from signatory.letters.service import BODY_MAX, TITLE_MAX
from signatory.letters.texts import (
    TranslationError,
    TranslationNotFound,
    copy_source,
    language_name,
    needs_review,
    parse_language,
    source_digest,
    translations_of,
    version_has_signatures,
)
from signatory.models import (
    Coordinator,
    Letter,
    LetterStatus,
    LetterTranslation,
    LetterVersion,
    audit,
)

# --- Changes (editors) --------------------------------------------------------------------


def _refuse_if_delivered(letter: Letter) -> None:
    if letter.status == LetterStatus.DELIVERED:
        raise TranslationError(
            gettext(
                "This letter was delivered to its recipient, so its texts can no longer change."
            )
        )


def _already_translated(version: LetterVersion, tag: str) -> str:
    return gettext(
        "Version %(number)s already has a translation into %(language)s. Edit that one instead.",
        number=version.number,
        language=language_name(tag),
    )


def _checked_title(title: str) -> str:
    value = " ".join((title or "").split())
    if not value:
        raise TranslationError(gettext("Give the letter's title in this language."), field="title")
    if len(value) > TITLE_MAX:
        raise TranslationError(
            gettext("The title is longer than %(max)s characters.", max=TITLE_MAX), field="title"
        )
    return value


def _checked_body(body_markdown: str) -> str:
    body = diff.normalise(body_markdown or "")
    if not body.strip():
        raise TranslationError(gettext("Write the translated text."), field="body")
    if len(body) > BODY_MAX:
        grouped = format(BODY_MAX, ",")
        raise TranslationError(
            gettext("The text is longer than %(max)s characters. Shorten it.", max=grouped),
            field="body",
        )
    return body


def _translation_in(
    session: DbSession, version: LetterVersion, tag: str
) -> LetterTranslation | None:
    return session.scalar(
        select(LetterTranslation)
        .options(joinedload(LetterTranslation.author))
        .where(LetterTranslation.version_id == version.id, LetterTranslation.language == tag)
    )


def translation_for(session: DbSession, version: LetterVersion, language: str) -> LetterTranslation:
    """The version's translation into ``language`` (a tag as typed), or ``TranslationNotFound``."""
    try:
        tag = parse_language(language)
    except TranslationError:
        raise TranslationNotFound(
            gettext("“%(code)s” is not a language code.", code=language[:40])
        ) from None
    translation = _translation_in(session, version, tag)
    if translation is None:
        raise TranslationNotFound(
            gettext(
                "Version %(number)s has no translation into %(language)s.",
                number=version.number,
                language=language_name(tag),
            )
        )
    return translation


def _audit(
    session: DbSession,
    action: str,
    letter: Letter,
    version: LetterVersion,
    *,
    actor: Coordinator,
    now: datetime,
    **detail: object,
) -> None:
    audit.record(
        session,
        action,
        actor_label="coordinator",
        actor_id=actor.id,
        letter_id=letter.id,
        detail={"version": version.number, **detail},
        now=now,
    )


def add_translation(
    session: DbSession,
    letter: Letter,
    *,
    language: str,
    title: str,
    body_markdown: str,
    author: Coordinator,
    now: datetime,
) -> LetterTranslation:
    """Add a translation of the current version's text (audited ``letter.translation_added``)."""
    _refuse_if_delivered(letter)
    version = letter.current_version
    tag = parse_language(language)
    if tag == version.language:
        raise TranslationError(
            gettext(
                "Version %(number)s is itself written in %(language)s. Choose another language, "
                "or change the language of the text below.",
                number=version.number,
                language=language_name(tag),
            ),
            field="language",
        )
    body = _checked_body(body_markdown)
    already = _translation_in(session, version, tag)
    if already is not None:
        raise TranslationError(
            _already_translated(version, tag),
            field="language",
        )
    # By id, not through ``version.translations``: a refused insert below then leaves no
    # stale member in the version's loaded collection.
    translation = LetterTranslation(
        version_id=version.id,
        language=tag,
        title=_checked_title(title),
        body_markdown=body,
        body_html=render_markdown(body),
        source_sha256=source_digest(version),
        author_id=author.id,
        created_at=now,
        updated_at=now,
    )
    try:
        with savepoint(session):
            session.add(translation)
    except IntegrityError:
        # (version, language) is unique: another editor added it a moment ago.
        raise TranslationError(
            _already_translated(version, tag),
            field="language",
        ) from None
    _audit(
        session,
        "letter.translation_added",
        letter,
        version,
        actor=author,
        now=now,
        language=tag,
    )
    return translation


def update_translation(
    session: DbSession,
    letter: Letter,
    language: str,
    *,
    title: str,
    body_markdown: str,
    author: Coordinator,
    now: datetime,
) -> bool:
    """Save a translation of the current version: it now matches the version's text.

    Saving a translation that needed review (a copy, or one whose original changed)
    marks it as reviewed even when its words stay the same. Returns False when nothing
    changed at all; otherwise audited ``letter.translation_updated``.
    """
    _refuse_if_delivered(letter)
    version = letter.current_version
    translation = translation_for(session, version, language)
    new_title, body = _checked_title(title), _checked_body(body_markdown)
    reviewed = needs_review(translation)
    changed = [
        name
        for name, differs in (
            ("title", new_title != translation.title),
            ("text", body != translation.body_markdown),
        )
        if differs
    ]
    if not changed and not reviewed:
        return False
    if (
        changed
        and translation.language == version.authoritative_language
        and version_has_signatures(session, version)
    ):
        raise TranslationError(
            gettext(
                "This is the authoritative text of version %(number)s, and people have signed "
                "it: what they signed is not rewritten. Publish a new version of the letter "
                "instead.",
                number=version.number,
            ),
            field="body",
        )
    translation.title = new_title
    translation.body_markdown = body
    translation.body_html = render_markdown(body)
    translation.source_sha256 = source_digest(version)
    translation.author_id = author.id
    translation.updated_at = now
    _audit(
        session,
        "letter.translation_updated",
        letter,
        version,
        actor=author,
        now=now,
        language=translation.language,
        changed=changed,
        needed_review=reviewed,
    )
    return True


def remove_translation(
    session: DbSession, letter: Letter, language: str, *, actor: Coordinator, now: datetime
) -> LetterTranslation:
    """Remove a translation of the current version (audited ``letter.translation_removed``).

    The authoritative text cannot be removed: make another one authoritative first.
    """
    _refuse_if_delivered(letter)
    version = letter.current_version
    translation = translation_for(session, version, language)
    if translation.language == version.authoritative_language:
        raise TranslationError(
            gettext(
                "The %(language)s text is the authoritative one. Make another text "
                "authoritative before removing it.",
                language=language_name(translation.language),
            )
        )
    session.delete(translation)
    session.flush()
    _audit(
        session,
        "letter.translation_removed",
        letter,
        version,
        actor=actor,
        now=now,
        language=translation.language,
        title=translation.title,
    )
    return translation


def set_authoritative(
    session: DbSession, letter: Letter, language: str, *, actor: Coordinator, now: datetime
) -> bool:
    """Make the current version's text in ``language`` the authoritative one.

    ``language`` is the version's own language or one of its translations' (one that does
    not need review). Returns False when it already was; otherwise audited
    ``letter.authoritative_changed``.
    """
    _refuse_if_delivered(letter)
    version = letter.current_version
    try:
        tag = parse_language(language)
    except TranslationError as error:
        raise TranslationError(error.message, field="authoritative") from None
    if tag != version.language:
        translation = translation_for(session, version, tag)
        if needs_review(translation):
            raise TranslationError(
                gettext(
                    "The %(language)s translation needs review against version %(number)s's "
                    "text. Save it first, then make it authoritative.",
                    language=language_name(tag),
                    number=version.number,
                ),
                field="authoritative",
            )
    if tag == version.authoritative_language:
        return False
    previous = version.authoritative_language
    version.authoritative_language = tag
    _audit(
        session,
        "letter.authoritative_changed",
        letter,
        version,
        actor=actor,
        now=now,
        **{"from": previous, "to": tag},
    )
    return True


def set_text_language(
    session: DbSession, letter: Letter, language: str, *, actor: Coordinator, now: datetime
) -> bool:
    """Say which language the current version's own text is written in (audited).

    The authoritative text follows when it was the version's own. Returns False when the
    language is unchanged.
    """
    _refuse_if_delivered(letter)
    version = letter.current_version
    tag = parse_language(language)
    if tag == version.language:
        return False
    if any(translation.language == tag for translation in translations_of(session, version)):
        raise TranslationError(
            gettext(
                "Version %(number)s has a translation into %(language)s: the text cannot be in "
                "that language too. Remove the translation first.",
                number=version.number,
                language=language_name(tag),
            ),
            field="language",
        )
    previous = version.language
    if version.authoritative_language == previous:
        version.authoritative_language = tag
    version.language = tag
    _audit(
        session,
        "letter.text_language_changed",
        letter,
        version,
        actor=actor,
        now=now,
        **{"from": previous, "to": tag},
    )
    return True


def copy_translations(
    session: DbSession, letter: Letter, *, author: Coordinator, now: datetime
) -> list[LetterTranslation]:
    """Copy the newest earlier version's translations to the current version, to review.

    Each copy keeps the digest of the text it was made from, so it needs review until an
    editor saves it against the current text; until then it is not public. Languages the
    current version already has are skipped. Each copy is audited
    ``letter.translation_added`` with the version it came from.
    """
    _refuse_if_delivered(letter)
    version = letter.current_version
    source = copy_source(session, letter)
    if source is None:
        raise TranslationError(
            gettext("No earlier version of this letter has translations to copy.")
        )
    present = {translation.language for translation in translations_of(session, version)}
    present.add(version.language)
    copies = []
    for original in translations_of(session, source):
        if original.language in present:
            continue
        copy = LetterTranslation(
            version_id=version.id,
            language=original.language,
            title=original.title,
            body_markdown=original.body_markdown,
            body_html=original.body_html,
            source_sha256=original.source_sha256,
            author_id=author.id,
            created_at=now,
            updated_at=now,
        )
        copies.append(copy)
    if not copies:
        raise TranslationError(
            gettext(
                "Version %(number)s already has every language version %(earlier)s had.",
                number=version.number,
                earlier=source.number,
            )
        )
    try:
        with savepoint(session):
            session.add_all(copies)
    except IntegrityError:
        raise TranslationError(
            gettext("Someone added translations at the same moment. Reload the page and try again.")
        ) from None
    for copy in copies:
        _audit(
            session,
            "letter.translation_added",
            letter,
            version,
            actor=author,
            now=now,
            language=copy.language,
            copied_from=source.number,
            needs_review=needs_review(copy),
        )
    return copies
