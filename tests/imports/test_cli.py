"""``flask signatures import``: the guessed mapping, --map, a dry run, a real run, exit codes."""

from __future__ import annotations

from tests.conftest import audit_trail, queued_mail, text_part
from tests.imports.conftest import GOOD_CSV, HEADER, signatures_of, write_csv


def run(runner, path, *args):
    return runner.invoke(args=["signatures", "import", str(path), "--letter", "coalition", *args])


def test_a_dry_run_prints_the_guessed_mapping_and_stores_nothing(app, runner, team, tmp_path):
    result = run(runner, write_csv(tmp_path, GOOD_CSV), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Organization -> organization" in result.output
    assert "Type -> organization_type" in result.output
    assert "Email -> email" in result.output
    assert "all 3 row(s) can be imported; nothing was stored" in result.output
    assert signatures_of(app) == []
    assert queued_mail(app) == []


def test_a_dry_run_of_a_file_with_errors_lists_them_by_row_and_exits_with_1(
    app, runner, team, tmp_path
):
    text = HEADER + (
        "Good Org,ngo,https://good.example.org,DE,Ada,,ada@good.example.org\n"
        "Bad Org,ngo,https://bad.example.org,Atlantis,Bo,,not-an-address\n"
    )
    result = run(runner, write_csv(tmp_path, text), "--dry-run")
    assert result.exit_code == 1
    assert "Row 3, Country: Unknown country “Atlantis”" in result.output
    assert "Row 3, Email: Enter a valid email address" in result.output
    assert "1 of 2 row(s) have problems; nothing was imported." in result.output
    assert signatures_of(app) == []


def test_an_import_signs_each_row_unconfirmed_and_queues_its_confirmation(
    app, runner, team, tmp_path
):
    result = run(runner, write_csv(tmp_path, GOOD_CSV))
    assert result.exit_code == 0, result.output
    signatures = signatures_of(app)
    assert [
        (s.organization, s.country, s.organization_type, s.status, s.source) for s in signatures
    ] == [
        ("Digital Rights Kenya", "KE", "ngo", "unconfirmed", "imported"),
        ("Café Numérique", "FR", "association", "unconfirmed", "imported"),
        ("Red Libre", "ES", "ngo", "unconfirmed", "imported"),
    ]
    assert signatures[1].website == "https://cafe.example.fr"
    assert sorted(m.to_addr for m in queued_mail(app, "confirm_request")) == sorted(
        s.email for s in signatures
    )


def test_an_import_shows_its_progress_and_a_summary(app, runner, team, tmp_path):
    result = run(runner, write_csv(tmp_path, GOOD_CSV))
    assert result.exit_code == 0, result.output
    assert "Checking rows" in result.output
    assert "Importing" in result.output
    assert "Imported 3 signature(s) into coalition." in result.output
    assert "Confirmation emails queued: 3." in result.output
    assert "Errors: none." in result.output


def test_an_import_is_audited_with_its_counts(app, runner, team, tmp_path):
    run(runner, write_csv(tmp_path, GOOD_CSV))
    [event] = audit_trail(app, "letter.imported")
    assert event.actor_label == "cli"
    assert event.detail["signatures"] == 3
    assert event.detail["attested"] is False
    assert event.detail["emailed"] == 3


def test_the_confirmation_emails_reach_the_smtp_server(app, runner, team, tmp_path, smtp_server):
    run(runner, write_csv(tmp_path, GOOD_CSV))
    app.config["MAIL_URL"] = smtp_server.url
    sent = runner.invoke(args=["mail", "send"])
    assert sent.exit_code == 0, sent.output
    emails = smtp_server.wait_for(3)
    assert sorted(e["To"] for e in emails) == [
        "amina@drk.example.org",
        "ana@redlibre.example.es",
        "luc@cafe.example.fr",
    ]
    assert "/confirm/" in text_part(emails[0])


def test_map_names_a_column_the_guess_missed_and_ignores_another(app, runner, team, tmp_path):
    text = (
        "Org,Type,Website,Land,Signer,Address,Notes\n"
        "Good Org,ngo,https://good.example.org,DE,Ada,ada@good.example.org,call back\n"
    )
    path = write_csv(tmp_path, text)
    unmapped = run(runner, path, "--dry-run")
    assert unmapped.exit_code == 1
    assert "Choose the column that holds: Email." in unmapped.output
    assert "Row 2" not in unmapped.output
    result = run(runner, path, "--map", "Address=email", "--map", "Land=country", "--map", "Notes=")
    assert result.exit_code == 0, result.output
    assert "Address -> email" in result.output
    assert "Notes -> (ignored)" in result.output
    [signature] = signatures_of(app)
    assert (signature.email, signature.country) == ("ada@good.example.org", "DE")


def test_map_with_an_unknown_field_is_a_usage_error(app, runner, team, tmp_path):
    result = run(runner, write_csv(tmp_path, GOOD_CSV), "--map", "Email=phone")
    assert result.exit_code == 2
    assert "no field 'phone'" in result.output


def test_attest_publishes_at_once_with_the_mark_and_emails_nobody(app, runner, team, tmp_path):
    result = run(runner, write_csv(tmp_path, GOOD_CSV), "--attest")
    assert result.exit_code == 0, result.output
    assert "Published at once (attested): 3." in result.output
    assert {(s.status, s.source) for s in signatures_of(app)} == {("published", "attested")}
    assert queued_mail(app) == []
    assert len(audit_trail(app, "signature.imported")) == 3


def test_an_unknown_letter_is_refused(app, runner, team, tmp_path):
    path = write_csv(tmp_path, GOOD_CSV)
    result = runner.invoke(args=["signatures", "import", str(path), "--letter", "nope"])
    assert result.exit_code == 1
    assert "no letter 'nope'" in result.output


def test_an_unreadable_file_is_refused_with_its_reason(app, runner, team, tmp_path):
    result = run(runner, write_csv(tmp_path, b"PK\x03\x04 a workbook"))
    assert result.exit_code == 1
    assert "not a CSV" in result.output
    assert signatures_of(app) == []
