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

Language tags are BCP 47, limited to what a letter needs: an ISO 639-1 language, then
optionally a script (ISO 15924) and a region (ISO 3166-1 alpha-2 or a UN M.49 number),
e.g. ``fr``, ``pt-BR``, ``zh-Hant``, ``sr-Latn-RS``, ``es-419``.

Services take the session and explicit arguments, add and flush, and never commit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import pycountry
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signatory import diff, letters
from signatory.core.errors import DomainError
from signatory.core.text import folded, render_markdown
from signatory.models import (
    LANGUAGE_TAG_MAX,
    Coordinator,
    Letter,
    LetterStatus,
    LetterTranslation,
    LetterVersion,
    Signature,
    SignatureStatus,
    audit,
)

# Offered as suggestions in the form; any ISO 639-1 language is accepted.
SUGGESTED_LANGUAGES = (
    "ar", "de", "en", "es", "fa", "fr", "he", "hi", "id", "it", "ja", "ko", "nl", "pl",
    "pt", "pt-BR", "ru", "sw", "tr", "uk", "zh-Hans", "zh-Hant",
)  # fmt: skip

_TAG = re.compile(
    r"(?P<language>[A-Za-z]{2})"
    r"(?:[-_](?P<script>[A-Za-z]{4}))?"
    r"(?:[-_](?P<region>[A-Za-z]{2}|[0-9]{3}))?"
)


class TranslationError(DomainError):
    """A change to a letter's translations that cannot be made; ``field`` names its field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class TranslationNotFound(TranslationError):
    pass


# --- Language tags ------------------------------------------------------------------------


def parse_language(raw: str) -> str:
    """``raw`` as a canonical language tag ("PT_br" -> "pt-BR"), or ``TranslationError``."""
    value = (raw or "").strip()
    example = "Use a language code such as fr, es or ar, with a region if needed: pt-BR."
    if not value:
        raise TranslationError(f"Give the language's code. {example}", field="language")
    match = _TAG.fullmatch(value)
    if match is None or len(value) > LANGUAGE_TAG_MAX:
        raise TranslationError(
            f"“{value[:40]}” is not a language code. {example}", field="language"
        )
    language = match["language"].lower()
    if pycountry.languages.get(alpha_2=language) is None:
        raise TranslationError(
            f"“{language}” is not an ISO 639-1 language code. {example}", field="language"
        )
    tag = [language]
    if match["script"]:
        script = match["script"].title()
        if pycountry.scripts.get(alpha_4=script) is None:
            raise TranslationError(
                f"“{script}” is not an ISO 15924 script code (such as Latn, Cyrl or Hant).",
                field="language",
            )
        tag.append(script)
    if match["region"]:
        region = match["region"].upper()
        if not region.isdigit() and pycountry.countries.get(alpha_2=region) is None:
            raise TranslationError(
                f"“{region}” is not a country code. Give a two-letter ISO 3166-1 code, such "
                "as BR in pt-BR.",
                field="language",
            )
        tag.append(region)
    return "-".join(tag)


def primary(tag: str) -> str:
    """The language part of a tag: "pt-BR" -> "pt"."""
    return tag.split("-", 1)[0].lower()


def _cldr_name(tag: str, in_language: str) -> str | None:
    """The CLDR name of ``tag`` in ``in_language``, if Babel has one."""
    try:
        from babel import Locale, UnknownLocaleError
    except ImportError:  # pragma: no cover - Babel comes with Flask-Babel
        return None
    try:
        locale = Locale.parse(tag.replace("-", "_"))
        return locale.get_display_name(Locale.parse(in_language.replace("-", "_"))) or None
    except (UnknownLocaleError, ValueError):
        return None


@cache
def language_name(tag: str, in_language: str = "en") -> str:
    """The language's name in ``in_language``: "French", or "français" in French.

    Without Babel's data for it, its English name from ISO 639 ("Yoruba"), with the rest
    of the tag.
    """
    name = _cldr_name(tag, in_language)
    if name:
        return name
    found = pycountry.languages.get(alpha_2=primary(tag))
    base = found.name if found is not None else tag
    rest = tag.split("-", 1)[1] if "-" in tag else ""
    return f"{base} ({rest})" if rest else base


@cache
def autonym(tag: str) -> str:
    """The language named in itself ("Français", "Português (Brasil)"), as readers look for it."""
    name = _cldr_name(tag, tag)
    return name[:1].upper() + name[1:] if name else language_name(tag)


def names_in_itself(tag: str) -> bool:
    """Whether ``autonym(tag)`` is written in that language (so ``lang`` may say so)."""
    return _cldr_name(tag, tag) is not None


def suggestions(in_language: str = "en") -> list[tuple[str, str]]:
    """(tag, name) pairs for the form's list of suggestions, by name."""
    return sorted(
        ((tag, language_name(tag, in_language)) for tag in SUGGESTED_LANGUAGES),
        key=lambda pair: folded(pair[1]),
    )


