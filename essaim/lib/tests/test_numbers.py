"""Whole numbers from outside input: ASCII digits only, and a bounded number of them."""

from __future__ import annotations

import pytest

from essaim.lib.numbers import MAX_DIGITS, ascii_int, is_ascii_digits


@pytest.mark.parametrize(
    ("raw", "number"),
    [("0", 0), ("7", 7), ("0042", 42), ("9" * MAX_DIGITS, int("9" * MAX_DIGITS))],
)
def test_ascii_digits_read_as_their_number(raw, number):
    assert (ascii_int(raw), is_ascii_digits(raw)) == (number, True)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "²",  # isdigit() True, int() refuses
        "③",  # isdigit() True, int() refuses
        "١٢٣",  # isdigit() True, int() reads 123
        "１２",  # fullwidth: int() reads 12
        " 12",
        "12 ",
        "\t12\n",
        "-1",
        "+1",
        "1_000",
        "1.5",
        "1e3",
        "0x10",
        "9" * (MAX_DIGITS + 1),
        "1" * 30,
        "9" * 5000,  # past int()'s own digit limit, which raises ValueError
    ],
)
def test_anything_else_is_none(raw):
    assert (ascii_int(raw), is_ascii_digits(raw)) == (None, False)


def test_max_digits_bounds_the_length():
    assert (ascii_int("1234", max_digits=4), ascii_int("12345", max_digits=4)) == (1234, None)
    assert (is_ascii_digits("12", max_digits=2), is_ascii_digits("123", max_digits=2)) == (
        True,
        False,
    )
