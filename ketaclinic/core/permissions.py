"""Permission primitives and the one table of who may do what.

Each app's ``permissions.py`` exposes ``can_<verb>_<noun>(user, obj)`` functions built from
:data:`GRANTS` (role-level: may this kind of person ever do this?) plus object-level rules
(location, ownership, break-glass). Views and the API call those functions; nothing else checks
roles. ``docs/permissions.md`` is generated from this table (``manage.py permissions_table``) and
a test keeps the two identical.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ketaclinic.core.roles import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from ketaclinic.accounts.models import User

FD, RN, RX, MD, BL, AD, PT = (
    Role.FRONT_DESK,
    Role.NURSE,
    Role.PRESCRIBER,
    Role.MEDICAL_DIRECTOR,
    Role.BILLING,
    Role.ADMINISTRATOR,
    Role.PATIENT,
)

# grant name -> (roles holding it, what it means). Minimum necessary (45 CFR 164.502(b)):
# the administrator runs accounts and sites but does not read charts.
GRANTS: dict[str, tuple[frozenset[Role], str]] = {
    "use_staff_pages": (frozenset({FD, RN, RX, MD, BL, AD}), "Open the staff home page"),
    "use_api": (frozenset({FD, RN, RX, MD, BL, AD}), "Call the JSON API with a bearer token"),
    "view_locations": (frozenset({FD, RN, RX, MD, BL, AD}), "See locations and their chairs"),
    "manage_locations": (frozenset({AD}), "Edit locations and chairs"),
    "manage_staff": (frozenset({AD}), "Create staff accounts, set roles and locations, reset MFA"),
    "view_patients": (frozenset({FD, RN, RX, MD, BL}), "Open patient records at own locations"),
    "create_patients": (frozenset({FD, RX, MD}), "Register a new patient"),
    "break_glass": (frozenset({FD, RN, RX, MD, BL}), "Open a record outside own locations, with a reason"),
    "view_audit": (frozenset({MD, AD}), "Search and export the audit trail"),
    "use_portal": (frozenset({PT}), "Use the patient portal for one's own record"),
    "edit_website": (frozenset({FD, MD, AD}), "Edit public pages and Q&A entries"),
    "view_leads": (frozenset({FD, RX, MD}), "See the lead inbox at own locations"),
    "manage_leads": (frozenset({FD, MD}), "Work leads: status, notes, assignment, conversion to a patient"),
    "message_patients": (frozenset({FD, RN, RX, MD}), "Read and answer text conversations"),
    "view_message_log": (frozenset({FD, MD, AD}), "See the outgoing message log and its delivery status"),
    "edit_patients": (frozenset({FD, RX, MD}), "Edit demographics, contacts, escort, insurance"),
    "review_candidacy": (frozenset({RX, MD}), "Review intake and record the candidacy decision"),
    "manage_screening_rules": (frozenset({MD}), "Edit the contraindication screen"),
    "manage_consent_documents": (frozenset({MD}), "Publish new versions of consent documents"),
    "check_phi": (frozenset({FD, RN, RX, MD, BL, AD}), "Run the health-information guard on a text"),
    "view_schedule": (frozenset({FD, RN, RX, MD}), "See the day board, week view and series at own locations"),
    "book_appointments": (frozenset({FD, RX, MD}), "Book, move, cancel appointments and infusion series"),
    "manage_calendar": (
        frozenset({MD, AD}),
        "Opening hours, closures, staff shifts, chairs out of service, series rules",
    ),
    "run_replanning": (frozenset({AD, MD}), "Run the optimiser over all unconfirmed series requests"),
    "view_inventory": (frozenset({RN, RX, MD}), "See controlled-substance stock and the ledger at own locations"),
    "receive_stock": (frozenset({RN, MD}), "Record a controlled-substance shipment received"),
    "dispense_stock": (frozenset({RN, RX, MD}), "Dispense from a container to an infusion session"),
    "waste_stock": (frozenset({RN, RX, MD}), "Record waste (a second licensed person witnesses)"),
    "witness_waste": (frozenset({RN, RX, MD}), "Witness waste, destruction or a count"),
    "count_stock": (frozenset({RN, RX, MD}), "Take a shift count of open containers"),
    "manage_ledger": (
        frozenset({MD}),
        "Adjustments, losses, destructions, transfers, resolving discrepancies, inventories",
    ),
    "view_dea_reports": (frozenset({MD}), "Dispensing records, biennial inventory and ledger verification"),
    "manage_protocols": (frozenset({MD}), "Edit the protocol library (limits, thresholds, checklists): new versions"),
    "write_orders": (frozenset({RX, MD}), "Order a protocol for a patient, narrowing its limits"),
    "view_infusions": (frozenset({RN, RX, MD}), "Open infusion records at own locations"),
    "chart_infusion": (
        frozenset({RN, RX, MD}),
        "Chart an infusion: checklist, bag, rate, vitals, events, recovery, sign",
    ),
    "approve_override": (frozenset({RX, MD}), "Acknowledge a soft-limit dose or override a baseline-vitals block"),
    "cosign_infusion": (frozenset({RX, MD}), "Co-sign an infusion record, which locks it"),
    "view_outcomes": (frozenset({RN, RX, MD}), "See a patient's diary, outcomes and scores at own locations"),
    "enter_diary_for_patient": (frozenset({FD, RN, RX, MD}), "Enter diary days or scores on a patient's behalf"),
    "view_clinic_outcomes": (frozenset({MD}), "The clinic outcomes dashboard and its export"),
    "manage_outcome_definitions": (frozenset({MD}), "Edit outcome definitions (windows, thresholds, rules)"),
}


def has_grant(user: User | AnonymousUser, grant: str) -> bool:
    """True when the user is signed in, active, and holds a role that carries ``grant``."""
    roles, _ = GRANTS[grant]
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.role_set & roles)