def source_digest(version: LetterVersion) -> str:
    """The SHA-256 of a version's own text: what a translation of it was made from."""
    return hashlib.sha256(version.body_markdown.encode("utf-8")).hexdigest()


def needs_review(translation: LetterTranslation) -> bool:
    """The version's text is not the one this translation was written (or last saved) against."""
    return translation.source_sha256 != source_digest(translation.version)


# --- What readers see ---------------------------------------------------------------------


@dataclass(frozen=True)
class LetterText:
    """One text of a version: its own, or a translation."""

    language: str
    name: str
    # Whether ``name`` is written in the language it names.
    name_in_itself: bool
    # A translation's own title; None for the version's own text (the letter's title).
    title: str | None
    body_html: str
    authoritative: bool
    translation: bool


def _own_text(version: LetterVersion) -> LetterText:
    return LetterText(
        language=version.language,
        name=autonym(version.language),
        name_in_itself=names_in_itself(version.language),
        title=None,
        body_html=version.body_html,
        authoritative=version.authoritative_language == version.language,
        translation=False,
    )


def _translated_text(version: LetterVersion, translation: LetterTranslation) -> LetterText:
    return LetterText(
        language=translation.language,
        name=autonym(translation.language),
        name_in_itself=names_in_itself(translation.language),
        title=translation.title,
        body_html=translation.body_html,
        authoritative=version.authoritative_language == translation.language,
        translation=True,
    )


def translations_of(session: Session, version: LetterVersion) -> list[LetterTranslation]:
    """A version's translations, by language tag."""
    return list(
        session.scalars(
            select(LetterTranslation)
            .where(LetterTranslation.version_id == version.id)
            .order_by(LetterTranslation.language)
        )
    )


def public_translations(session: Session, version: LetterVersion) -> list[LetterTranslation]:
    """The translations of a version the public may read, by language tag.

    A translation that needs review is left out, unless it is the authoritative text
    (an editor's explicit choice, which the public must be able to read).
    """
    digest = source_digest(version)
    return [
        translation
        for translation in translations_of(session, version)
        if translation.source_sha256 == digest
        or translation.language == version.authoritative_language
    ]


def public_texts(session: Session, version: LetterVersion) -> list[LetterText]:
    """The texts of a version the public may read: the authoritative one first, then by name."""
    texts = [_own_text(version)]
    texts.extend(
        _translated_text(version, translation)
        for translation in public_translations(session, version)
    )
    return sorted(texts, key=lambda text: (not text.authoritative, folded(text.name)))


@dataclass(frozen=True)
class TextChoice:
    """The texts of a version on offer, and the one to show."""

    texts: list[LetterText]
    shown: LetterText
    authoritative: LetterText
    # A language the reader asked for (``?text=``) that this version has no text in.
    missing: str | None = None
    # The language of the page around the text, to name languages in its sentences.
    interface: str | None = None

    def _named(self, tag: str) -> str:
        return language_name(tag, self.interface or "en")

    @property
    def authoritative_name(self) -> str:
        return self._named(self.authoritative.language)

    @property
    def missing_name(self) -> str | None:
        return self._named(self.missing) if self.missing else None


def _find(texts: list[LetterText], tag: str) -> LetterText | None:
    """The text in ``tag``, else one in the same language with another region or script."""
    exact = next((text for text in texts if text.language.lower() == tag.lower()), None)
    if exact is not None:
        return exact
    return next((text for text in texts if primary(text.language) == primary(tag)), None)


