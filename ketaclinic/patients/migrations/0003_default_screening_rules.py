"""Seed the contraindication screen with its defaults, so a fresh install (not only the demo)
screens intakes. Historical models cannot call the audited action, so the defaults are
inserted here and ``actions.seed_screening_rules`` (idempotent, audited) covers later additions."""

from django.db import migrations

from ketaclinic.patients.classification import DEFAULT_CONTRAINDICATION_RULES


def add_default_rules(apps, schema_editor):  # type: ignore[no-untyped-def]
    ScreeningRule = apps.get_model("patients", "ScreeningRule")
    existing = set(ScreeningRule.objects.values_list("key", flat=True))
    for order, rule in enumerate(DEFAULT_CONTRAINDICATION_RULES):
        if rule.key not in existing:
            ScreeningRule.objects.create(
                key=rule.key,
                question=rule.question,
                severity=str(rule.severity),
                reason=rule.reason,
                source=rule.source,
                order=(order + 1) * 10,
            )


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_record_intake_candidacy")]

    operations = [migrations.RunPython(add_default_rules, migrations.RunPython.noop)]
