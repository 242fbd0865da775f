"""Similar organization names: whether "E.F.F." is the EFF that already signed.

A moderator's first question about a new organization is whether it is already on the
list under another spelling. Names are compared four ways: the same after folding case,
accents and punctuation; the same to the eye though spelled with other characters
("Аmnesty" with a Cyrillic "А": ``core.text.skeleton``); one is the other's acronym ("EFF"
and "Electronic Frontier Foundation"); or a near-miss in spelling ("Electonic Frontier
Foundation"). The letter's
held names are read in one query and compared in Python, so the queue page costs one
extra query however long it is.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import Select, select

from signatory.core.database import DbSession
from signatory.core.text import comparison_key, folded, skeleton
from signatory.models import (
    HELD_STATUSES,
    Letter,
    Signature,
    SignatureKind,
)
from signatory.models.signature import LOOKALIKE_KEY_MAX, lookalike_key, organization_key

SAME = "same name"
LOOKALIKE = "lookalike characters"
ACRONYM = "acronym"
SPELLING = "similar spelling"
_REASON_RANK = {SAME: 0, LOOKALIKE: 1, ACRONYM: 2, SPELLING: 3}

SIMILAR_CAP = 5
FUZZY_THRESHOLD = 0.85
# Below this many characters a near-miss is more often a different name than a typo.
FUZZY_MIN_LENGTH = 6

_PARENTHESES = re.compile(r"\(([^()]*)\)")
_WORDS = re.compile(r"[^\W_]+")
# Left out of acronyms: "Centre for Democracy and Technology" is CDT.
_STOP_WORDS = frozenset({
    "a", "an", "and", "at", "de", "del", "der", "des", "di", "die", "du", "e", "et", "for",
    "für", "in", "la", "le", "les", "of", "on", "the", "to", "und", "y",
})  # fmt: skip


def _fold(name: str) -> str:
    # Most names are ASCII, where folding is only case folding: skip the Unicode walk,
    # which is most of the cost of indexing a long list.
    return name.casefold() if name.isascii() else folded(name)


def _name_keys(name: str, key: str) -> frozenset[str]:
    """The comparison keys of a name: whole, without its parentheses, and each parenthesis.

    "Electronic Frontier Foundation (EFF)" is known by its whole name, its long form and
    "EFF". ``key`` is the whole name's key, already computed.
    """
    if "(" not in name:
        return frozenset({key} if key else ())
    keys = {key, comparison_key(_PARENTHESES.sub(" ", name))}
    keys.update(comparison_key(inner) for inner in _PARENTHESES.findall(name))
    keys.discard("")
    return frozenset(keys)


def _acronyms(name: str) -> frozenset[str]:
    """The initials of a name of several words, with and without its small words."""
    words = _WORDS.findall(_fold(_PARENTHESES.sub(" ", name)))
    if len(words) < 2:
        return frozenset()
    found = {"".join(word[0] for word in words)}
    significant = [word for word in words if word not in _STOP_WORDS]
    if len(significant) >= 2:
        found.add("".join(word[0] for word in significant))
    return frozenset(acronym for acronym in found if len(acronym) >= 2)


def _trigrams(key: str) -> frozenset[str]:
    return frozenset(key[i : i + 3] for i in range(len(key) - 2))


@dataclass(frozen=True)
class SimilarName:
    """A held organization name that looks like the one under review."""

    signature_id: int
    organization: str
    status: str
    reason: str


@dataclass(frozen=True)
class _Entry:
    signature_id: int
    organization: str
    status: str
    keys: frozenset[str]
    acronyms: frozenset[str]
    # The key compared for near-misses (the name outside any parentheses), its trigrams.
    primary: str
    grams: frozenset[str]
    # The whole name as it looks (``skeleton``).
    look: str


def _entry(
    signature_id: int,
    organization: str,
    status: str,
    key: str | None = None,
    look: str | None = None,
) -> _Entry:
    # The stored keys when there are: the organization key is what the one-place-per-
    # organization index compares, and both save folding every name again. A stored look
    # of the column's full length may have been cut short, so that one is computed anew.
    key = key if key is not None else comparison_key(organization)
    if look is None or len(look) >= LOOKALIKE_KEY_MAX:
        look = skeleton(organization)
    primary = comparison_key(_PARENTHESES.sub(" ", organization)) if "(" in organization else key
    primary = primary or key
    return _Entry(
        signature_id=signature_id,
        organization=organization,
        status=status,
        keys=_name_keys(organization, key),
        acronyms=_acronyms(organization),
        primary=primary,
        grams=_trigrams(primary) if len(primary) >= FUZZY_MIN_LENGTH else frozenset(),
        look=look,
    )


# Near-misses are looked for only among names sharing this much of their trigrams (Dice
# coefficient). A typo or two leaves most trigrams intact, so this loses next to nothing
# and saves running difflib against every name on a long list.
TRIGRAM_PREFILTER = 0.5


@dataclass
class NameIndex:
    """A letter's held organization names, indexed for the three comparisons."""

    by_key: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    by_acronym: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    # Trigram -> ids of the names containing it; ids rather than entries so that counting
    # shared trigrams is one Counter.update per trigram, which runs in C.
    by_gram: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_look: dict[str, list[_Entry]] = field(default_factory=lambda: defaultdict(list))
    by_id: dict[int, _Entry] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str, str, str | None, str | None]]) -> NameIndex:
        """From ``(signature id, organization, status, organization key, lookalike key)`` rows."""
        index = cls()
        for signature_id, organization, status, key, look in rows:
            entry = _entry(signature_id, organization, status, key, look)
            for key in entry.keys:
                index.by_key[key].append(entry)
            for acronym in entry.acronyms:
                index.by_acronym[acronym].append(entry)
            for gram in entry.grams:
                index.by_gram[gram].append(signature_id)
            if entry.look:
                index.by_look[entry.look].append(entry)
            index.by_id[signature_id] = entry
        return index

    def similar_to(
        self, signature_id: int, organization: str, *, cap: int = SIMILAR_CAP
    ) -> tuple[list[SimilarName], int]:
        """Names like ``organization`` other than the signature's own, strongest first.

        Returns at most ``cap`` of them and how many more there were.
        """
        me = _entry(signature_id, organization, "")
        found: dict[int, tuple[str, float, _Entry]] = {}

        def note(entry: _Entry, reason: str, score: float) -> None:
            if entry.signature_id == signature_id:
                return
            current = found.get(entry.signature_id)
            rank = (_REASON_RANK[reason], -score)
            if current is None or rank < (_REASON_RANK[current[0]], -current[1]):
                found[entry.signature_id] = (reason, score, entry)

        for key in me.keys:
            for entry in self.by_key.get(key, ()):
                note(entry, SAME, 1.0)
            # "EFF" typed on its own is the acronym of a longer name on the list ...
            for entry in self.by_acronym.get(key, ()):
                note(entry, ACRONYM, 1.0)
        for entry in self.by_look.get(me.look, ()) if me.look else ():
            note(entry, LOOKALIKE, 1.0)
        # ... and the other way round.
        for acronym in me.acronyms:
            for entry in self.by_key.get(acronym, ()):
                note(entry, ACRONYM, 1.0)
        for entry, score in self._near_misses(me):
            note(entry, SPELLING, score)

        ranked = sorted(found.values(), key=lambda item: (_REASON_RANK[item[0]], -item[1]))
        similar = [
            SimilarName(entry.signature_id, entry.organization, entry.status, reason)
            for reason, _, entry in ranked[:cap]
        ]
        return similar, max(0, len(ranked) - cap)

    def _near_misses(self, me: _Entry) -> Iterator[tuple[_Entry, float]]:
        if not me.grams:
            return
        shared: Counter[int] = Counter()
        for gram in me.grams:
            shared.update(self.by_gram.get(gram, ()))
        matcher = SequenceMatcher(autojunk=False)
        # SequenceMatcher caches what it learns about its second sequence.
        matcher.set_seq2(me.primary)
        # Dice >= p needs 2c >= p(|mine| + |theirs|) >= p(|mine| + c), so c >= p|mine|/(2-p):
        # candidates come most-shared first, and the rest are never looked at.
        least = TRIGRAM_PREFILTER * len(me.grams) / (2 - TRIGRAM_PREFILTER)
        for entry_id, count in shared.most_common():
            if count < least:
                break
            entry = self.by_id[entry_id]
            if entry.primary == me.primary:
                continue
            if 2 * count / (len(me.grams) + len(entry.grams)) < TRIGRAM_PREFILTER:
                continue
            matcher.set_seq1(entry.primary)
            if matcher.real_quick_ratio() < FUZZY_THRESHOLD:
                continue
            if matcher.quick_ratio() < FUZZY_THRESHOLD:
                continue
            score = matcher.ratio()
            if score >= FUZZY_THRESHOLD:
                yield entry, score


