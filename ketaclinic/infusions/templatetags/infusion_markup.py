"""Markup for the chairside pages that is too repetitive for template loops (see charts.svg_markup
and views_session.flowsheet_body): built in Python with every value escaped, then marked safe."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from ketaclinic.infusions import charts
from ketaclinic.infusions.models import VitalSource

if TYPE_CHECKING:
    from ketaclinic.infusions.views_session import Cell, FlowRow

register = template.Library()


@register.filter
def chart_svg(chart: charts.FlowsheetChart) -> SafeString:
    """The flowsheet chart's ``<svg>`` element."""
    return mark_safe(charts.svg_markup(chart))  # noqa: S308 - every value escaped in svg_markup


NOT_RECORDED = '<span class="muted" aria-label="not recorded">–</span>'
FLAG_CELL = ' class="flowsheet__flag"'
FLAG_ROW = ' class="flowsheet__row--flagged"'


def _value(value: Any) -> str:
    # As the template engine prints numbers: Decimals in fixed point, no exponent.
    if type(value) is int:
        return str(value)
    return escape(f"{value:f}" if isinstance(value, Decimal) else value)


def _cell(cell: Cell) -> str:
    if cell.value is None:
        return "–"
    text = _value(cell.value)
    if cell.flag:
        text += f'<span aria-hidden="true">!</span><span class="visually-hidden"> (outside limits: {escape(cell.flag)})</span>'
    return text


def _row(row: FlowRow) -> str:
    vital = row.vital
    source = "Monitor" if vital.source == VitalSource.DEVICE else "Typed"
    if vital.needs_validation:
        source += '<br><span class="badge badge--warn">not validated</span>'
    bp_flag = FLAG_CELL if row.systolic.flag or row.diastolic.flag else ""
    if row.systolic.value is None and row.diastolic.value is None:
        bp = NOT_RECORDED
    else:
        bp = f"{_cell(row.systolic)}/{_cell(row.diastolic)}"
    cells = "".join(
        f"<td{FLAG_CELL if c.flag else ''}>{NOT_RECORDED if c.value is None else _cell(c)}</td>" for c in row.cells
    )
    return (
        f"<tr{FLAG_ROW if row.flagged else ''}>\n"
        f'      <th scope="row">{localtime(vital.taken_at):%H:%M}</th>\n'
        f"      <td>{escape(vital.get_phase_display())}</td>\n"
        f'      <td class="flowsheet__source">{source}</td>\n'
        f"      <td{bp_flag}>{bp}</td>\n"
        f"      {cells}\n"
        "    </tr>"
    )


@register.filter
def flowsheet_tbody(rows: list[FlowRow]) -> SafeString:
    """The session page's flowsheet rows (``views_session.flowsheet_rows``), newest first."""
    return mark_safe("".join(_row(r) for r in rows))  # noqa: S308 - every value escaped above
