"""The downloads' fast paths write exactly what the plain ones would.

The public CSV is frozen byte for byte at delivery, so its shortcuts (joined lines instead
of the CSV writer, the database's text for times, JSON items from a template) are each
checked against the library they stand in for, on hostile text too.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from signatory.core.spreadsheets import CsvChunks, csv_chunk, iso
from signatory.core.time import utcnow
from signatory.lists import queries, writers
from tests.factories import make_letter, make_signature

AWKWARD = ["", " ", ",", '"', "\r", "\n", "\r\n", "a,b", 'say "hi"', "x\ny", "Ünïcode, ✓", "\t="]


def writer_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [[""]],
        [["a", "b"], [""]],
        [["a"]],
        [[]],
        [["a", ""], ["", "b"]],
        [["Director, Programs", "x"], ["plain", "row"]],
        [["one", '"quoted"'], ["two", "x"]],
        [["line\nbreak", "x"]],
        [["carriage\rreturn", "x"]],
        [[cell, "x", cell] for cell in AWKWARD],
    ],
)
def test_csv_chunks_write_what_the_csv_writer_writes(rows: list[list[str]]) -> None:
    assert CsvChunks().chunk(rows) == writer_text(rows) == csv_chunk(rows)


def test_csv_chunks_take_cells_that_are_not_text_as_the_writer_does() -> None:
    rows: list[list[object]] = [[1, "a,b"], [None, 2.5]]

    assert CsvChunks().chunk(rows) == writer_text(rows)  # type: ignore[arg-type]


def test_one_csv_chunks_serves_many_batches_alike() -> None:
    chunks = CsvChunks()
    batches = [[["a,b", '"']], [["plain", "row"]], [["x\ny", "z"]], [["c", "d,e"]]]

    assert [chunks.chunk(rows) for rows in batches] == [writer_text(rows) for rows in batches]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.text(alphabet=st.sampled_from('ab ,"\r\n\t=é✓'), max_size=6), max_size=5),
        max_size=6,
    )
)
def test_csv_chunks_match_the_csv_writer_on_any_rows(rows: list[list[str]]) -> None:
    assert CsvChunks().chunk(rows) == writer_text(rows)


# --- Times: the database's text is iso()'s ---------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 3, 1, 9, 30, 15, tzinfo=UTC),
        datetime(2025, 3, 1, 9, 30, 59, 999999, tzinfo=UTC),
        datetime(2025, 12, 31, 23, 59, 59, 999600, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ],
)
def test_signed_at_is_cut_to_the_second_as_iso_writes_it(
    session: Session, moment: datetime
) -> None:
    letter = make_letter(session)
    make_signature(session, letter, published_at=moment)
    session.flush()

    [[row]] = list(queries.iter_published(session, letter, kind="organization"))

    assert row[queries.DOWNLOAD_FIELDS.index("signed_at")] == iso(moment)


# --- Batches: the keyset walks ties across a batch's end ------------------------------------


def test_batches_walk_ties_in_signing_time_exactly_once(session: Session) -> None:
    letter = make_letter(session)
    moment = utcnow() - timedelta(days=1)
    made = [make_signature(session, letter, published_at=moment) for _ in range(5)]
    made.append(make_signature(session, letter, published_at=moment - timedelta(seconds=1)))
    session.flush()

    batches = list(queries.iter_published(session, letter, kind="organization", batch_size=2))

    assert [len(batch) for batch in batches] == [2, 2, 2]
    expected = [made[-1].id] + sorted(signature.id for signature in made[:-1])
    assert [row[0] for batch in batches for row in batch] == expected


def test_an_unknown_section_is_refused(session: Session) -> None:
    letter = make_letter(session)

    with pytest.raises(Exception, match="unknown kind"):
        next(queries.iter_published(session, letter, kind="everyone"))


# --- JSON items: what json.dumps would write ------------------------------------------------


# No NUL: PostgreSQL text cannot hold one.
HOSTILE = ['quote " and \\ backslash', "tab\tnewline\n", "\x01\x1f\u2028", "Zoë 李华 \U0001f600"]


def test_json_items_are_what_json_dumps_writes(session: Session, app) -> None:
    letter = make_letter(session)
    for text in HOSTILE:
        make_signature(session, letter, organization=text, name=text, title=text, website=text)
    make_signature(session, letter, title=None, organization_type="no-such-type", country="XK")
    make_signature(session, letter, kind="individual", organization=None, title=None)
    session.flush()

    with app.test_request_context():
        document = "".join(writers.iter_json(session, letter, base_url="http://x", now=utcnow()))

    items = json.loads(document)["signatures"]
    assert len(items) == len(HOSTILE) + 2
    body = document[document.index('"signatures":[') + len('"signatures":[') : -len("\n]}\n")]
    assert body == "\n" + ",\n".join(json.dumps(item, ensure_ascii=False) for item in items)
    assert [item["name"] for item in items[: len(HOSTILE)]] == HOSTILE
    assert items[-1]["domain_verified"] is None and items[-1]["organization"] is None
    assert items[-2]["organization_type"] == "no-such-type" and items[-2]["title"] is None
