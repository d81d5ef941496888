"""The OpenAPI 3.1 document of the API (`GET /api/v1/openapi.json`, `komoju-server openapi`).

Generated from the tables the server itself runs on, so it cannot drift from them:

- the routes: `api/routes.py` is replayed into a recorder, and each resource's `on_*`
  responders, `access` and `publishable_methods` say which methods exist and which key each
  takes. An endpoint needs one entry in `OPERATIONS` (what it takes and answers); a route
  without one is listed as undocumented, and tests/api/test_openapi.py fails on it;
- the payment methods (`methods/catalogue.py`): every `payment_details` variant, request and
  response, is a `oneOf` by `type`, with each field's rule as a schema (`domain/rules.py`);
- the error table (`domain/errors.py`): every code under the status it answers with;
- the value tables: statuses, currencies, locales, event types, session modes, periods...

Request bodies stay open (unknown fields are ignored, as the server does); answers are
documented field by field, and `document(strict=True)` closes every answer object
(`additionalProperties: false`), which is how the tests check that the server answers nothing
undocumented. Extensions (the sandbox, webhook endpoints, delivery logs, this document) are
marked `x-komoju-extension: true` and tagged as such.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import falcon.asgi
import orjson

from komoju_server import __version__
from komoju_server.api import inputs as wire
from komoju_server.api import responses
from komoju_server.api.direct import DirectRoutes, FalconResource, Handler
from komoju_server.domain import money, params, rules, states, versions
from komoju_server.domain import secure_token as secure_tokens
from komoju_server.domain import session as sessions
from komoju_server.domain import subscription as subscriptions
from komoju_server.domain.errors import ERRORS
from komoju_server.domain.payment import REFUND_REQUEST_STATUSES
from komoju_server.domain.rules import schema_of
from komoju_server.domain.webhook import EVENT_TYPES
from komoju_server.methods.catalogue import KONBINI_STORES, METHODS
from komoju_server.methods.listing import NAMES, SUBTYPES
from komoju_server.methods.method import Family, Method
from komoju_server.processors import test_inputs

PREFIX = "/api/v1"
OPENAPI = "3.1.0"
HTTP_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

Schema = dict[str, Any]


# -- schema helpers ------------------------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null."""
    schema = copy.deepcopy(schema)
    if "$ref" in schema or "oneOf" in schema or "anyOf" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    if kind is None:
        return {"anyOf": [schema, {"type": "null"}]}
    kinds = kind if isinstance(kind, list) else [kind]
    if "null" not in kinds:
        schema["type"] = [*kinds, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def const(value: str) -> Schema:
    return {"type": "string", "const": value}


def enum(values: Iterable[str], **more: Any) -> Schema:
    return {"type": "string", "enum": list(values), **more}


def array(items: Schema, **more: Any) -> Schema:
    return {"type": "array", "items": items, **more}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
ID: Schema = {"type": "string", "pattern": "^[a-z0-9]{25}$"}
TOKEN_ID: Schema = {"type": "string", "pattern": "^tok_[a-z0-9]+$"}
TIME: Schema = {"type": "string", "format": "date-time", "description": "UTC, YYYY-MM-DDTHH:MM:SSZ"}
URL: Schema = {"type": "string", "format": "uri"}
CURRENCY: Schema = enum(money.CURRENCIES)
METADATA: Schema = {"type": "object", "description": "As it was sent: its keys and values, JSON types included."}

# What requests may send where the answer has a plain type (form bodies are all strings).
AMOUNT_IN: Schema = {
    "type": ["integer", "number", "string"],
    "pattern": r"^\s*[0-9]+(\.0*)?\s*$",
    "minimum": 0,
    "maximum": money.MAX_AMOUNT,
    "description": "In the currency's smallest unit (yen, won, cents); a number or a string of digits.",
}
TAX_IN: Schema = {
    "type": ["integer", "number", "string"],
    "description": "A number, a string of one, or `auto` (10% of the amount, the default); rounded half up.",
}
CURRENCY_IN: Schema = enum([*money.CURRENCIES, *(c.lower() for c in money.CURRENCIES)])
TEXT_IN: Schema = {"type": ["string", "integer", "number", "null"], "maxLength": 255}
BOOLEAN_IN: Schema = {
    "type": ["boolean", "string", "null"],
    "description": "true or false (also the strings true/false, 1/0, yes/no, on/off)",
}
METADATA_IN: Schema = {
    "type": ["object", "null"],
    "maxProperties": params.METADATA.entries,
    "propertyNames": {"minLength": 1, "maxLength": params.METADATA.key_length},
    "description": f"Kept as sent, JSON types included: strings (at most {params.METADATA.value_length} "
    "characters), numbers, booleans, null, and objects and lists of them (keys of at most "
    f"{params.METADATA.key_length} characters at every level, {params.METADATA.depth} levels deep, "
    f"{params.METADATA.entries} keys and list items in all).",
}
LOCALE_IN: Schema = nullable(enum(params.LOCALES, description="`ja` by default"))
FRAUD_DETAILS_IN: Schema = {
    "type": ["object", "null"],
    "properties": {name: {"type": ["string", "null"], "maxLength": 2000} for name in params.FRAUD_FIELDS},
    "additionalProperties": False,
    "description": "customer_ip is needed with customer_email, browser_language and browser_user_agent.",
}
PAGE: tuple[Schema, ...] = (
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": responses.MAX_PAGE, "default": 1},
    },
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": responses.MAX_PER_PAGE, "default": 10},
    },
)
TIME_RANGE: tuple[Schema, ...] = tuple(
    {"name": name, "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "inclusive"}
    for name in ("start_time", "end_time")
)


def request_object(properties: dict[str, Schema], required: Iterable[str] = (), **more: Any) -> Schema:
    """A request body: unknown fields are ignored, so it stays open."""
    schema: Schema = {"type": "object", "properties": properties, **more}
    if required:
        schema["required"] = list(required)
    return schema


def answer_object(properties: dict[str, Schema], required: Iterable[str] | None = None, **more: Any) -> Schema:
    """An answer: every field listed is always there unless `required` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        **more,
    }


def list_of(item: Schema) -> Schema:
    """The envelope every list answers with (`api/responses.envelope`)."""
    return answer_object(
        {
            "resource": const("list"),
            "total": INTEGER,
            "page": INTEGER,
            "per_page": INTEGER,
            "last_page": INTEGER,
            "data": array(item),
        }
    )


# -- payment methods -----------------------------------------------------------------------------

# The fields a payment's payment_details may show (`Method.shows`), and what each holds.
SHOWN: dict[str, Schema] = {
    "email": STRING,
    "brand": STRING,
    "last_four_digits": {"type": "string", "pattern": "^[0-9A-Za-z]{4}$"},
    "month": INTEGER,
    "year": INTEGER,
    "store": enum(KONBINI_STORES),
    "confirmation_code": STRING,
    "receipt": STRING,
    "instructions_url": URL,
    "order_id": STRING,
    "bank_name": STRING,
    "account_branch_name": STRING,
    "account_number": STRING,
    "account_type": STRING,
    "account_name": STRING,
    "bank_id": STRING,
    "customer_id": STRING,
    "confirmation_id": STRING,
    "short_amount": {"type": "integer", "description": "what is left to pay with another card (PATCH)"},
    "prepaid_cards": array(
        answer_object({"last_four_digits": STRING, "points": INTEGER}),
        description="the prepaid cards used so far",
    ),
    "provider": STRING,
    "redirect_url": {**URL, "description": "where the customer finishes paying"},
    "happy_money_id": STRING,
    "culture_id": STRING,
}
# What a stored card shows besides its token fields (`services/customers.safe_details`).
CARD_SHOWN = ("brand", "last_four_digits", "month", "year")


def _title(method: Method) -> str:
    return NAMES[method.type][0]


def _method_notes(method: Method) -> dict[str, Any]:
    notes: dict[str, Any] = {
        "x-komoju-family": str(method.family),
        "x-komoju-currencies": {c: {"min": low, "max": high} for c, (low, high) in method.limits.items()},
        "x-komoju-refundable": method.refundable,
    }
    if method.deadline is not None:
        notes["x-komoju-deadline-days"] = method.deadline.days
    if method.type in SUBTYPES:
        notes["x-komoju-subtypes"] = list(SUBTYPES[method.type])
    return notes


def details_request(method: Method) -> Schema:
    """What `payment_details` of `method` takes: its fields and their rules (`null` is absent)."""
    properties: dict[str, Schema] = {"type": const(method.type)}
    for spec in method.fields:
        schema = schema_of(spec.rule)
        if spec.secret:
            schema["writeOnly"] = True
            schema["description"] = (schema.get("description", "") + "; never answered, kept only encrypted").lstrip(
                "; "
            )
        properties[spec.name] = schema if spec.required else nullable(schema)
    required = ["type", *(spec.name for spec in method.fields if spec.required)]
    return request_object(properties, required, title=f"{_title(method)} ({method.type})", **_method_notes(method))


def details_answer(method: Method) -> Schema:
    """A payment's `payment_details` of `method`: exactly `Method.shows`, null when unknown."""
    properties: dict[str, Schema] = {"type": const(method.type)}
    for name in method.shows[1:]:
        properties[name] = nullable(SHOWN[name])
    return answer_object(properties, title=f"{_title(method)} ({method.type})")


def token_details_answer(method: Method, card: bool = False) -> Schema:
    """A token's (or, with `card`, a customer's) payment_details: the method's token fields."""
    properties: dict[str, Schema] = {"type": const(method.type)}
    for name in method.token_fields[1:]:
        properties[name] = nullable(schema_of(method.by_name[name].rule))
    if card and method.family is Family.CARD:
        for name in CARD_SHOWN:
            properties[name] = nullable(SHOWN[name])
    return answer_object(properties, title=f"{_title(method)} ({method.type})")


def one_of_methods(prefix: str, methods: Iterable[Method]) -> Schema:
    names = {m.type: f"{prefix}_{m.type}" for m in methods}
    return {
        "oneOf": [ref(name) for name in names.values()],
        "discriminator": {
            "propertyName": "type",
            "mapping": {t: f"#/components/schemas/{name}" for t, name in names.items()},
        },
    }


def method_schemas() -> dict[str, Schema]:
    schemas: dict[str, Schema] = {}
    for method in METHODS:
        schemas[f"PaymentDetailsInput_{method.type}"] = details_request(method)
        schemas[f"PaymentDetails_{method.type}"] = details_answer(method)
        schemas[f"TokenDetails_{method.type}"] = token_details_answer(method)
        schemas[f"CustomerDetails_{method.type}"] = token_details_answer(method, card=True)
    schemas["PaymentDetailsInput"] = {
        **one_of_methods("PaymentDetailsInput", METHODS),
        "description": "The payment method and its details; `type` says which.",
    }
    schemas["PaymentDetails"] = one_of_methods("PaymentDetails", METHODS)
    schemas["TokenDetails"] = one_of_methods("TokenDetails", METHODS)
    schemas["CustomerDetails"] = one_of_methods("CustomerDetails", METHODS)
    return schemas


DETAILS_OR_TOKEN: Schema = {
    "oneOf": [ref("PaymentDetailsInput"), {**TOKEN_ID, "description": "a token (POST /tokens) in their place"}]
}


# -- answers -------------------------------------------------------------------------------------

REFUND = answer_object(
    {
        "id": ID,
        "resource": const("refund"),
        "amount": INTEGER,
        "currency": CURRENCY,
        "payment": ID,
        "description": nullable(STRING),
        "created_at": TIME,
        "chargeback": BOOLEAN,
    }
)
REFUND_REQUEST = answer_object(
    {
        "id": ID,
        "resource": const("refund_request"),
        "payment": ID,
        "amount": INTEGER,
        "currency": CURRENCY,
        "status": enum(REFUND_REQUEST_STATUSES),
        **{name: STRING for name, _rule in wire.BANK_ACCOUNT_FIELDS},
        "description": nullable(STRING),
        "created_at": TIME,
    }
)
_PAYMENT_FIELDS: dict[str, Schema] = {
    "id": ID,
    "resource": const("payment"),
    "status": enum(states.STATUSES),
    "amount": INTEGER,
    "tax": INTEGER,
    "customer": nullable(ID),
    "payment_deadline": nullable(TIME),
    "payment_details": ref("PaymentDetails"),
    "payment_method_fee": INTEGER,
    "total": {**INTEGER, "description": "amount + tax + payment_method_fee"},
    "currency": CURRENCY,
    "description": nullable(STRING),
    "subscription": nullable(ID),
    "captured_at": nullable(TIME),
    "external_order_num": nullable(STRING),
    "metadata": METADATA,
    "created_at": TIME,
    "amount_refunded": INTEGER,
    "locale": enum(params.LOCALES),
    "session": nullable(ID),
    "customer_family_name": {**nullable(STRING), "description": "the payment details' family_name, if any"},
    "customer_given_name": {**nullable(STRING), "description": "the payment details' given_name, if any"},
    "mcc": {**nullable(STRING), "description": "always null here: no merchant category is kept"},
    "statement_descriptor": {"type": "null", "description": "always null here: no statement descriptor is kept"},
    "refunds": array(ref("Refund")),
    "refund_requests": array(ref("RefundRequest")),
}
# `captures` only under X-KOMOJU-API-VERSION 2025-01-28 (domain/versions.py).
CAPTURE_MADE = answer_object(
    {"amount": INTEGER, "tax": INTEGER, "total": INTEGER, "currency": CURRENCY, "captured_at": TIME}
)
PAYMENT = answer_object(
    {
        **_PAYMENT_FIELDS,
        "captures": {**array(CAPTURE_MADE), "description": "API version 2025-01-28 only: what was captured"},
    },
    required=list(_PAYMENT_FIELDS),
)
TOKEN = answer_object(
    {"id": TOKEN_ID, "resource": const("token"), "created_at": TIME, "payment_details": ref("TokenDetails")}
)
CUSTOMER = answer_object(
    {
        "id": ID,
        "resource": const("customer"),
        "email": nullable(STRING),
        "metadata": METADATA,
        "created_at": TIME,
        "payment_details": {**nullable(ref("CustomerDetails")), "description": "null until the customer has details"},
        "source": {
            **nullable(ref("CustomerDetails")),
            "description": "the same as payment_details (KOMOJU's newer name)",
        },
    }
)
# KOMOJU's Subscription_customer: `id` and `merchant_id` are its numeric ids there; this
# server answers its string ids in their place.
SUBSCRIPTION_CUSTOMER = answer_object(
    {
        "id": ID,
        "uuid": ID,
        "merchant_id": STRING,
        "created_at": TIME,
        "updated_at": TIME,
        "email": nullable(STRING),
        "currency": nullable(CURRENCY),
        "metadata": METADATA,
        "locale": {"type": "null"},
        "name": {"type": "null"},
        "phone": {"type": "null"},
        "archived_at": {"type": "null"},
    }
)
SUBSCRIPTION_CARD = answer_object(
    {
        "type": const("credit_card"),
        "email": nullable(STRING),
        "brand": STRING,
        "last_four_digits": STRING,
        "month": {**STRING, "description": "two digits, as KOMOJU shows it here"},
        "year": STRING,
    },
    ["type", "month", "year"],
)
SUBSCRIPTION = answer_object(
    {
        "id": ID,
        "resource": const("subscription"),
        "status": enum(subscriptions.STATUSES),
        "amount": INTEGER,
        "currency": CURRENCY,
        "customer": {**SUBSCRIPTION_CUSTOMER, "description": "the customer's record as KOMOJU embeds it"},
        "period": enum(subscriptions.PERIODS),
        "day": {**INTEGER, "description": "the weekday (1-7) or day of the month it charges on"},
        "payment_details": SUBSCRIPTION_CARD,
        "retry_count": INTEGER,
        "retry_at": nullable(TIME),
        "next_capture_at": nullable(TIME),
        "created_at": TIME,
        "ended_at": nullable(TIME),
        "metadata": METADATA,
        "payments": array(ID),
    }
)
WEBHOOK = answer_object(
    {
        "id": ID,
        "resource": const("webhook"),
        "url": URL,
        "events": nullable(array(enum(EVENT_TYPES))),
        "created_at": TIME,
    },
    description="A webhook endpoint (its secret_token is never answered); `events` null: every event.",
)
ATTEMPT = answer_object(
    {
        "number": INTEGER,
        "status": STRING,
        "response_code": nullable(INTEGER),
        "error": nullable(STRING),
        "attempted_at": TIME,
        "duration_ms": nullable(INTEGER),
    }
)
DELIVERY = answer_object(
    {
        "id": ID,
        "resource": const("webhook_delivery"),
        "event": ID,
        "event_type": enum(EVENT_TYPES),
        "webhook": nullable(ID),
        "url": URL,
        "status": enum(["pending", "succeeded", "failed", "cancelled"]),
        "next_attempt_at": nullable(TIME),
        "attempts": array(ref("WebhookAttempt")),
        "created_at": TIME,
    }
)
EVENT_DATA = {"payment": "Payment", "customer": "Customer", "subscription": "Subscription", "ping": "Webhook"}


def event_schema(event_type: str | None = None) -> Schema:
    """An event; of one type (its `data` that type's object) or of any."""
    if event_type is None:
        data: Schema = {"oneOf": [ref(name) for name in dict.fromkeys(EVENT_DATA.values())]}
        kind = enum(EVENT_TYPES)
    else:
        data = ref(EVENT_DATA[event_type.split(".", 1)[0]])
        kind = const(event_type)
    return answer_object(
        {
            "id": ID,
            "type": kind,
            "resource": const("event"),
            "data": {**data, "description": "the object as it was when the event happened"},
            "created_at": TIME,
            "reason": nullable(STRING),
        }
    )


ADDRESS = answer_object({name: nullable(STRING) for name in wire.ADDRESS_FIELDS})
LINE_ITEM = answer_object(
    {
        "amount": nullable(INTEGER),
        "description": nullable(STRING),
        "quantity": INTEGER,
        "image": nullable(URL),
        "external_product_num": nullable(STRING),
    }
)
SESSION_METHOD = answer_object(
    {
        "type": enum(m.type for m in METHODS),
        "hashed_gateway": STRING,
        "amount": INTEGER,
        "currency": CURRENCY,
        "exchange_rate": {"type": "number"},
        "brands": array(STRING, description="cards only"),
        "offsite": {**BOOLEAN, "description": "not cards: the customer finishes on another site"},
        "additional_fields": array(STRING, description="not cards: the fields the customer gives"),
    },
    required=["type", "hashed_gateway", "amount", "currency", "exchange_rate"],
)
SESSION = answer_object(
    {
        "id": ID,
        "resource": const("session"),
        "mode": enum(sessions.MODES),
        "amount": INTEGER,
        "currency": CURRENCY,
        "session_url": {**URL, "description": "the hosted payment page"},
        "return_url": nullable(STRING),
        "default_locale": enum(params.LOCALES),
        "payment_methods": array(ref("SessionPaymentMethod")),
        "created_at": TIME,
        "cancelled_at": nullable(TIME),
        "completed_at": nullable(TIME),
        "status": enum(sessions.STATUSES),
        "expired": BOOLEAN,
        "expires_at": TIME,
        "merchant": {
            **answer_object({"name": nullable(STRING)}),
            "description": "the shop: its name, as KOMOJU's MerchantData",
        },
        "metadata": METADATA,
        "payment": {**nullable(ref("Payment")), "description": "payment modes: the payment once paid"},
        "payment_data": {
            **answer_object(
                {
                    "external_order_num": nullable(STRING),
                    "name": nullable(STRING),
                    "name_kana": nullable(STRING),
                    "capture": enum(sessions.CAPTURES),
                    "billing_address": ref("Address"),
                    "shipping_address": ref("Address"),
                },
                required=["external_order_num", "name", "name_kana", "capture"],
            ),
            "description": "payment modes only",
        },
        "customer_id": {**nullable(ID), "description": "customer modes only"},
        "line_items": array(ref("LineItem"), description="when given"),
        "email": {**STRING, "description": "when given"},
    },
    required=[
        "id",
        "resource",
        "mode",
        "amount",
        "currency",
        "session_url",
        "return_url",
        "default_locale",
        "payment_methods",
        "created_at",
        "cancelled_at",
        "completed_at",
        "status",
        "expired",
        "expires_at",
        "merchant",
        "metadata",
    ],
)
SESSION_PAID = answer_object(
    {
        "redirect_url": {**nullable(STRING), "description": "where the customer goes next"},
        "status": enum(sessions.STATUSES),
        "payment": {**nullable(ref("Payment")), "description": "payment modes"},
        "customer": {**ref("Customer"), "description": "customer modes: the customer saved"},
    },
    required=["redirect_url", "status"],
)
SECURE_TOKEN = answer_object(
    {
        "id": TOKEN_ID,
        "secure_token": {**TOKEN_ID, "description": "the same id: the answer to POST only"},
        "verification_status": enum(secure_tokens.STATUSES),
        "authentication_url": {**URL, "description": "where the customer authenticates (NEEDS_VERIFY)"},
        "created_at": TIME,
    },
    required=["id", "verification_status", "authentication_url", "created_at"],
)
PAYMENT_METHOD = answer_object(
    {
        "type_slug": enum(m.type for m in METHODS),
        "name_en": STRING,
        "name_ja": STRING,
        "name_ko": STRING,
        "currency": CURRENCY,
        "payment_method_fee": INTEGER,
        "min_amount": {**INTEGER, "description": "this server's addition: the least total"},
        "max_amount": {**INTEGER, "description": "this server's addition: the greatest total"},
        "subtypes": array(STRING, description="card brands, konbini stores, carriers"),
    },
    required=["type_slug", "name_en", "name_ja", "name_ko", "currency", "payment_method_fee"],
)
CLOCK = answer_object(
    {
        "resource": const("sandbox_clock"),
        "now": {**TIME, "description": "the merchant's test clock"},
        "offset": {**INTEGER, "description": "seconds ahead of real time"},
    }
)
RESET = answer_object(
    {
        "resource": const("sandbox_reset"),
        "erased": {"type": "object", "additionalProperties": INTEGER, "description": "rows erased, by table"},
    }
)
MAINTENANCE = answer_object({"resource": const("sandbox_maintenance"), "enabled": BOOLEAN})
OPENAPI_DOCUMENT: Schema = {"type": "object", "description": "this document"}

ANSWERS: dict[str, Schema] = {
    "Payment": PAYMENT,
    "Refund": REFUND,
    "RefundRequest": REFUND_REQUEST,
    "Token": TOKEN,
    "Customer": CUSTOMER,
    "Subscription": SUBSCRIPTION,
    "Event": event_schema(),
    "Webhook": WEBHOOK,
    "WebhookDelivery": DELIVERY,
    "WebhookAttempt": ATTEMPT,
    "Session": SESSION,
    "SessionPaymentMethod": SESSION_METHOD,
    "SessionPaid": SESSION_PAID,
    "Address": ADDRESS,
    "LineItem": LINE_ITEM,
    "SecureToken": SECURE_TOKEN,
    "PaymentMethod": PAYMENT_METHOD,
    "SandboxClock": CLOCK,
    "SandboxReset": RESET,
    "SandboxMaintenance": MAINTENANCE,
}


# -- request bodies ------------------------------------------------------------------------------

NEW_PAYMENT = request_object(
    {
        "amount": AMOUNT_IN,
        "currency": CURRENCY_IN,
        "tax": TAX_IN,
        "payment_details": DETAILS_OR_TOKEN,
        "customer": {**ID, "description": "a customer's stored details instead of payment_details"},
        "capture": {**BOOLEAN_IN, "description": "cards: false leaves the payment authorized (default true)"},
        "description": TEXT_IN,
        "external_order_num": TEXT_IN,
        "metadata": METADATA_IN,
        "locale": LOCALE_IN,
        "return_url": nullable(schema_of(rules.url)),
        "cancel_url": nullable(schema_of(rules.url)),
        "fraud_details": FRAUD_DETAILS_IN,
        "webhooks": {
            "anyOf": [nullable(schema_of(rules.url)), array(schema_of(rules.url))],
            "description": "URLs that get this payment's events, besides the endpoints",
        },
    },
    ["amount", "currency"],
    anyOf=[{"required": ["payment_details"]}, {"required": ["customer"]}],
)
PAYMENT_CHANGE = request_object(
    {
        "description": TEXT_IN,
        "metadata": METADATA_IN,
        "payment_details": {
            **DETAILS_OR_TOKEN,
            "description": "a short prepaid payment goes on with another card (202 while still short)",
        },
    }
)
CAPTURE = request_object(
    {
        "amount": {**AMOUNT_IN, "description": "the part to capture, before tax (default: all of it)"},
        "tax": {**TAX_IN, "description": "default: the authorized tax's share of amount"},
    }
)
REFUND_IN = request_object(
    {"amount": {**AMOUNT_IN, "description": "default: all that is left"}, "description": TEXT_IN}
)
REFUND_REQUEST_IN = request_object(
    {
        **{name: schema_of(rule) for name, rule in wire.BANK_ACCOUNT_FIELDS},
        "amount": {**AMOUNT_IN, "description": "default: all that is left"},
        "description": TEXT_IN,
    },
    [name for name, _rule in wire.BANK_ACCOUNT_FIELDS],
)
NEW_TOKEN = request_object(
    {"payment_details": ref("PaymentDetailsInput"), "currency": nullable(CURRENCY_IN)}, ["payment_details"]
)
NEW_SECURE_TOKEN = request_object(
    {
        "amount": AMOUNT_IN,
        "currency": CURRENCY_IN,
        "return_url": schema_of(rules.return_url),
        "payment_details": {
            "oneOf": [ref("PaymentDetailsInput_credit_card"), TOKEN_ID],
            "description": "a card, or a token of one",
        },
        "customer": {**ID, "description": "a customer's stored card instead"},
    },
    ["amount", "currency", "return_url"],
)
CUSTOMER_IN = request_object(
    {
        "payment_details": {**nullable(DETAILS_OR_TOKEN), "description": "optional: a customer may get them later"},
        "email": nullable(schema_of(rules.email)),
        "metadata": METADATA_IN,
        "currency": nullable(CURRENCY_IN),
    }
)
NEW_SUBSCRIPTION = request_object(
    {
        "customer": ID,
        "amount": AMOUNT_IN,
        "currency": CURRENCY_IN,
        "period": enum(subscriptions.PERIODS),
        "metadata": METADATA_IN,
    },
    ["customer", "amount", "currency", "period"],
)
NEW_WEBHOOK = request_object(
    {
        "url": schema_of(rules.url),
        "secret_token": {"type": "string", "maxLength": 255, "writeOnly": True, "description": "signs deliveries"},
        "events": {
            "anyOf": [array(enum(EVENT_TYPES)), enum(EVENT_TYPES), {"type": "null"}],
            "description": "omitted: every event",
        },
    },
    ["url", "secret_token"],
)
WEBHOOK_CHANGE = request_object(
    {name: schema for name, schema in NEW_WEBHOOK["properties"].items()},
    description="Only what is given changes; events null: every event.",
)
ADDRESS_IN = request_object({name: TEXT_IN for name in wire.ADDRESS_FIELDS})
CAPTURE_MODE_IN: Schema = {
    "type": ["string", "boolean", "null"],
    "enum": [*sessions.CAPTURES, True, False, "true", "false", None],
}
NEW_SESSION = request_object(
    {
        "mode": nullable(enum(sessions.MODES, description="`payment` by default")),
        "amount": {**AMOUNT_IN, "description": "required and above 0 unless mode is customer"},
        "currency": CURRENCY_IN,
        "return_url": nullable(schema_of(rules.url)),
        "default_locale": LOCALE_IN,
        "email": nullable(schema_of(rules.email)),
        "expires_in_seconds": {
            "type": ["integer", "string", "null"],
            "minimum": 1,
            "maximum": sessions.DEFAULT_LIFETIME,
            "description": "default and longest: 86,400",
        },
        "external_customer_id": TEXT_IN,
        "payment_types": {
            "anyOf": [array(enum(m.type for m in METHODS)), enum(m.type for m in METHODS), {"type": "null"}],
            "description": "default: every method the session's currency and amount allow",
        },
        "line_items": {
            "anyOf": [
                array(ref("LineItemInput"), maxItems=wire.MAX_LINE_ITEMS),
                {"type": "object", "additionalProperties": ref("LineItemInput"), "description": "form: by position"},
                {"type": "null"},
            ]
        },
        "metadata": METADATA_IN,
        "payment_data": request_object(
            {
                "capture": CAPTURE_MODE_IN,
                "external_order_num": TEXT_IN,
                "name": TEXT_IN,
                "name_kana": TEXT_IN,
                "billing_address": nullable(ref("AddressInput")),
                "shipping_address": nullable(ref("AddressInput")),
            },
            type=["object", "null"],
        ),
        "customer_id": {**nullable(ID), "description": "customer modes: save the details on this customer"},
    },
    ["currency"],
)
LINE_ITEM_IN = request_object(
    {
        "amount": AMOUNT_IN,
        "description": {**TEXT_IN, "maxLength": 2000},
        "quantity": {"type": ["integer", "string", "null"], "minimum": 1, "maximum": 1_000_000},
        "image": nullable(schema_of(rules.url)),
        "external_product_num": TEXT_IN,
    }
)
SESSION_PAY = request_object(
    {
        "payment_details": DETAILS_OR_TOKEN,
        "customer_email": nullable(schema_of(rules.email)),
        "fraud_details": FRAUD_DETAILS_IN,
        "capture": CAPTURE_MODE_IN,
    },
    ["payment_details"],
)
ADVANCE = request_object(
    {"seconds": {"type": ["integer", "string"], "minimum": 1, "maximum": 366 * 86_400}}, ["seconds"]
)
MAINTENANCE_IN = request_object({"enabled": BOOLEAN_IN}, ["enabled"])

REQUESTS: dict[str, Schema] = {
    "NewPayment": NEW_PAYMENT,
    "PaymentChange": PAYMENT_CHANGE,
    "Capture": CAPTURE,
    "RefundInput": REFUND_IN,
    "RefundRequestInput": REFUND_REQUEST_IN,
    "NewToken": NEW_TOKEN,
    "NewSecureToken": NEW_SECURE_TOKEN,
    "CustomerInput": CUSTOMER_IN,
    "NewSubscription": NEW_SUBSCRIPTION,
    "NewWebhook": NEW_WEBHOOK,
    "WebhookChange": WEBHOOK_CHANGE,
    "NewSession": NEW_SESSION,
    "LineItemInput": LINE_ITEM_IN,
    "AddressInput": ADDRESS_IN,
    "SessionPay": SESSION_PAY,
    "ClockAdvance": ADVANCE,
    "MaintenanceInput": MAINTENANCE_IN,
}


# -- operations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One method of one route, as the document shows it."""

    summary: str
    tag: str
    answer: str | Schema  # a component name, or a schema
    body: str | None = None  # a request component name
    body_required: bool = False
    query: tuple[Schema, ...] = ()
    statuses: tuple[int, ...] = (200,)
    processor: bool = False  # goes through a processor: its refusals (402, 502, 504) may answer
    extension: bool = False  # this server's, not KOMOJU's
    description: str = ""
    path: str | None = None  # the path as documented, when the route's template differs


PAYMENT_FILTERS: tuple[Schema, ...] = (
    {
        "name": "status",
        "in": "query",
        "schema": STRING,
        "description": "one status, or several comma-separated: " + ", ".join(states.STATUSES),
    },
    {"name": "currency", "in": "query", "schema": CURRENCY_IN},
    {"name": "external_order_num", "in": "query", "schema": STRING},
)
EVENT_FILTERS: tuple[Schema, ...] = (
    {
        "name": "type",
        "in": "query",
        "schema": STRING,
        "description": "one event type, or several comma-separated (exact names): " + ", ".join(EVENT_TYPES),
    },
)

# (method, route template under /api/v1) -> the operation. One line per endpoint.
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/payments"): Operation(
        "List payments", "Payments", list_of(ref("Payment")), query=PAGE + PAYMENT_FILTERS + TIME_RANGE
    ),
    ("POST", "/payments"): Operation(
        "Create a payment",
        "Payments",
        "Payment",
        "NewPayment",
        True,
        statuses=(200, 202),
        processor=True,
        description="202 when a prepaid payment is left pending with short_amount (continue with PATCH).",
    ),
    ("GET", "/payments/{payment_id}"): Operation("Show a payment", "Payments", "Payment"),
    ("PATCH", "/payments/{payment_id}"): Operation(
        "Update a payment, or continue a short prepaid payment",
        "Payments",
        "Payment",
        "PaymentChange",
        statuses=(200, 202),
        processor=True,
    ),
    ("POST", "/payments/{payment_id}/capture"): Operation(
        "Capture an authorized card payment (all of it, or amount and tax of it)",
        "Payments",
        "Payment",
        "Capture",
        processor=True,
    ),
    ("POST", "/payments/{payment_id}/refund"): Operation(
        "Refund a payment (all that is left, or amount of it)", "Payments", "Payment", "RefundInput", processor=True
    ),
    ("POST", "/payments/{payment_id}/refund_request"): Operation(
        "Ask for a manual bank refund (methods that cannot be refunded directly)",
        "Payments",
        "Payment",
        "RefundRequestInput",
        True,
    ),
    ("POST", "/payments/{payment_id}/cancel"): Operation(
        "Cancel a pending or authorized payment", "Payments", "Payment", processor=True
    ),
    ("POST", "/tokens"): Operation(
        "Create a one-time token from payment details", "Tokens", "Token", "NewToken", True, processor=True
    ),
    ("POST", "/secure_tokens"): Operation(
        "Create a 3-D Secure token for a card", "Secure tokens", "SecureToken", "NewSecureToken", True
    ),
    ("GET", "/secure_tokens/tok_{suffix}"): Operation(
        "Show a 3-D Secure token",
        "Secure tokens",
        "SecureToken",
        path="/secure_tokens/{secure_token_id}",
    ),
    ("GET", "/customers"): Operation("List customers", "Customers", list_of(ref("Customer")), query=PAGE + TIME_RANGE),
    ("POST", "/customers"): Operation("Create a customer", "Customers", "Customer", "CustomerInput", True),
    ("GET", "/customers/{customer_id}"): Operation("Show a customer", "Customers", "Customer"),
    ("PATCH", "/customers/{customer_id}"): Operation("Update a customer", "Customers", "Customer", "CustomerInput"),
    ("DELETE", "/customers/{customer_id}"): Operation("Delete a customer", "Customers", "Customer"),
    ("GET", "/subscriptions"): Operation(
        "List subscriptions", "Subscriptions", list_of(ref("Subscription")), query=PAGE + TIME_RANGE
    ),
    ("POST", "/subscriptions"): Operation(
        "Create a subscription (the first charge is made now)",
        "Subscriptions",
        "Subscription",
        "NewSubscription",
        True,
        processor=True,
    ),
    ("GET", "/subscriptions/{subscription_id}"): Operation("Show a subscription", "Subscriptions", "Subscription"),
    ("DELETE", "/subscriptions/{subscription_id}"): Operation(
        "Delete (end) a subscription", "Subscriptions", "Subscription"
    ),
    ("GET", "/events"): Operation(
        "List events, newest first", "Events", list_of(ref("Event")), query=PAGE + EVENT_FILTERS + TIME_RANGE
    ),
    ("GET", "/events/{event_id}"): Operation("Show an event", "Events", "Event"),
    ("POST", "/events/{event_id}/redeliver"): Operation(
        "Send an event again, as new deliveries (answers the event)",
        "Webhooks (extension)",
        "Event",
        extension=True,
    ),
    ("GET", "/events/{event_id}/deliveries"): Operation(
        "An event's deliveries, with every attempt",
        "Webhooks (extension)",
        list_of(ref("WebhookDelivery")),
        query=PAGE,
        extension=True,
    ),
    ("GET", "/webhooks"): Operation(
        "List webhook endpoints", "Webhooks (extension)", list_of(ref("Webhook")), query=PAGE, extension=True
    ),
    ("POST", "/webhooks"): Operation(
        "Add a webhook endpoint (a ping is sent to it)",
        "Webhooks (extension)",
        "Webhook",
        "NewWebhook",
        True,
        extension=True,
    ),
    ("GET", "/webhooks/{webhook_id}"): Operation(
        "Show a webhook endpoint", "Webhooks (extension)", "Webhook", extension=True
    ),
    ("PATCH", "/webhooks/{webhook_id}"): Operation(
        "Change a webhook endpoint's url, secret_token or events",
        "Webhooks (extension)",
        "Webhook",
        "WebhookChange",
        extension=True,
    ),
    ("POST", "/webhooks/{webhook_id}/ping"): Operation(
        "Send the endpoint a new ping (answers the event)", "Webhooks (extension)", "Event", extension=True
    ),
    ("DELETE", "/webhooks/{webhook_id}"): Operation(
        "Remove a webhook endpoint (its waiting deliveries are cancelled)",
        "Webhooks (extension)",
        "Webhook",
        extension=True,
    ),
    ("GET", "/webhooks/{webhook_id}/deliveries"): Operation(
        "A webhook endpoint's deliveries, with every attempt",
        "Webhooks (extension)",
        list_of(ref("WebhookDelivery")),
        query=PAGE,
        extension=True,
    ),
    ("POST", "/sandbox/payments/{payment_id}/complete"): Operation(
        "The customer paid: an authorized konbini, bank transfer, Pay-easy or redirect payment is captured",
        "Sandbox (extension)",
        "Payment",
        extension=True,
    ),
    ("POST", "/sandbox/payments/{payment_id}/fail"): Operation(
        "The customer gave up or was refused: a pending or authorized payment fails",
        "Sandbox (extension)",
        "Payment",
        extension=True,
    ),
    ("POST", "/sandbox/payments/{payment_id}/refund_requests/{request_id}/complete"): Operation(
        "The bank refund of a pending refund request was made: it is completed and the payment refunded by its amount",
        "Sandbox (extension)",
        "Payment",
        extension=True,
    ),
    ("POST", "/sandbox/payments/{payment_id}/refund_requests/{request_id}/reject"): Operation(
        "A pending refund request was refused: it is rejected and nothing is refunded",
        "Sandbox (extension)",
        "Payment",
        extension=True,
    ),
    ("GET", "/sandbox/clock"): Operation(
        "The merchant's test clock", "Sandbox (extension)", "SandboxClock", extension=True
    ),
    ("POST", "/sandbox/clock/advance"): Operation(
        "Move the test clock forward; every deadline passed fires before the answer",
        "Sandbox (extension)",
        "SandboxClock",
        "ClockAdvance",
        True,
        extension=True,
    ),
    ("POST", "/sandbox/reset"): Operation(
        "Erase the merchant's test data (webhook endpoints stay)", "Sandbox (extension)", "SandboxReset", extension=True
    ),
    ("POST", "/sandbox/maintenance"): Operation(
        "Switch the merchant's test-mode maintenance (503) on or off",
        "Sandbox (extension)",
        "SandboxMaintenance",
        "MaintenanceInput",
        True,
        extension=True,
    ),
    ("POST", "/sessions"): Operation("Create a session", "Sessions", "Session", "NewSession", True),
    ("GET", "/sessions/{session_id}"): Operation("Show a session", "Sessions", "Session"),
    ("POST", "/sessions/{session_id}/pay"): Operation(
        "Pay a session", "Sessions", "SessionPaid", "SessionPay", True, processor=True
    ),
    ("POST", "/sessions/{session_id}/cancel"): Operation("Cancel a pending session", "Sessions", "Session"),
    ("GET", "/payment_methods"): Operation(
        "The payment methods this merchant can take, one entry per method and currency",
        "Payment methods",
        array(ref("PaymentMethod")),
    ),
    ("GET", "/openapi.json"): Operation(
        "This document", "Document (extension)", OPENAPI_DOCUMENT, extension=True, description="No key needed."
    ),
}
EXTENSION_TAGS = {op.tag for op in OPERATIONS.values() if op.extension}


