"""Demo consent documents and signatures. All text and people are synthetic.

Version 1 of each document is published, some patients sign it, then the financial policy gets
a version 2, so the demo shows patients who must sign again. The demo patient (portal sign-in
``patient``) has signed the informed consent, the SMS terms and financial policy version 1, and
is waiting to sign financial policy version 2.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import TYPE_CHECKING

from ketaclinic.consents.actions import publish_document, sign_document
from ketaclinic.consents.choices import PNG_MAGIC, DocumentKind

if TYPE_CHECKING:
    from ketaclinic.demo.seed import DemoContext

# Share of in-clinic signers who type their name in capitals, and who also draw a signature.
CAPITALS_SHARE = 0.3
DRAWN_SHARE = 0.5

INFORMED_CONSENT = """\
## What this treatment is

You are being offered a series of intravenous (IV) infusions of **ketamine** for chronic migraine
that has not improved with other treatments. Ketamine is approved by the U.S. Food and Drug
Administration (FDA) as an anaesthetic. **Using it for migraine is "off-label"**: the FDA has not
reviewed or approved it for this use.

## What is known, and what is not

The evidence for ketamine in migraine is **limited**. It comes mostly from small studies and from
clinics reviewing their own patients, not from large randomised trials. Some people have fewer or
milder headache days afterwards; others have no benefit. Nobody can promise that it will help you,
or how long any benefit will last.

## What happens at each visit

- A nurse places a small tube (IV line) in a vein in your arm.
- Ketamine is given slowly through a pump, at the dose your prescriber ordered for your weight.
- Your blood pressure, heart rate, oxygen level and how alert you are are checked throughout.
- You rest in the recovery area until the nurse confirms you are ready to leave.

## Common effects during and shortly after the infusion

- Feeling detached from your body or surroundings, or dreamlike (**dissociation**)
- Changes in what you see, hear or feel, and in your sense of time (**perceptual changes**)
- **Nausea**, sometimes vomiting
- **Dizziness** and unsteadiness
- **Raised blood pressure and heart rate**
- **Anxiety**, or unpleasant or frightening thoughts

These usually fade within an hour or two after the infusion stops. Tell the nurse at once if you
feel unwell: the dose can be lowered, paused or stopped, and medicines for nausea or anxiety can
be given.

## Rare but serious risks

- A large rise in blood pressure, or an abnormal heart rhythm
- Slowed breathing or a low oxygen level
- An allergic reaction
- Severe confusion or agitation
- With frequent or long-term use: bladder irritation, changes in liver tests, and misuse or
  dependence (ketamine is a controlled substance)

The clinic has trained staff, monitoring equipment and emergency medicines on site. If an
emergency happens, you may need to go to a hospital.

## Before and after your infusion

- Tell us about every medicine, supplement and drug you take, and if you are or could be pregnant.
- Follow the eating and drinking instructions the clinic gives you before each visit.
- **An adult escort must take you home.** You cannot leave alone, by taxi or by rideshare on your own.
- **Do not drive**, cycle, operate machinery, drink alcohol or make important decisions **for the
  rest of the day** of each infusion.

## Your choices

Taking part is your decision. **You can stop at any time**: during an infusion, between
infusions, or by not starting. Stopping will not change the rest of your care at this clinic.
Other treatments for migraine remain available to you, and your prescriber can discuss them.

By signing, you confirm that you have read this, that your questions have been answered, and that
you agree to receive ketamine infusions as planned by your prescriber.
"""

FINANCIAL_POLICY_V1 = """\
## Paying for your care

Ketamine infusions for migraine are usually **not covered by health insurance**. Unless you hear
otherwise from us, plan to pay for each infusion yourself.

- Payment is due **on the day of each visit**, before you leave.
- We accept debit and credit cards.
- If you are uninsured or paying yourself, you have the right to a **Good Faith Estimate** of
  the expected charges before your treatment. If your bill is **$400 or more** above the
  estimate, you may dispute it.

## Cancelling or missing a visit

Each infusion reserves a chair and a nurse for you. Please tell us **at least 24 hours** before
your visit if you cannot come. A visit cancelled with less notice, or missed, may be charged a
**$75 fee**.

## Questions

Call the front desk before your visit if anything here is unclear.
"""

FINANCIAL_POLICY_V2 = """\
## Paying for your care

Ketamine infusions for migraine are usually **not covered by health insurance**. Unless you hear
otherwise from us, plan to pay for each infusion yourself.

- Payment is due **on the day of each visit**, before you leave.
- We accept debit and credit cards, and health savings (HSA) and flexible spending (FSA) cards.
- **Payment plans** are available for a full series. Ask the front desk before your first visit.
- If you are uninsured or paying yourself, you have the right to a **Good Faith Estimate** of
  the expected charges before your treatment. If your bill is **$400 or more** above the
  estimate, you may dispute it.

