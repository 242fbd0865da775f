"""Checking an uploaded logo and making the one image we serve from it.

The type is read from the content (magic bytes, then a full decode), never from the file's
name or its declared type. Raster images (PNG, JPEG, WebP) are decoded by Pillow within
pixel bounds checked before anything is decoded (a 20000 × 20000 PNG is a few kilobytes),
turned upright by their EXIF orientation, shrunk to ``MAX_SIDE`` and drawn anew into a
fresh image saved as PNG: no metadata, no ICC profile, no text chunk, no second frame
survives. An SVG is refused when it could act or reach anything (scripts, event
attributes, foreignObject, a DOCTYPE or entities, any reference that is not ``#…``, CSS
``url()``/``@import`` to elsewhere), then the tree we checked, not the bytes sent, is
rasterised by CairoSVG with a fetcher that refuses everything, and the PNG it draws goes
through the raster path too. So what is served is always a PNG we made.

Nothing here reads the request or the configuration: the limits are arguments.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, tostring

from flask_babel import gettext
from PIL import Image, ImageFile, ImageOps

from signatory.core.errors import DomainError

# The served image fits in this square, in pixels.
MAX_SIDE = 512
# What a source may decode to before it is shrunk: about 64 MB as RGBA at most.
MAX_SOURCE_PIXELS = 16_000_000
MAX_SOURCE_SIDE = 10_000
# An SVG's elements, and <use> references, at most: a logo needs far fewer.
MAX_SVG_ELEMENTS = 5_000
MAX_SVG_USES = 200
MEDIA_TYPE = "image/png"

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Elements that run, embed or fetch: refused wherever they stand.
_FORBIDDEN_ELEMENTS = frozenset(
    {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener", "audio",
     "video", "canvas"}
)  # fmt: skip
# url(...) naming anything but a fragment of this document.
_OUTSIDE_URL = re.compile(rb"url\(\s*['\"]?\s*(?!#)", re.I)
_OUTSIDE_URL_TEXT = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.I)
_NUMBER = re.compile(
    r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(px|pt|pc|mm|cm|in|em|ex)?\s*$", re.I
)


class LogoRefused(DomainError):
    """An upload that is not taken; ``str(error)`` says why, for the signer. ``status`` is
    the HTTP status a page refusing only this should answer (413 too large, 422 otherwise)."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PreparedLogo:
    """The image we made from an upload, ready to store and serve."""

    image: bytes
    media_type: str
    width: int
    height: int
    sha256: str
    # What the upload was, by its content: png, jpeg, webp or svg.
    source_type: str


def _accepted() -> str:
    return gettext("Use a PNG, JPEG, WebP or SVG image.")


def too_large(max_bytes: int) -> LogoRefused:
    """The refusal of a file over ``max_bytes``."""
    return LogoRefused(
        gettext(
            "The logo file is too large: keep it under %(size)s MB.",
            size=f"{max_bytes / (1024 * 1024):g}",
        ),
        status=413,
    )


