"""Checking an uploaded logo by its content and making the one PNG we serve from it."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from PIL import Image, ImageFile

from signatory.organizations.images import (
    MAX_SIDE,
    LogoRefused,
    PreparedLogo,
    checked_svg,
    prepare_logo,
)
from tests.organizations import logo_files as files

LIMIT = 2 * 1024 * 1024


@pytest.fixture(autouse=True)
def request_context(app: Flask) -> Iterator[None]:
    # The refusals' messages are translated: they need a request's language.
    with app.test_request_context():
        yield


def decoded(prepared: PreparedLogo) -> Image.Image:
    image = Image.open(io.BytesIO(prepared.image))
    image.load()
    return image


def refusal(data: bytes) -> LogoRefused:
    with pytest.raises(LogoRefused) as caught:
        prepare_logo(data, max_bytes=LIMIT)
    return caught.value


@pytest.mark.parametrize(
    ("fmt", "source_type"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")]
)
def test_a_raster_logo_is_re_encoded_as_png(fmt: str, source_type: str) -> None:
    prepared = prepare_logo(files.raster(fmt, (64, 32)), max_bytes=LIMIT)

    image = decoded(prepared)
    assert image.format == "PNG" and prepared.media_type == "image/png"
    assert prepared.source_type == source_type
    assert (prepared.width, prepared.height) == image.size == (64, 32)


def test_a_large_logo_is_shrunk_to_fit_the_square_keeping_its_shape() -> None:
    prepared = prepare_logo(files.png((2000, 1000)), max_bytes=LIMIT)

    assert (prepared.width, prepared.height) == (MAX_SIDE, MAX_SIDE // 2)


def test_the_exif_metadata_of_a_jpeg_is_gone_and_its_orientation_applied() -> None:
    source = files.jpeg_with_exif((40, 20))
    assert files.SECRET_MAKE.encode() in source

    prepared = prepare_logo(source, max_bytes=LIMIT)

    image = decoded(prepared)
    assert image.size == (20, 40), "orientation 6 turns the 40 × 20 image upright"
    assert files.SECRET_MAKE.encode() not in prepared.image
    assert b"a comment to strip" not in prepared.image
    assert dict(image.getexif()) == {}
    assert not {"exif", "icc_profile", "comment", "dpi"} & set(image.info)


def test_transparency_survives_re_encoding() -> None:
    source = files.raster("PNG", (8, 8), color=(0, 0, 0, 0), mode="RGBA")  # type: ignore[arg-type]

    image = decoded(prepare_logo(source, max_bytes=LIMIT))

    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


def test_an_svg_is_rasterised_to_png_at_its_own_proportions() -> None:
    prepared = prepare_logo(files.SVG_OK, max_bytes=LIMIT)

    image = decoded(prepared).convert("RGB")
    assert prepared.source_type == "svg"
    assert image.size == (MAX_SIDE, MAX_SIDE // 2)
    assert image.getpixel((5, 5)) == (0, 170, 0), "the rectangle is drawn"
    assert image.getpixel((MAX_SIDE // 2, MAX_SIDE // 4)) == (0, 0, 255), "the <use> is drawn"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (files.SVG_SCRIPT, "<script>"),
        (files.SVG_ONLOAD, "event attribute (onload)"),
        (files.SVG_EXTERNAL, "refers to another file"),
        (files.SVG_ENTITY, "DOCTYPE or entities"),
        (files.SVG_FOREIGN, "<foreignobject>"),
        (files.SVG_CSS_URL, "refers to another file"),
    ],
    ids=["script", "onload", "external-href", "doctype-entity", "foreign-object", "css-url"],
)
def test_a_hostile_svg_is_refused_saying_why(data: bytes, says: str) -> None:
    refused = refusal(data)

    assert says in str(refused)
    assert refused.status == 422


def test_an_svg_of_nested_uses_is_refused_before_it_is_drawn() -> None:
    assert "repeats elements within repeated elements" in str(refusal(files.svg_nested_uses()))


def test_an_svg_entity_is_refused_by_the_parser_even_without_a_doctype_keyword() -> None:
    # The parser's own refusal, behind the plain-text check.
    with pytest.raises(LogoRefused):
        checked_svg(b'<svg xmlns="http://www.w3.org/2000/svg">&ent;</svg>')


def test_a_gif_is_refused_by_name() -> None:
    assert "GIF images are not accepted" in str(refusal(files.raster("GIF")))


def test_text_is_not_an_image() -> None:
    assert "not an image we accept" in str(refusal(b"just some text, named logo.png"))


def test_a_truncated_image_is_refused_as_unreadable() -> None:
    # Noise: its rows do not deflate away, so half the file is half the picture.
    noisy = Image.effect_noise((300, 300), 80).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, format="PNG")
    whole = out.getvalue()

    assert "could not be read" in str(refusal(whole[: len(whole) // 2]))


def test_a_truncated_image_is_refused_even_where_another_library_allows_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # WeasyPrint (the delivery package) turns Pillow's global switch on when imported.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    noisy = Image.effect_noise((300, 300), 80).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, format="PNG")

    assert "could not be read" in str(refusal(out.getvalue()[: len(out.getvalue()) // 2]))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # put back as it was


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    bomb = files.png_bomb(20_000)
    assert len(bomb) < 10_000

    assert "too large in pixels" in str(refusal(bomb))


def test_a_file_over_the_limit_is_refused_as_too_large() -> None:
    refused = refusal(b"\x89PNG\r\n\x1a\n" + b"\x00" * LIMIT)

    assert refused.status == 413
    assert "too large: keep it under 2 MB" in str(refused)


def test_an_empty_file_is_refused() -> None:
    assert "empty" in str(refusal(b""))


def test_the_stored_hash_is_the_served_images() -> None:
    import hashlib

    prepared = prepare_logo(files.png(), max_bytes=LIMIT)

    assert prepared.sha256 == hashlib.sha256(prepared.image).hexdigest()
