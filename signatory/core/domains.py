"""Email and web domains: whether a signer's email belongs to the organization's website,
and whether an address is at a free-mail provider rather than an organization's own."""

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


# --- Free mail ----------------------------------------------------------------------------
#
# Common free-mail providers, to tell a moderator that an address is not an organization's own.
#
# A free-mail address is not a reason to refuse a signature (small groups often have no
# domain of their own), but it is the first thing a moderator wants to know: anyone can
# open ``eff.foundation@gmail.com``. The list is curated, not exhaustive; it is matched on
# the registrable domain, so ``mail.yahoo.co.uk`` counts as ``yahoo.co.uk``.

# Exact registrable domains.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com",
        "outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com",
        "yahoo.com", "ymail.com", "rocketmail.com",
        "icloud.com", "me.com", "mac.com",
        "aol.com", "aim.com",
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
        "tutanota.com", "tutanota.de", "tutamail.com", "tuta.io", "tuta.com",
        "zoho.com", "zohomail.com",
        "gmx.com", "gmx.net", "gmx.de", "web.de", "t-online.de", "freenet.de",
        "mail.com", "email.com", "fastmail.com", "hushmail.com", "posteo.de", "mailbox.org",
        "mail.ru", "inbox.ru", "list.ru", "bk.ru", "rambler.ru",
        "yandex.ru", "yandex.com", "ya.ru",
        "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sohu.com",
        "naver.com", "daum.net", "hanmail.net",
        "rediffmail.com",
        "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr",
        "libero.it", "virgilio.it", "tiscali.it",
        "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl",
        "bol.com.br", "uol.com.br", "terra.com.br",
        "btinternet.com", "sky.com", "virginmedia.com",
        "comcast.net", "verizon.net", "att.net", "sbcglobal.net",
    }
)  # fmt: skip

# Providers present under many country suffixes (hotmail.fr, yahoo.co.uk, gmx.at, ...):
# matched on the registrable domain's own label, the part before the public suffix.
FREE_MAIL_BRANDS = frozenset({"hotmail", "outlook", "live", "yahoo", "gmx", "yandex"})
# ... but not under suffixes that only organizations use: live.org is somebody's project.
_ORGANIZATION_SUFFIXES = frozenset({"org", "edu", "ac", "gov", "int", "ngo", "mil"})


def email_domain(email: str) -> str:
    """The part of ``email`` after its last ``@``, lower-cased ("" if there is none)."""
    _, at, domain = email.rpartition("@")
    return domain.strip().lower().rstrip(".") if at else ""


def is_free_mail(domain: str) -> bool:
    """Whether ``domain`` (an email's domain, or a subdomain of it) is a free-mail provider's."""
    if not domain:
        return False
    registrable = registrable_domain(domain)
    if registrable is None:
        return False
    if registrable in FREE_MAIL_DOMAINS:
        return True
    brand, _, suffix = registrable.partition(".")
    return brand in FREE_MAIL_BRANDS and _ORGANIZATION_SUFFIXES.isdisjoint(suffix.split("."))
