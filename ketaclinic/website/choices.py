from django.db import models


class PageSlug(models.TextChoices):
    """The public pages whose text staff edit. Each has a fixed place on the site."""

    HOME = "home", "Home"
    TREATMENT = "treatment", "Ketamine infusion for migraine"
    QUESTIONS = "questions", "Questions and answers (introduction)"
    CONTACT = "contact", "Contact (introduction)"
