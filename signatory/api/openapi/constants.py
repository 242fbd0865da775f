"""The values the API promises and the views enforce: its version, the query limits, the
vocabularies of its enumerations and the rate-limit header names. They live apart from the
document so that the views, the HTTP layer and every part of the document read them from one
place, and so that any module of this package can import them without pulling in the rest.
"""

from __future__ import annotations

VERSION = "1.2.0"

# Query limits, shared with the views that enforce them.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200

LETTER_STATUSES = ["open", "closed", "delivered"]
SIGNATURE_KINDS = ["organization", "individual"]
VERSION_KINDS = ["initial", "correction", "substantive"]
# A lead organization's role (``models.signature.LeadRole``).
LEAD_ROLES = ["initiator", "co-sponsor"]

# Rate-limit and caching headers, documented once and referenced from every success.
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
