"""The patient's diary, questionnaires and daily text settings in the portal."""

from django.urls import path

from ketaclinic.outcomes import views

app_name = "outcomes_portal"
urlpatterns = [
    path("", views.portal_home, name="home"),
    path("day/<str:day>/", views.portal_day, name="day"),
    path("codes/", views.portal_codes, name="codes"),
    path("texts/", views.portal_texts, name="texts"),
    path("questionnaires/<slug:instrument>/", views.portal_questionnaire, name="questionnaire"),
]
