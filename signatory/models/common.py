"""What several tables share: random nonces for one-use links, and SQL for status lists."""

from __future__ import annotations

import secrets

# Long enough for a language tag with script and region ("sr-Latn-RS") and then some.
LANGUAGE_TAG_MAX = 35


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def in_list(column: str, values: tuple[str, ...]) -> str:
    """``column IN ('a', 'b')`` as SQL text, for the partial indexes' WHERE clauses."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"
