"""The patient portal: a patient's own record, for the patient."""

from django.urls import path

from ketaclinic.patients import views

app_name = "portal"
urlpatterns = [
    path("", views.portal_home, name="home"),
    path("intake/", views.portal_intake, name="intake"),
    path("intake/<slug:step>/", views.portal_intake_step, name="intake_step"),
    path("invitation/<str:token>/", views.portal_invitation, name="invitation"),
]