def sniff(data: bytes) -> str | None:
    """What ``data`` is by its first bytes: png, jpeg, webp, gif, svg, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<") and re.search(rb"<svg[\s>/]", data[:16384]):
        return "svg"
    return None


def prepare_upload(stream: IO[bytes], *, max_bytes: int) -> PreparedLogo:
    """``prepare_logo`` of an uploaded file, read no further than one byte past the limit."""
    try:
        data = stream.read(max_bytes + 1)
    except OSError as error:
        raise _unreadable() from error
    return prepare_logo(data, max_bytes=max_bytes)


def prepare_logo(data: bytes, *, max_bytes: int) -> PreparedLogo:
    """The image to store for the upload ``data``; ``LogoRefused`` saying why not."""
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    if not data:
        raise LogoRefused(gettext("The logo file is empty. Choose the image file again."))
    kind = sniff(data)
    if kind == "gif":
        raise LogoRefused(gettext("GIF images are not accepted.") + " " + _accepted())
    if kind is None:
        raise LogoRefused(gettext("This file is not an image we accept.") + " " + _accepted())
    if kind == "svg":
        png = _rasterise(data)
        return _reencoded(png, "PNG", source_type="svg")
    return _reencoded(data, kind.upper(), source_type=kind)


# --- Raster images ----------------------------------------------------------------------


def _unreadable() -> LogoRefused:
    return LogoRefused(
        gettext("The image could not be read: the file may be damaged or cut short.")
        + " "
        + _accepted()
    )


def _too_many_pixels() -> LogoRefused:
    return LogoRefused(
        gettext(
            "The image is too large in pixels (at most %(side)s pixels a side and "
            "%(megapixels)s megapixels). Make it smaller and upload it again.",
            side=f"{MAX_SOURCE_SIDE:,}",
            megapixels=MAX_SOURCE_PIXELS // 1_000_000,
        )
    )


def _reencoded(data: bytes, pillow_format: str, *, source_type: str) -> PreparedLogo:
    image = _opened(data, pillow_format)
    width, height = image.size
    if width < 1 or height < 1:
        raise _unreadable()
    if width > MAX_SOURCE_SIDE or height > MAX_SOURCE_SIDE or width * height > MAX_SOURCE_PIXELS:
        raise _too_many_pixels()
    try:
        if pillow_format == "JPEG":
            # Decoded at a reduced scale when that is still larger than what we keep.
            image.draft("RGB", (MAX_SIDE * 2, MAX_SIDE * 2))
        with _strict_decoding():
            image.load()
        upright = ImageOps.exif_transpose(image)
        mode = "RGBA" if _has_alpha(upright) else "RGB"
        upright = upright.convert(mode)
        upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        # Drawn into a new image: nothing of the source's info (EXIF, ICC, text) comes along.
        clean = Image.new(mode, upright.size)
        clean.paste(upright)
        out = io.BytesIO()
        clean.save(out, format="PNG")
    # A decoder fed hostile bytes fails in many ways (OSError, SyntaxError, ValueError,
    # struct.error, zlib.error, EOFError...): each is a file we cannot read, never a 500.
    except Exception as error:  # noqa: BLE001
        raise _unreadable() from error
    encoded = out.getvalue()
    return PreparedLogo(
        image=encoded,
        media_type=MEDIA_TYPE,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        source_type=source_type,
    )


# Pillow's switch to decode truncated files as if whole is one global, and WeasyPrint (the
# delivery package's PDF, imported in the same process) turns it on for its own images.
# A logo cut short must be refused, not stored half grey: it is turned off while one
# decodes, under a lock, and put back as it was.
_DECODING = threading.Lock()


@contextmanager
def _strict_decoding() -> Iterator[None]:
    with _DECODING:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


def _opened(data: bytes, pillow_format: str) -> Image.Image:
    """The image's header read (nothing decoded yet), as the one format its bytes say."""
    with warnings.catch_warnings():
        # Pillow warns of a possible decompression bomb (and raises past twice its limit);
        # either is a refusal here, before a pixel is decoded.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data), formats=[pillow_format])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_many_pixels() from error
        except Exception as error:  # noqa: BLE001 (as in _reencoded)
            raise _unreadable() from error


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
        image.mode == "P" and "transparency" in image.info
    )


# --- SVG ------------------------------------------------------------------------------------


def _svg_refused(what: str) -> LogoRefused:
    return LogoRefused(
        gettext(
            "This SVG is not accepted: %(problem)s. Export the logo as a plain SVG, or as PNG.",
            problem=what,
        )
    )


def _local(name: str) -> tuple[str, str]:
    """``{namespace}local`` split into its namespace and lower-cased local name."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local.lower()
    return "", name.lower()


def checked_svg(data: bytes) -> Element:
    """The SVG's tree once every part of it is known to be inert; else ``LogoRefused``."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    lowered = data.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise _svg_refused(gettext("it declares a DOCTYPE or entities"))
    if b"<?xml-stylesheet" in lowered:
        raise _svg_refused(gettext("it links a style sheet"))
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise _svg_refused(gettext("it declares a DOCTYPE or entities")) from error
    except (ParseError, ValueError, UnicodeError) as error:
        raise _svg_refused(gettext("it is not well-formed XML")) from error
    namespace, tag = _local(str(root.tag))
    if tag != "svg" or namespace not in ("", SVG_NS):
        raise _svg_refused(gettext("it is not an SVG image"))
    elements = list(root.iter())
    if len(elements) > MAX_SVG_ELEMENTS:
        raise _svg_refused(gettext("it has too many elements for a logo"))
    by_id: dict[str, Element] = {}
    uses: list[tuple[Element, str]] = []
    for element in elements:
        _check_element(element, by_id, uses)
    _check_uses(by_id, uses)
    return root