def name_index(session: DbSession, letter: Letter) -> NameIndex:
    """The letter's published and pending organization names, in one query."""
    rows = session.execute(
        select(
            Signature.id,
            Signature.organization,
            Signature.status,
            Signature.organization_key,
            Signature.lookalike_key,
        ).where(
            Signature.letter_id == letter.id,
            Signature.kind == SignatureKind.ORGANIZATION,
            Signature.status.in_(HELD_STATUSES),
            Signature.organization.is_not(None),
        )
    ).all()
    # Rows without an organization were filtered out above.
    return NameIndex.build((row[0], row[1] or "", row[2], row[3], row[4]) for row in rows)


def lookalike_on_letter(
    session: DbSession, letter: Letter, organization: str, *, besides: int | None = None
) -> bool:
    """Whether a name held on ``letter`` looks like ``organization`` but is spelled otherwise.

    "Аmnesty" (Cyrillic "А") against a held "Amnesty" is; "AMNESTY" is not a lookalike but
    the same name, which the one-place-per-organization rule deals with. ``besides`` leaves
    out a signature of the caller's own.
    """
    look = lookalike_key(organization)
    if not look:
        return False
    query = lookalike_query(letter.id, look, organization_key(organization))
    if besides is not None:
        query = query.where(Signature.id != besides)
    return session.scalar(query.limit(1)) is not None


def lookalike_query(letter_id: Any, look: Any, key: Any) -> Select[int]:
    """Held organizations on the letter with the lookalike key ``look`` but not the key ``key``.

    Each may be a value or a bound parameter (signing's one statement of checks). One
    equality on the stored key (index ``ix_signature_lookalike``): the cost does not grow
    with the number of organizations on the letter.
    """
    return select(Signature.id).where(
        Signature.letter_id == letter_id,
        Signature.lookalike_key == look,
        Signature.organization_key != key,
        Signature.kind == SignatureKind.ORGANIZATION,
        Signature.status.in_(HELD_STATUSES),
    )
