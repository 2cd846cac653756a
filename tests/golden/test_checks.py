"""The shared integer and positive-number checks: what it accepts and the exact wording every API relies on."""

from __future__ import annotations

import math
import re

import pytest

from golden.checks import check_int, check_positive


def test_returns_integers_in_range() -> None:
    assert check_int("rows", 1, 1, 64) == 1
    assert check_int("rows", 64, 1, 64) == 64
    assert check_int("seed", 0, 0) == 0
    assert check_int("m", 10**12, 1) == 10**12


@pytest.mark.parametrize(("args", "message"), [
    (("rows", 65, 1, 64), r"^rows must be an integer in \[1, 64\], not 65$"),
    (("rows", 2.0, 1, 64), r"^rows must be an integer in \[1, 64\], not 2\.0$"),
    (("pipeline", True, 0, 1), r"^pipeline must be an integer in \[0, 1\], not True$"),
    (("seed", -1, 0), r"^seed must be a non-negative integer, not -1$"),
    (("m", 0, 1), r"^m must be a positive integer, not 0$"),
    (("m", "3", 1), r"^m must be a positive integer, not '3'$"),
    (("acc_bits", 8, 16, 48, " for int8 x int8"),
     r"^acc_bits must be an integer in \[16, 48\] for int8 x int8, not 8$"),
])
def test_rejects_with_the_shared_wording(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_int(*args)


def test_positive_numbers_pass_as_floats() -> None:
    assert check_positive("clock_ns", 10, "nanoseconds") == 10.0
    assert isinstance(check_positive("clock_ns", 2.5, "nanoseconds"), float)


@pytest.mark.parametrize("value", [0, -1.0, math.inf, -math.inf, math.nan, True, "10", None])
def test_positive_rejects_zero_negative_non_finite_and_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match=rf"^clock_ns must be a positive finite number of "
                                         rf"nanoseconds, not {re.escape(repr(value))}$"):
        check_positive("clock_ns", value, "nanoseconds")
