"""Demo protocols. The series shape (6 infusions within 21 days, then maintenance) is the one
the clinic's seed describes (../shared/docs/clinical-reference.md §1, outpatient practice)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketaclinic.infusions.actions import create_protocol
from ketaclinic.infusions.models import Protocol

if TYPE_CHECKING:
    from ketaclinic.demo.seed import DemoContext


def seed(ctx: DemoContext) -> None:
    # The patients demo (earlier in INSTALLED_APPS) seeds these first, because its approvals
    # need a protocol; then this second call has nothing to add.
    if Protocol.objects.exists():
        return
    create_protocol(
        acting_user=None,
        code="migraine-induction-low-dose",
        name="Migraine induction — low-dose ketamine, 6 infusions in 3 weeks",
        summary="Six outpatient infusions within 21 days, at least a day apart, then maintenance as needed.",
    )
    create_protocol(
        acting_user=None,
        code="migraine-maintenance",
        name="Migraine maintenance — single low-dose infusion",
        summary="One infusion when the diary shows relapse, or at an interval the prescriber sets.",
        induction_infusions=1,
        induction_window_days=1,
    )
