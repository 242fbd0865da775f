"""A version's texts in every language: language tags, which texts the public may read,
and which one a reader gets.

The rules about translations are kept by ``letters.translations``; this is what both the
editors' pages and the readers' (the letter page, the API) build on. Language tags are
BCP 47, limited to what a letter needs: an ISO 639-1 language, then optionally a script
(ISO 15924) and a region (ISO 3166-1 alpha-2 or a UN M.49 number), e.g. ``fr``, ``pt-BR``,
``zh-Hant``, ``sr-Latn-RS``, ``es-419``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import pycountry
from flask_babel import gettext, pgettext
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from signatory.core.database import DbSession
from signatory.core.errors import DomainError
from signatory.core.text import folded
from signatory.models import (
    LANGUAGE_TAG_MAX,
    Letter,
    LetterTranslation,
    LetterVersion,
    Signature,
    SignatureStatus,
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


def _not_a_language(sentence: str) -> TranslationError:
    """A refusal of the language field: ``sentence``, then what to type instead."""
    example = gettext("Use a language code such as fr, es or ar, with a region if needed: pt-BR.")
    return TranslationError(f"{sentence} {example}", field="language")


def parse_language(raw: str) -> str:
    """``raw`` as a canonical language tag ("PT_br" -> "pt-BR"), or ``TranslationError``."""
    value = (raw or "").strip()
    if not value:
        raise _not_a_language(gettext("Give the language's code."))
    match = _TAG.fullmatch(value)
    if match is None or len(value) > LANGUAGE_TAG_MAX:
        raise _not_a_language(gettext("“%(code)s” is not a language code.", code=value[:40]))
    language = match["language"].lower()
    if pycountry.languages.get(alpha_2=language) is None:
        raise _not_a_language(
            gettext("“%(code)s” is not an ISO 639-1 language code.", code=language)
        )
    tag = [language]
    if match["script"]:
        script = match["script"].title()
        if pycountry.scripts.get(alpha_4=script) is None:
            raise TranslationError(
                gettext(
                    "“%(code)s” is not an ISO 15924 script code (such as Latn, Cyrl or Hant).",
                    code=script,
                ),
                field="language",
            )
        tag.append(script)
    if match["region"]:
        region = match["region"].upper()
        if not region.isdigit() and pycountry.countries.get(alpha_2=region) is None:
            raise TranslationError(
                gettext(
                    "“%(code)s” is not a country code. Give a two-letter ISO 3166-1 code, such "
                    "as BR in pt-BR.",
                    code=region,
                ),
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


def translations_of(session: DbSession, version: LetterVersion) -> list[LetterTranslation]:
    """A version's translations, by language tag."""
    return list(
        session.scalars(
            select(LetterTranslation)
            # Pages name who wrote each translation.
            .options(joinedload(LetterTranslation.author))
            .where(LetterTranslation.version_id == version.id)
            .order_by(LetterTranslation.language)
        )
    )


def public_translations(session: DbSession, version: LetterVersion) -> list[LetterTranslation]:
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


def public_texts(session: DbSession, version: LetterVersion) -> list[LetterText]:
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


def version_has_signatures(session: DbSession, version: LetterVersion) -> bool:
    """Whether anyone signed against ``version`` (in any status)."""
    return (
        session.scalar(select(Signature.id).where(Signature.version_id == version.id).limit(1))
        is not None
    )


# --- The editors' overview -------------------------------------------------------------------


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
    session: DbSession, letter: Letter, *, display_language: str = "en"
) -> list[LanguageCount]:
    """Published signatures by the interface language they were signed in, most first.

    Languages are named in ``display_language``.
    """
    rows = session.execute(
        select(Signature.language, func.count())
        .where(Signature.letter_id == letter.id, Signature.status == SignatureStatus.PUBLISHED)
        .group_by(Signature.language)
    ).all()
    unknown = pgettext("the language of a signature", "not recorded")
    counts = [
        LanguageCount(tag, language_name(tag, display_language) if tag else unknown, count)
        for tag, count in rows
    ]
    return sorted(counts, key=lambda row: (row.language is None, -row.count, folded(row.name)))


def overview(session: DbSession, letter: Letter, *, display_language: str = "en") -> Overview:
    """The current version's texts, what can be copied, and signatures per language.

    Languages are named in ``display_language``, the workspace's.
    """
    # The page names who wrote the current text.
    version = session.scalars(
        select(LetterVersion)
        .options(joinedload(LetterVersion.author))
        .where(LetterVersion.id == letter.current_version.id)
    ).one()
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
        signed=version_has_signatures(session, version),
        signature_languages=signature_languages(session, letter, display_language=display_language),
        earlier=list(earlier.values()),
    )


def copy_source(session: DbSession, letter: Letter) -> LetterVersion | None:
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
