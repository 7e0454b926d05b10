"""Who may see the controlled-substance ledger and record which kind of entry.

Role decides what a person may ever record (``core.permissions.GRANTS``); location decides
where: each location is its own DEA registration, so staff work only on the ledger of the
locations they work at."""

from __future__ import annotations

from ketaclinic.accounts.models import User
from ketaclinic.accounts.permissions import AnyUser
from ketaclinic.core.permissions import has_grant
from ketaclinic.inventory.choices import EntryKind

# The grant each kind of entry needs. Transfers, returns, losses, destructions, adjustments and
# corrections change what the clinic must account for to DEA: the medical director's.
KIND_GRANT: dict[str, str] = {
    EntryKind.RECEIVE: "receive_stock",
    EntryKind.DISPENSE: "dispense_stock",
    EntryKind.ADMINISTER: "dispense_stock",
    EntryKind.WASTE: "waste_stock",
    EntryKind.RETURN: "manage_ledger",
    EntryKind.TRANSFER_OUT: "manage_ledger",
    EntryKind.TRANSFER_IN: "manage_ledger",
    EntryKind.LOSS: "manage_ledger",
    EntryKind.DESTRUCTION: "manage_ledger",
    EntryKind.ADJUSTMENT: "manage_ledger",
    EntryKind.CORRECTION: "manage_ledger",
}


def _at(user: AnyUser, grant: str, location_id: int) -> bool:
    return has_grant(user, grant) and isinstance(user, User) and user.works_at(location_id)


def can_view_inventory(user: AnyUser) -> bool:
    return has_grant(user, "view_inventory")


def can_view_inventory_at(user: AnyUser, location_id: int) -> bool:
    return _at(user, "view_inventory", location_id)


def can_receive_stock(user: AnyUser) -> bool:
    return has_grant(user, "receive_stock")


def can_waste_stock(user: AnyUser) -> bool:
    return has_grant(user, "waste_stock")


def can_count_stock(user: AnyUser) -> bool:
    return has_grant(user, "count_stock")


def can_manage_ledger(user: AnyUser) -> bool:
    return has_grant(user, "manage_ledger")


def can_view_dea_reports(user: AnyUser) -> bool:
    return has_grant(user, "view_dea_reports")


def can_record_entry(user: AnyUser, kind: str, location_id: int) -> bool:
    """May ``user`` record an entry of ``kind`` on the ledger of this location?"""
    grant = KIND_GRANT.get(kind)
    return grant is not None and _at(user, grant, location_id)


def can_record_any_entry(user: AnyUser, kind: str) -> bool:
    """The role half of :func:`can_record_entry`, for checks made before the location is known."""
    grant = KIND_GRANT.get(kind)
    return grant is not None and has_grant(user, grant)


def can_count_stock_at(user: AnyUser, location_id: int) -> bool:
    return _at(user, "count_stock", location_id)


def can_manage_ledger_at(user: AnyUser, location_id: int) -> bool:
    return _at(user, "manage_ledger", location_id)


def can_view_dea_reports_at(user: AnyUser, location_id: int) -> bool:
    return _at(user, "view_dea_reports", location_id)


def can_witness_at(user: User, location_id: int) -> bool:
    """A witness is a second licensed person at the same location, holding ``witness_waste``."""
    return user.is_active and _at(user, "witness_waste", location_id)
