"""The API over HTTP: ETags and 304, caching, CORS, rate limits, and what they leave alone."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from signatory import create_app
from signatory.core.config import ConfigError
from tests.api.responses import api_request
from tests.factories import make_letter, make_signature

LETTER = "/api/v1/letters/civic"
API_URLS = (
    "/api/v1/letters",
    LETTER,
    f"{LETTER}/signatures",
    f"{LETTER}/versions",
    "/api/v1/openapi.json",
)
PAGES = ("/", "/letters/civic", "/letters/civic/signatories", "/manage/login")
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
PREFLIGHT = {"Origin": "https://newsroom.example", "Access-Control-Request-Method": "GET"}


@pytest.fixture
def civic(session: Session) -> None:
    letter = make_letter(session, slug="civic")
    make_signature(session, letter)
    session.commit()


@pytest.fixture
def tiny_limit(app_config: dict[str, Any]) -> None:
    """Two API requests a minute; request it before anything that builds the app."""
    app_config["API_RATE_LIMIT"] = "2 per minute"


@pytest.fixture
def cache_for_25_seconds(app_config: dict[str, Any]) -> None:
    app_config["API_CACHE_MAX_AGE"] = 25


# --- ETag and 304 --------------------------------------------------------------------------


@pytest.mark.parametrize("url", API_URLS)
@pytest.mark.usefixtures("civic")
def test_every_successful_answer_has_a_strong_etag(client: FlaskClient, url: str) -> None:
    etag = api_request(client, url).headers.get("ETag", "")

    assert etag.startswith('"'), f"{url}: ETag {etag!r} is missing or weak"


@pytest.mark.parametrize("url", API_URLS)
@pytest.mark.usefixtures("civic")
def test_matching_if_none_match_answers_304_with_an_empty_body(
    client: FlaskClient, url: str
) -> None:
    etag = api_request(client, url).headers["ETag"]

    response = api_request(client, url, headers={"If-None-Match": etag}, status=304)

    assert response.data == b""
    assert response.headers["ETag"] == etag


@pytest.mark.usefixtures("civic")
def test_stale_etag_gets_the_full_answer(client: FlaskClient) -> None:
    response = api_request(client, LETTER, headers={"If-None-Match": '"stale"'})

    assert response.get_json()["letter"]["slug"] == "civic"


def test_etag_changes_when_a_signature_is_published(client: FlaskClient, session: Session) -> None:
    letter = make_letter(session, slug="civic")
    session.commit()
    before = api_request(client, f"{LETTER}/signatures").headers["ETag"]
    make_signature(session, letter)
    session.commit()

    response = api_request(client, f"{LETTER}/signatures", headers={"If-None-Match": before})

    assert response.headers["ETag"] != before
    assert len(response.get_json()["signatures"]) == 1


@pytest.mark.usefixtures("civic")
def test_head_carries_the_same_etag_as_get(client: FlaskClient) -> None:
    etag = api_request(client, LETTER).headers["ETag"]

    response = api_request(client, LETTER, method="HEAD")

    assert response.headers["ETag"] == etag
    assert response.data == b""


# --- Cache-Control ------------------------------------------------------------------------


@pytest.mark.parametrize("url", API_URLS)
@pytest.mark.usefixtures("civic")
def test_successful_answers_may_be_cached_briefly_by_shared_caches(
    client: FlaskClient, url: str
) -> None:
    cache_control = api_request(client, url).cache_control

    assert cache_control.public
    assert cache_control.max_age is not None and 1 <= cache_control.max_age <= 60


@pytest.mark.usefixtures("cache_for_25_seconds")
def test_cache_lifetime_comes_from_the_configuration(client: FlaskClient) -> None:
    assert api_request(client, "/api/v1/letters").cache_control.max_age == 25


@pytest.mark.parametrize("url", ["/api/v1/letters/nope", f"{LETTER}/signatures?limit=0"])
@pytest.mark.usefixtures("civic")
def test_errors_are_never_stored_by_caches(client: FlaskClient, url: str) -> None:
    response = client.get(url)

    assert response.status_code >= 400
    assert response.cache_control.no_store
    assert "ETag" not in response.headers


# --- CORS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", API_URLS)
@pytest.mark.usefixtures("civic")
def test_any_origin_may_read_the_api(client: FlaskClient, url: str) -> None:
    response = api_request(client, url, headers={"Origin": "https://newsroom.example"})

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = response.headers["Access-Control-Expose-Headers"]
    for name in ("ETag", "Retry-After", *RATE_LIMIT_HEADERS):
        assert name in exposed, name


@pytest.mark.usefixtures("civic")
def test_errors_also_allow_any_origin_so_scripts_can_read_them(client: FlaskClient) -> None:
    for url in ("/api/v1/letters/nope", f"{LETTER}/signatures?kind=x", "/api/v1/nothing"):
        response = client.get(url, headers={"Origin": "https://newsroom.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*", url


@pytest.mark.usefixtures("civic")
def test_preflight_is_answered_for_get(client: FlaskClient) -> None:
    response = client.options(f"{LETTER}/signatures", headers=PREFLIGHT)

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "POST" not in response.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]
    assert int(response.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.usefixtures("civic")
def test_pages_and_the_workspace_never_allow_other_origins(client: FlaskClient, url: str) -> None:
    response = client.get(url, headers={"Origin": "https://newsroom.example"})
    preflight = client.options(url, headers=PREFLIGHT)

    assert response.status_code == 200, url
    for answer in (response, preflight):
        assert not any(name.startswith("Access-Control-") for name, _ in answer.headers), url


def test_docs_page_is_a_page_not_a_cross_origin_resource(client: FlaskClient) -> None:
    response = client.get("/api/v1/docs", headers={"Origin": "https://newsroom.example"})

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


# --- rate limits --------------------------------------------------------------------------


@pytest.mark.parametrize("url", API_URLS)
@pytest.mark.usefixtures("civic")
def test_api_answers_carry_rate_limit_headers(client: FlaskClient, url: str) -> None:
    response = api_request(client, url)

    assert response.headers["X-RateLimit-Limit"] == "120"
    assert int(response.headers["X-RateLimit-Remaining"]) == 119
    assert int(response.headers["X-RateLimit-Reset"]) > 0
    assert "Retry-After" in response.headers


@pytest.mark.usefixtures("civic")
def test_pages_and_the_workspace_carry_no_rate_limit_headers(client: FlaskClient) -> None:
    for url in (*PAGES, "/api/v1/docs"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "X-RateLimit-Limit" not in response.headers, url


@pytest.mark.usefixtures("tiny_limit", "civic")
def test_past_the_limit_the_api_answers_429_json_with_retry_after(client: FlaskClient) -> None:
    api_request(client, LETTER)
    api_request(client, f"{LETTER}/signatures")

    response = api_request(client, "/api/v1/letters", status=429)

    error = response.get_json()["error"]
    assert error["code"] == "too_many_requests"
    assert "2 per minute" in error["message"]
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.cache_control.no_store


@pytest.mark.usefixtures("tiny_limit", "civic")
def test_the_limit_counts_each_address_separately(client: FlaskClient) -> None:
    for _ in range(2):
        api_request(client, LETTER, environ_base={"REMOTE_ADDR": "192.0.2.1"})

    api_request(client, LETTER, environ_base={"REMOTE_ADDR": "192.0.2.1"}, status=429)
    api_request(client, LETTER, environ_base={"REMOTE_ADDR": "192.0.2.2"})


@pytest.mark.usefixtures("tiny_limit", "civic")
def test_pages_the_workspace_and_preflights_are_never_limited(client: FlaskClient) -> None:
    for _ in range(2):
        api_request(client, LETTER)

    for url in (*PAGES, "/api/v1/docs"):
        for _ in range(3):
            assert client.get(url).status_code == 200, url
    for _ in range(3):
        assert client.options(LETTER, headers=PREFLIGHT).status_code == 200


def test_an_unusable_rate_limit_setting_is_refused(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="API_RATE_LIMIT"):
        create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
                "SECRET_KEY": "x" * 40,
                "API_RATE_LIMIT": "lots",
            }
        )
