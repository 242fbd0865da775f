"""Letter text and names: Markdown rendered then sanitised, names normalised for comparison."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import nh3
from confusable_homoglyphs import categories, confusables
from markdown_it import MarkdownIt

# Raw HTML in the source is escaped by the parser ("html": False) and the output is
# sanitised again, so a letter can never carry script, styles or event handlers.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable("table").enable("strikethrough")

_ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del",
    "blockquote", "ul", "ol", "li", "a", "code", "pre", "table", "thead", "tbody",
    "tr", "th", "td",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


def stripped(value: object) -> object:
    """A form field's filter: text without its surrounding spaces; anything else as it is."""
    return value.strip() if isinstance(value, str) else value


def render_markdown(source: str) -> str:
    html = _markdown.render(source)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def folded(value: str) -> str:
    """Fold case and accents: "Café" -> "cafe"."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def comparison_key(value: str) -> str:
    """Fold case, accents, punctuation and spacing: "E.F.F." and "eff" compare equal."""
    return _NOT_WORD.sub("", folded(value))


_SPACES = re.compile(r"\s+")
_LEADING_NOT_WORD = re.compile(r"^[\W_]+")
_INVISIBLE = frozenset({"Cc", "Cf"})
SORT_KEY_LENGTH = 200


def _plain(value: str) -> str:
    """``value`` folded, its spacing collapsed, without control or format characters.

    Bidi marks and zero-width joiners ride along with pasted names but nobody types
    them into a search box.
    """
    kept = "".join(
        ch for ch in folded(value) if ch.isspace() or unicodedata.category(ch) not in _INVISIBLE
    )
    return _SPACES.sub(" ", kept).strip()


def search_text(*values: str | None) -> str:
    """Names folded for searching: "Café  Corp" -> "cafe corp", one line per value.

    Search terms are folded the same way, so a substring match ignores case and accents
    ("Cafe" and "CAFÉ" both find "Café"). Values are kept on separate lines so a term
    cannot match across the end of one name and the start of the next.
    """
    return "\n".join(plain for plain in (_plain(value) for value in values if value) if plain)


def name_sort_key(value: str) -> str:
    """A name folded for sorting: case, accents and leading quotes or marks ignored.

    Cut to ``SORT_KEY_LENGTH`` characters so it fits its column whatever folding expands.
    """
    return _LEADING_NOT_WORD.sub("", _plain(value))[:SORT_KEY_LENGTH]


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def has_control_characters(value: str) -> bool:
    """Control and bidi-override characters have no place in a one-line name."""
    return bool(_CONTROL.search(value))


# --- What a signer may not type into a name ---------------------------------------------
#
# Format characters (Unicode category Cf: zero-width spaces and joiners, the byte-order
# mark, the soft hyphen, bidi embeddings, overrides and isolates...) are invisible: in a
# published name they hide a second spelling of "the same" organization, reorder what a
# reader sees, or break a search. They are refused, not stripped: a silent strip would
# publish something other than what the signer typed and confirmed, and a paste that
# carries one is better retyped. One exception keeps real spellings working: a zero-width
# (non-)joiner between two letters of a script that spells with them (Persian, the Indic
# scripts...), never next to Latin, Greek or Cyrillic letters.

_JOINERS = frozenset({"\u200c", "\u200d"})
_NO_JOINER_SCRIPTS = frozenset({"LATIN", "GREEK", "CYRILLIC", "COMMON", "INHERITED"})


def _joins_letters(value: str, index: int) -> bool:
    if index == 0 or index == len(value) - 1:
        return False
    before, after = value[index - 1], value[index + 1]
    # Letters or their marks: a Devanagari joiner follows a virama.
    return all(
        unicodedata.category(ch)[0] in "LM" and categories.alias(ch) not in _NO_JOINER_SCRIPTS
        for ch in (before, after)
    )


def invisible_characters(value: str) -> list[str]:
    """The invisible format characters in ``value``, each once, as "U+200B ZERO WIDTH SPACE"."""
    found: dict[str, None] = {}
    for index, ch in enumerate(value):
        if unicodedata.category(ch) != "Cf":
            continue
        if ch in _JOINERS and _joins_letters(value, index):
            continue
        found[f"U+{ord(ch):04X} {unicodedata.name(ch, 'FORMAT CHARACTER')}"] = None
    return list(found)


# A web address inside a name: a scheme ("http://", "ftp://"), a "www." host, or a
# host followed by a path ("spam.example/buy"). A bare domain is left alone, because real
# organizations are called "Booking.com"; so are abbreviations ("A.B.C. e.V.").
_URL_IN_TEXT = re.compile(
    r"""
    \b[a-z][a-z0-9+.\-]*://             # a scheme
    | \bwww\d{0,3}\.[^\W_]              # a www. host
    | \b(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,63}/   # host.tld/ and a path
    """,
    re.IGNORECASE | re.VERBOSE,
)


def contains_url(value: str) -> bool:
    """Whether ``value`` holds a web address (see ``_URL_IN_TEXT`` for what counts)."""
    return bool(_URL_IN_TEXT.search(value))


# --- Lookalike names ----------------------------------------------------------------------
#
# Two names are lookalikes when they read the same but are spelled with different
# characters: "Аmnesty" with a Cyrillic "А", "ΕFF" with a Greek "Ε", "Ｅｘａｍｐｌｅ" in
# full-width forms. The comparison is NFKC, then each character replaced by one chosen
# member of its class in the Unicode confusables data (as shipped by confusable_homoglyphs),
# then the usual folding. The data lists, for each character, the ones it can be confused
# with; its classes are joined here into one representative per character, preferring an
# ASCII letter or digit, so that every member of a class maps to the same one.

# Scripts whose letters pass for one another's in a single word.
_LOOKALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})
_WORD = re.compile(r"[^\W\d_]+")


@cache
def _representatives() -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(ch: str) -> str:
        while parent.get(ch, ch) != ch:
            parent[ch] = parent.get(parent[ch], parent[ch])
            ch = parent[ch]
        return ch

    for ch, glyphs in confusables.confusables_data.items():
        for glyph in glyphs:
            other = glyph["c"].strip("\u200e")
            if len(ch) == 1 and len(other) == 1:
                parent.setdefault(ch, ch)
                parent.setdefault(other, other)
                parent[find(ch)] = find(other)
    classes: dict[str, list[str]] = {}
    for ch in parent:
        classes.setdefault(find(ch), []).append(ch)
    chosen: dict[str, str] = {}
    for members in classes.values():
        ascii_alnum = sorted(ch for ch in members if ch.isascii() and ch.isalnum())
        representative = ascii_alnum[0] if ascii_alnum else min(members)
        for ch in members:
            chosen[ch] = representative
    return chosen


def skeleton(value: str) -> str:
    """``value`` as it looks rather than as it is spelled: lookalikes compare equal."""
    representatives = _representatives()
    mapped = "".join(representatives.get(ch, ch) for ch in unicodedata.normalize("NFKC", value))
    return comparison_key(mapped)


def mixes_scripts_confusably(value: str) -> bool:
    """Whether one word of ``value`` mixes Latin, Cyrillic or Greek letters that look alike.

    "Аmnesty" (a Cyrillic "А" among Latin letters) does; a Greek name followed by its Latin
    acronym ("Ελληνική Ένωση (HLHR)") does not: each word keeps to one script.
    """
    for word in _WORD.findall(unicodedata.normalize("NFKC", value)):
        scripts = {categories.alias(ch) for ch in word} & _LOOKALIKE_SCRIPTS
        if len(scripts) > 1 and confusables.is_dangerous(word):
            return True
    return False
