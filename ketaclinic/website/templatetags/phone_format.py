"""Show stored international numbers the way people read them."""

from __future__ import annotations

import re

from django import template

register = template.Library()

_NANP = re.compile(r"^\+1(\d{3})(\d{3})(\d{4})$")


@register.filter
def phone_display(number: str) -> str:
    """ "+13035550100" → "(303) 555-0100"; other countries are shown as stored."""
    match = _NANP.match(number or "")
    return f"({match[1]}) {match[2]}-{match[3]}" if match else number
