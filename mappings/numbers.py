"""Integers read from text that anyone may send: ASCII digits only.

``str.isdigit()`` is also true of "³", "²⁰²⁴" and other digits that ``int()`` refuses, so
a check with it followed by ``int()`` raises on such input (a 500, a failed page) instead
of treating it as the non-number it is.
"""

from __future__ import annotations


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more of the ASCII digits 0-9 and nothing else."""
    return text.isascii() and text.isdigit()


def ascii_int(text: str, max_digits: int = 18) -> int | None:
    """``text`` as an integer when it is 1 to ``max_digits`` ASCII digits, else None (more
    than 18 digits would overflow a database integer)."""
    if len(text) <= max_digits and ascii_digits(text):
        return int(text)
    return None
