"""Who may open each consent URL (merged into the route walk in core/tests/test_routes.py)."""

from __future__ import annotations

from ketaclinic.consents.tests.factories import current_or_publish, signature_of
from ketaclinic.core.testing import Route

ROUTES: dict[str, Route] = {
    "consents:documents": Route("view_patients"),
    "consents:document": Route("view_patients", kwargs=lambda w: {"pk": current_or_publish(w).pk}),
    "consents:publish": Route("manage_consent_documents"),
    # Outside their locations staff are sent to break-glass, as for the patient record itself.
    "consents:patient": Route("view_patients", kwargs=lambda w: {"pk": w.patient.pk}, overrides={"outsider": 302}),
    "consents:download": Route(
        "view_patients", kwargs=lambda w: {"pk": signature_of(w).pk}, overrides={"outsider": 403}
    ),
    "consents_portal:list": Route("use_portal"),
    "consents_portal:sign": Route("use_portal", kwargs=lambda w: {"pk": current_or_publish(w).pk}),
    "consents_portal:download": Route("use_portal", kwargs=lambda w: {"pk": signature_of(w).pk}),
}
