"""``{{ value|plain }}``: a quantity without trailing zeros and never in exponent form
(``Decimal("50.000")`` prints as ``50``, not ``5E+1``)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from ketaclinic.inventory.models import plain_decimal

register = template.Library()


@register.filter
def plain(value: Decimal | int | str | None) -> str:
    if value is None or value == "":
        return ""
    return plain_decimal(Decimal(value))
