"""What building a delivered letter's package costs at the sizes letters reach.

The package (``signatory.delivery.package``) is built once per delivery, never per
request: a short list when the delivery is recorded, a long one by ``flask delivery
package`` in a process of its own. This measures that build, in this process, from a
frozen list of ``--signatures`` realistic signatories (``bench.people``: names in many
scripts, 40 countries): seconds for the PDF and for the ZIP (which holds the PDF, the
CSV, an XLSX and the manifest), their sizes, the peak memory of the process, and that a
second build gives the same bytes.

    .venv/bin/python -m bench.package --signatures 10000
    .venv/bin/python -m bench.package --signatures 100000   # tens of minutes, GBs

Nothing is served and no database is used: the inputs are built in memory.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import signatory
from bench.people import Signatories
from signatory import create_app
from signatory.core.i18n import ORGANIZATION_TYPES, country_name
from signatory.core.spreadsheets import BOM
from signatory.core.text import render_markdown
from signatory.delivery.package import PackageInputs, build_pdf, build_zip
from signatory.demo.loader import DEMO_RECIPIENT, DEMO_TITLE
from signatory.lists.writers import HEADER, SECTION_LABELS

DELIVERED_AT = datetime(2026, 8, 8, 9, 0, tzinfo=UTC)


def frozen_csv(n: int) -> tuple[bytes, int, int]:
    """A frozen list of ``n`` published signatories as the delivery keeps it; its counts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    rows = list(Signatories(letter_id=1, version_id=1).published(n))
    counts = {"organization": 0, "individual": 0}
    for kind in ("organization", "individual"):
        for row in (r for r in rows if r["kind"] == kind):
            counts[kind] += 1
            writer.writerow([
                SECTION_LABELS[kind],
                row["organization"] or "",
                row["country"],
                country_name(row["country"]),
                ORGANIZATION_TYPES.get(row["organization_type"] or "", ""),
                row["website"] or "",
                row["name"],
                row["title"] or "",
                "yes" if row["domain_verified"] else "no",
                row["published_at"].strftime("%Y-%m-%d %H:%M:%S"),
                "1",
                "initiator" if counts[kind] <= 2 and kind == "organization" else "",
                "",
            ])  # fmt: skip
    return (BOM + out.getvalue()).encode("utf-8"), counts["organization"], counts["individual"]


def inputs(n: int) -> PackageInputs:
    csv_bytes, organizations, individuals = frozen_csv(n)
    body = (Path(signatory.__file__).parent / "demo" / "letter-v2.md").read_text("utf-8")
    return PackageInputs(
        slug="bench-letter",
        title=DEMO_TITLE,
        recipient=DEMO_RECIPIENT,
        version_number=2,
        language="en",
        body_markdown=body,
        body_html=render_markdown(body),
        translations=(),
        delivered_to=DEMO_RECIPIENT,
        delivered_at=DELIVERED_AT,
        method="by email to the secretariat",
        organizations=organizations,
        individuals=individuals,
        sha256=hashlib.sha256(csv_bytes).hexdigest(),
        csv_bytes=csv_bytes,
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"INSTANCE_PATH": instance, "TESTING": True})
        with app.app_context():
            started = time.perf_counter()
            package_inputs = inputs(args.signatures)
            made = time.perf_counter() - started
            size = len(package_inputs.csv_bytes)
            print(f"{args.signatures:,} signatories; frozen CSV {size:,} B made in {made:.1f} s; "
                  f"memory before the build {peak_mb():,.0f} MB")  # fmt: skip
            started = time.perf_counter()
            pdf = build_pdf(package_inputs)
            pdf_seconds = time.perf_counter() - started
            print(f"PDF: {pdf_seconds:.1f} s, {len(pdf):,} B, "
                  f"{1000 * pdf_seconds / max(1, args.signatures):.2f} ms a signatory; "
                  f"peak memory {peak_mb():,.0f} MB")  # fmt: skip
            started = time.perf_counter()
            package = build_zip(package_inputs, pdf)
            print(f"ZIP: {time.perf_counter() - started:.1f} s, {len(package):,} B; "
                  f"peak memory {peak_mb():,.0f} MB")  # fmt: skip
            again = build_zip(package_inputs, pdf)
            print(f"ZIP built again from the same inputs: same bytes: {again == package}")


if __name__ == "__main__":
    main()
