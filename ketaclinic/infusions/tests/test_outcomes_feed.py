"""The outcomes module reads session pain scores and side-effect rates from the chairside record."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from ketaclinic.core.testing import World
from ketaclinic.infusions import actions
from ketaclinic.infusions.queries import adverse_event_counts, session_totals
from ketaclinic.infusions.tests.factories import make_session
from ketaclinic.inventory.tests.factories import receive
from ketaclinic.outcomes.queries import adverse_event_rates, session_pain_scores, zone_of


def test_pain_before_and_after_come_from_baseline_and_recovery_vitals(world: World) -> None:
    session = make_session(world, "locked")
    assert session.started_at is not None
    day = session.started_at.astimezone(zone_of(world.patient)).date()
    # The factory charts pain 7/10 at baseline and 3/10 in recovery.
    assert session_pain_scores(world.patient) == [(day, 7, 3)]


def test_an_unfinished_infusion_has_no_pain_pair_yet(world: World) -> None:
    make_session(world, "recovering")
    assert session_pain_scores(world.patient) == []


def test_side_effect_rates_count_each_infusion_once_per_kind(world: World) -> None:
    assert adverse_event_rates() is None  # nothing finished: nothing to divide by
    session = make_session(world, "infusing")
    for _ in range(2):  # nausea charted twice in one infusion counts once
        actions.record_side_effect(
            acting_user=world["nurse"],
            session=session,
            kind="nausea",
            severity="mild",
            outcome="resolved",
            intervention="ondansetron 4 mg IV",
            onset_at=timezone.now(),
        )
    assert adverse_event_rates() is None  # still infusing
    actions.stop_infusion(acting_user=world["nurse"], session=session)
    session.refresh_from_db()
    # Discharged or later counts as finished; move it on directly for this query test.
    type(session).objects.filter(pk=session.pk).update(status="discharged")
    rows = dict((name, (count, total)) for name, count, total in adverse_event_counts())
    assert rows["Nausea"] == (1, 1)
    assert rows["Vomiting"] == (0, 1)
    assert adverse_event_counts(location_ids=[world.other_location.pk])[0][2] == 0


def test_ml_follow_the_concentration_of_the_bag_hanging_at_each_moment(world: World) -> None:
    """60 min at 0.3 mg/kg/h x 70 kg from a 1 mg/mL bag (21 mg = 21 mL), then 60 min from a
    2 mg/mL bag (21 mg = 10.5 mL): 42 mg, 31.5 mL, 120 min."""
    session = make_session(world, "ready")
    start = timezone.now()
    actions.start_infusion(acting_user=world["nurse"], session=session, at=start)
    with time_machine.travel(start + timedelta(minutes=60), tick=False):
        actions.prepare_bag(
            acting_user=world["nurse"],
            session=session,
            container=receive(world, lot_number="LOT-B2")[0],
            vial_ml_drawn="5",
            final_volume_ml="125",
        )
    with time_machine.travel(start + timedelta(minutes=120), tick=False):
        totals = session_totals(session)
    assert totals is not None
    assert round(totals.total_mg, 6) == 42.0
    assert round(totals.total_ml, 6) == 31.5
    assert round(totals.infusion_min, 6) == 120.0
