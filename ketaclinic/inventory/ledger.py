"""The ledger's own hash chain, one chain per location (each DEA registration keeps separate
records). Mirrors the audit trail's approach (``core.audit``): every entry stores the SHA-256 of
its content together with the previous entry's hash, so altering, inserting or removing an entry
in the middle breaks the chain from that entry on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

from ketaclinic.inventory.models import LedgerEntry

GENESIS_HASH = "0" * 64


def _canonical(name: str, value: Any) -> Any:
    # The same value must hash the same before it is saved and after it is read back from
    # either database: decimals at three places, times in UTC, JSON with sorted keys.
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.001")), "f")
    if name == "at":
        return value.astimezone(UTC).isoformat()
    if name == "details":
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))
    return value


def compute_hash(entry: LedgerEntry, prev_hash: str) -> str:
    payload = {name: _canonical(name, getattr(entry, name)) for name in LedgerEntry.HASHED_FIELDS}
    payload["prev_hash"] = prev_hash
    canonical = json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def last_hash(location_id: int) -> str:
    """The hash to chain the next entry of this location to. Call it only while holding the
    location's lock (``actions._lock``), or two entries could chain to the same predecessor."""
    last = LedgerEntry.objects.filter(location_id=location_id).order_by("-id").values_list("hash", flat=True).first()
    return last or GENESIS_HASH


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    first_broken_id: int | None
    problem: str = ""


def verify_location(location_id: int) -> ChainReport:
    """Recompute every hash of one location in order; report the first entry that is wrong."""
    entries: QuerySet[LedgerEntry] = LedgerEntry.objects.filter(location_id=location_id).order_by("id")
    prev = GENESIS_HASH
    count = 0
    for entry in entries.iterator(chunk_size=2000):
        count += 1
        if entry.prev_hash != prev:
            return ChainReport(
                False, count, entry.pk, "its link to the previous entry is broken (an entry was removed or inserted)"
            )
        if compute_hash(entry, prev) != entry.hash:
            return ChainReport(False, count, entry.pk, "its content no longer matches its hash (it was edited)")
        prev = entry.hash
    return ChainReport(True, count, None)


def verify_locations(location_ids: list[int]) -> ChainReport:
    """Verify several locations' chains; the first broken one (in location order) is reported."""
    total = 0
    for location_id in sorted(location_ids):
        report = verify_location(location_id)
        total += report.entries
        if not report.ok:
            return ChainReport(False, total, report.first_broken_id, report.problem)
    return ChainReport(True, total, None)
