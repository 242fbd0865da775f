"""Free-mail providers are recognised on the registrable domain, not on the exact host."""

from __future__ import annotations

import pytest

from signatory.core.domains import email_domain, is_free_mail


@pytest.mark.parametrize(
    "domain",
    ["gmail.com", "googlemail.com", "outlook.com", "proton.me", "web.de", "qq.com", "163.com"],
)
def test_common_providers_are_free_mail(domain):
    assert is_free_mail(domain)


@pytest.mark.parametrize("domain", ["hotmail.fr", "yahoo.co.uk", "gmx.at", "yandex.kz", "live.de"])
def test_a_provider_under_a_country_suffix_is_free_mail(domain):
    assert is_free_mail(domain)


def test_a_subdomain_of_a_provider_is_free_mail():
    assert is_free_mail("mail.yahoo.co.uk")
    assert is_free_mail("X.Mail.RU")


@pytest.mark.parametrize("domain", ["eff.org", "accessnow.org", "gmail.example.org", "live.org"])
def test_an_organization_domain_is_not_free_mail(domain):
    assert not is_free_mail(domain)


@pytest.mark.parametrize("domain", ["", "com", "co.uk"])
def test_a_bare_suffix_or_nothing_is_not_free_mail(domain):
    assert not is_free_mail(domain)


def test_email_domain_is_the_part_after_the_last_at_lower_cased():
    assert email_domain("Ada@Mail.Example.ORG") == "mail.example.org"
    assert email_domain('"odd@local"@example.org') == "example.org"
    assert email_domain("no-at-sign") == ""
