"""The interface in English, French and Spanish (Flask-Babel).

Which language a page speaks, in order: the reader's explicit choice (the language menu
sets a ``lang`` cookie), then a signed-in coordinator's chosen language (their account
page), then the best match in ``Accept-Language``, then English.

Two kinds of response do not negotiate, because a shared cache in front keeps one copy
per URL for everyone: the embeddable widget, the live endpoint and the link-preview
picture take their language from a ``lang`` query argument only (the pages that link to
them add it). The JSON API,
the CSV, the JSON download and the Atom feed are machine formats and stay in English.

Letter text and everything signers typed is never translated; only the interface is.
The reference lists (countries, organization types) are named in the reader's language
on pages and in English in exports and the API (the end of this module).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

import pycountry
from babel import Locale, UnknownLocaleError, support
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_babel import Babel, get_locale, get_translations, gettext, refresh
from werkzeug.wrappers import Response as BaseResponse
from wtforms.i18n import messages_path

from signatory.core.access import declare
from signatory.core.text import folded

DEFAULT_LOCALE = "en"
LOCALES = ("en", "fr", "es")
# Each language named in itself, so a reader finds theirs whatever the page speaks now.
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}
COOKIE = "lang"
# Where the team module puts a function that gives the signed-in coordinator's chosen
# language (or None): this module cannot import the accounts that sit above it.
STORED_LANGUAGE = "signatory.stored_language"
COOKIE_MAX_AGE = 365 * 24 * 3600

# Answers cached by URL alone (``Cache-Control: public``): the language is in the URL.
URL_LANGUAGE_ENDPOINTS = frozenset({"public.widget", "public.live", "public.preview_image"})
# Machine formats: always the same words, whoever asks.
ENGLISH_ONLY_BLUEPRINTS = frozenset({"api"})
ENGLISH_ONLY_ENDPOINTS = frozenset(
    {"public.feed", "public.signatories_csv", "public.signatories_json", "public.delivered_csv"}
)

# How dates read in each language; English keeps the site's long-standing "01 June 2030".
_DATE_PATTERNS = {
    "en": {"long": "dd MMMM y", "short": "dd MMM y", "day": "d MMMM y"},
    "fr": {"long": "d MMMM y", "short": "d MMM y", "day": "d MMMM y"},
    "es": {"long": "d 'de' MMMM 'de' y", "short": "d MMM y", "day": "d 'de' MMMM 'de' y"},
}
_TIME_SUFFIX = {"en": ", HH:mm 'UTC'", "fr": " 'à' HH:mm 'UTC'", "es": ", HH:mm 'UTC'"}

babel = Babel()


def supported(code: str | None) -> str | None:
    """``code`` if it names one of the interface's languages, else ``None``."""
    return code if code in LOCALES else None


def select_locale() -> str:
    """The language of the current response (see the module docstring for the order)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    endpoint = request.endpoint or ""
    if _english_only(endpoint):
        return DEFAULT_LOCALE
    if endpoint in URL_LANGUAGE_ENDPOINTS:
        return supported(request.args.get("lang")) or DEFAULT_LOCALE
    chosen = supported(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    stored = current_app.extensions.get(STORED_LANGUAGE)
    if stored is not None and (kept := supported(stored())):
        return kept
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def _english_only(endpoint: str) -> bool:
    # An unknown address under /api/ has no endpoint but still answers in JSON.
    return (
        request.blueprint in ENGLISH_ONLY_BLUEPRINTS
        or endpoint in ENGLISH_ONLY_ENDPOINTS
        or request.path.startswith("/api/")
    )


def current_locale() -> str:
    """The current language code (``en`` outside a request)."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LOCALE


def language_of(tag: str | None) -> str:
    """The interface language closest to a stored language tag ("fr-CA" -> "fr"), else English."""
    primary = (tag or "").replace("_", "-").split("-")[0].lower()
    return supported(primary) or DEFAULT_LOCALE