# -- routes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """An API route as `api/routes.py` adds it: its template under /api/v1 and its resource."""

    template: str
    resource: object
    methods: tuple[str, ...] = field(default=())

    @property
    def access(self) -> str | None:
        from komoju_server.api.middleware import ACCESS

        return cast(str | None, getattr(self.resource, ACCESS, "secret"))

    def keys(self, method: str) -> tuple[str, ...]:
        """The keys that may call `method`: () for none needed."""
        from komoju_server.api.middleware import publishable_methods

        if self.access is None:
            return ()
        if method in publishable_methods(self.resource):
            return ("publishableKey", "secretKey")
        return ("secretKey",)


class _Recorder:
    """Stands in for DirectRoutes and its Falcon app while `routes.add_all` adds the API's
    routes."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    @property
    def app(self) -> _Recorder:
        return self

    def route(self, template: str, **handlers: Handler) -> None:
        self.add_route(template, FalconResource(handlers))

    def add_route(self, template: str, resource: object, **_: Any) -> None:
        if not template.startswith(PREFIX + "/"):
            return  # outside the API (the upstream processor's webhooks)
        methods = tuple(m for m in HTTP_METHODS if callable(getattr(resource, f"on_{m.lower()}", None)))
        self.routes.append(Route(template.removeprefix(PREFIX), resource, methods))


def api_routes() -> list[Route]:
    """The API's routes, exactly as `create_app` adds them (their resources made without a
    runtime: they only keep it)."""
    from komoju_server.api import routes
    from komoju_server.runtime import Runtime

    recorder = _Recorder()
    routes.add_all(cast(DirectRoutes, recorder), cast(Runtime, _NoRuntime()), PREFIX)
    return recorder.routes


class _NoRuntime:
    """What resources are made with while their routes are recorded: every collaborator absent."""

    def __getattr__(self, name: str) -> None:
        return None


def undocumented(found: list[Route] | None = None) -> list[tuple[str, str]]:
    """Routes and methods the server has and `OPERATIONS` does not describe."""
    return [(m, r.template) for r in found or api_routes() for m in r.methods if (m, r.template) not in OPERATIONS]


# -- the document --------------------------------------------------------------------------------

_PATH_FIELD = re.compile(r"\{(\w+)\}")


def _path_parameters(path: str) -> list[Schema]:
    found = []
    for name in _PATH_FIELD.findall(path):
        schema = TOKEN_ID if name == "secure_token_id" else {"type": "string", "pattern": "^[a-z0-9]{1,64}$"}
        found.append({"name": name, "in": "path", "required": True, "schema": schema})
    return found


def _error_statuses(method: str, operation: Operation, keys: tuple[str, ...]) -> list[int]:
    statuses = {400, 404, 422, 500, 503}
    if keys:
        statuses |= {401, 403, 429}  # 429: rate limits, quotas, failed authentications (services/throttle.py)
    if method == "POST":
        statuses.add(409)  # an X-KOMOJU-IDEMPOTENCY key still in flight
    if operation.processor:
        statuses |= {402, 502, 504}
    return sorted(statuses)


def _encoding(schema: Schema, components: dict[str, Schema]) -> dict[str, Any]:
    """Form bodies: each field that holds a hash or a list goes in Rails-style brackets."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    nested = {}
    for name, prop in schema.get("properties", {}).items():
        text = orjson.dumps(prop).decode()
        if '"object"' in text or '"array"' in text or "$ref" in text:
            nested[name] = {"style": "deepObject", "explode": True}
    return nested


