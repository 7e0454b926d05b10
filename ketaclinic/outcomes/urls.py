"""Staff outcome pages: one patient's outcomes, diary and questionnaire entry on a patient's behalf, relapse
flags, the clinic dashboard and its export, and the outcome definitions."""

from django.urls import path

from ketaclinic.outcomes import views

app_name = "outcomes"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.csv", views.dashboard_csv, name="dashboard_csv"),
    path("definitions/", views.definitions, name="definitions"),
    path("definitions/hit6-wording/", views.instrument_text, name="instrument_text"),
    path("definitions/locations/<int:pk>/", views.location_definitions, name="location_definitions"),
    path("patients/<int:pk>/", views.patient_outcomes, name="patient"),
    path("patients/<int:pk>/diary/<str:day>/", views.staff_diary_day, name="staff_diary_day"),
    path("patients/<int:pk>/questionnaires/<slug:instrument>/", views.staff_questionnaire, name="staff_questionnaire"),
    path("relapse/<int:pk>/acknowledge/", views.acknowledge_relapse, name="acknowledge_relapse"),
]
