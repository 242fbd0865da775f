"""The commands operators rely on: each says what it did, and fails clearly on bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from signatory.core.extensions import db
from signatory.models import Coordinator, Letter, Membership, Signature


@pytest.fixture
def body_file(tmp_path):
    path = tmp_path / "letter.md"
    path.write_text("# Dear Chair\n\nWe ask you to **listen**.\n", encoding="utf-8")
    return path


def create_letter(runner, body_file, *extra):
    return runner.invoke(
        args=[
            "letters", "create", "--slug", "dear-chair", "--title", "Dear Chair",
            "--recipient", "Chair of the Committee", "--body-file", str(body_file), *extra,
        ]
    )  # fmt: skip


def test_coordinators_create_reads_the_password_from_stdin(runner, app):
    result = runner.invoke(
        args=["coordinators", "create", "Ana@Example.org", "--name", "Ana"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created coordinator ana@example.org" in result.output
    with app.app_context():
        coordinator = db.session.scalar(select(Coordinator))
        assert coordinator.email == "ana@example.org"
        assert coordinator.password_hash.startswith("scrypt:")
        assert "a long enough password" not in coordinator.password_hash


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["not-an-email", "--name", "X"], "a long enough password", "not a valid email"),
        (["x@example.org", "--name", "X"], "short", "at least 12"),
        (["x@example.org", "--name", "X"], "p" * 2000, "longer than 1024"),
    ],
)
def test_coordinators_create_refuses_bad_input(runner, app, args, password, message):
    result = runner.invoke(args=["coordinators", "create", *args], input=password)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Coordinator)) == 0


def test_coordinators_create_refuses_a_duplicate(runner):
    args = ["coordinators", "create", "ana@example.org", "--name", "Ana"]
    assert runner.invoke(args=args, input="a long enough password").exit_code == 0
    result = runner.invoke(args=args, input="a long enough password")
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_letters_create_makes_a_draft_with_its_first_version(runner, app, body_file):
    result = create_letter(runner, body_file)
    assert result.exit_code == 0, result.output
    assert "Created letter 'dear-chair' (draft)" in result.output
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        assert (letter.status, letter.moderation, letter.allow_individuals) == (
            "draft",
            "none",
            True,
        )
        assert letter.current_version.number == 1
        assert "<strong>listen</strong>" in letter.current_version.body_html


def test_letters_create_with_flags_opens_moderates_and_sets_the_owner(runner, app, body_file):
    runner.invoke(
        args=["coordinators", "create", "ana@example.org", "--name", "Ana"],
        input="a long enough password",
    )
    result = create_letter(
        runner, body_file, "--open", "--moderation", "--no-individuals",
        "--owner", "ana@example.org", "--deadline", "2030-01-01T12:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with app.app_context():
        letter = db.session.scalar(select(Letter))
        assert (letter.status, letter.moderation, letter.allow_individuals) == (
            "open",
            "all",
            False,
        )
        assert letter.deadline.isoformat() == "2030-01-01T12:00:00+00:00"
        membership = db.session.scalar(select(Membership))
        assert (membership.role, membership.letter_id) == ("owner", letter.id)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--owner", "nobody@example.org"], "no coordinator with email"),
        (["--deadline", "next tuesday"], "ISO 8601"),
    ],
)
def test_letters_create_refuses_bad_arguments(runner, app, body_file, extra, message):
    result = create_letter(runner, body_file, *extra)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Letter)) == 0


def test_letters_create_refuses_a_bad_or_taken_slug(runner, body_file):
    bad = runner.invoke(
        args=["letters", "create", "--slug", "Not A Slug", "--title", "T", "--recipient", "R",
              "--body-file", str(body_file)]
    )  # fmt: skip
    assert bad.exit_code != 0 and "lowercase letters" in bad.output
    assert create_letter(runner, body_file).exit_code == 0
    taken = create_letter(runner, body_file)
    assert taken.exit_code != 0 and "already exists" in taken.output


def test_letters_create_refuses_a_missing_body_file(runner, tmp_path):
    result = runner.invoke(
        args=["letters", "create", "--slug", "x", "--title", "T", "--recipient", "R",
              "--body-file", str(tmp_path / "missing.md")]
    )  # fmt: skip
    assert result.exit_code != 0
    assert "No such file" in result.output


def test_letters_open_and_close_change_the_status(runner, app, body_file):
    create_letter(runner, body_file)
    assert "now open" in runner.invoke(args=["letters", "open", "dear-chair"]).output
    assert "now closed" in runner.invoke(args=["letters", "close", "dear-chair"]).output
    again = runner.invoke(args=["letters", "close", "dear-chair"])
    assert again.exit_code != 0 and "cannot change" in again.output
    missing = runner.invoke(args=["letters", "open", "nope"])
    assert missing.exit_code != 0 and "no letter with slug" in missing.output


def test_closing_a_draft_is_refused_and_leaves_it_a_draft(runner, app, body_file):
    create_letter(runner, body_file)

    result = runner.invoke(args=["letters", "close", "dear-chair"])

    assert result.exit_code != 0
    assert "cannot change a draft letter to closed" in result.output
    listed = runner.invoke(args=["letters", "list"]).output
    assert "dear-chair\tdraft" in listed


def test_demo_loads_a_letter_with_published_signatories_once(runner, app):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Loaded the demo letter" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0 and "already loaded" in second.output
    with app.app_context():
        kinds = dict(
            db.session.execute(
                select(Signature.kind, func.count())
                .where(Signature.status == "published")
                .group_by(Signature.kind)
            ).all()
        )
        countries = db.session.scalar(select(func.count(func.distinct(Signature.country))))
    assert kinds["organization"] >= 30 and kinds["individual"] >= 10
    assert countries >= 25


def test_the_demo_letter_page_renders(runner, client):
    runner.invoke(args=["demo"])
    page = client.get("/letters/civic-space-in-the-treaty")
    assert page.status_code == 200
    assert "Beatriz Alves" in page.get_data(as_text=True)