def choose_text(
    texts: list[LetterText],
    *,
    requested: str | None,
    preferred: Sequence[str] = (),
    interface: str | None = None,
) -> TextChoice:
    """Which text to show: the one asked for, else the first of the reader's languages
    the version has a text in, else the authoritative one.

    ``requested`` is the reader's explicit choice as typed in the URL (checked here);
    ``preferred`` the reader's languages, most wanted first (tags as browsers send them;
    ones that are not language tags are skipped); ``interface`` the language of the page
    around the text, in which its notes name languages.
    """
    authoritative = next((text for text in texts if text.authoritative), texts[0])
    if requested:
        try:
            tag = parse_language(requested)
        except TranslationError:
            tag = None
        found = _find(texts, tag) if tag else None
        if found is not None:
            return TextChoice(texts, found, authoritative, interface=interface)
        if tag:
            # Asked for by name and missing: say so, over the authoritative text.
            return TextChoice(texts, authoritative, authoritative, tag, interface)
    for wanted in preferred:
        try:
            tag = parse_language(wanted)
        except TranslationError:
            continue
        found = _find(texts, tag)
        if found is not None:
            return TextChoice(texts, found, authoritative, interface=interface)
    return TextChoice(texts, authoritative, authoritative, interface=interface)


# --- Changes (editors) --------------------------------------------------------------------


def _refuse_if_delivered(letter: Letter) -> None:
    if letter.status == LetterStatus.DELIVERED:
        raise TranslationError(
            "This letter was delivered to its recipient, so its texts can no longer change."
        )


def _has_signatures(session: Session, version: LetterVersion) -> bool:
    return (
        session.scalar(select(Signature.id).where(Signature.version_id == version.id).limit(1))
        is not None
    )


def _checked_title(title: str) -> str:
    value = " ".join((title or "").split())
    if not value:
        raise TranslationError("Give the letter's title in this language.", field="title")
    if len(value) > letters.TITLE_MAX:
        raise TranslationError(
            f"The title is longer than {letters.TITLE_MAX} characters.", field="title"
        )
    return value


def _checked_body(body_markdown: str) -> str:
    body = diff.normalise(body_markdown or "")
    if not body.strip():
        raise TranslationError("Write the translated text.", field="body")
    if len(body) > letters.BODY_MAX:
        raise TranslationError(
            f"The text is longer than {letters.BODY_MAX:,} characters. Shorten it.", field="body"
        )
    return body


def _translation_in(session: Session, version: LetterVersion, tag: str) -> LetterTranslation | None:
    return session.scalar(
        select(LetterTranslation).where(
            LetterTranslation.version_id == version.id, LetterTranslation.language == tag
        )
    )


def translation_for(session: Session, version: LetterVersion, language: str) -> LetterTranslation:
    """The version's translation into ``language`` (a tag as typed), or ``TranslationNotFound``."""
    try:
        tag = parse_language(language)
    except TranslationError:
        raise TranslationNotFound(f"“{language[:40]}” is not a language code.") from None
    translation = _translation_in(session, version, tag)
    if translation is None:
        raise TranslationNotFound(
            f"Version {version.number} has no translation into {language_name(tag)}."
        )
    return translation


