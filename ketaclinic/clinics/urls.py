from django.urls import path

from ketaclinic.clinics import views

app_name = "clinics"
urlpatterns = [
    path("", views.location_list, name="list"),
    path("<int:pk>/", views.location_edit, name="edit"),
    path("<int:pk>/chairs/", views.chair_add, name="chair_add"),
    path("chairs/<int:pk>/toggle/", views.chair_toggle, name="chair_toggle"),
]
