"""Allowed email domains: what a coordinator may list, how it is stored, what it matches.

The rule, as the settings page explains it:

- ``un.org`` accepts addresses at exactly ``un.org`` (``a@un.org``), not at its
  subdomains (``a@mail.un.org``): an organization's own domain is what people mean, and a
  subdomain may belong to someone else (a hosted service, a project site).
- ``*.gov.uk`` accepts ``gov.uk`` and every domain under it (``a@fcdo.gov.uk``,
  ``a@x.cabinetoffice.gov.uk``): the way to accept a family of organizations.

Entries are compared in their ASCII form (IDNA, UTS #46), lower case, without a final
dot, as email-validator spells an address's domain: ``Bücher.DE`` and
``xn--bcher-kva.de`` are one entry, and a lookalike in another script is another domain.
A match is by whole labels, so ``un.org.example.com`` and ``evilun.org`` never match
``un.org`` nor ``*.un.org``.

Refused, each with a message naming the entry: web addresses and email addresses (the
domain alone is asked for), a ``*`` anywhere but a leading ``*.``, labels that are not a
domain's, a single label (``localhost``), a numeric address, a bare public suffix written
without ``*.`` (``gov.uk``: shared by many organizations, almost surely meant as
``*.gov.uk``), a wildcard over a top-level domain (``*.com``: anyone), and more entries
than the column holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna
from babel.lists import format_list
from flask_babel import gettext

from signatory.core.domains import registrable_domain
from signatory.models.invitation import ALLOWED_DOMAINS_MAX

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SEPARATORS = re.compile(r"[\s,;]+")
# A list longer than this is a paste of something else, not domains.
DOMAINS_MAX = 50


class DomainsRefused(ValueError):
    """The list cannot be stored; ``str(error)`` says why, naming the entry."""


@dataclass(frozen=True)
class AllowedDomain:
    """One entry: a domain in ASCII, and whether its subdomains are accepted too."""

    domain: str
    subdomains: bool

    def matches(self, email_domain: str) -> bool:
        if email_domain == self.domain:
            return True
        return self.subdomains and email_domain.endswith(f".{self.domain}")

    @property
    def stored(self) -> str:
        return f"*.{self.domain}" if self.subdomains else self.domain

    @property
    def shown(self) -> str:
        """As people read it: in its own script (``bücher.de``), a wildcard as typed."""
        try:
            readable = idna.decode(self.domain)
        except idna.IDNAError:
            readable = self.domain
        return f"*.{readable}" if self.subdomains else readable


def ascii_domain(value: str) -> str | None:
    """``value`` as a domain in ASCII and lower case, or None if it is not one."""
    value = value.strip().rstrip(".")
    if not value:
        return None
    try:
        encoded = idna.encode(value, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    encoded = encoded.lower()
    if not all(_LABEL.match(label) for label in encoded.split(".")):
        return None
    return encoded


def _entry(raw: str) -> AllowedDomain:
    value = raw.strip().lower()
    if "://" in value or "/" in value:
        raise DomainsRefused(
            gettext(
                "“%(entry)s” is a web address: enter the domain alone, such as un.org.",
                entry=raw,
            )
        )
    value = value.removeprefix("@")
    if "@" in value:
        raise DomainsRefused(
            gettext("“%(entry)s” is an email address: enter the part after the @ only.", entry=raw)
        )
    subdomains = value.startswith("*.")
    if subdomains:
        value = value[2:]
    if "*" in value:
        raise DomainsRefused(
            gettext(
                "“%(entry)s”: a * may only begin an entry, as in *.gov.uk "
                "(that domain and every domain under it).",
                entry=raw,
            )
        )
    domain = ascii_domain(value)
    if domain is None:
        raise DomainsRefused(
            gettext("“%(entry)s” is not a domain. Enter domains such as un.org.", entry=raw)
        )
    labels = domain.split(".")
    if labels[-1].isdigit():
        raise DomainsRefused(gettext("“%(entry)s” is a numeric address, not a domain.", entry=raw))
    if len(labels) < 2:
        if subdomains:
            raise DomainsRefused(
                gettext(
                    "“%(entry)s” would accept almost any address. "
                    "List the organizations' own domains instead.",
                    entry=raw,
                )
            )
        raise DomainsRefused(
            gettext("“%(entry)s” is not a full domain. Enter one such as un.org.", entry=raw)
        )
    if not subdomains and registrable_domain(domain) is None:
        raise DomainsRefused(
            gettext(
                "%(entry)s is shared by many organizations. To accept every address "
                "under it, write *.%(entry)s.",
                entry=domain,
            )
        )
    return AllowedDomain(domain, subdomains)


def parse_domains(text: str) -> list[AllowedDomain]:
    """The entries of ``text`` (separated by commas, semicolons, spaces or lines), checked
    and without repeats; ``DomainsRefused`` for the first one that cannot be stored, or
    for none at all."""
    entries: list[AllowedDomain] = []
    for raw in _SEPARATORS.split(text or ""):
        if not raw:
            continue
        entry = _entry(raw)
        if entry not in entries:
            entries.append(entry)
    if not entries:
        raise DomainsRefused(
            gettext("List at least one domain, such as un.org, or choose another setting.")
        )
    if len(entries) > DOMAINS_MAX or len(stored(entries)) > ALLOWED_DOMAINS_MAX:
        raise DomainsRefused(
            gettext(
                "That is too many domains for one letter: keep the list under "
                "%(num)s characters, or invite the organizations instead.",
                num=ALLOWED_DOMAINS_MAX,
            )
        )
    return entries


def stored(entries: list[AllowedDomain]) -> str:
    """The list as ``Letter.allowed_domains`` keeps it: ``un.org, *.gov.uk``."""
    return ", ".join(entry.stored for entry in entries)


def allowed_domains(value: str | None) -> list[AllowedDomain]:
    """The stored list read back; what no longer parses is skipped (it was checked when
    stored, and refusing here would refuse every signer)."""
    entries = []
    for raw in _SEPARATORS.split(value or ""):
        try:
            entries.append(_entry(raw))
        except DomainsRefused:
            continue
    return entries


def email_allowed(email_domain: str, value: str | None) -> bool:
    """Whether an address at ``email_domain`` may sign a letter whose list is ``value``."""
    domain = ascii_domain(email_domain)
    return domain is not None and any(entry.matches(domain) for entry in allowed_domains(value))


def shown_list(value: str | None, locale: str) -> str:
    """The list in a sentence: "un.org or *.gov.uk", in the reader's language."""
    shown = [entry.shown for entry in allowed_domains(value)]
    return format_list(shown, style="or", locale=locale) if shown else ""
