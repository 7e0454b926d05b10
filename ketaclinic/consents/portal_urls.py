"""The patient's own consents in the portal: read, sign, download signed copies."""

from django.urls import path

from ketaclinic.consents import views

app_name = "consents_portal"
urlpatterns = [
    path("", views.portal_list, name="list"),
    path("<int:pk>/sign/", views.portal_sign, name="sign"),
    path("signatures/<uuid:pk>/pdf/", views.portal_download, name="download"),
]
