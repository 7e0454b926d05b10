"""The patient portal: a patient's own record, for the patient."""

from django.urls import path

from ketaclinic.patients import views

app_name = "portal"
urlpatterns = [
    path("", views.portal_home, name="home"),
]
