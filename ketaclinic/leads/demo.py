"""Demo leads: fifteen invented people who wrote, texted or called, at every stage of the
inbox, with the front desk's notes and assignments. Names, numbers (+1303555xxxx) and
addresses (example.org) are synthetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ketaclinic.leads.actions import add_lead_note, assign_lead, convert_lead_to_patient, create_lead, set_lead_status
from ketaclinic.leads.choices import ContactMethod, LeadSource, LeadStatus

if TYPE_CHECKING:
    from ketaclinic.demo.seed import DemoContext


@dataclass(frozen=True)
class DemoLead:
    name: str
    source: LeadSource
    preferred: ContactMethod
    message: str
    status: LeadStatus
    days_ago: int
    has_email: bool = True
    has_phone: bool = True
    assigned: bool = False
    notes: tuple[str, ...] = ()


DEMO_LEADS = (
    DemoLead(
        "Lena Hartwick",
        LeadSource.WEBSITE,
        ContactMethod.EMAIL,
        "Hello, what does a first consultation cost, and do you offer evening appointments?",
        LeadStatus.NEW,
        0,
    ),
    DemoLead(
        "Marcus Ebbeson",
        LeadSource.WEBSITE,
        ContactMethod.PHONE,
        "Could someone call me about how the process works? Afternoons are best.",
        LeadStatus.NEW,
        1,
        has_email=False,
    ),
    DemoLead(
        "", LeadSource.SMS, ContactMethod.SMS, "Hi, are you open on Saturdays?", LeadStatus.NEW, 1, has_email=False
    ),
    DemoLead(
        "Tobias Wren",
        LeadSource.PHONE,
        ContactMethod.PHONE,
        "",
        LeadStatus.NEW,
        2,
        has_email=False,
        assigned=True,
        notes=("Called while the desk was busy; asked for a call back about parking and costs.",),
    ),
    DemoLead(
        "Ingrid Solberg",
        LeadSource.WEBSITE,
        ContactMethod.EMAIL,
        "Do you accept referrals from out-of-state neurologists?",
        LeadStatus.CONTACTED,
        4,
        assigned=True,
        notes=("Emailed the referral information sheet and the self-pay price list.",),
    ),
    DemoLead(
        "Dev Raghunathan",
        LeadSource.REFERRAL,
        ContactMethod.PHONE,
        "",
        LeadStatus.CONTACTED,
        5,
        assigned=True,
        notes=(
            "Referral letter received by fax; scanned to the shared drive.",
            "Left a voicemail asking for a good time to talk.",
        ),
    ),
    DemoLead(
        "Paloma Reyes",
        LeadSource.SMS,
        ContactMethod.SMS,
        "How long does one appointment take?",
        LeadStatus.CONTACTED,
        6,
        has_email=False,
        assigned=True,
        notes=("Replied by text: from 40 minutes to a few hours, plus recovery time.",),
    ),
    DemoLead(
        "Oskar Lindahl",
        LeadSource.WEBSITE,
        ContactMethod.EMAIL,
        "Is there a payment plan? I'd like to understand the total cost before booking.",
        LeadStatus.CONTACTED,
        7,
        has_phone=False,
        assigned=True,
        notes=("Sent the Good Faith Estimate template and payment plan options.",),
    ),
    DemoLead(
        "Beatrix Kellerman",
        LeadSource.PHONE,
        ContactMethod.PHONE,
        "",
        LeadStatus.CONSULTATION_BOOKED,
        9,
        assigned=True,
        notes=(
            "Consultation booked with Dr Okafor for next Tuesday at 10:00.",
            "Reminded to bring an adult escort to any infusion day.",
        ),
    ),
    DemoLead(
        "Felix Achebe",
        LeadSource.WEBSITE,
        ContactMethod.EMAIL,
        "I'd like to book a consultation. Mornings suit me.",
        LeadStatus.CONSULTATION_BOOKED,
        11,
        assigned=True,
        notes=("Consultation booked for Thursday at 09:30.",),
    ),
    DemoLead(
        "Yara Haddad",
        LeadSource.WALK_IN,
        ContactMethod.PHONE,
        "",
        LeadStatus.CONSULTATION_BOOKED,
        12,
        has_email=False,
        assigned=True,
        notes=("Walked in to ask about the process; took a leaflet.",),
    ),
    DemoLead(
        "Nils Ostrander",
        LeadSource.WEBSITE,
        ContactMethod.EMAIL,
        "Please send me information about your clinic and prices.",
        LeadStatus.CLOSED,
        30,
        notes=("Sent information; two follow-up emails without reply. Closed.",),
    ),
    DemoLead(
        "Greta Valdez",
        LeadSource.PHONE,
        ContactMethod.PHONE,
        "",
        LeadStatus.CLOSED,
        24,
        has_email=False,
        notes=("Lives too far away to attend a series; gave the names of two clinics nearer to her.",),
    ),
    DemoLead(
        "Saoirse Molloy",
        LeadSource.WEBSITE,
        ContactMethod.EMAIL,
        "I'd like to start the process. When could I meet a prescriber?",
        LeadStatus.BECAME_PATIENT,
        20,
        assigned=True,
        notes=("Consultation done; converting to a patient record.",),
    ),
    DemoLead(
        "Hamid Farouk",
        LeadSource.REFERRAL,
        ContactMethod.PHONE,
        "",
        LeadStatus.BECAME_PATIENT,
        26,
        has_email=False,
        assigned=True,
        notes=("Referred by his neurologist; no email address, portal later.",),
    ),
)


def seed(ctx: DemoContext) -> None:
    desk = ctx.users["frontdesk"]
    director = ctx.users["director"]
    for index, spec in enumerate(DEMO_LEADS):
        created = ctx.now - timedelta(days=spec.days_ago, hours=ctx.rng.randint(1, 8))
        slug = (spec.name or f"texter{index}").lower().replace(" ", ".")
        lead = create_lead(
            acting_user=desk if spec.source in {LeadSource.PHONE, LeadSource.WALK_IN, LeadSource.REFERRAL} else None,
            location=ctx.location,
            source=spec.source,
            name=spec.name,
            email=f"{slug}@example.org" if spec.has_email else "",
            phone=f"+1303555{index + 600:04d}" if spec.has_phone else "",
            preferred_contact=spec.preferred,
            message=spec.message,
            at=created,
        )
        if spec.assigned:
            assign_lead(acting_user=director, lead=lead, assignee=desk)
        for step, body in enumerate(spec.notes):
            add_lead_note(acting_user=desk, lead=lead, body=body, at=created + timedelta(hours=3 + 20 * step))
        if spec.status == LeadStatus.BECAME_PATIENT:
            first, _, last = spec.name.partition(" ")
            born = date(ctx.rng.randint(1965, 1998), ctx.rng.randint(1, 12), ctx.rng.randint(1, 28))
            convert_lead_to_patient(acting_user=desk, lead=lead, first_name=first, last_name=last, date_of_birth=born)
        elif spec.status != LeadStatus.NEW:
            set_lead_status(acting_user=desk, lead=lead, status=spec.status)
