"""A readable comparison of two letter texts: paragraph by paragraph, then word by word.

Both texts are Markdown source, compared as plain text: what a signer reads is the
wording, and a diff of rendered HTML would show tags instead of words. Every piece of
text is escaped on output, so markup typed into a letter shows as the characters it is
and never reaches a page or an email as markup.

``compare(old, new)`` gives a ``TextDiff``; ``to_html`` renders it with ``<ins>`` and
``<del>`` (classes for the site, inline styles for email), ``to_text`` as plain text with
``[-removed-]`` and ``{+added+}`` markers for the text part of an email.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from flask_babel import gettext, ngettext
from markupsafe import Markup, escape

from signatory.core.i18n import N_

SegmentOp = Literal["equal", "delete", "insert"]
BlockStatus = Literal["same", "changed", "added", "removed"]

# A paragraph ends at a blank line (what Markdown means by one).
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
# Words, runs of whitespace, and single punctuation marks: a changed comma is shown as a
# changed comma, not as a changed word.
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
# Below this similarity (of their words) two paragraphs are not paired: a word-by-word
# diff of unrelated sentences is harder to read than one removed and one added.
_PAIRING_RATIO = 0.3


@dataclass(frozen=True)
class Segment:
    op: SegmentOp
    text: str


@dataclass(frozen=True)
class Block:
    """One paragraph of the comparison, as a run of unchanged, removed and added text."""

    status: BlockStatus
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Gap:
    """Unchanged paragraphs left out of a shortened comparison."""

    paragraphs: int


@dataclass(frozen=True)
class TextDiff:
    blocks: tuple[Block, ...]

    @property
    def changed(self) -> bool:
        return any(block.status != "same" for block in self.blocks)

    def shortened(self, context: int) -> list[Block | Gap]:
        """The blocks with at most ``context`` unchanged paragraphs around each change."""
        keep = [False] * len(self.blocks)
        for index, block in enumerate(self.blocks):
            if block.status != "same":
                for near in range(max(0, index - context), min(len(keep), index + context + 1)):
                    keep[near] = True
        shown: list[Block | Gap] = []
        skipped = 0
        for block, kept in zip(self.blocks, keep, strict=True):
            if kept:
                if skipped:
                    shown.append(Gap(skipped))
                    skipped = 0
                shown.append(block)
            else:
                skipped += 1
        if skipped:
            shown.append(Gap(skipped))
        return shown


def normalise(text: str) -> str:
    """One kind of line ending, no trailing whitespace: what a browser's textarea changes."""
    return re.sub(r"\r\n?", "\n", text).rstrip()


def paragraphs(text: str) -> list[str]:
    """The paragraphs of ``text``, each with its soft line breaks flowed (``flowed``)."""
    text = normalise(text).strip("\n")
    return [flowed(p) for p in _PARAGRAPH_BREAK.split(text)] if text else []


# A line that starts a block of its own in Markdown: a list item, a quote, a heading, a
# table row, or a fence. The line break before it is kept.
_BLOCK_START = re.compile(r" {0,3}(?:[-*+][ \t]|\d{1,9}[.)][ \t]|>|#{1,6}(?:[ \t]|$)|\||```|~~~)")
# A line that is a block by itself: a heading or a table row. The break after it is kept.
_WHOLE_LINE = re.compile(r" {0,3}(?:#{1,6}(?:[ \t]|$)|\|)")
# A paragraph holding code keeps every line as written.
_CODE = re.compile(r"^(?: {4}|\t| {0,3}(?:```|~~~))", re.MULTILINE)


def flowed(paragraph: str) -> str:
    """``paragraph`` with its soft line breaks turned into spaces, as Markdown reads them.

    Letters are often written hard-wrapped at 72 or 80 columns; Markdown shows such a
    paragraph as one flowing line, and so should the comparison, or it is shown as
    ragged lines, and a paragraph merely re-wrapped would count as changed. Breaks that
    mean something stay: before a list item, quote, heading or table row, after a heading, a
    table row or a hard break (two trailing spaces or a backslash), and every line of code.
    """
    if "\n" not in paragraph or _CODE.search(paragraph):
        return paragraph
    lines = paragraph.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        previous = out[-1]
        hard_break = previous.endswith(("  ", "\\")) or _WHOLE_LINE.match(previous)
        if hard_break or _BLOCK_START.match(line):
            out.append(line)
        else:
            out[-1] = f"{previous.rstrip()} {line.strip()}"
    return "\n".join(out)


def compare(old: str, new: str) -> TextDiff:
    """Compare two texts paragraph by paragraph, and changed paragraphs word by word."""
    before, after = paragraphs(old), paragraphs(new)
    blocks: list[Block] = []
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            blocks.extend(Block("same", (Segment("equal", p),)) for p in before[i1:i2])
        elif op == "delete":
            blocks.extend(Block("removed", (Segment("delete", p),)) for p in before[i1:i2])
        elif op == "insert":
            blocks.extend(Block("added", (Segment("insert", p),)) for p in after[j1:j2])
        else:
            blocks.extend(_replaced(before[i1:i2], after[j1:j2]))
    return TextDiff(tuple(blocks))


def _replaced(old: list[str], new: list[str]) -> list[Block]:
    """Paragraphs that changed in place, each old one paired with the most similar new one.

    Pairs keep their order; an old paragraph like none of the new ones is shown removed,
    and new ones left unpaired are shown added.
    """
    new_tokens = [_TOKEN.findall(p) for p in new]
    blocks: list[Block] = []
    start = 0
    for before in old:
        tokens = _TOKEN.findall(before)
        best, best_ratio = None, _PAIRING_RATIO
        for index in range(start, len(new)):
            ratio = SequenceMatcher(None, tokens, new_tokens[index], autojunk=False).ratio()
            # Ties go to the earlier paragraph: text is more often appended than inserted.
            if ratio > best_ratio or (best is None and ratio == best_ratio):
                best, best_ratio = index, ratio
        if best is None:
            blocks.append(Block("removed", (Segment("delete", before),)))
            continue
        blocks.extend(Block("added", (Segment("insert", p),)) for p in new[start:best])
        blocks.append(_word_block(before, new[best]))
        start = best + 1
    blocks.extend(Block("added", (Segment("insert", p),)) for p in new[start:])
    return blocks


