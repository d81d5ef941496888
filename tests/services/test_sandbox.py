"""What the clock advance accepts as a number of seconds."""

from __future__ import annotations

import pytest

from komoju_server.domain.errors import ApiError
from komoju_server.services.sandbox import MAX_ADVANCE, seconds


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("60", 60), (" 3600 ", 3600), (MAX_ADVANCE, MAX_ADVANCE)])
def test_positive_whole_numbers_up_to_the_bound(value, expected):
    assert seconds(value) == expected


@pytest.mark.parametrize(
    "value", [0, -5, "0", "-5", 1.5, 60.0, "1e3", "１２", True, False, MAX_ADVANCE + 1, [60], {}, "9" * 5_000]
)
def test_anything_else_is_invalid(value):
    with pytest.raises(ApiError) as caught:
        seconds(value)
    assert (caught.value.code, caught.value.param) == ("invalid_parameter", "seconds")


@pytest.mark.parametrize("value", [None, ""])
def test_nothing_is_missing(value):
    with pytest.raises(ApiError) as caught:
        seconds(value)
    assert (caught.value.code, caught.value.param) == ("missing_parameter", "seconds")
