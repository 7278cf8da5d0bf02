"""Counts in messages: "1 image", "2 images" (not "1 images")."""

from __future__ import annotations


def plural(number: int, noun: str, plural_form: str | None = None) -> str:
    """``number`` and ``noun``, the noun plural unless the number is exactly 1 ("1 box", "0 boxes").
    ``plural_form`` defaults to noun + "s", or + "es" after s/x/ch/sh ("boxes", "classes")."""
    if number == 1:
        return f"{number} {noun}"
    if plural_form is None:
        plural_form = noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{number} {plural_form}"