@lru_cache(maxsize=512)
def text_direction(tag: str | None) -> str:
    """How text in language ``tag`` runs: "rtl" (Arabic, Hebrew, Persian, Urdu…) or "ltr".

    From the CLDR data Babel carries (``Locale.text_direction``). A tag it does not know
    gets "auto": the browser then takes the direction from the text's first strong letter.
    """
    try:
        locale = Locale.parse((tag or "").replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return "auto"
    return "rtl" if locale.text_direction == "rtl" else "ltr"


def lang_args() -> dict[str, str]:
    """Query arguments that carry the current language to a URL-negotiated answer."""
    code = current_locale()
    return {} if code == DEFAULT_LOCALE else {"lang": code}


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None`` (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers read a backslash as a slash ("/\\evil.example"), and control characters
    # can hide a host; neither belongs in a path we link to.
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _this_page() -> str:
    """Where the language menu brings the reader back to: this page, if it can be a GET."""
    if request.method in ("GET", "HEAD"):
        query = request.query_string.decode("latin-1")
        return request.path + (f"?{query}" if query else "")
    # After a POST (a form with errors, say) go back to the page the form was on.
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host:
        back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
        if safe_next(back):
            return back
    return url_for("public.index")


def language_links() -> list[dict[str, Any]]:
    """The language menu: each language with its switch link and whether it is current."""
    here = _this_page()
    current = current_locale()
    return [
        {
            "code": code,
            "name": LANGUAGE_NAMES[code],
            "url": url_for("i18n.switch", code=code, next=here),
            "current": code == current,
        }
        for code in LOCALES
    ]


def switch(code: str) -> BaseResponse:
    """Remember the reader's language in a cookie and go back to the page they were on."""
    if supported(code) is None:
        abort(404, description="This site is available in English, French and Spanish.")
    response = redirect(safe_next(request.args.get("next")) or url_for("public.index"), code=303)
    return remember_language(response, code)


def remember_language(response: BaseResponse, code: str | None) -> BaseResponse:
    """Set this browser's language (the ``lang`` cookie) to ``code``; None forgets it, so
    the pages follow the browser's ``Accept-Language`` again."""
    if code is None:
        response.delete_cookie(COOKIE, samesite="Lax", secure=request.is_secure, httponly=True)
        return response
    response.set_cookie(
        COOKIE,
        code,
        max_age=COOKIE_MAX_AGE,
        samesite="Lax",
        secure=request.is_secure,
        httponly=True,
    )
    return response


def _vary(response: Response) -> Response:
    # A negotiated page differs by cookie and Accept-Language: a cache must not mix them.
    endpoint = request.endpoint or ""
    negotiated = not (
        _english_only(endpoint) or endpoint in URL_LANGUAGE_ENDPOINTS or endpoint == "static"
    )
    if negotiated and response.mimetype == "text/html":
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
    return response


def _pattern(kind: str, with_time: bool = False) -> str:
    code = current_locale()
    pattern = _DATE_PATTERNS.get(code, _DATE_PATTERNS[DEFAULT_LOCALE])[kind]
    return pattern + (_TIME_SUFFIX.get(code, _TIME_SUFFIX[DEFAULT_LOCALE]) if with_time else "")


# Babel's own functions with the current language, so they also work outside a request
# (the mail worker, the chart arithmetic). Dates are shown in UTC, as the site says.
def _date(value: date | datetime, pattern: str) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return _formatted_date(value, pattern, current_locale())


@lru_cache(maxsize=4096)
def _formatted_date(day: date, pattern: str, locale: str) -> str:
    # A list page shows a date per row, mostly the same few days: each is formatted once.
    return babel_dates.format_date(day, pattern, locale=locale)


def long_date(value: date | datetime) -> str:
    """A date in words in the current language: "01 June 2030", "1 juin 2030"."""
    return _date(value, _pattern("long"))


def short_date(value: date | datetime) -> str:
    """A compact date for tables: "01 Jun 2030", "1 juin 2030"."""
    return _date(value, _pattern("short"))


def day_date(value: date | datetime) -> str:
    """A day without a leading zero: "1 March 2025", "1 de marzo de 2025"."""
    return _date(value, _pattern("day"))


def month_day(value: date, with_year: bool) -> str:
    """An axis label: "1 Mar" or "1 Mar 2025" (English), "1 mars" (French)."""
    return _date(value, "d MMM y" if with_year else "d MMM")


def long_datetime(value: datetime) -> str:
    """A moment in UTC: "01 June 2030, 12:00 UTC", "1 juin 2030 à 12:00 UTC"."""
    return babel_dates.format_datetime(
        value, _pattern("long", with_time=True), tzinfo=UTC, locale=current_locale()
    )


def number(value: int) -> str:
    """A count grouped the current language's way: "12,345", "12 345"."""
    return babel_numbers.format_decimal(value, locale=current_locale())


def percent(share: float) -> str:
    """A share (0.25) as a whole percentage the current language's way: "25%", "25 %"."""
    return babel_numbers.format_percent(share, locale=current_locale())


def count_text(singular: str, plural: str, num: int, **variables: Any) -> str:
    """``ngettext`` with ``%(num)s`` grouped the language's way ("12,345 signatures").

    Flask-Babel's ``ngettext`` fills ``%(num)s`` with the bare number and takes no other.
    """
    text = get_translations().ungettext(singular, plural, num)
    return text % {**variables, "num": number(num)}


def territory_name(code: str, locale: str) -> str | None:
    """The CLDR name of a country in ``locale``, or ``None`` when CLDR has none."""
    return Locale.parse(locale).territories.get(code)


def init_app(app: Flask) -> None:
    """Bind Flask-Babel, the language menu and the template helpers."""
    babel.init_app(app, default_locale=DEFAULT_LOCALE, locale_selector=select_locale)
    # Sentences in {% trans %} blocks are extracted and looked up with their whitespace
    # collapsed, so template indentation never reaches a translator.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    language_menu = declare(Blueprint("i18n", __name__), "public")
    language_menu.add_url_rule("/language/<code>", view_func=switch, methods=["GET"])
    app.register_blueprint(language_menu)
    app.before_request(_each_request)
    app.after_request(_vary)
    app.jinja_env.globals.update(
        current_locale=current_locale,
        lang_args=lang_args,
        language_links=language_links,
        text_direction=text_direction,
    )
    app.jinja_env.filters.update(
        long_date=long_date,
        short_date=short_date,
        day_date=day_date,
        long_datetime=long_datetime,
        number=number,
        percent=percent,
    )


# --- WTForms' own messages ("Not a valid choice.") ------------------------------------


class FormMessages:
    """WTForms' messages in the request's language, each catalogue read once per process.

    Flask-WTF reads WTForms' catalogue from disk again for every request that shows or
    checks a form (``flask_wtf.i18n``), a millisecond of each sign POST. It keeps what it
    read on ``request.wtforms_translations`` and uses one found there, so this object goes
    there first and answers from catalogues kept by language.
    """

    def ugettext(self, string: str) -> str:
        return _request_catalogue().ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _request_catalogue().ungettext(singular, plural, n)


def _request_catalogue() -> support.NullTranslations:
    # A form asks for a dozen labels and messages: the language is looked up once.
    found: support.NullTranslations | None = g.get(_WTFORMS_CATALOGUE)
    if found is None:
        found = _wtforms_catalogue(current_locale())
        setattr(g, _WTFORMS_CATALOGUE, found)
    return found


_WTFORMS_CATALOGUE = "wtforms_catalogue"


@cache
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


_FORM_MESSAGES = FormMessages()


def _each_request() -> None:
    # Flask-Babel keeps the chosen language on `g`, which belongs to the app context; a
    # request inside an app context already pushed (a CLI command, a test) shares it, so
    # each request chooses again.
    refresh()
    g.pop(_WTFORMS_CATALOGUE, None)
    request.wtforms_translations = _FORM_MESSAGES  # type: ignore[attr-defined]


# --- The reader's languages ------------------------------------------------------------


def interface_language() -> str | None:
    """The language the pages are shown in ("fr"), or None when Flask-Babel is not running."""
    if "babel" not in current_app.extensions:
        return None
    locale = get_locale()
    return str(locale).replace("_", "-") if locale is not None else None


def reader_languages() -> list[str]:
    """The languages to read the letter's text in, most wanted first.

    The interface's language when the reader chose it, then the languages the browser
    asks for, in its order: a reader whose language the interface lacks (the interface
    falls back to its default) still finds a translation of the letter into it.
    """
    asked = [tag for tag in request.accept_languages.values() if tag != "*"]
    interface = interface_language()
    default = current_app.extensions["babel"].default_locale if interface else None
    if interface is None or interface.split("-")[0] == str(default).split("_")[0]:
        return asked
    return [interface, *asked]


# --- Reference lists in the reader's language -------------------------------------------
#
# Countries (ISO 3166-1) and organization types, shown in forms and exports. Pages show both
# in the reader's language; exports and the API keep the English names (``countries()``,
# ``country_name``, ``ORGANIZATION_TYPES``), which are data, not interface.


def N_(message: str) -> str:  # the name gettext's tools look for
    """Mark ``message`` for the catalogue; it is translated where it is shown."""
    return message


ORGANIZATION_TYPES: dict[str, str] = {
    "ngo": N_("Non-governmental organization"),
    "company": N_("Company"),
    "association": N_("Trade or industry association"),
    "union": N_("Trade union"),
    "academic": N_("University or research institute"),
    "foundation": N_("Foundation"),
    "faith": N_("Faith-based organization"),
    "public": N_("Public body"),
    "other": N_("Other"),
}


def organization_types() -> dict[str, str]:
    """Organization type code -> its name in the current language, in a fixed order."""
    return {code: gettext(label) for code, label in ORGANIZATION_TYPES.items()}


def organization_type_name(code: str | None) -> str:
    """The name of an organization type in the current language (the code if unknown)."""
    label = ORGANIZATION_TYPES.get(code or "")
    return gettext(label) if label else (code or "")


@cache
def countries() -> dict[str, str]:
    """Alpha-2 code -> common English name, sorted by name."""
    names = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
    return dict(sorted(names.items(), key=lambda item: folded(item[1])))


def country_name(code: str) -> str:
    """The English name of a country (exports, the API, feeds)."""
    return countries().get(code, code)


@cache
def _countries_in(locale: str) -> dict[str, str]:
    # CLDR's names (Babel) read naturally in each language; any it lacks stay in English.
    names = {code: territory_name(code, locale) or name for code, name in countries().items()}
    return dict(sorted(names.items(), key=lambda item: folded(item[1])))


def local_countries() -> dict[str, str]:
    """Alpha-2 code -> name in the current language, sorted by that name."""
    locale = current_locale()
    return countries() if locale == DEFAULT_LOCALE else _countries_in(locale)


def local_country_name(code: str) -> str:
    """A country's name in the current language, for pages."""
    return local_countries().get(code, code)
