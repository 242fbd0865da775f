"""Emailed links: signed, timed, single-use tokens, one salt per purpose.

A token is *signed, not encrypted*: anyone holding it can read its payload (a row id
and a nonce), but nobody without the secret key can make or alter one. The nonce is
stored on the row; using a token checks it and rotates it, so each link works once.

Key rotation: tokens are signed with ``SECRET_KEY`` and accepted when signed with it or
with any key in ``SECRET_KEY_FALLBACKS`` (the keys it replaced), so links already in
people's inboxes keep working after the secret is changed; a key taken out of the
fallbacks stops working at once. Flask reads the same setting for its session cookie.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from itsdangerous import (
    BadData,
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_decode, base64_encode

from signatory.core.database import MAX_ROW_ID
from signatory.core.errors import InvalidToken

# "unsubscribe" (an update email's one-click link, ``updates``) has no lifetime: it can only
# switch updates off, and RFC 8058 asks that it keep working. Nor has "sign-invitation"
# (an invite-only letter's link for one organization, ``invites``): it works until it is
# used or revoked, or the letter closes, however long the coalition takes to gather.
# Nor has "reconfirm" (keeping a signature on a new version of the text, ``reconfirm``):
# its nonce and the version it names (``scoped_nonce``) end it, and it must still work
# after a letter's policy took the signature off the list.
PURPOSES = (
    "confirm", "withdraw", "invite", "sign-in", "manage", "unsubscribe", "sign-invitation",
    "reconfirm",
)  # fmt: skip
# Where the app keeps its token maker.
EXTENSION = "signatory.tokens"

# Token failure reasons, each with its own page.
EXPIRED = "expired"
INVALID = "invalid"
WRONG_PURPOSE = "wrong_purpose"
USED = "used"


@dataclass(frozen=True)
class TokenPayload:
    row_id: int
    nonce: str


class WrongPurpose(InvalidToken):
    def __init__(self, actual: str) -> None:
        super().__init__(WRONG_PURPOSE)
        self.actual = actual


class Tokens:
    """Makes and reads tokens for every purpose: signed with ``secret_key``, accepted when
    signed with it or with one of ``fallbacks`` (older keys, kept while links made with
    them may still be in use)."""

    def __init__(
        self,
        secret_key: str,
        max_ages: dict[str, int],
        clock: Callable[[], float] = time.time,
        *,
        fallbacks: Sequence[str] = (),
    ) -> None:
        class _Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock())

        self._max_ages = max_ages
        keys = accepted_keys(secret_key, fallbacks)
        self._serializers = {
            purpose: URLSafeTimedSerializer(keys, salt=f"signatory.{purpose}", signer=_Signer)
            for purpose in PURPOSES
        }

    def make(self, purpose: str, row_id: int, nonce: str) -> str:
        return str(self._serializers[purpose].dumps({"id": row_id, "n": nonce}))

    def read(self, purpose: str, token: str, *, allow_expired: bool = False) -> TokenPayload:
        """Return the payload, or raise ``InvalidToken`` with the reason.

        An expired token whose signature is good still names its row, so the page can
        offer a fresh link without asking the person to start again.
        """
        if not _canonical(token):
            raise InvalidToken(INVALID)
        serializer = self._serializers[purpose]
        lifetime = None if allow_expired else self._max_ages.get(purpose)
        try:
            # A token lives ``lifetime`` seconds: it works up to one second before, and is
            # expired from then on (itsdangerous refuses only an age *over* its max_age).
            data = serializer.loads(token, max_age=None if lifetime is None else lifetime - 1)
        except SignatureExpired as exc:
            payload = _payload(serializer.load_payload(exc.payload) if exc.payload else None)
            raise InvalidToken(EXPIRED, signature_id=payload.row_id if payload else None) from None
        except BadSignature:
            for other, other_serializer in self._serializers.items():
                if other == purpose:
                    continue
                try:
                    other_serializer.loads(token)
                except BadSignature:
                    continue
                raise WrongPurpose(other) from None
            raise InvalidToken(INVALID) from None
        payload = _payload(data)
        if payload is None:
            raise InvalidToken(INVALID)
        return payload


def _canonical(token: str) -> bool:
    """Whether the token's signature is spelled the one way base64 spells its bytes.

    The last base64 character carries spare bits, so a few other letters in that place
    decode to the same signature: without this, a link with its last character changed
    ("…1w" to "…1x") would still work. Found by tests/security/test_properties.py.
    """
    signature = token.rsplit(".", 1)[-1]
    try:
        return base64_encode(base64_decode(signature)).decode("ascii") == signature
    except (BadData, UnicodeError, ValueError):
        return False


def _payload(data: Any) -> TokenPayload | None:
    if not isinstance(data, dict):
        return None
    row_id, nonce = data.get("id"), data.get("n")
    if not isinstance(row_id, int) or not isinstance(nonce, str) or not 0 < row_id <= MAX_ROW_ID:
        return None
    return TokenPayload(row_id, nonce)


def nonce_matches(stored: str, presented: str) -> bool:
    return hmac.compare_digest(stored.encode(), presented.encode())


def scoped_nonce(scope_id: int, nonce: str) -> str:
    """A token's nonce that also names a row it is about (a keep link's version).

    Signed with the rest of the payload, so the row cannot be changed; ``split_scoped_nonce``
    reads it back.
    """
    return f"{scope_id}.{nonce}"


def split_scoped_nonce(value: str) -> tuple[int, str] | None:
    """The row id and the nonce of a ``scoped_nonce``; None when ``value`` is not one."""
    scope, dot, nonce = value.partition(".")
    if not dot or not nonce or not scope.isdigit() or not 0 < int(scope) <= MAX_ROW_ID:
        return None
    return int(scope), nonce


def fallback_keys(config: Mapping[str, Any]) -> list[str]:
    """The retired secret keys still accepted (``SECRET_KEY_FALLBACKS``; checked at start)."""
    return list(config.get("SECRET_KEY_FALLBACKS") or [])


def accepted_keys(secret_key: str, fallbacks: Sequence[str]) -> list[str]:
    """Every key a signed value is checked against, in itsdangerous' order: the retired
    ones first, the current one last (it signs with the last, verifies with each)."""
    return [key for key in fallbacks if key != secret_key] + [secret_key]


def init_app(app: Flask, *, clock: Callable[[], float] = time.time) -> None:
    """Give ``app`` its token maker: its secret keys, and each purpose's lifetime.

    ``clock`` (a Unix time) is for tests that check lifetimes without waiting.
    """
    app.extensions[EXTENSION] = Tokens(
        app.config["SECRET_KEY"],
        clock=clock,
        fallbacks=fallback_keys(app.config),
        max_ages={
            "confirm": app.config["CONFIRM_TOKEN_MAX_AGE"],
            "withdraw": app.config["WITHDRAW_TOKEN_MAX_AGE"],
            "invite": app.config["INVITE_TOKEN_MAX_AGE"],
            "sign-in": app.config["RESET_TOKEN_MAX_AGE"],
            # The signer's manage-my-signature link (``privacy``).
            "manage": app.config["MANAGE_TOKEN_MAX_AGE"],
        },
    )


def current_tokens() -> Tokens:
    """The current app's token maker."""
    tokens: Tokens = current_app.extensions[EXTENSION]
    return tokens
