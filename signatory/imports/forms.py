"""The import pages' forms: the upload, and the import with its attestation.

The column mapping is one select per column of the file, drawn from the file's header,
so it is read by ``posted_mapping`` rather than declared as fields.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from signatory.imports.reading import ENCODINGS
from signatory.imports.rows import FIELD_LABELS, FIELDS


class UploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file to upload."))])
    encoding = SelectField(
        _l("Encoding"),
        choices=[
            SelectChoice(ENCODINGS[0], _l("UTF-8 (also UTF-16 with a byte-order mark)")),
            SelectChoice(ENCODINGS[1], _l("Windows-1252 (CSV saved by an older Excel)")),
        ],
        default=ENCODINGS[0],
    )


class ImportForm(FlaskForm):
    attest = BooleanField(
        _l("I confirm these signatories agreed to sign and we verified their addresses")
    )


def posted_mapping(form: Mapping[str, str], columns: int) -> tuple[dict[int, str], list[str]]:
    """The mapping sent as ``map-<column>`` selects, and what is wrong with it."""
    mapping: dict[int, str] = {}
    problems: list[str] = []
    for index in range(columns):
        name = form.get(f"map-{index}", "")
        if not name:
            continue
        if name not in FIELDS:
            problems.append(gettext("Choose a field from the list for column %(n)s.", n=index + 1))
        elif name in mapping.values():
            problems.append(
                gettext(
                    "Two columns are mapped to “%(field)s”: choose one.", field=FIELD_LABELS[name]
                )
            )
        else:
            mapping[index] = name
    return mapping, problems
