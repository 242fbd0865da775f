"""The introduction of the document (``info.description``): what the API is for and the
rules every endpoint shares (public fields only, requests, caching, browsers, rate limits,
errors). It is long prose that changes for other reasons than the schemas do, so it has a
module of its own; it stays a Python string so that it ships with the code without any
packaging data. It is CommonMark, rendered at the top of the docs page.
"""

from __future__ import annotations

DESCRIPTION = """\
A read-only API for the public: open letters, how many have signed them, who signed
them, the versions of their text and, once delivered, what was handed over.

**Public fields only.** Email addresses are never part of any response, and signatures
that are unconfirmed, awaiting review, rejected or withdrawn are never listed. Draft
letters do not exist as far as the API is concerned: they answer `404`, the same as a
slug that was never used.

**Requests.** `GET` (and `HEAD`) only, no authentication, no cookies. Unknown query
parameters are ignored, and a parameter given with an empty value (`?kind=`) counts as
absent. Every answer, errors included, is `application/json` in UTF-8. Times are ISO 8601
in UTC with a `Z` suffix; microseconds appear only when they are not zero.

**Caching.** Every successful answer carries a strong `ETag` and `Cache-Control: public,
max-age=…` (a few seconds), so a shared cache in front can absorb many readers. Send the
`ETag` back in `If-None-Match` and the API answers `304 Not Modified` with an empty body
while nothing changed.

**Browsers.** Any origin may read the API (`Access-Control-Allow-Origin: *`); preflight
`OPTIONS` requests are answered. The rate-limit headers and `ETag` are exposed to scripts.

**Rate limits.** Requests are counted per client address. Every answer says where you
stand: `X-RateLimit-Limit` (requests allowed in the window), `X-RateLimit-Remaining`,
`X-RateLimit-Reset` (Unix time the window ends) and `Retry-After` (seconds). Past the
limit the API answers `429` with the error object; wait `Retry-After` seconds.

**Errors.** Every error answers with the matching status and
`{"error": {"code": "…", "message": "…"}}`. `code` is stable and meant for programs
(`invalid_<parameter>`, `not_found`, `method_not_allowed`, `too_many_requests`,
`internal_error`); `message` is for people and may change. An unknown letter is reported
before any bad parameter.
"""