def _word_block(old: str, new: str) -> Block:
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    # (unchanged text, removed text, added text) runs, in order.
    runs: list[tuple[str, str, str]] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append(("".join(a[i1:i2]), "", ""))
        else:
            runs.append(("", "".join(a[i1:i2]), "".join(b[j1:j2])))
    return Block("changed", tuple(_segments(runs)))


def _segments(runs: list[tuple[str, str, str]]) -> list[Segment]:
    """Join changes separated only by a space, so "quick brown" -> "slow red" reads as one
    change rather than two with a lone unchanged space between them."""
    merged: list[list[str]] = []
    for index, (same, removed, added) in enumerate(runs):
        between_changes = (
            same
            and same.isspace()
            and 0 < index < len(runs) - 1
            and not runs[index - 1][0]
            and not runs[index + 1][0]
        )
        if between_changes:
            removed, added, same = same, same, ""
        if same:
            merged.append([same, "", ""])
        elif merged and not merged[-1][0]:
            merged[-1][1] += removed
            merged[-1][2] += added
        else:
            merged.append(["", removed, added])
    segments: list[Segment] = []
    for same, removed, added in merged:
        if same:
            segments.append(Segment("equal", same))
        if removed:
            segments.append(Segment("delete", removed))
        if added:
            segments.append(Segment("insert", added))
    return segments


# --- Output ------------------------------------------------------------------------------

# Email clients drop <style>, so the email form carries its styling inline.
_EMAIL_STYLES = {
    "ins": "background-color:#d8f0dc; color:#0c3d1a; text-decoration:underline;",
    "del": "background-color:#f8dcdc; color:#5c0d0d; text-decoration:line-through;",
    "block": "margin:0 0 12px; padding:4px 0 4px 10px; border-left:4px solid {color};",
    "gap": "margin:0 0 12px; color:#4a4a4a; font-style:italic;",
}
_EMAIL_BORDERS = {"same": "#e4e4e0", "changed": "#1d4ed8", "added": "#1d6b35", "removed": "#a4161a"}
# Translated where they are shown (gettext at render time, in the reader's language).
_STATUS_LABELS = {
    "same": N_("Unchanged paragraph"),
    "changed": N_("Changed paragraph"),
    "added": N_("Added paragraph"),
    "removed": N_("Removed paragraph"),
}


_GAP_CLASS = Markup(' class="diff-gap"')


def _html_text(text: str) -> Markup:
    return escape(text).replace("\n", Markup("<br>\n"))


def _gap_text(gap: Gap) -> str:
    return ngettext(
        "[… %(num)d unchanged paragraph …]", "[… %(num)d unchanged paragraphs …]", gap.paragraphs
    )


def to_html(diff: TextDiff, *, context: int | None = None, email: bool = False) -> Markup:
    """The comparison as HTML: one ``<div>`` per paragraph, ``<ins>``/``<del>`` inside.

    ``context`` shortens it to the changes and that many unchanged paragraphs around
    each; ``email`` uses inline styles instead of the site's classes.
    """
    items = diff.shortened(context) if context is not None else list(diff.blocks)
    parts: list[Markup] = []
    for item in items:
        if isinstance(item, Gap):
            attribute = _attribute("style", _EMAIL_STYLES["gap"]) if email else _GAP_CLASS
            parts.append(Markup("<p{}>{}</p>").format(attribute, _gap_text(item)))
            continue
        inner: list[Markup] = []
        for segment in item.segments:
            text = _html_text(segment.text)
            if segment.op == "equal":
                inner.append(text)
                continue
            tag = "ins" if segment.op == "insert" else "del"
            attribute = _attribute("style", _EMAIL_STYLES[tag]) if email else Markup("")
            inner.append(Markup("<{0}{1}>{2}</{0}>").format(tag, attribute, text))
        if email:
            style = _EMAIL_STYLES["block"].format(color=_EMAIL_BORDERS[item.status])
            opening = Markup("<div{}>").format(_attribute("style", style))
        else:
            # Colour and borders do not reach a screen reader; the hidden label does.
            opening = Markup(
                '<div class="diff-block diff-{}"><span class="diff-label">{}: </span>'
            ).format(item.status, gettext(_STATUS_LABELS[item.status]))
        parts.append(opening + Markup("").join(inner) + Markup("</div>"))
    return Markup("\n").join(parts)


def _attribute(name: str, value: str) -> Markup:
    """`` name="value"``, the value escaped like any other text."""
    return Markup(' {}="{}"').format(name, value)


def to_text(diff: TextDiff, *, context: int | None = None) -> str:
    """The comparison as plain text: ``[-removed-]`` and ``{+added+}`` inside the wording."""
    items = diff.shortened(context) if context is not None else list(diff.blocks)
    paragraphs_out: list[str] = []
    for item in items:
        if isinstance(item, Gap):
            paragraphs_out.append(_gap_text(item))
            continue
        pieces = []
        for segment in item.segments:
            if segment.op == "equal":
                pieces.append(segment.text)
            elif segment.op == "delete":
                pieces.append(f"[-{segment.text}-]")
            else:
                pieces.append(f"{{+{segment.text}+}}")
        paragraphs_out.append("".join(pieces))
    return "\n\n".join(paragraphs_out)
