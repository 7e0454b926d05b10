from django.urls import path

from ketaclinic.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("screening-rules/", views.screening_rules, name="screening_rules"),
    path("screening-rules/<int:pk>/", views.screening_rule_edit, name="screening_rule_edit"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/break-glass/", views.patient_break_glass, name="break_glass"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/weight/", views.patient_weight, name="weight"),
    path("<int:pk>/invite/", views.patient_invite, name="invite"),
    path("<int:pk>/review/", views.candidacy_review, name="review"),
]
