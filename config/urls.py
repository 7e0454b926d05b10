from django.urls import include, path

from ketaclinic.api.api import api

handler403 = "ketaclinic.core.views.forbidden"
handler404 = "ketaclinic.core.views.not_found"

urlpatterns = [
    path("", include("ketaclinic.website.urls")),
    path("staff/", include("ketaclinic.core.urls")),
    path("accounts/", include("ketaclinic.accounts.urls")),
    path("locations/", include("ketaclinic.clinics.urls")),
    path("patients/", include("ketaclinic.patients.urls")),
    path("leads/", include("ketaclinic.leads.urls")),
    path("messages/", include("ketaclinic.messaging.urls")),
    path("consents/", include("ketaclinic.consents.urls")),
    path("schedule/", include("ketaclinic.scheduling.urls")),
    path("inventory/", include("ketaclinic.inventory.urls")),
    path("infusions/", include("ketaclinic.infusions.urls")),
    path("outcomes/", include("ketaclinic.outcomes.urls")),
    path("portal/diary/", include("ketaclinic.outcomes.portal_urls")),
    path("portal/consents/", include("ketaclinic.consents.portal_urls")),
    path("portal/", include("ketaclinic.patients.portal_urls")),
    path("api/v1/", api.urls),
]
