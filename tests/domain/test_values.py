"""`values.value`: a frozen dataclass with a faster `__init__`, alike in every other way."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import InitVar, dataclass, field
from typing import Any

import pytest

from komoju_server.domain.values import value


def _order(cls: Any) -> Any:
    """One shape of every kind of field `value` handles, made by the decorator given."""

    class Order:
        amount: int
        currency: str = "JPY"
        tags: list[str] = field(default_factory=list)
        seen: list[str] = field(default_factory=list, init=False)
        fixed: int = field(default=7, init=False)
        note: str | None = field(default=None, kw_only=True)
        checked: bool = field(default=False, init=False)

        def __post_init__(self) -> None:
            if self.amount < 0:
                raise ValueError("negative")
            object.__setattr__(self, "checked", True)

    return cls(Order)


@value
class Point:
    x: int
    y: int


FAST = _order(value)
PLAIN = _order(dataclass(frozen=True))


def fields_of(made: Any) -> dict[str, Any]:
    return {f.name: getattr(made, f.name) for f in dataclasses.fields(made)}


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((1000,), {}),
        ((1000, "USD"), {}),
        ((1000,), {"tags": ["a"], "note": "n"}),
        ((), {"amount": 5, "currency": "EUR", "tags": ["x", "y"]}),
    ],
)
def test_a_value_is_made_as_the_frozen_dataclass_is(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    fast, plain = FAST(*args, **kwargs), PLAIN(*args, **kwargs)
    assert fields_of(fast) == fields_of(plain)
    assert fast.checked is True  # __post_init__ ran
    assert repr(fast).replace("Order", "") == repr(plain).replace("Order", "")


def test_the_signature_is_the_dataclass_own() -> None:
    fast = inspect.signature(FAST.__init__).parameters
    plain = inspect.signature(PLAIN.__init__).parameters
    assert [(p.name, p.kind) for p in fast.values()] == [(p.name, p.kind) for p in plain.values()]
    assert fast["currency"].default == "JPY" and fast["note"].default is None
    assert FAST.__init__.__qualname__.endswith("Order.__init__")


def test_wrong_calls_are_refused_as_before() -> None:
    with pytest.raises(TypeError):
        FAST()  # amount is required
    with pytest.raises(TypeError):
        FAST(1, "JPY", [], "note")  # note is keyword-only
    with pytest.raises(TypeError):
        FAST(1, fixed=3)  # not an __init__ parameter
    with pytest.raises(ValueError, match="negative"):
        FAST(-1)


def test_a_value_stays_frozen_and_compares_by_its_fields() -> None:
    made = FAST(1000, tags=["a"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.amount = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del made.currency
    assert made == FAST(1000, tags=["a"]) and made != FAST(1001, tags=["a"])
    assert hash(Point(1, 2)) == hash(Point(1, 2)) and Point(1, 2) != Point(2, 1)


def test_defaults_made_by_a_factory_are_new_for_each_value() -> None:
    one, other = FAST(1), FAST(1)
    one.tags.append("x")
    assert other.tags == [] and one.seen is not other.seen


def test_replace_copy_and_pickle_keep_it_whole() -> None:
    made = FAST(1000, "USD", ["a"], note="n")
    changed = dataclasses.replace(made, amount=5)
    assert fields_of(changed) == {**fields_of(made), "amount": 5}
    assert copy.deepcopy(made) == made
    assert pickle.loads(pickle.dumps(Point(3, 4))) == Point(3, 4)


def test_slots_and_init_vars_are_refused() -> None:
    class Slotted:
        __slots__ = ("a",)
        a: int

    with pytest.raises(TypeError, match="no slots"):
        value(Slotted)

    class WithInitVar:
        a: int
        b: InitVar[int]

    with pytest.raises(TypeError, match="InitVar"):
        value(WithInitVar)
