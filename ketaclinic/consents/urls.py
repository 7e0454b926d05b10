"""Staff pages for consent documents and patients' signatures."""

from django.urls import path

from ketaclinic.consents import views

app_name = "consents"
urlpatterns = [
    path("", views.document_list, name="documents"),
    path("documents/<int:pk>/", views.document_detail, name="document"),
    path("documents/publish/", views.publish, name="publish"),
    path("patients/<int:pk>/", views.patient_consents, name="patient"),
    path("signatures/<uuid:pk>/pdf/", views.staff_download, name="download"),
]
