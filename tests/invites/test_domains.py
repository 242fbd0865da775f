"""Allowed domains: what a coordinator may list, and which addresses each entry matches."""

from __future__ import annotations

import pytest

from signatory.invites.policy import DomainsRefused, email_allowed, parse_domains, stored


def test_entries_are_stored_lower_case_without_repeats():
    assert stored(parse_domains("UN.org, *.Gov.UK\nun.org; un.org.")) == "un.org, *.gov.uk"


def test_a_leading_at_sign_is_forgiven():
    assert stored(parse_domains("@un.org")) == "un.org"


def test_an_international_domain_is_stored_in_its_ascii_form():
    assert stored(parse_domains("Bücher.de")) == "xn--bcher-kva.de"


def test_an_address_matches_whatever_its_case():
    assert email_allowed("UN.ORG", "un.org")


def test_a_plain_entry_does_not_match_its_subdomains():
    assert not email_allowed("mail.un.org", "un.org")


def test_a_wildcard_matches_the_domain_and_every_domain_under_it():
    for domain in ("gov.uk", "fcdo.gov.uk", "x.cabinetoffice.gov.uk"):
        assert email_allowed(domain, "*.gov.uk"), domain


@pytest.mark.parametrize("domain", ["un.org.example.com", "evilun.org", "un.org-mail.com", "un.or"])
def test_lookalike_domains_do_not_match(domain):
    assert not email_allowed(domain, "un.org, *.un.org")


def test_a_lookalike_in_another_script_does_not_match():
    # A Cyrillic "о" in place of the Latin "o".
    assert not email_allowed("un.\u043erg", "un.org")


def test_an_international_address_matches_its_entry_in_either_spelling():
    assert email_allowed("xn--bcher-kva.de", "bücher.de")
    assert email_allowed("BÜCHER.de", "xn--bcher-kva.de")


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("https://un.org", "web address"),
        ("someone@un.org", "email address"),
        ("un.*.org", "may only begin"),
        ("*un.org", "may only begin"),
        ("localhost", "not a full domain"),
        ("*.com", "almost any address"),
        ("gov.uk", "write *.gov.uk"),
        ("10.0.0.1", "numeric"),
        ("un_org.org", "not a domain"),
        ("-un.org", "not a domain"),
        (", ;", "at least one domain"),
    ],
)
def test_nonsense_is_refused_with_a_message_naming_it(app, typed, said):
    with app.test_request_context(), pytest.raises(DomainsRefused) as refused:
        parse_domains(typed)
    assert said in str(refused.value)


def test_a_list_longer_than_the_column_is_refused(app):
    many = ", ".join(f"organization-number-{n}.example.org" for n in range(40))
    with app.test_request_context(), pytest.raises(DomainsRefused) as refused:
        parse_domains(many)
    assert "too many domains" in str(refused.value)