## Cancelling or missing a visit

Each infusion reserves a chair and a nurse for you. Please tell us **at least 48 hours** before
your visit if you cannot come, so another patient can take the chair. A visit cancelled with less
notice, or missed, may be charged a **$75 fee**. The fee is waived for emergencies and illness.

## What changed from version 1

The notice needed to cancel without a fee is now 48 hours (it was 24 hours), and payment plans
and HSA/FSA cards are new.

## Questions

Call the front desk before your visit if anything here is unclear.
"""

SMS_TERMS = """\
## Text messages from the clinic

With your agreement, the clinic sends text messages to the mobile number on your record:
appointment reminders, changes to your visits, reminders to fill in your headache diary, and
replies when you text us. We do not send advertising by text unless you agree to that separately.

- **Message frequency varies** with your appointments, usually a few messages a week during a
  treatment series.
- **Msg & data rates may apply.**
- **Reply STOP to opt out** at any time. You will receive one message confirming you have opted
  out. You can also tell us in any other way, for example by phone.
- **Reply HELP for help**, or call the clinic.
- Carriers are not liable for delayed or undelivered messages.

Texts are not a safe way to report an emergency. If you feel very unwell after an infusion,
call 911.

Texts contain as little health information as possible. Anyone who can read your phone may see
them; tell us if you would prefer calls instead.
"""


def encode_grayscale_png(rows: list[list[int]]) -> bytes:
    """A minimal 8-bit greyscale PNG (PNG specification, ISO/IEC 15948): signature, IHDR, one
    zlib-compressed IDAT with filter byte 0 per row, IEND."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    height, width = len(rows), len(rows[0])
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    return PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def synthetic_scribble(phase: float, width: int = 300, height: int = 90) -> bytes:
    """A looping pen stroke, standing in for a signature drawn on a phone."""
    rows = [[255] * width for _ in range(height)]
    for step in range(2400):
        t = step / 2400
        x = 20 + t * (width - 40) + 9 * math.cos(t * 38 + phase)
        y = height / 2 + 22 * math.sin(t * 19 + phase) * math.sin(t * 3.1)
        for dx in (0, 1):
            for dy in (0, 1):
                px, py = int(x) + dx, int(y) + dy
                if 0 <= px < width and 0 <= py < height:
                    rows[py][px] = 30
    return encode_grayscale_png(rows)


def seed(ctx: DemoContext) -> None:
    director = ctx.users["director"]
    informed = publish_document(
        acting_user=director,
        kind=DocumentKind.INFORMED_CONSENT,
        title="Consent to ketamine infusion for migraine",
        body_markdown=INFORMED_CONSENT,
    )
    financial_v1 = publish_document(
        acting_user=director,
        kind=DocumentKind.FINANCIAL_POLICY,
        title="Financial policy",
        body_markdown=FINANCIAL_POLICY_V1,
    )
    sms = publish_document(
        acting_user=director,
        kind=DocumentKind.SMS_TERMS,
        title="Text message terms",
        body_markdown=SMS_TERMS,
    )

    demo_patient = ctx.patients[0]
    for document in (informed, sms, financial_v1):
        sign_document(
            acting_user=ctx.users["patient"],
            patient=demo_patient,
            document=document,
            typed_name=demo_patient.full_name,
            drawn_signature_png=synthetic_scribble(ctx.rng.uniform(0, 6)) if document is informed else None,
            agreed=True,
        )
    # Patients without portal accounts signed on the front desk's tablet at their first visit;
    # the signature records the clerk as the person at the keyboard.
    at_clinic = ctx.patients[1:5]
    for patient in at_clinic:
        for document in (informed, financial_v1, sms):
            sign_document(
                acting_user=ctx.users["frontdesk"],
                patient=patient,
                document=document,
                typed_name=patient.full_name.upper() if ctx.rng.random() < CAPITALS_SHARE else patient.full_name,
                drawn_signature_png=synthetic_scribble(ctx.rng.uniform(0, 6))
                if ctx.rng.random() < DRAWN_SHARE
                else None,
                agreed=True,
            )

    financial_v2 = publish_document(
        acting_user=director,
        kind=DocumentKind.FINANCIAL_POLICY,
        title="Financial policy",
        body_markdown=FINANCIAL_POLICY_V2,
    )
    for patient in at_clinic[:2]:
        sign_document(
            acting_user=ctx.users["frontdesk"],
            patient=patient,
            document=financial_v2,
            typed_name=patient.full_name,
            agreed=True,
        )
