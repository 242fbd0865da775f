"""What a shared link shows (Open Graph and Twitter card tags) and what an embed copies.

Absolute URLs come from ``BASE_URL`` (``core.web.absolute_url``), not the request's host: a
widget pasted into another site must point at the service's real address.
"""

from __future__ import annotations

from flask_babel import gettext
from markupsafe import escape

from signatory.core.i18n import count_text, lang_args
from signatory.core.web import CONTENT_SECURITY_POLICY, absolute_url
from signatory.lists.queries import Counts
from signatory.models import Letter

# The widget is the one page other sites may frame; everything else keeps 'none'.
WIDGET_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
# Organizations the widget names.
WIDGET_ORGANIZATIONS = 5


def count_phrase(counts: Counts) -> str:
    """The count in words ("1,234 signatures: 900 organizations and 334 individuals")."""
    return gettext(
        "%(signatures)s: %(organizations)s and %(individuals)s",
        signatures=count_text("%(num)s signature", "%(num)s signatures", counts.total),
        organizations=count_text(
            "%(num)s organization", "%(num)s organizations", counts.organizations
        ),
        individuals=count_text("%(num)s individual", "%(num)s individuals", counts.individuals),
    )


def share_context(letter: Letter, counts: Counts) -> dict[str, str]:
    """What the letter page needs for link previews, the feed link and the embed snippet."""
    # The widget speaks the language of the page its snippet was copied from.
    widget_url = absolute_url("public.widget", slug=letter.slug, **lang_args())
    # The snippet is HTML for another site: its attribute values are escaped here, and the
    # page escapes the whole snippet again to show it as text.
    snippet = (
        f'<iframe src="{escape(widget_url)}" '
        f'title="{escape(gettext("%(title)s: signatories", title=letter.title))}" '
        'width="360" height="420" style="border:0;max-width:100%" loading="lazy"></iframe>'
    )
    return {
        "url": absolute_url("public.letter", slug=letter.slug),
        "title": letter.title,
        "description": gettext(
            "An open letter to %(recipient)s. %(counts)s.",
            recipient=letter.recipient,
            counts=count_phrase(counts),
        ),
        # The preview card (lists.preview) in the page's language, as the widget is.
        "image": absolute_url("public.preview_image", slug=letter.slug, **lang_args()),
        "image_alt": letter.title,
        "widget_url": widget_url,
        "embed_snippet": snippet,
    }
