"""Letter text and names: Markdown rendered then sanitised, names normalised for comparison."""

from __future__ import annotations

import re
import unicodedata

import nh3
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
