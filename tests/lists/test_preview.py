"""The picture a shared link shows: /letters/<slug>/preview.png and the tags that point at it."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from PIL import Image, ImageFont
from sqlalchemy.orm import Session

from signatory.letters.service import TITLE_MAX
from signatory.lists import preview
from tests.factories import make_letter, make_signature

URL = "/letters/civic/preview.png"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEJAVU_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
ARABIC = "رسالة مفتوحة"


def png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def meta(page: str, attribute: str, name: str) -> str:
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', page)
    assert match, f"no {name} meta tag"
    return html.unescape(match.group(1))


def inked_columns(image: Image.Image, top: int, bottom: int) -> tuple[int, int]:
    """The leftmost and rightmost columns with dark pixels between rows ``top`` and ``bottom``."""
    band = image.convert("L").crop((0, top, image.width, bottom)).point(lambda v: 255 * (v < 128))
    box = band.getbbox()
    assert box is not None, "nothing drawn there"
    return box[0], box[2]


# --- The route ------------------------------------------------------------------------------


def test_preview_is_a_1200_by_630_png(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()

    response = client.get(URL)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    image = png(response.get_data())
    assert image.format == "PNG"
    assert image.size == (1200, 630)
    # No text chunk (a timestamp, a software name) that would make equal pictures differ.
    assert image.info.keys() <= {"dpi", "gamma", "srgb"}
    assert len(response.get_data()) < 100_000


def test_preview_may_be_kept_briefly_and_revalidated(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    response = client.get(URL)

    assert response.cache_control.public
    assert response.cache_control.max_age == 300
    assert "Set-Cookie" not in response.headers
    etag = response.headers["ETag"]
    again = client.get(URL, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_the_same_letter_gives_the_same_bytes_from_the_page_cache(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()

    first = client.get(URL)
    second = client.get(URL)

    assert first.headers["X-Signatory-Cache"] == "miss"
    assert second.headers["X-Signatory-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    assert second.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize("app_config", [{"CACHE_URL": "none"}])
def test_drawing_twice_gives_the_same_bytes(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()

    first = client.get(URL)
    second = client.get(URL)

    # Nothing kept: both were drawn, and came out identical.
    assert first.headers["X-Signatory-Cache"] == second.headers["X-Signatory-Cache"] == "bypass"
    assert first.get_data() == second.get_data()


def test_a_new_signature_or_title_draws_a_new_picture(
    client: FlaskClient, session: Session
) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()
    before = client.get(URL)

    make_signature(session, letter, kind="individual")
    session.commit()
    signed = client.get(URL)

    assert signed.status_code == 200
    assert signed.get_data() != before.get_data()
    assert signed.headers["ETag"] != before.headers["ETag"]
    # The old copy is not confirmed as current.
    assert client.get(URL, headers={"If-None-Match": before.headers["ETag"]}).status_code == 200

    letter.title = "A different title"
    session.commit()
    retitled = client.get(URL)

    assert retitled.get_data() not in (before.get_data(), signed.get_data())


def test_an_unpublished_signature_changes_nothing(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()
    before = client.get(URL).get_data()

    make_signature(session, letter, status="pending_review")
    session.commit()

    assert client.get(URL).get_data() == before


def test_unknown_and_draft_letters_have_no_preview(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="draft", status="draft")
    session.commit()

    for url in ("/letters/nothing-here/preview.png", "/letters/draft/preview.png"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.mimetype != "image/png"


def test_the_language_comes_from_the_url_alone(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()

    english = client.get(URL).get_data()
    french = client.get(URL + "?lang=fr").get_data()
    unknown = client.get(URL + "?lang=xx").get_data()
    client.set_cookie("lang", "fr")
    with_cookie = client.get(URL).get_data()

    assert french != english
    assert unknown == english
    assert with_cookie == english


# --- The letter page's tags -----------------------------------------------------------------


def test_letter_page_points_link_previews_at_the_picture(
    client: FlaskClient, session: Session
) -> None:
    make_letter(session, slug="civic", title="Protect civic space")
    session.commit()

    page = client.get("/letters/civic").get_data(as_text=True)

    image_url = meta(page, "property", "og:image")
    assert image_url == "http://signatory.test/letters/civic/preview.png"
    assert meta(page, "property", "og:image:width") == "1200"
    assert meta(page, "property", "og:image:height") == "630"
    assert meta(page, "property", "og:image:alt") == "Protect civic space"
    assert meta(page, "name", "twitter:card") == "summary_large_image"
    assert meta(page, "name", "twitter:image") == image_url
    served = client.get(image_url.removeprefix("http://signatory.test"))
    assert served.status_code == 200 and served.mimetype == "image/png"


def test_a_french_page_links_the_french_picture(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic")
    session.commit()
    client.set_cookie("lang", "fr")

    page = client.get("/letters/civic").get_data(as_text=True)

    assert meta(page, "property", "og:image") == (
        "http://signatory.test/letters/civic/preview.png?lang=fr"
    )


# --- Titles of every length and script ------------------------------------------------------


def test_a_very_long_title_is_drawn_cut_short(client: FlaskClient, session: Session) -> None:
    # The longest title a letter may have (PostgreSQL refuses a longer one).
    longest = ("Protect civic space in the treaty " * 6)[:TITLE_MAX].strip()
    make_letter(session, slug="civic", title=longest)
    session.commit()

    response = client.get(URL)

    assert response.status_code == 200
    assert png(response.get_data()).size == (1200, 630)


def test_a_long_title_fits_four_lines_ending_in_an_ellipsis() -> None:
    title = " ".join(f"word{n}" for n in range(80))

    block = preview.fit_title(title)

    assert len(block.lines) == preview.TITLE_MAX_LINES
    assert block.lines[-1].endswith("…")
    assert block.font.size == preview.TITLE_SIZES[-1]
    for line in block.lines:
        assert preview.text_width(block.font, line) <= preview.TEXT_WIDTH
    # The lines hold the title's words in order, none lost before the cut.
    shown = " ".join(block.lines).removesuffix("…").split()
    assert shown[:-1] == title.split()[: len(shown) - 1]


def test_a_short_title_keeps_the_largest_type_on_one_line() -> None:
    block = preview.fit_title("Protect civic space")

    assert block.lines == ["Protect civic space"]
    assert block.font.size == preview.TITLE_SIZES[0]


def test_a_word_longer_than_a_line_is_broken() -> None:
    font = preview.load_font(48, bold=True)

    lines = preview.wrapped(font, "x" * 200, preview.TEXT_WIDTH, limit=10)

    assert len(lines) > 1
    assert "".join(lines) == "x" * 200
    assert all(preview.text_width(font, line) <= preview.TEXT_WIDTH for line in lines)


def test_an_arabic_title_is_drawn_from_the_right(client: FlaskClient, session: Session) -> None:
    make_letter(session, slug="civic", title=ARABIC, recipient="وزير الخارجية")
    session.commit()

    response = client.get(URL)

    assert response.status_code == 200
    image = png(response.get_data())
    assert image.size == (1200, 630)
    left, right = inked_columns(image, preview.TITLE_TOP, preview.TITLE_TOP + 80)
    # A short right-to-left title ends at the right margin, far from the left one.
    assert right >= preview.WIDTH - preview.MARGIN - 8
    assert left > preview.WIDTH / 3


def test_right_to_left_lines_are_put_in_visual_order_without_a_shaper() -> None:
    assert preview.is_rtl(ARABIC)
    assert not preview.is_rtl("Open letter " + ARABIC)
    # Drawn left to right, the line must start with its last letter.
    assert preview.visual_order(ARABIC) == "ةحوتفم ةلاسر"
    # Numbers and Latin words inside keep their own order; brackets are mirrored.
    assert preview.visual_order("שלום (2024)") == "(2024) םולש"
    assert preview.visual_order("abc (שלום) def") == "abc (םולש) def"
    assert preview.visual_order("Plain text") == "Plain text"


def test_without_a_shaper_the_arabic_title_still_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    if not preview.Path(DEJAVU).is_file() or not preview.Path(DEJAVU_BOLD).is_file():
        pytest.skip("DejaVu Sans is not installed")

    def basic(path: str, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)

    monkeypatch.setattr(preview, "REGULAR_FONTS", (DEJAVU,))
    monkeypatch.setattr(preview, "BOLD_FONTS", (DEJAVU_BOLD,))
    monkeypatch.setattr(preview, "_truetype", basic)

    image = png(card(title=ARABIC))

    assert image.size == (1200, 630)
    # Pillow draws it as given, left to right: it is handed the letters in visual order.
    assert preview._shown(preview.load_font(40), ARABIC) == "ةحوتفم ةلاسر"
    _, right = inked_columns(image, preview.TITLE_TOP, preview.TITLE_TOP + 80)
    assert right >= preview.WIDTH - preview.MARGIN - 8


# --- Fonts ----------------------------------------------------------------------------------


def card(**words: Any) -> bytes:
    defaults = {
        "title": "Protect civic space",
        "recipient_line": "To: Chair of the Ad Hoc Committee",
        "count_line": "3 signatures: 2 organizations and 1 individual",
        "brand": "signatory",
    }
    return preview.render_card(**{**defaults, **words})


def test_without_any_candidate_font_pillows_own_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_candidates = card()
    monkeypatch.setattr(preview, "REGULAR_FONTS", ("/nonexistent/DejaVuSans.ttf",))
    # A file that exists but is no font is passed over too.
    monkeypatch.setattr(preview, "BOLD_FONTS", ("/nonexistent/DejaVuSans-Bold.ttf", __file__))

    font = preview.load_font(40, bold=True)
    fallback = card()

    assert font.getname() == ImageFont.load_default(size=40).getname()
    assert png(fallback).size == (1200, 630)
    assert png(card(title=ARABIC)).size == (1200, 630)
    if preview.Path(DEJAVU).is_file():
        assert fallback != with_candidates


def test_pillows_bitmap_font_draws_any_script(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pillow without FreeType has only a Latin-1 bitmap font, which raises on other text.
    monkeypatch.setattr(preview, "REGULAR_FONTS", ())
    monkeypatch.setattr(preview, "BOLD_FONTS", ())
    monkeypatch.setattr(preview, "_built_in", lambda size: ImageFont.load_default_imagefont())

    data = card(title=ARABIC + " 数字权利", recipient_line="To: Правозащитный центр")

    assert png(data).size == (1200, 630)


# --- Words ----------------------------------------------------------------------------------


def test_the_words_come_from_the_catalogues(app: Flask) -> None:
    with app.test_request_context():
        assert preview.recipient_phrase("the Chair") == "To: the Chair"
        with force_locale("fr"):
            french = preview.recipient_phrase("la présidence")
        # French sets its colon apart with a no-break space.
        assert re.fullmatch(r"Destinataire\s: la présidence", french), french
        # Markup in a recipient's name is the name, not the catalogue's.
        assert preview.recipient_phrase("<bdi>X</bdi>") == "To: <bdi>X</bdi>"
