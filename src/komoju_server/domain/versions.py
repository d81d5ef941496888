"""KOMOJU's API versions (`X-KOMOJU-API-VERSION`), as data: each version, its date, and the
behaviour flags in which it differs from the others.

KOMOJU names a version by its release date and documents two: 2024-07-15 and 2025-01-28
(doc.komoju.com/v2024-07-15/, /v2025-01-28/). A request names one in the header; without it,
KOMOJU uses the version set on the API key. This server's keys have none set, so a request
without the header gets DEFAULT: 2024-07-15, the version KOMOJU's own examples and mobile SDK
send, whose payment object is the API document's (no `captures`), so the document's examples
answer as printed. README, "API versions", says what differs and what is not modelled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from komoju_server.domain.errors import ApiError, not_one_of

HEADER = "X-KOMOJU-API-VERSION"


@dataclass(frozen=True, slots=True)
class ApiVersion:
    name: str  # as the header carries it
    released: dt.date
    # 2025-01-28: "partial captures are now represented using a new captures array on the
    # payment object" (KOMOJU's changelog). Earlier versions have no such member.
    captures: bool
    # Before 2025-01-28 a partially captured payment kept its authorized amount and showed the
    # released rest as a refund, counted in amount_refunded; 2025-01-28 stopped doing so.
    partial_capture_as_refund: bool


VERSIONS: tuple[ApiVersion, ...] = (
    ApiVersion("2024-07-15", dt.date(2024, 7, 15), captures=False, partial_capture_as_refund=True),
    ApiVersion("2025-01-28", dt.date(2025, 1, 28), captures=True, partial_capture_as_refund=False),
)
BY_NAME: dict[str, ApiVersion] = {version.name: version for version in VERSIONS}
DEFAULT: ApiVersion = BY_NAME["2024-07-15"]
# The current reference's: what the dashboard shows people (a partial capture as what was
# captured, refunds as the refunds made).
LATEST: ApiVersion = VERSIONS[-1]
# What an event's data holds: written once, when it happens, for every webhook endpoint and
# every reader of /events, so in no request's version. The payment object of the API
# document (no `captures`), with `refunds` holding only refunds made: a receiver that records
# refunds from events (this server's upstream processor does) must never see a released
# rest as one.
EVENTS: ApiVersion = dataclasses.replace(LATEST, name="events", captures=False)
NAMES: tuple[str, ...] = tuple(BY_NAME)


def parse(header: str | None) -> ApiVersion:
    """The version a request asks for: DEFAULT when it names none; an unknown one is refused."""
    if header is None or not header.strip():
        return DEFAULT
    found = BY_NAME.get(header.strip())
    if found is None:
        raise ApiError(
            "bad_request",
            HEADER,
            message=f"{HEADER} must be one of {', '.join(NAMES)}.",
            details=not_one_of(NAMES),
        )
    return found