def _operation(method: str, route: Route, operation: Operation, components: dict[str, Schema]) -> Schema:
    keys = route.keys(method)
    answer = ref(operation.answer) if isinstance(operation.answer, str) else operation.answer
    results: dict[str, Any] = {}
    for status in operation.statuses:
        results[str(status)] = {
            "description": "OK" if status == 200 else "Accepted: the payment is pending",
            "headers": {
                "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"},
                versions.HEADER: {"$ref": f"#/components/headers/{versions.HEADER}"},
            },
            "content": {JSON: {"schema": answer}},
        }
    for status in _error_statuses(method, operation, keys):
        results[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    path = operation.path or route.template
    spec: Schema = {
        "operationId": _operation_id(method, path),
        "summary": operation.summary,
        "tags": [operation.tag],
        "security": [{key: []} for key in keys],
        "parameters": [
            *_path_parameters(path),
            *copy.deepcopy(operation.query),
            {"$ref": "#/components/parameters/ApiVersion"},
        ],
        "responses": results,
    }
    if operation.description:
        spec["description"] = operation.description
    if method == "POST" and keys:
        spec["parameters"].append({"$ref": "#/components/parameters/Idempotency"})
    if operation.processor:
        spec["parameters"].append({"$ref": "#/components/parameters/Scenario"})
    if operation.body is not None:
        body_schema = ref(operation.body)
        spec["requestBody"] = {
            "required": operation.body_required,
            "content": {
                JSON: {"schema": body_schema},
                FORM: {"schema": body_schema, "encoding": _encoding(body_schema, components)},
            },
        }
    if operation.extension:
        spec["x-komoju-extension"] = True
    if not spec["parameters"]:
        del spec["parameters"]
    return spec


def _operation_id(method: str, path: str) -> str:
    words = [w.strip("{}") for w in path.strip("/").replace(".", "_").split("/") if w]
    return method.lower() + "".join(w[:1].upper() + w[1:] for w in words)


# `details` (domain/errors.py): what a refused value broke, one schema per rule; absent when
# no rule can tell.
ERROR_DETAILS: Schema = {
    "description": "What the refused value broke; absent when nothing more can be said.",
    "oneOf": [
        answer_object({"rule": {"const": "range"}, "min": INTEGER, "max": INTEGER}),
        answer_object({"rule": {"const": "one_of"}, "accepted": {"type": "array", "items": STRING}}),
        answer_object({"rule": {"const": "length"}, "min": INTEGER, "max": INTEGER}, required=("rule", "max")),
        answer_object({"rule": {"const": "limit"}, "min": INTEGER, "max": INTEGER, "currency": STRING}),
        answer_object(
            {"rule": {"const": "format"}, "expected": STRING, "min_length": INTEGER, "max_length": INTEGER},
            required=("rule", "expected"),
        ),
    ],
}


def _error_responses() -> dict[str, Schema]:
    by_status: dict[int, list[str]] = {}
    for code, (status, _message) in ERRORS.items():
        by_status.setdefault(status, []).append(code)
    found: dict[str, Schema] = {}
    for status, codes in sorted(by_status.items()):
        lines = "\n".join(f"- `{code}`: {ERRORS[code][1]}" for code in codes)
        found[f"Error{status}"] = {
            "description": f"KOMOJU's error envelope; `code` is one of:\n{lines}",
            "content": {
                JSON: {
                    "schema": answer_object(
                        {
                            "error": answer_object(
                                {
                                    "code": enum(codes),
                                    "message": STRING,
                                    "param": nullable(STRING),
                                    "details": copy.deepcopy(ERROR_DETAILS),  # strict closes it in place
                                },
                                required=("code", "message", "param"),
                            )
                        }
                    )
                }
            },
        }
    return found


def _webhooks() -> dict[str, Schema]:
    """KOMOJU's deliveries: one POST of the event JSON per event type (OpenAPI 3.1 webhooks)."""
    hooks: dict[str, Schema] = {}
    headers = [
        {"name": "X-Komoju-ID", "in": "header", "required": True, "schema": ID, "description": "the delivery"},
        {"name": "X-Komoju-Event", "in": "header", "required": True, "schema": enum(EVENT_TYPES)},
        {
            "name": "X-Komoju-Signature",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "description": "lowercase hex HMAC-SHA256 of the raw body, keyed with the endpoint's secret_token",
        },
    ]
    for event_type in EVENT_TYPES:
        hooks[event_type] = {
            "post": {
                "summary": f"{event_type} event",
                "operationId": "webhook_" + event_type.replace(".", "_"),
                "parameters": copy.deepcopy(headers),
                "requestBody": {"required": True, "content": {JSON: {"schema": event_schema(event_type)}}},
                "responses": {"2XX": {"description": "any 2xx is success; anything else is retried"}},
            }
        }
    return hooks


def _close(schema: Any) -> None:
    """additionalProperties: false on every object with properties, all the way down."""
    if isinstance(schema, dict):
        if schema.get("type") in ("object", ["object", "null"]) and "properties" in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            _close(value)
    elif isinstance(schema, list):
        for value in schema:
            _close(value)


def document(strict: bool = False) -> Schema:
    """The whole OpenAPI 3.1 document. `strict`: every answer object is closed
    (`additionalProperties: false`), for tests that check the server answers nothing undocumented."""
    answers = copy.deepcopy({**ANSWERS, **method_schemas()})
    requests = copy.deepcopy(REQUESTS)
    for name in list(answers):
        if name.startswith("PaymentDetailsInput"):
            requests[name] = answers.pop(name)
    error_responses = _error_responses()
    if strict:
        _close(answers)
        _close(error_responses)
    schemas = {**answers, **requests}
    paths: dict[str, Schema] = {}
    for route in api_routes():
        for method in route.methods:
            operation = OPERATIONS.get((method, route.template))
            if operation is None:
                operation = Operation("Undocumented", "Undocumented", {}, description="Not described yet.")
            path = operation.path or route.template
            paths.setdefault(path, {})[method.lower()] = _operation(method, route, operation, schemas)
    webhooks = _webhooks()
    if strict:
        _close(webhooks)
    tags = sorted({op.tag for op in OPERATIONS.values()})
    return {
        "openapi": OPENAPI,
        "info": {
            "title": "KOMOJU v1 API (komoju-server)",
            "version": __version__,
            "summary": "The KOMOJU v1 payments API as komoju-server serves it.",
            "description": (
                "HTTP Basic auth with the API key as user name (empty password). Bodies are JSON or "
                "form-encoded with Rails-style brackets (`payment_details[type]=konbini`, "
                "`metadata[key]=value`, `a[]=1&a[]=2`); both decode to the same structure, and "
                "numbers may come as strings. Unknown fields are ignored; `null` counts as absent. "
                "Operations and tags marked `x-komoju-extension` are this server's, not KOMOJU's."
            ),
        },
        "servers": [{"url": PREFIX, "description": "this server"}],
        "tags": [{"name": tag, **({"x-komoju-extension": True} if tag in EXTENSION_TAGS else {})} for tag in tags],
        "paths": paths,
        "webhooks": webhooks,
        "components": {
            "schemas": schemas,
            "responses": error_responses,
            "securitySchemes": {
                "secretKey": {"type": "http", "scheme": "basic", "description": "the secret key as user name"},
                "publishableKey": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "the publishable key as user name (tokens, secure tokens, sessions' "
                    "GET and pay, payment methods)",
                },
            },
            "headers": {
                "X-Request-Id": {"schema": STRING, "description": "the request's id (the client's own, if sent)"},
                versions.HEADER: {"schema": enum(versions.NAMES), "description": "the API version of the answer"},
            },
            "parameters": {
                "ApiVersion": {
                    "name": versions.HEADER,
                    "in": "header",
                    "schema": enum(versions.NAMES),
                    "description": f"the API version to answer in; {versions.DEFAULT.name} when absent "
                    "(an unknown one is 400 bad_request)",
                },
                "Idempotency": {
                    "name": "X-KOMOJU-IDEMPOTENCY",
                    "in": "header",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                    "description": "a repeat of the same request within 24 hours answers the first answer",
                },
                "Scenario": {
                    "name": "Komoju-Scenario",
                    "in": "header",
                    "schema": enum(sorted(test_inputs.SCENARIOS)),
                    "description": "test mode: force this failure (sandbox)",
                    "x-komoju-extension": True,
                },
            },
        },
    }


_SERVED: bytes | None = None


def served() -> bytes:
    """The document as `GET /api/v1/openapi.json` answers it, built once."""
    global _SERVED
    if _SERVED is None:
        _SERVED = orjson.dumps(document())
    return _SERVED


class OpenApiDocument:
    access = None  # no key: the document describes the API, it holds nothing of a merchant's

    def __init__(self, runtime: object = None) -> None:
        pass

    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.content_type = responses.JSON
        resp.data = served()


def add_routes(app: falcon.asgi.App, prefix: str) -> None:
    app.add_route(f"{prefix}/openapi.json", OpenApiDocument())
