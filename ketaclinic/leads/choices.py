from django.db import models


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    CONSULTATION_BOOKED = "consultation_booked", "Consultation booked"
    BECAME_PATIENT = "became_patient", "Became patient"
    CLOSED = "closed", "Closed"


class LeadSource(models.TextChoices):
    WEBSITE = "website", "Website contact form"
    SMS = "sms", "Text message"
    PHONE = "phone", "Phone call"
    WALK_IN = "walk_in", "Walk-in"
    REFERRAL = "referral", "Referral"


class ContactMethod(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone call"
    SMS = "sms", "Text message"