def _audit(
    session: Session,
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
    session: Session,
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
            f"Version {version.number} is itself written in {language_name(tag)}. Choose "
            "another language, or change the language of the text below.",
            field="language",
        )
    body = _checked_body(body_markdown)
    already = _translation_in(session, version, tag)
    if already is not None:
        raise TranslationError(
            f"Version {version.number} already has a translation into {language_name(tag)}. "
            "Edit that one instead.",
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
    session.add(translation)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # (version, language) is unique: another editor added it a moment ago.
        raise TranslationError(
            f"Version {version.number} already has a translation into {language_name(tag)}. "
            "Edit that one instead.",
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
    session: Session,
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
        and _has_signatures(session, version)
    ):
        raise TranslationError(
            f"This is the authoritative text of version {version.number}, and people have "
            "signed it: what they signed is not rewritten. Publish a new version of the "
            "letter instead.",
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
    session: Session, letter: Letter, language: str, *, actor: Coordinator, now: datetime
) -> LetterTranslation:
    """Remove a translation of the current version (audited ``letter.translation_removed``).

    The authoritative text cannot be removed: make another one authoritative first.
    """
    _refuse_if_delivered(letter)
    version = letter.current_version
    translation = translation_for(session, version, language)
    if translation.language == version.authoritative_language:
        raise TranslationError(
            f"The {language_name(translation.language)} text is the authoritative one. Make "
            "another text authoritative before removing it."
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
    session: Session, letter: Letter, language: str, *, actor: Coordinator, now: datetime
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
                f"The {language_name(tag)} translation needs review against version "
                f"{version.number}'s text. Save it first, then make it authoritative.",
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
    session: Session, letter: Letter, language: str, *, actor: Coordinator, now: datetime
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
            f"Version {version.number} has a translation into {language_name(tag)}: the "
            "text cannot be in that language too. Remove the translation first.",
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


def copy_source(session: Session, letter: Letter) -> LetterVersion | None:
    """The newest earlier version that has translations, to offer copying them."""
    current = letter.current_version
    return session.scalar(
        select(LetterVersion)
        .where(
            LetterVersion.letter_id == letter.id,
            LetterVersion.number < current.number,
            LetterVersion.id.in_(select(LetterTranslation.version_id)),
        )
        .order_by(LetterVersion.number.desc())
        .limit(1)
    )


def copy_translations(
    session: Session, letter: Letter, *, author: Coordinator, now: datetime
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
        raise TranslationError("No earlier version of this letter has translations to copy.")
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
        session.add(copy)
        copies.append(copy)
    if not copies:
        raise TranslationError(
            f"Version {version.number} already has every language version {source.number} had."
        )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise TranslationError(
            "Someone added translations at the same moment. Reload the page and try again."
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


# --- The workspace page -------------------------------------------------------------------


@dataclass(frozen=True)
class TranslationRow:
    translation: LetterTranslation
    name: str
    authoritative: bool
    needs_review: bool


@dataclass(frozen=True)
class LanguageCount:
    language: str | None
    name: str
    count: int


@dataclass(frozen=True)
class EarlierVersion:
    version: LetterVersion
    languages: list[str]


@dataclass(frozen=True)
class Overview:
    version: LetterVersion
    language_name: str
    rows: list[TranslationRow]
    # The newest earlier version with translations, while it has languages this one lacks.
    copy_source: LetterVersion | None
    copy_languages: list[str]
    signed: bool
    signature_languages: list[LanguageCount]
    earlier: list[EarlierVersion]
    display_language: str = "en"

    @property
    def authoritative_name(self) -> str:
        return language_name(self.version.authoritative_language, self.display_language)


def signature_languages(
    session: Session, letter: Letter, *, display_language: str = "en"
) -> list[LanguageCount]:
    """Published signatures by the interface language they were signed in, most first.

    Languages are named in ``display_language``.
    """
    rows = session.execute(
        select(Signature.language, func.count())
        .where(Signature.letter_id == letter.id, Signature.status == SignatureStatus.PUBLISHED)
        .group_by(Signature.language)
    ).all()
    counts = [
        LanguageCount(tag, language_name(tag, display_language) if tag else "not recorded", count)
        for tag, count in rows
    ]
    return sorted(counts, key=lambda row: (row.language is None, -row.count, folded(row.name)))


def overview(session: Session, letter: Letter, *, display_language: str = "en") -> Overview:
    """The current version's texts, what can be copied, and signatures per language.

    Languages are named in ``display_language``, the workspace's.
    """
    version = letter.current_version
    rows = [
        TranslationRow(
            translation,
            language_name(translation.language, display_language),
            translation.language == version.authoritative_language,
            needs_review(translation),
        )
        for translation in translations_of(session, version)
    ]
    present = {row.translation.language for row in rows} | {version.language}
    source = copy_source(session, letter)
    copy_languages = (
        [
            language_name(t.language, display_language)
            for t in translations_of(session, source)
            if t.language not in present
        ]
        if source is not None
        else []
    )
    earlier_rows = session.execute(
        select(LetterVersion, LetterTranslation.language)
        .join(LetterTranslation, LetterTranslation.version_id == LetterVersion.id)
        .where(LetterVersion.letter_id == letter.id, LetterVersion.id != version.id)
        .order_by(LetterVersion.number.desc(), LetterTranslation.language)
    ).all()
    earlier: dict[int, EarlierVersion] = {}
    for earlier_version, tag in earlier_rows:
        entry = earlier.setdefault(earlier_version.id, EarlierVersion(earlier_version, []))
        entry.languages.append(language_name(tag, display_language))
    return Overview(
        version=version,
        language_name=language_name(version.language, display_language),
        display_language=display_language,
        rows=rows,
        copy_source=source if copy_languages else None,
        copy_languages=copy_languages,
        signed=_has_signatures(session, version),
        signature_languages=signature_languages(session, letter, display_language=display_language),
        earlier=list(earlier.values()),
    )