def _check_element(
    element: Element, by_id: dict[str, Element], uses: list[tuple[Element, str]]
) -> None:
    namespace, tag = _local(str(element.tag))
    if namespace not in ("", SVG_NS):
        raise _svg_refused(gettext("it holds elements that are not SVG"))
    if tag in _FORBIDDEN_ELEMENTS:
        raise _svg_refused(gettext("it contains a <%(element)s> element", element=tag))
    if tag == "style" and element.text and _refers_outside(element.text):
        raise _svg_refused(gettext("its style refers to other files"))
    for name, value in element.attrib.items():
        _, attribute = _local(name)
        if attribute.startswith("on"):
            raise _svg_refused(
                gettext("it has an event attribute (%(attribute)s)", attribute=attribute)
            )
        if attribute == "href":
            if not value.strip().startswith("#"):
                raise _svg_refused(gettext("it refers to another file or address"))
            if tag == "use":
                uses.append((element, value.strip()[1:]))
        elif _refers_outside(value):
            raise _svg_refused(gettext("it refers to another file or address"))
        if attribute == "id":
            by_id[value] = element


def _refers_outside(text: str) -> bool:
    lowered = text.lower()
    return "@import" in lowered or bool(_OUTSIDE_URL_TEXT.search(text))


def _check_uses(by_id: dict[str, Element], uses: list[tuple[Element, str]]) -> None:
    """Refuse <use> chains: a <use> of a group of <use>s of ... grows exponentially."""
    if len(uses) > MAX_SVG_USES:
        raise _svg_refused(gettext("it repeats elements too many times"))
    for _use, target_id in uses:
        target = by_id.get(target_id)
        if target is None:
            continue
        if any(_local(str(inner.tag))[1] == "use" for inner in target.iter()):
            raise _svg_refused(gettext("it repeats elements within repeated elements"))


def _aspect(root: Element) -> float:
    """The SVG's width over its height (viewBox first, then width and height), else 1."""
    view_box = root.get("viewBox")
    if view_box:
        parts = re.split(r"[\s,]+", view_box.strip())
        try:
            width, height = float(parts[2]), float(parts[3])
        except (IndexError, ValueError):
            width = height = 0.0
        if width > 0 and height > 0:
            return width / height
    sizes = [_NUMBER.match(root.get(name) or "") for name in ("width", "height")]
    if sizes[0] and sizes[1] and sizes[0].group(2) == sizes[1].group(2):
        width, height = float(sizes[0].group(1)), float(sizes[1].group(1))
        if width > 0 and height > 0:
            return width / height
    return 1.0


def _refuse_fetch(url: str, resource_type: str) -> Any:
    # Never reached for an SVG that passed ``checked_svg``; kept so the rasteriser can
    # fetch nothing whatever it finds (CVE-2023-27586 was CairoSVG fetching URLs).
    raise LogoRefused(gettext("This SVG refers to another file or address."))


def _rasterise(data: bytes) -> bytes:
    from cairosvg.surface import PNGSurface

    root = checked_svg(data)
    ratio = min(max(_aspect(root), 1 / MAX_SIDE), MAX_SIDE)
    if ratio >= 1:
        width, height = MAX_SIDE, max(1, round(MAX_SIDE / ratio))
    else:
        width, height = max(1, round(MAX_SIDE * ratio)), MAX_SIDE
    try:
        # The tree we checked, serialised again: CairoSVG never parses the bytes sent.
        # ``convert`` rather than ``svg2png``, which does not pass ``url_fetcher`` on.
        png = PNGSurface.convert(
            bytestring=tostring(root),
            url_fetcher=_refuse_fetch,
            unsafe=False,
            output_width=width,
            output_height=height,
        )
    except LogoRefused:
        raise
    # CairoSVG fails on odd input in many ways (ValueError, TypeError, KeyError...).
    except Exception as error:  # noqa: BLE001
        raise _svg_refused(gettext("it could not be drawn")) from error
    if not isinstance(png, bytes):
        raise _svg_refused(gettext("it could not be drawn"))
    return png
