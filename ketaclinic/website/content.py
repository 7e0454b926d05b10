"""The text a new clinic starts with: honest, plain wording for each public page and the first
Q&A entries. Staff replace it from the website editor; until a page has been saved, the site
shows the text here.

What the evidence says comes from ../shared/docs/clinical-reference.md §1: small studies, mostly
of multi-day hospital infusions (Schwenk et al., Reg Anesth Pain Med 2018: 61 inpatients, 77%
responded at once, about 40% still did at about 5 weeks; Pomeroy et al., Headache 2017: 77
patients, 71.4% improved by 2 points or more on a 0–10 pain scale). Ketamine is not approved by
the FDA for migraine, and no study promises a result for one person, so the text never does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaclinic.website.choices import PageSlug


@dataclass(frozen=True)
class DefaultPage:
    title: str
    body_markdown: str


DEFAULT_PAGES: dict[str, DefaultPage] = {
    PageSlug.HOME: DefaultPage(
        title="IV ketamine infusions for chronic, treatment-resistant migraine",
        body_markdown="""\
We are an outpatient clinic offering low-dose intravenous (IV) ketamine infusions to adults
whose chronic migraine has not responded to several preventive treatments.

**Please read first.** Ketamine is not approved by the FDA for migraine: using it this way is
*off-label*. The evidence for it comes from small studies, mostly of people treated in hospital
over several days, and it does not help everyone. We cannot promise results. A prescriber
reviews each person's history before offering treatment, and may advise against it.

## Who we see

Adults with chronic migraine who have already tried several preventive medicines without
enough benefit, usually referred by or working with their own neurologist or doctor.

## How to start

Send us a message or call. The front desk explains the process and costs, and books a
consultation if you want one.
""",
    ),
    PageSlug.TREATMENT: DefaultPage(
        title="Ketamine infusion for migraine",
        body_markdown="""\
## What it is

Ketamine is an anaesthetic medicine. At low doses, given slowly into a vein, it has been
studied as a treatment for headache that has not responded to other treatments. It is not
approved by the FDA for migraine: this use is *off-label*, which is legal and common in
medicine, but it means the evidence is more limited than for approved treatments.

## What the evidence says

The studies are small, and most treated people in hospital with infusions lasting several
days, not in an outpatient chair like ours.

- In one study of 61 people treated in hospital for refractory headache (Schwenk and others,
  2018), 77% had at least a 2-point drop in pain on a 0–10 scale by the end of treatment; about
  40% still had that benefit about 5 weeks later.
- In another study of 77 people with chronic migraine or persistent daily headache (Pomeroy and
  others, 2017), 71% improved by at least 2 points on the same scale.

There are no large controlled trials of outpatient infusion series for migraine. Some people
feel much better, some a little, and some not at all. We will not promise you a result, and we
ask you to keep taking your usual treatment unless your own doctor changes it.

## The process, step by step

1. **Enquiry.** You contact us by the form, by phone or by text. The front desk answers
   general questions and costs.
2. **Consultation and history review.** You complete a health questionnaire in a secure
   portal and meet a prescriber, who reviews your headache history and past treatments.
3. **Prescriber decision.** The prescriber decides whether infusions are suitable for you.
   They may say no, or ask for more information from your own doctor first.
4. **Consent.** If you go ahead, you read and sign a consent form that explains the risks and
   the off-label use. You can ask questions and stop at any time.
5. **Induction series.** Usually 6 infusions over about 3 weeks, each lasting from 40 minutes
   to a few hours, with a nurse monitoring you throughout.
6. **Maintenance, if it helps.** Further single infusions when your headache diary shows the
   benefit wearing off, at an interval the prescriber sets.

**On infusion days you need an adult escort to take you home, and you must not drive until the
next day.**

## Possible benefits

Fewer headache days, or milder headaches, for a period after the series. The benefit, if any,
often fades with time, which is why some people have maintenance infusions.

## Side effects

Most side effects happen during the infusion or shortly after and pass within hours:

- feeling detached, dreamy or "floaty", or seeing and hearing things differently (dissociation
  or perceptual change);
- nausea, sometimes vomiting;
- dizziness or unsteadiness;
- a rise in blood pressure and heart rate;
- anxiety or unpleasant feelings during the infusion.

The nurse can slow or stop the infusion and give medicine for nausea. Ketamine is a controlled
substance; the clinic keeps strict records of every dose.
""",
    ),
    PageSlug.QUESTIONS: DefaultPage(
        title="Questions and answers",
        body_markdown="""\
Answers to the questions people ask us most. If yours is not here, call or send us a message
— but please keep health details for the phone or your consultation.
""",
    ),
    PageSlug.CONTACT: DefaultPage(
        title="Contact us",
        body_markdown="""\
Ask us anything about the treatment, the process or costs. The front desk replies within one
business day.
""",
    ),
}


@dataclass(frozen=True)
class DefaultFaq:
    question: str
    answer_markdown: str


DEFAULT_FAQ: tuple[DefaultFaq, ...] = (
    DefaultFaq(
        "Will ketamine infusions cure my migraine?",
        "No treatment cures migraine, and we cannot promise that infusions will help you. In small "
        "studies many people had less pain soon after treatment, and fewer still had the benefit "
        "weeks later. Your prescriber will talk through what is realistic for you.",
    ),
    DefaultFaq(
        "Is ketamine approved for migraine?",
        "No. Ketamine is approved by the FDA as an anaesthetic. Using it for migraine is "
        "*off-label*: legal and supervised by a prescriber, but backed by less evidence than an "
        "approved treatment. The consent form explains this in full before any infusion.",
    ),
    DefaultFaq(
        "What does it cost? Does insurance pay?",
        "We list our self-pay prices and give you a written **Good Faith Estimate** before you "
        "book, as the No Surprises Act requires. Insurance usually does not cover ketamine "
        "infusions for migraine; we can give you a receipt with billing codes to send to your "
        "insurer, but cannot promise they will pay.",
    ),
    DefaultFaq(
        "Who should not have ketamine infusions?",
        "Infusions are not suitable for everyone — for example during pregnancy, with a history "
        "of psychosis, with high blood pressure that is not well controlled, or with some heart, "
        "liver or brain conditions. A prescriber reviews your history and decides; please do not "
        "send those details through the contact form.",
    ),
    DefaultFaq(
        "What happens on an infusion day?",
        "A nurse checks your blood pressure and other vital signs, places a small drip in your "
        "arm and starts the infusion, which lasts from 40 minutes to a few hours. You are "
        "monitored throughout and rest until you are ready to go home.",
    ),
    DefaultFaq(
        "Can I drive home afterwards?",
        "No. You need an adult escort to take you home, and you must not drive, ride a bike or "
        "operate machinery until the next day.",
    ),
    DefaultFaq(
        "How many infusions will I need?",
        "The usual first series is 6 infusions over about 3 weeks. If it helps, some people "
        "return for single maintenance infusions when the benefit wears off; the prescriber "
        "decides the timing with you.",
    ),
    DefaultFaq(
        "Do I need a referral?",
        "You can contact us yourself. We will ask for your records and may write to your own "
        "doctor or neurologist, because your usual care continues alongside ours.",
    ),
    DefaultFaq(
        "Can I send you my medical details by email or through the form?",
        "Please don't. Email, text messages and the website form are not secure enough for health "
        "information. Call us, or wait for your secure portal invitation after your first contact.",
    ),
)
