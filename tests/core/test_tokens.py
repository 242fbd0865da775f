"""Tokens: signed, timed, one salt per purpose."""

from __future__ import annotations

import pytest

from signatory.core.errors import InvalidToken
from signatory.core.tokens import Tokens, WrongPurpose


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(clock: Clock) -> Tokens:
    return Tokens("k" * 40, {"confirm": 3600, "withdraw": 7200}, clock=clock)


def test_a_token_reads_back_its_row_and_nonce(tokens):
    payload = tokens.read("confirm", tokens.make("confirm", 42, "nonce-1"))
    assert (payload.row_id, payload.nonce) == (42, "nonce-1")


def test_an_expired_token_is_refused_but_still_names_its_row(tokens, clock):
    token = tokens.make("confirm", 7, "n")
    clock.now += 3601
    with pytest.raises(InvalidToken) as raised:
        tokens.read("confirm", token)
    assert raised.value.reason == "expired"
    assert raised.value.signature_id == 7
    assert tokens.read("confirm", token, allow_expired=True).row_id == 7


def test_a_token_within_its_lifetime_is_accepted(tokens, clock):
    token = tokens.make("confirm", 7, "n")
    clock.now += 3599
    assert tokens.read("confirm", token).row_id == 7


def test_a_tampered_token_is_invalid(tokens):
    token = tokens.make("confirm", 7, "n")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidToken) as raised:
        tokens.read("confirm", tampered)
    assert raised.value.reason == "invalid"


@pytest.mark.parametrize("garbage", ["", "x", "not.a.token", "🙂" * 10, "a" * 5000])
def test_garbage_is_invalid(tokens, garbage):
    with pytest.raises(InvalidToken) as raised:
        tokens.read("confirm", garbage)
    assert raised.value.reason == "invalid"


def test_a_token_for_one_purpose_is_refused_for_another_and_says_which(tokens):
    token = tokens.make("withdraw", 7, "n")
    with pytest.raises(WrongPurpose) as raised:
        tokens.read("confirm", token)
    assert raised.value.actual == "withdraw"


def test_a_token_signed_with_another_key_is_invalid(tokens, clock):
    other = Tokens("z" * 40, {"confirm": 3600}, clock=clock)
    with pytest.raises(InvalidToken) as raised:
        tokens.read("confirm", other.make("confirm", 7, "n"))
    assert raised.value.reason == "invalid"
