"""Build signatory/lists/world-map.json, the country shapes of the stats page's map.

The shapes are Natural Earth's 1:110m countries (public domain) as packaged in TopoJSON by
the npm package world-atlas (ISC licence, Mike Bostock). This script decodes the TopoJSON
arcs, projects them with the Equal Earth projection (Šavrič, Patterson and Jenny, 2018),
and writes one SVG path per ISO 3166-1 alpha-2 code, plus the land that has none (Kosovo,
Northern Cyprus, Somaliland) as one path. Antarctica is left out. The output is committed;
run this only to change the drawing:

    .venv/bin/python scripts/build_world_map.py [countries-110m.json]

Without an argument it downloads world-atlas 2.0.2 from the npm registry.
"""

from __future__ import annotations

import io
import json
import math
import sys
import tarfile
import urllib.request
from pathlib import Path

import pycountry

PACKAGE = "https://registry.npmjs.org/world-atlas/-/world-atlas-2.0.2.tgz"
OUTPUT = Path(__file__).resolve().parent.parent / "signatory" / "lists" / "world-map.json"
WIDTH = 960  # the drawing's width in SVG units; the height follows from the projection
LEFT_OUT = {"010"}  # Antarctica

# Equal Earth's constants.
A1, A2, A3, A4 = 1.340264, -0.081106, 0.000893, 0.003796
M = math.sqrt(3) / 2
X_EDGE = math.pi / (M * A1)  # x at longitude ±180°, latitude 0


def equal_earth(longitude: float, latitude: float) -> tuple[float, float]:
    """Projected (x, y) of a point in degrees, x in ±X_EDGE, y up."""
    lam, phi = math.radians(longitude), math.radians(latitude)
    theta = math.asin(M * math.sin(phi))
    t2 = theta * theta
    t6 = t2 * t2 * t2
    x = lam * math.cos(theta) / (M * (A1 + 3 * A2 * t2 + t6 * (7 * A3 + 9 * A4 * t2)))
    y = theta * (A1 + A2 * t2 + t6 * (A3 + A4 * t2))
    return x, y


def load(argument: str | None) -> dict:
    if argument:
        return json.loads(Path(argument).read_text(encoding="utf-8"))
    with urllib.request.urlopen(PACKAGE, timeout=60) as answer:  # noqa: S310 - a fixed https URL
        packed = io.BytesIO(answer.read())
    with tarfile.open(fileobj=packed, mode="r:gz") as archive:
        member = archive.extractfile("package/countries-110m.json")
        assert member is not None
        return json.loads(member.read())


def decoded_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Every arc as (longitude, latitude) points: the deltas summed, then un-quantised."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(indexes: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """One closed ring: its arcs joined, a negative index (~i) meaning arc i reversed.

    A ring that crosses the antimeridian (Russia's far east, Fiji) is kept whole by moving
    its western points 360° east: that part then lies past the map's right edge, where the
    SVG clips it, instead of a line being drawn across the whole world.
    """
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    if any(abs(b[0] - a[0]) > 180 for a, b in zip(points, points[1:], strict=False)):
        points = [(lon + 360 if lon < 0 else lon, lat) for lon, lat in points]
    return points


def main() -> None:
    topology = load(sys.argv[1] if len(sys.argv) > 1 else None)
    arcs = decoded_arcs(topology)
    geometries = topology["objects"]["countries"]["geometries"]

    rings_by_code: dict[str, list[list[tuple[float, float]]]] = {}
    for geometry in geometries:
        number = geometry.get("id")
        if number in LEFT_OUT:
            continue
        country = pycountry.countries.get(numeric=number) if number else None
        code = country.alpha_2 if country else ""  # "" is land with no ISO code
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for polygon in polygons:
            for indexes in polygon:
                projected = [equal_earth(lon, lat) for lon, lat in ring(indexes, arcs)]
                rings_by_code.setdefault(code, []).append(projected)

    every = [point for rings in rings_by_code.values() for r in rings for point in r]
    top = max(y for _, y in every)
    bottom = min(y for _, y in every)
    scale = WIDTH / (2 * X_EDGE)
    height = math.ceil((top - bottom) * scale)

    def svg_ring(points: list[tuple[float, float]]) -> str:
        # Whole units (a pixel at full width) are finer than the 1:110m lines; each point
        # after the first is written relative to the one before, which halves the file.
        placed: list[tuple[int, int]] = []
        for x, y in points:
            point = (round((x + X_EDGE) * scale), round((top - y) * scale))
            if not placed or point != placed[-1]:
                placed.append(point)
        if len(placed) > 1 and placed[-1] == placed[0]:
            placed.pop()
        if len(placed) < 3:
            return ""  # an islet smaller than a pixel
        (x0, y0), *rest = placed
        steps, (px, py) = [], (x0, y0)
        for x, y in rest:
            steps.append(f"{x - px},{y - py}".replace(",-", "-"))
            px, py = x, y
        return f"M{x0},{y0}l" + " ".join(steps) + "z"

    shapes = {
        code: "".join(svg_ring(r) for r in rings) for code, rings in sorted(rings_by_code.items())
    }
    OUTPUT.write_text(
        json.dumps(
            {
                "source": (
                    "Natural Earth 1:110m countries (public domain), via world-atlas 2.0.2"
                    " (ISC licence, Copyright 2013-2019 Michael Bostock)"
                ),
                "projection": "Equal Earth",
                "width": WIDTH,
                "height": height,
                "shapes": shapes,
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"{OUTPUT}: {len(shapes)} shapes, {WIDTH}×{height}, {OUTPUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
