"""A letter's signature goal: set in its settings, shown as a progress bar on the letter
page and the embedded counter, and its milestones announced to the coordinators."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from signatory.core.extensions import db
from signatory.letters.service import LetterError
from signatory.letters.settings import check_goal, passed_milestone
from signatory.models.letter import milestone_counts
from tests.conftest import audit_trail, sign_in
from tests.factories import bulk_publish, find_letter, make_letter, make_member
from tests.letters.test_workspace import post_settings

SLUG = "civic-space"


@pytest.fixture
def owner(app, client):
    """An open letter with 30 published signatures, and its owner signed in."""
    with app.app_context():
        letter = make_letter(db.session, slug=SLUG)
        owner = make_member(db.session, letter, email="owner@coalition.example.org")
        bulk_publish(db.session, letter, 30, kind="organization")
        db.session.commit()
        email = owner.email
    return sign_in(client, email)


def stored(app) -> tuple[int | None, str | None, int]:
    with app.app_context():
        letter = find_letter(db.session, SLUG)
        return letter.goal, letter.goal_milestones, letter.goal_milestone_reached


# --- What the coordinators type ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("", None),
        ("100", "100"),
        ("500, 100;100  50%", "100, 500, 50%"),
        ("25% 1000\t75%", "1000, 25%, 75%"),
    ],
)
def test_milestones_are_kept_sorted_and_once_each(typed: str, kept: str | None) -> None:
    assert check_goal(5000, typed) == kept


@pytest.mark.parametrize(
    ("goal", "typed", "refusal"),
    [
        (5000, "1,000", "“000” is not a number of signatures"),
        (5000, "lots", "“lots” is not a number of signatures"),
        (5000, "0", "“0” is not a number of signatures"),
        (5000, "150%", "“150%” is not a share of the goal from 1% to 100%"),
        (5000, "-5", "“-5” is not a number"),
        (5000, "١٠٠", "not a number of signatures"),  # Arabic-Indic digits: said, not guessed
        (None, "50%", "A milestone in percent needs a goal"),
        (5000, " ".join(str(n) for n in range(1, 23)), "at most 20 milestones"),
        (0, "", "Give a goal between 1 and 100,000,000"),
        (100_000_001, "", "Give a goal between 1 and 100,000,000"),
    ],
)
def test_milestones_that_cannot_be_understood_are_refused_with_the_reason(
    app, goal: int | None, typed: str, refusal: str
) -> None:
    with app.test_request_context(), pytest.raises(LetterError) as refused:
        check_goal(goal, typed)
    assert refusal in refused.value.message


def test_the_goal_is_always_a_milestone_and_shares_round_up() -> None:
    assert milestone_counts(3, "50%") == [2, 3]
    assert milestone_counts(5000, "1000, 25%") == [1000, 1250, 5000]
    assert milestone_counts(None, "100, 200") == [100, 200]
    assert milestone_counts(None, None) == []


def test_milestones_already_passed_when_chosen_count_as_announced(session: Session) -> None:
    letter = make_letter(session)
    letter.goal, letter.goal_milestones = 100, "10, 50%"
    assert passed_milestone(letter, 9) == 0
    assert passed_milestone(letter, 60) == 50
    assert passed_milestone(letter, 250) == 100


# --- The settings form ------------------------------------------------------------------


def test_a_coordinator_sets_a_goal_and_milestones_and_it_is_audited(app, owner) -> None:
    response = post_settings(owner, goal="5,000", goal_milestones="100 50%")

    assert response.status_code == 303
    # 30 signatures are published: no milestone is passed yet.
    assert stored(app) == (5000, "100, 50%", 0)
    [event] = audit_trail(app, "letter.settings_changed")
    assert event.detail["changes"]["goal"] == {"from": None, "to": 5000}
    assert event.detail["changes"]["goal_milestones"] == {"from": None, "to": "100, 50%"}
    page = owner.get(f"/manage/letters/{SLUG}/edit").get_data(as_text=True)
    assert 'value="5000"' in page and 'value="100, 50%"' in page


def test_milestones_the_letter_has_passed_are_not_announced_later(app, owner) -> None:
    post_settings(owner, goal="100", goal_milestones="10 20 40")

    assert stored(app) == (100, "10, 20, 40", 20)


def test_clearing_the_goal_removes_the_bar(app, owner, client) -> None:
    post_settings(owner, goal="100")
    post_settings(owner, goal="", goal_milestones="")

    assert stored(app)[:2] == (None, None)
    assert "<progress" not in client.get(f"/letters/{SLUG}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"goal": "five thousand"}, "Give the goal as a whole number of signatures"),
        ({"goal": "12.5e3x"}, "Give the goal as a whole number of signatures"),
        ({"goal": "9" * 40}, "Give the goal as a whole number of signatures"),
        ({"goal": "0"}, "Give a goal between 1 and"),
        ({"goal": "", "goal_milestones": "10%"}, "A milestone in percent needs a goal"),
        ({"goal": "100", "goal_milestones": "=HYPERLINK()"}, "is not a number of signatures"),
    ],
)
def test_a_goal_that_cannot_be_understood_is_refused_beside_its_field(
    app, owner, fields: dict[str, str], message: str
) -> None:
    response = post_settings(owner, **fields)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert stored(app) == (None, None, 0)


# --- The progress bar -------------------------------------------------------------------


def progress_of(page: str) -> tuple[str, str]:
    bar = re.search(r'<progress max="(\d+)" value="(\d+)"', page)
    assert bar, "no progress bar on the page"
    return bar.group(1), bar.group(2)


def test_the_letter_page_shows_the_progress_towards_the_goal(app, owner, client) -> None:
    post_settings(owner, goal="120")

    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)

    assert progress_of(page) == ("120", "30")
    assert "Goal: 120 signatures" in page
    assert "25% of the way" in page
    # The bar is named by its words, for screen readers.
    assert re.search(r'id="goal-text-\d+"', page) and 'aria-labelledby="goal-text-' in page


def test_the_bar_says_the_goal_is_reached_and_stays_full_beyond_it(app, owner, client) -> None:
    post_settings(owner, goal="20")

    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)

    assert progress_of(page) == ("20", "20")
    assert "data-live-goal-share>Goal reached<" in page
    assert 'class="goal goal-reached"' in page


def test_a_share_is_rounded_down_so_the_goal_is_never_shown_reached_too_early(
    app, owner, client
) -> None:
    post_settings(owner, goal="31")

    page = client.get(f"/letters/{SLUG}").get_data(as_text=True)

    assert "data-live-goal-share>96% of the way<" in page
    assert "goal-reached" not in page


def test_the_embedded_counter_shows_the_bar_in_the_language_asked_for(app, owner, client) -> None:
    post_settings(owner, goal="5000")

    page = client.get(f"/letters/{SLUG}/widget?lang=fr").get_data(as_text=True)

    assert progress_of(page) == ("5000", "30")
    assert "Objectif\u00a0: 5\u202f000 signatures" in page


def test_a_letter_without_a_goal_shows_no_bar(app, owner, client) -> None:
    assert "<progress" not in client.get(f"/letters/{SLUG}").get_data(as_text=True)
    assert "<progress" not in client.get(f"/letters/{SLUG}/widget").get_data(as_text=True)


def test_a_new_goal_is_shown_at_once_on_a_kept_letter_page(app, owner, client) -> None:
    client.get(f"/letters/{SLUG}")  # rendered and kept (signatory.caching)
    post_settings(owner, goal="60")

    assert progress_of(client.get(f"/letters/{SLUG}").get_data(as_text=True)) == ("60", "30")
