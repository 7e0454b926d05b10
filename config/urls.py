from django.urls import include, path

from ketaclinic.api.api import api
from ketaclinic.patients import views as patient_views
from ketaclinic.website import views as website_views

handler403 = "ketaclinic.core.views.forbidden"
handler404 = "ketaclinic.core.views.not_found"

urlpatterns = [
    path("", website_views.home, name="website_home"),
    path("staff/", include("ketaclinic.core.urls")),
    path("accounts/", include("ketaclinic.accounts.urls")),
    path("locations/", include("ketaclinic.clinics.urls")),
    path("patients/", include("ketaclinic.patients.urls")),
    path("portal/", patient_views.portal_home, name="portal_home"),
    path("api/v1/", api.urls),
]
