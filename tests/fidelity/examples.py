"""The request and response examples of KOMOJU's current API reference, as data.

Each `Example` is one example of a reference page (cited by `source`): the request a client
sends (method, path, form fields exactly as the page's `curl -d` lines send them) and the answer
the page prints (status and body). `setup` names what the example needs to exist first (a
payment to cancel, a customer to show), made by tests/fidelity/test_reference.py as a client
would, from the example's own values. Ids in paths are `{payment}`, `{customer}`, ...: filled
with the id of what the setup made.

Bodies are written as the pages print them; only what the replay cannot reproduce is declared:
`IGNORED_VALUES` (generated values, compared for type only) once for every example, and
`deliberate` per example, with the reason, where this server chooses to differ.

Where the page was cut off in the stored copy, the body holds the fields printed before the cut
(noted in `truncated`), never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DOCS = "https://docs.komoju.com"
# KOMOJU's generated client documents its current OpenAPI document's models here.
SDK_MODELS = "https://github.com/komoju/komoju-node-sdk/blob/main/docs/Models"

# Values generated per object: their type must match (a string stays a string, null stays
# null), their value cannot. Keys are field names at any depth; ids, times and the URLs and
# codes that carry them.
IGNORED_VALUES = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "captured_at",
        "payment_deadline",
        "instructions_url",
        "redirect_url",
        "session_url",
        "confirmation_code",
        "receipt",
        "customer_id",
    }
)

# Fields of our answers that the reference's examples do not print, by resource, and why they
# are there. test_reference.py lists every field we answer beyond an example against this.
EXTRA_FIELDS_ALLOWED: dict[str, dict[str, str]] = {
    "payment": {
        "session": "the session a payment was made through (null otherwise): in KOMOJU's current "
        "Payment object (komoju-ruby-sdk docs/Payment.md); the 2020 pages predate sessions",
        "subscription": "this server's: the subscription a payment charges for (README, Sandbox "
        "controls), null otherwise",
        "customer_family_name": "in KOMOJU's current Payment object (komoju-node-sdk "
        "docs/Models/Payment.md); the 2020 pages predate it",
        "customer_given_name": "in KOMOJU's current Payment object; the 2020 pages predate it",
        "mcc": "in KOMOJU's current Payment object; the 2020 pages predate it",
        "statement_descriptor": "in KOMOJU's current Payment object; the 2020 pages predate it",
    },
    "subscription": {
        "payment_details.brand": "the charged card's brand, as the payment shows it, to tell which "
        "card pays without revealing it",
        "payment_details.last_four_digits": "the charged card's last four digits, as the payment shows them",
        "customer.locale": "in KOMOJU's current schema of the embedded customer "
        "(Subscription_customer); null: this server keeps no customer locale",
        "customer.name": "in KOMOJU's current schema of the embedded customer; null here",
        "customer.phone": "in KOMOJU's current schema of the embedded customer; null here",
        "customer.archived_at": "in KOMOJU's current schema of the embedded customer; null here",
    },
    "secure_token": {
        "authentication_url": "in KOMOJU's current SecureToken schema (komoju-node-sdk "
        "docs/Models/SecureToken.md): where the customer authenticates",
    },
    "customer": {
        "payment_details": "the stored details under the name of KOMOJU's 2019 schema, beside "
        "`source`, its current name, so clients of either era read them",
    },
}


@dataclass(frozen=True)
class Example:
    name: str
    source: str
    method: str
    path: str
    status: int
    response: dict[str, Any]
    form: tuple[tuple[str, str], ...] = ()
    setup: str | None = None
    setup_form: tuple[tuple[str, str], ...] = ()
    # JSON paths (dotted, list items by index) where this server deliberately answers
    # otherwise than the example, with the reason.
    deliberate: dict[str, str] = field(default_factory=dict)
    # Lists (by path) whose order the example cannot fix: compared sorted by this item field.
    sort_lists: dict[str, str] = field(default_factory=dict)
    truncated: bool = False
    # What the answer is, for an answer without a `resource` field (naming its extra fields).
    resource: str = ""
    # Request headers the example sends (besides the key).
    headers: tuple[tuple[str, str], ...] = ()


def _payment(**fields: Any) -> dict[str, Any]:
    """A payment answer as the 2020 reference pages print it, fields in their order."""
    base: dict[str, Any] = {
        "id": "dp6f5pozrrh0nypa62joe09sd",
        "resource": "payment",
        "status": "pending",
        "amount": 300,
        "tax": 30,
        "customer": None,
        "payment_deadline": None,
        "payment_details": None,
        "payment_method_fee": 0,
        "total": 330,
        "currency": "JPY",
        "description": None,
        "captured_at": None,
        "external_order_num": None,
        "metadata": {},
        "created_at": "2020-06-09T07:42:03Z",
        "amount_refunded": 0,
        "locale": "en",
        "refunds": [],
        "refund_requests": [],
    }
    base.update(fields)
    return base


def _customer(email: str) -> dict[str, Any]:
    return {
        "id": "3t9aqamysm8ffhxybe6vkgbcn",
        "resource": "customer",
        "email": email,
        "source": None,
        "metadata": {"order_id": "abcdefg"},
        "created_at": "2020-06-09T07:41:51Z",
    }


def _list(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resource": "list",
        "total": len(data),
        "page": 1,
        "per_page": 10,
        "last_page": 1 if data else 0,
        "data": data,
    }


_CARD_CAPTURED = {
    "type": "credit_card",
    "email": "gordon@example.com",
    "brand": "visa",
    "last_four_digits": "1111",
    "month": 3,
    "year": 2021,
}
# The reference printed its card example with a card that expired in 2021; the replay pays
# with the same number and month and a year still valid.
_CARD_FORM = (
    ("payment_details[type]", "credit_card"),
    ("payment_details[email]", "gordon@example.com"),
    ("payment_details[number]", "4111111111111111"),
    ("payment_details[month]", "03"),
    ("payment_details[year]", "2031"),
    ("payment_details[verification_value]", "123"),
)
_CARD_YEAR = "the example's card expired in 2021; the replay pays with one valid until 2031"
_FACTORY_DEADLINE = (
    "the reference printed a card payment made by a test factory with a deadline; card payments "
    "captured at once have none (payment_deadline null, as in the API document's card example)"
)

EXAMPLES: tuple[Example, ...] = (
    Example(
        name="payments_list_empty",
        source=f"{DOCS}/ja/api/resources/payments/",
        method="GET",
        path="/payments",
        status=200,
        response=_list([]),
    ),
    Example(
        name="payments_show_konbini",
        source=f"{DOCS}/ja/api/resources/payments/show/",
        method="GET",
        path="/payments/{payment}",
        status=200,
        setup="payment",
        setup_form=(
            ("amount", "300"),
            ("tax", "30"),
            ("currency", "JPY"),
            ("external_order_num", "ORDER14"),
            ("locale", "en"),
            ("payment_details[type]", "konbini"),
            ("payment_details[store]", "lawson"),
            ("payment_details[email]", "gordon@example.com"),
        ),
        response=_payment(
            payment_deadline="2020-06-12T14:59:59Z",
            payment_details={
                "type": "konbini",
                "email": "gordon@example.com",
                "store": "lawson",
                "confirmation_code": "1111",
                "receipt": "12345",
                "instructions_url": "https://komoju.com/en/instructions/dp6f5pozrrh0nypa62joe09sd",
            },
            external_order_num="ORDER14",
        ),
        deliberate={
            "status": "the page printed a record made by a test factory; a konbini payment is "
            "`authorized` while it waits for the customer (KOMOJU's Payments reference, "
            "https://ja.doc.komoju.com/reference/payments-2, and the API document's examples)",
        },
    ),
    Example(
        name="payments_cancel_konbini",
        source=f"{DOCS}/ja/api/resources/payments/cancel/",
        method="POST",
        path="/payments/{payment}/cancel",
        status=200,
        setup="payment",
        setup_form=(
            ("amount", "1000"),
            ("tax", "100"),
            ("currency", "JPY"),
            ("locale", "ja"),
            ("payment_details[type]", "konbini"),
            ("payment_details[store]", "lawson"),
            ("payment_details[email]", "test@example.com"),
        ),
        response=_payment(
            id="551p58bphju7vj657gcbc9iq8",
            status="cancelled",
            amount=1000,
            tax=100,
            payment_deadline="2020-06-12T14:59:59Z",
            payment_details={
                "type": "konbini",
                "email": "test@example.com",
                "store": "lawson",
                "confirmation_code": "ek9e2",
                "receipt": "a8y03rvi8k",
                "instructions_url": "https://komoju.com/ja/instructions/551p58bphju7vj657gcbc9iq8",
            },
            total=1100,
            created_at="2020-06-09T07:42:18Z",
            locale="ja",
        ),
    ),
    Example(
        name="payments_refund_paidy",
        source=f"{DOCS}/en/api/resources/payments/refund/",
        method="POST",
        path="/payments/{payment}/refund",
        form=(("amount", "1000"),),
        status=200,
        setup="completed_payment",
        setup_form=(
            ("amount", "1000"),
            ("tax", "0"),  # the page's payment has tax 0; omitted, tax is 10% (API document)
            ("currency", "JPY"),
            ("payment_details[type]", "paidy"),
            ("payment_details[email]", "test@example.com"),
        ),
        # The stored copy of the page ends inside payment_details; these are the fields before.
        response={
            "id": "7mom8rbw56emtroziokdt9q2i",
            "resource": "payment",
            "status": "refunded",
            "amount": 1000,
            "tax": 0,
            "customer": None,
            "payment_deadline": None,
            "payment_details": {"type": "paidy", "email": "test@example.com"},
        },
        truncated=True,
    ),
    Example(
        name="payments_refund_request_konbini",
        source=f"{DOCS}/en/api/resources/payments/refund_request/",
        method="POST",
        path="/payments/{payment}/refund_request",
        form=(
            ("account_number", "1234567"),
            ("account_type", "normal"),
            ("amount", "1000"),
            ("bank_code", "1234"),
            ("bank_name", "KOMOJU BANK"),
            ("branch_number", "123"),
            ("branch_name", "KOMOJU BRANCH"),
            # The page sends "John Doe"; KOMOJU's current schema (CreateRefundRequestRequest)
            # asks the name in half-width katakana, as this server does: the replay sends one.
            ("customer_name", "ﾔﾏﾀﾞ ﾀﾛｳ"),
            ("include_payment_method_fee", "true"),
        ),
        status=200,
        setup="completed_payment",
        setup_form=(
            ("amount", "1000"),
            ("currency", "JPY"),
            ("payment_details[type]", "konbini"),
            ("payment_details[store]", "lawson"),
            ("payment_details[email]", "test@example.com"),
        ),
        # The stored copy of the page ends before the answer: the request (its account type
        # `normal` above all) is what this example holds.
        response={},
        truncated=True,
    ),
    Example(
        name="customers_show",
        source=f"{DOCS}/ja/api/resources/customers/show/",
        method="GET",
        path="/customers/{customer}",
        status=200,
        setup="customer",
        setup_form=(("email", "alleen@stehr.info"), ("metadata[order_id]", "abcdefg")),
        response=_customer("alleen@stehr.info"),
    ),
    Example(
        name="customers_destroy",
        source=f"{DOCS}/ja/api/resources/customers/destroy/",
        method="DELETE",
        path="/customers/{customer}",
        status=200,
        setup="customer",
        setup_form=(("email", "elvinskiles@armstrong.com"), ("metadata[order_id]", "abcdefg")),
        response=_customer("elvinskiles@armstrong.com"),
    ),
    Example(
        name="customers_list",
        source=f"{DOCS}/ja/api/resources/customers/list/",
        method="GET",
        path="/customers",
        status=200,
        # Newest first, as KOMOJU lists: the setup makes them in the opposite order.
        setup="customers",
        setup_form=(
            ("email", "ola@turner.net"),
            ("email", "rorygorczany@stroman.org"),
            ("email", "jackwaelchi@spinka.net"),
        ),
        response=_list(
            [
                _customer("jackwaelchi@spinka.net"),
                _customer("rorygorczany@stroman.org"),
                _customer("ola@turner.net"),
            ]
        ),
    ),
    Example(
        name="events_show_payment_captured",
        source=f"{DOCS}/en/api/resources/events/show/",
        method="GET",
        path="/events/{event}",
        status=200,
        setup="captured_card_event",
        setup_form=(
            ("amount", "300"),
            ("tax", "30"),
            ("currency", "JPY"),
            ("external_order_num", "ORDER11"),
            ("locale", "en"),
            *_CARD_FORM,
        ),
        # The page's copy ends inside the payment's refund_requests; the event's own fields
        # after `data` are those of the same event on the list page (events/list/).
        response={
            "id": "3c9ks6xl2pyuvbxv26pa3zmfe",
            "type": "payment.captured",
            "resource": "event",
            "data": _payment(
                id="0i4ispqaqz4l13heuqge5uvf0",
                status="captured",
                payment_deadline="2020-06-16T14:59:59Z",
                payment_details=_CARD_CAPTURED,
                captured_at="2020-06-07T14:59:59Z",
                external_order_num="ORDER11",
                created_at="2020-06-09T07:42:01Z",
            ),
            "created_at": "2020-06-09T07:42:01Z",
            "reason": None,
        },
        deliberate={"data.payment_deadline": _FACTORY_DEADLINE, "data.payment_details.year": _CARD_YEAR},
    ),
)

_SUBSCRIPTION_CUSTOMER = {
    "id": 315,
    "uuid": "32vg14fz53dkhqalk1qch6pp4",
    "merchant_id": 2697,
    "created_at": "2020-06-09T16:41:53.021+09:00",
    "updated_at": "2020-06-09T16:41:53.021+09:00",
    "email": "conradschumm@robel.net",
    "currency": None,
    "metadata": {"order_id": "abcdefg"},
}
_NO_NUMERIC_IDS = (
    "KOMOJU's internal numeric row id; this server has none and answers its string id "
    "(the customer's id, as `uuid`; the merchant's id)"
)
_FIRST_CHARGE = (
    "the page printed a subscription made by a test factory, never charged; this server charges "
    "the first period at creation (README, Sandbox controls), so it is `active`, has a next "
    "charge, the day of its creation, and its first payment"
)
_SUBSCRIPTION_DELIBERATE = {
    "status": _FIRST_CHARGE,
    "day": _FIRST_CHARGE,
    "next_capture_at": _FIRST_CHARGE,
    "payments": _FIRST_CHARGE,
    "customer.id": _NO_NUMERIC_IDS,
    "customer.merchant_id": _NO_NUMERIC_IDS,
    "customer.uuid": "the customer's id, generated",
}

EXAMPLES += (
    Example(
        name="subscriptions_show",
        source=f"{DOCS}/ja/api/resources/subscriptions/show/",
        method="GET",
        path="/subscriptions/{subscription}",
        status=200,
        setup="subscription",
        setup_form=(
            ("email", "conradschumm@robel.net"),
            ("metadata[order_id]", "abcdefg"),
            ("payment_details[type]", "credit_card"),
            ("payment_details[email]", "test@example.com"),
            ("payment_details[number]", "4111111111111111"),
            ("payment_details[month]", "01"),
            ("payment_details[year]", "2035"),
        ),
        response={
            "id": "0t8yd4nd2ql5ntq2k9dbe0fdk",
            "resource": "subscription",
            "status": "pending",
            "amount": 1000,
            "currency": "JPY",
            "customer": _SUBSCRIPTION_CUSTOMER,
            "period": "monthly",
            "day": 9,
            "payment_details": {"type": "credit_card", "month": "01", "year": "2025", "email": "test@example.com"},
            "retry_count": 0,
            "retry_at": None,
            "next_capture_at": None,
            "created_at": "2020-06-09T07:41:53Z",
            "ended_at": None,
            "metadata": {},
            "payments": [],
        },
        deliberate={
            **_SUBSCRIPTION_DELIBERATE,
            "payment_details.year": "the example's card expired in 2025; the replay's is valid until 2035",
        },
    ),
    Example(
        name="subscriptions_create",
        source=f"{DOCS}/en/api/resources/subscriptions/",
        method="POST",
        path="/subscriptions",
        form=(("amount", "2000"), ("currency", "JPY"), ("customer", "{customer}"), ("period", "monthly")),
        status=200,
        setup="customer",
        setup_form=_CARD_FORM,
        # The stored copy of the page ends after the answer's first two fields.
        response={"id": "1bv1aplpol3igsp9u9te9sgzu", "resource": "subscription"},
        truncated=True,
    ),
    Example(
        name="events_list",
        source=f"{DOCS}/en/api/resources/events/list/",
        method="GET",
        path="/events",
        status=200,
        setup="captured_then_updated_card_payment",
        setup_form=(
            ("amount", "300"),
            ("tax", "30"),
            ("currency", "JPY"),
            ("external_order_num", "ORDER12"),
            ("locale", "en"),
            *_CARD_FORM,
        ),
        # Newest first: the update, then the capture. The stored copy of the page ends inside
        # the second event; its first two fields are kept.
        response={
            "resource": "list",
            "total": 2,
            "page": 1,
            "per_page": 10,
            "last_page": 1,
            "data": [
                {
                    "id": "7tgmdnrg30yyxtnznij4oczbj",
                    "type": "payment.captured",
                    "resource": "event",
                    "data": _payment(
                        id="d7007k5jb94zidwnmufvb8voy",
                        status="captured",
                        payment_deadline="2020-06-16T14:59:59Z",
                        payment_details=_CARD_CAPTURED,
                        captured_at="2020-06-07T14:59:59Z",
                        external_order_num="ORDER12",
                        created_at="2020-06-09T07:42:01Z",
                    ),
                    "created_at": "2020-06-09T07:42:01Z",
                    "reason": None,
                },
                {"id": "a3iwkddrvy34m8ca3trrk2p28", "type": "payment.updated", "resource": "event"},
            ],
        },
        deliberate={"data.0.data.payment_deadline": _FACTORY_DEADLINE, "data.0.data.payment_details.year": _CARD_YEAR},
        # Both events are of one second: their order within it is not the page's to fix (this
        # server lists the later one first), so both lists are compared ordered by type.
        sort_lists={"data": "type"},
        truncated=True,
    ),
    Example(
        name="secure_tokens_show",
        source=f"{DOCS}/en/api/resources/secure_tokens/show/",
        method="GET",
        path="/secure_tokens/{secure_token}",
        status=200,
        setup="verified_secure_token",
        setup_form=(
            ("amount", "1000"),
            ("currency", "JPY"),
            ("return_url", "https://example.com/complete"),
            ("payment_details[type]", "credit_card"),
            ("payment_details[email]", "test@example.com"),
            ("payment_details[number]", "4100000000000100"),
            ("payment_details[month]", "08"),
            ("payment_details[year]", "2035"),
            ("payment_details[verification_value]", "123"),
        ),
        response={
            "id": "tok_1234567890abcdefghijklmnop",
            "verification_status": "OK",
            "created_at": "2022-05-18T09:03:57Z",
        },
        resource="secure_token",
    ),
    Example(
        name="sessions_create",
        source=f"{DOCS}/en/nexus/sessions",
        method="POST",
        path="/sessions",
        form=(("amount", "8888"), ("currency", "JPY"), ("return_url", "https://example.com")),
        status=200,
        # The stored copy of the page ends after `payment`.
        response={
            "id": "e9x5mvx3jkpkofzcg7umfael6",
            "resource": "session",
            "mode": "payment",
            "amount": 8888,
            "currency": "JPY",
            "payment": None,
        },
        truncated=True,
    ),
    Example(
        name="errors_missing_parameter",
        source="https://doc.komoju.com/docs/errors",
        method="POST",
        path="/payments",
        # The page prints the error, not the request: a payment without its amount.
        form=(
            ("currency", "JPY"),
            ("payment_details[type]", "konbini"),
            ("payment_details[store]", "lawson"),
            ("payment_details[email]", "test@example.com"),
        ),
        status=422,  # missing_parameter's status in the API document's table of codes
        response={
            "error": {
                "message": "A required parameter (amount) is missing",
                "code": "missing_parameter",
                "param": "amount",
            }
        },
    ),
)

# KOMOJU's reference is published per API version (https://ja.doc.komoju.com/v2025-01-28/...):
# a client pinned to that version sends it and must be answered as the reference prints.
EXAMPLES += (
    Example(
        name="payments_list_empty_pinned_version",
        source="https://ja.doc.komoju.com/v2025-01-28/reference/payments",
        method="GET",
        path="/payments",
        headers=(("X-KOMOJU-API-VERSION", "2025-01-28"),),
        status=200,
        response=_list([]),
    ),
)


# The fields KOMOJU's current OpenAPI document requires of each object, as its generated
# clients list them (komoju/komoju-node-sdk, docs/Models/<Model>.md, fields not marked
# optional). A client built on those SDKs expects every one of them in our answers.
SCHEMA_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "payment": (
        f"{SDK_MODELS}/Payment.md",
        (
            "id", "resource", "status", "amount", "tax", "customer", "payment_deadline", "payment_details",
            "payment_method_fee", "total", "currency", "description", "captured_at", "external_order_num",
            "metadata", "created_at", "amount_refunded", "locale", "session", "customer_family_name",
            "customer_given_name", "mcc", "statement_descriptor", "refunds", "refund_requests",
        ),
    ),
    "refund": (
        f"{SDK_MODELS}/Refund.md",
        ("id", "resource", "amount", "currency", "payment", "description", "created_at", "chargeback"),
    ),
    "refund_request": (
        f"{SDK_MODELS}/RefundRequest.md",
        (
            "id", "payment", "customer_name", "bank_name", "bank_code", "branch_name", "branch_number",
            "account_number", "status", "created_at",
        ),
    ),
    "customer": (f"{SDK_MODELS}/Customer.md", ("id", "resource", "email", "source", "metadata", "created_at")),
    "subscription": (
        f"{SDK_MODELS}/Subscription.md",
        (
            "id", "resource", "status", "amount", "currency", "customer", "period", "day", "payment_details",
            "retry_count", "retry_at", "next_capture_at", "created_at", "ended_at", "metadata", "payments",
        ),
    ),
    "subscription.customer": (
        f"{SDK_MODELS}/Subscription_customer.md",
        (
            "id", "uuid", "merchant_id", "created_at", "updated_at", "email", "currency", "locale", "name",
            "phone", "archived_at",
        ),
    ),
    "subscription.payment_details": (
        f"{SDK_MODELS}/Subscription_payment_details.md", ("type", "month", "year", "email")
    ),
    "secure_token": (f"{SDK_MODELS}/SecureToken.md", ("id", "created_at", "verification_status", "authentication_url")),
    "event": (f"{SDK_MODELS}/Event.md", ("id", "type", "resource", "created_at", "reason", "data")),
    "session": (
        f"{SDK_MODELS}/Session.md",
        (
            "id", "resource", "mode", "amount", "currency", "session_url", "return_url", "default_locale",
            "payment_methods", "created_at", "cancelled_at", "completed_at", "status", "expired", "merchant",
            "metadata",
        ),
    ),
}  # fmt: skip
