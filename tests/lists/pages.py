"""Reading the public list pages in tests: a page, one of its sections, the names in it, and
the link to its next page."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient


def page_html(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, f"GET {url} answered {response.status_code}"
    return response.get_data(as_text=True)


def section_html(page: str, kind: str) -> str:
    match = re.search(rf'<section[^>]*id="{kind}s".*?</section>', page, re.S)
    assert match, f"no {kind} section on the page"
    return match.group(0)


def row_names(fragment: str) -> list[str]:
    return [
        html.unescape(name)
        for name in re.findall(r'<th scope="row">(?:<a [^>]*>)?<bdi>(.*?)</bdi>', fragment)
    ]


def more_link(fragment: str) -> str | None:
    """Where a section's "more" link leads (its next page), or None when it has none."""
    match = re.search(r'<a rel="next" href="([^"]+)"', fragment)
    return html.unescape(match.group(1)) if match else None
