"""The dashboard's words whose keys are made from data (a status, a section, a unit...): each
one exists, in every language; and the words' fields are the ones the pages fill."""

from __future__ import annotations

import re

from komoju_server.domain import states
from komoju_server.domain.errors import ERRORS
from komoju_server.domain.webhook import CANCELLED, FAILED, PENDING, SUCCEEDED
from komoju_server.pages.dashboard import SECTIONS
from komoju_server.pages.dashboard.payments import ACTIONS
from komoju_server.pages.dashboard.sandbox import UNITS
from komoju_server.pages.locale import LOCALES
from komoju_server.pages.messages import Messages

NOTICES = [*ACTIONS, "redeliver", "signed_out", "webhook_added", "webhook_changed", "webhook_removed", "ping"]
NOTICES += ["advance", "reset"]


def test_every_key_made_from_data_exists():
    known = set(Messages.load().keys)
    made = [f"dashboard.nav_{section.name}" for section in SECTIONS]
    made += [f"dashboard.status_{status}" for status in states.STATUSES]
    made += [f"dashboard.delivery_{status}" for status in (PENDING, SUCCEEDED, FAILED, CANCELLED)]
    made += [f"dashboard.mode_{mode}" for mode in ("test", "live")]
    made += [f"dashboard.unit_{unit}" for unit in UNITS] + [f"dashboard.confirm_advance_{unit}" for unit in UNITS]
    made += [f"dashboard.done_{notice}" for notice in NOTICES]
    assert [key for key in made if key not in known] == []


def test_the_error_words_are_for_real_codes():
    messages = Messages.load()
    codes = [key.removeprefix("dashboard.error_") for key in messages.keys if key.startswith("dashboard.error_")]
    assert "not_refundable" in codes
    assert [code for code in codes if code not in ERRORS and code != "other"] == []


def test_every_language_fills_the_same_fields():
    messages = Messages.load()
    for key in messages.keys:
        if key.startswith("dashboard."):
            fields = {lang: set(re.findall(r"\{(\w+)\}", messages.translator(lang)(key))) for lang in LOCALES}
            assert fields["ja"] == fields["en"] == fields["ko"], key
