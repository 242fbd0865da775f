"""Registrable domains, to tell whether a signer's email belongs to the organization's website."""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList


@cache
def _psl() -> PublicSuffixList:
    # Loading the list takes a moment; do it once, on first use rather than at import.
    return PublicSuffixList()


def host_of_website(website: str) -> str | None:
    try:
        host = urlsplit(website.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    try:
        return host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return None


def registrable_domain(host: str) -> str | None:
    """``mail.eff.org`` -> ``eff.org``; ``foo.co.uk`` -> ``foo.co.uk``; a bare suffix -> None."""
    host = host.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return _psl().privatesuffix(host)


def email_matches_website(email_domain: str, website: str) -> bool:
    site_host = host_of_website(website)
    if site_host is None:
        return False
    email_registrable = registrable_domain(email_domain)
    return email_registrable is not None and email_registrable == registrable_domain(site_host)
