"""The picture a shared link shows (``og:image``): a 1200×630 PNG card of a letter.

The card holds the letter's title (up to four lines, in smaller type when long, cut with an
ellipsis past that), "To: <recipient>", the published count in words and the brand mark.
Every phrase around the letter's own words is one the catalogues already hold (the home
page's "To: …", the link previews' count), in whatever language the caller has set
(``flask_babel.force_locale``).

Fonts: the first of ``REGULAR_FONTS`` / ``BOLD_FONTS`` that loads (DejaVu Sans, as Debian
installs it), else Pillow's own font (``ImageFont.load_default``), so a machine without
fonts still answers. Pillow lays text out with libraqm when it has it (bidirectional text,
Arabic joining); without it a right-to-left line is put in visual order here, its letters
unjoined. A script the font lacks shows as empty boxes, never as an error.

The same inputs give the same bytes: the PNG carries no text chunk and no timestamp.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeAlias

from flask_babel import gettext
from PIL import Image, ImageDraw, ImageFont

from signatory.letters.queries import Counts
from signatory.lists.share import count_phrase
from signatory.models import Letter

WIDTH = 1200
HEIGHT = 630
# Part of the preview's cache key and ETag: a change to the drawing is a new picture.
FORMAT = 1
# How long a browser or a crawler may keep the picture without asking again.
MAX_AGE = 300

# Searched in order; the first that loads is used. Debian's, then other systems' homes of
# the same font.
REGULAR_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
)
BOLD_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
)

# The site's colours (static/signatory.css, :root): ink on paper, the accent for the mark.
INK = (0x1A, 0x1A, 0x1A)
MUTED = (0x4A, 0x4A, 0x4A)
PAPER = (0xFF, 0xFF, 0xFF)
WASH = (0xF4, 0xF4, 0xF1)
LINE = (0xD0, 0xD0, 0xC8)
ACCENT = (0x0B, 0x4F, 0x8A)

MARGIN = 80
TEXT_WIDTH = WIDTH - 2 * MARGIN
BAND = 16  # the accent band along the top edge
BRAND_TOP = 54
BRAND_SIZE = 30
TITLE_TOP = 122
TITLE_BOTTOM = 404
# Title sizes tried from the largest down; the first that fits (within ``TITLE_MAX_LINES``
# lines and the space above the recipient) is used, the smallest cut with an ellipsis.
TITLE_SIZES = (72, 64, 56, 48, 42)
TITLE_MAX_LINES = 4
LINE_SPACING = 1.2
RECIPIENT_GAP = 26
RECIPIENT_SIZES = (34, 30, 27)
FOOTER_TOP = 500
COUNT_SIZES = (36, 32, 28, 24)
ELLIPSIS = "…"

Font: TypeAlias = ImageFont.FreeTypeFont | ImageFont.ImageFont


# --- Fonts ------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _truetype(path: str, size: int) -> ImageFont.FreeTypeFont | None:
    if not Path(path).is_file():
        return None
    try:
        return ImageFont.truetype(path, size)
    except OSError:  # not a font Pillow can read
        return None


@lru_cache(maxsize=16)
def _built_in(size: int) -> Font:
    # A scalable font when Pillow has FreeType, else its small bitmap font.
    return ImageFont.load_default(size=size)


def load_font(size: int, *, bold: bool = False) -> Font:
    """The card's font at ``size`` pixels: the first candidate that loads, else Pillow's."""
    for path in BOLD_FONTS if bold else REGULAR_FONTS:
        font = _truetype(path, size)
        if font is not None:
            return font
    return _built_in(size)


def _shaped(font: Font) -> bool:
    """Whether ``font`` lays text out with libraqm (bidirectional order, joined letters)."""
    return isinstance(font, ImageFont.FreeTypeFont) and font.layout_engine == ImageFont.Layout.RAQM


# --- Right-to-left text without a shaping library ---------------------------------------

_MIRRORED = str.maketrans("()[]{}<>«»‹›", ")(][}{><»«›‹")


def _strong(char: str) -> str:
    """The strong direction of ``char``: "R" (right to left), "L" (left to right, digits
    included) or "N" (neutral)."""
    kind = unicodedata.bidirectional(char)
    if kind in ("R", "AL"):
        return "R"
    if kind in ("L", "EN", "AN"):
        return "L"
    return "N"


def is_rtl(text: str) -> bool:
    """Whether ``text`` runs right to left: its first strong letter is Arabic, Hebrew, …"""
    for char in text:
        kind = _strong(char)
        if kind != "N":
            return kind == "R"
    return False


def visual_order(text: str) -> str:
    """One line as a left-to-right renderer must draw it for it to read correctly.

    A small part of the Unicode bidirectional algorithm: runs of the other direction than
    the line's keep their place (and their own order, when left to right), neutrals
    between them take the line's direction, and right-to-left runs are reversed with
    their brackets mirrored.
    """
    classes = "".join(_strong(char) for char in text)
    if "R" not in classes:
        return text
    rtl = is_rtl(text)
    embedded = re.compile(r"L(?:N*L)*" if rtl else r"R(?:N*R)*")
    pieces: list[tuple[bool, str]] = []  # (runs right to left, text)
    at = 0
    for match in embedded.finditer(classes):
        if match.start() > at:
            pieces.append((rtl, text[at : match.start()]))
        pieces.append((not rtl, text[match.start() : match.end()]))
        at = match.end()
    if at < len(text):
        pieces.append((rtl, text[at:]))
    if rtl:
        pieces.reverse()
    return "".join(
        piece[::-1].translate(_MIRRORED) if backwards else piece for backwards, piece in pieces
    )


def _shown(font: Font, text: str) -> str:
    """``text`` as it is handed to Pillow for ``font``."""
    if not isinstance(font, ImageFont.FreeTypeFont):
        # The bitmap font knows Latin-1 alone and raises on anything else.
        return text.encode("latin-1", "replace").decode("latin-1")
    return text if _shaped(font) else visual_order(text)


def text_width(font: Font, text: str) -> float:
    return font.getlength(_shown(font, text))


# --- Fitting text -----------------------------------------------------------------------


def _longest_prefix(font: Font, text: str, width: float, suffix: str = "") -> int:
    """The most characters of ``text`` that fit in ``width`` followed by ``suffix`` (≥ 1)."""
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if text_width(font, text[:middle].rstrip() + suffix) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def ellipsised(font: Font, text: str, width: float) -> str:
    """``text`` if it fits on one line of ``width``, else as much as fits and "…"."""
    text = " ".join(text.split())
    if not text or text_width(font, text) <= width:
        return text
    cut = _longest_prefix(font, text, width, ELLIPSIS)
    return text[:cut].rstrip() + ELLIPSIS


def wrapped(font: Font, text: str, width: float, *, limit: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken between words (within a word too
    long for a line, or in a script written without spaces); ``limit`` + 1 lines at most,
    so the caller can tell that it did not fit."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if text_width(font, candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while text_width(font, word) > width and len(lines) <= limit:
            cut = _longest_prefix(font, word, width)
            lines.append(word[:cut])
            word = word[cut:]
        line = word
        if len(lines) > limit:
            return lines[: limit + 1]
    if line:
        lines.append(line)
    return lines[: limit + 1]


@dataclass(frozen=True)
class TitleBlock:
    font: Font
    lines: list[str]
    line_height: int


def fit_title(title: str, sizes: Sequence[int] = TITLE_SIZES) -> TitleBlock:
    """The largest size at which ``title`` fits the title's space, or the smallest with
    its last line cut short by an ellipsis."""
    space = TITLE_BOTTOM - TITLE_TOP
    for index, size in enumerate(sizes):
        font = load_font(size, bold=True)
        line_height = round(size * LINE_SPACING)
        most = max(1, min(TITLE_MAX_LINES, space // line_height))
        lines = wrapped(font, title, TEXT_WIDTH, limit=most)
        if len(lines) <= most:
            return TitleBlock(font, lines, line_height)
        if index == len(sizes) - 1:
            # What is left after the lines shown goes on the last one, as far as it fits.
            shown = lines[: most - 1]
            last = ellipsised(font, _rest(title, shown), TEXT_WIDTH)
            return TitleBlock(font, [*shown, last], line_height)
    raise ValueError("no title sizes")


def _rest(text: str, lines: list[str]) -> str:
    """``text`` after the characters of ``lines`` (which hold its words in order)."""
    used = sum(len(line.replace(" ", "")) for line in lines)
    at = 0
    for index, char in enumerate(text):
        if used == 0:
            at = index
            break
        if not char.isspace():
            used -= 1
    else:
        return ""
    return text[at:]


def fit_line(text: str, sizes: Sequence[int], *, bold: bool = False) -> tuple[Font, str]:
    """The largest of ``sizes`` at which ``text`` fits one line, else the smallest, cut."""
    text = " ".join(text.split())
    font = load_font(sizes[-1], bold=bold)
    for size in sizes:
        font = load_font(size, bold=bold)
        if text_width(font, text) <= TEXT_WIDTH:
            return font, text
    return font, ellipsised(font, text, TEXT_WIDTH)


# --- The card ---------------------------------------------------------------------------


def _draw_line(
    draw: ImageDraw.ImageDraw,
    y: float,
    text: str,
    font: Font,
    fill: tuple[int, int, int],
    *,
    right: bool = False,
) -> None:
    x = MARGIN + TEXT_WIDTH - text_width(font, text) if right else MARGIN
    draw.text((x, y), _shown(font, text), font=font, fill=fill)


def render_card(*, title: str, recipient_line: str, count_line: str, brand: str) -> bytes:
    """The card as PNG bytes, the same for the same words (and fonts)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, BAND - 1), fill=ACCENT)

    _draw_line(draw, BRAND_TOP, brand, load_font(BRAND_SIZE, bold=True), ACCENT)

    block = fit_title(title)
    right = is_rtl(title)
    y = float(TITLE_TOP)
    for line in block.lines:
        _draw_line(draw, y, line, block.font, INK, right=right)
        y += block.line_height

    recipient_font, recipient = fit_line(recipient_line, RECIPIENT_SIZES)
    _draw_line(draw, y + RECIPIENT_GAP, recipient, recipient_font, MUTED, right=is_rtl(recipient))

    draw.rectangle((0, FOOTER_TOP, WIDTH, HEIGHT), fill=WASH)
    draw.line((0, FOOTER_TOP, WIDTH, FOOTER_TOP), fill=LINE, width=2)
    count_font, count = fit_line(count_line, COUNT_SIZES, bold=True)
    # Centred in the footer by the drawn letters' own top and bottom.
    _, top, _, bottom = count_font.getbbox(_shown(count_font, count))
    _draw_line(draw, (FOOTER_TOP + HEIGHT - top - bottom) / 2, count, count_font, INK)

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def recipient_phrase(recipient: str) -> str:
    """The "To: <recipient>" line in the current language, from the home page's phrase."""
    # The catalogues hold it with the page's isolation markup, which a picture has no use for.
    phrase = gettext("To: <bdi>%(recipient)s</bdi>").replace("<bdi>", "").replace("</bdi>", "")
    return phrase % {"recipient": recipient}


def letter_card(letter: Letter, counts: Counts) -> bytes:
    """The preview card of ``letter`` with its published ``counts``, in the current language."""
    return render_card(
        title=letter.title,
        recipient_line=recipient_phrase(letter.recipient),
        count_line=count_phrase(counts),
        brand="signatory",
    )
