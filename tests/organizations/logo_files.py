"""Real image files for the logo tests, made by Pillow (or by hand, for the hostile ones)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

SECRET_MAKE = "SecretCam-9000"
# EXIF tags: the camera's make, the orientation (6: the camera was turned 90° clockwise).
MAKE_TAG, ORIENTATION_TAG = 0x010F, 0x0112


def raster(
    fmt: str, size: tuple[int, int] = (64, 32), color: str = "red", mode: str = "RGB"
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt)
    return out.getvalue()


def png(size: tuple[int, int] = (64, 32), color: str = "red") -> bytes:
    return raster("PNG", size, color)


def jpeg_with_exif(size: tuple[int, int] = (40, 20)) -> bytes:
    """A JPEG carrying a camera make and orientation 6 (to be turned upright: 20 × 40)."""
    image = Image.new("RGB", size, "blue")
    exif = Image.Exif()
    exif[MAKE_TAG] = SECRET_MAKE
    exif[ORIENTATION_TAG] = 6
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=b"a comment to strip")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 20_000) -> bytes:
    """A PNG declaring ``side`` × ``side`` pixels in a few hundred bytes: its rows are
    zeros that deflate to nearly nothing (here only the first rows, which is all a
    decoder would need to start allocating the whole image)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (side + 1) * 64, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


SVG_OK = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    b'viewBox="0 0 200 100" width="200" height="100">'
    b'<defs><circle id="dot" r="20" fill="#0000ff"/></defs>'
    b'<rect width="200" height="100" fill="#00aa00"/>'
    b'<use xlink:href="#dot" x="100" y="50"/></svg>'
)
SVG_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
SVG_ONLOAD = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)">'
    b"<rect width='10' height='10'/></svg>"
)
SVG_EXTERNAL = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    b'viewBox="0 0 10 10"><image href="file:///etc/passwd" width="10" height="10"/></svg>'
)
SVG_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><text y="5">&secret;</text></svg>'
)
SVG_FOREIGN = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><foreignObject width="10" '
    b'height="10"><body xmlns="http://www.w3.org/1999/xhtml">hi</body></foreignObject></svg>'
)
SVG_CSS_URL = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<rect width="10" height="10" style="fill:url(http://169.254.169.254/latest)"/></svg>'
)


def svg_nested_uses() -> bytes:
    """A "billion laughs" of <use>: each level draws the one below ten times."""
    levels = ['<rect id="l0" width="1" height="1"/>']
    for level in range(1, 8):
        uses = "".join(f'<use href="#l{level - 1}"/>' for _ in range(10))
        levels.append(f'<g id="l{level}">{uses}</g>')
    body = "".join(levels)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs>{body}</defs>'
        f'<use href="#l7"/></svg>'
    ).encode()
