from django.urls import path

from ketaclinic.leads import views

app_name = "leads"
urlpatterns = [
    path("", views.lead_inbox, name="inbox"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/status/", views.lead_status, name="status"),
    path("<int:pk>/assign/", views.lead_assign, name="assign"),
    path("<int:pk>/notes/", views.lead_note, name="note"),
    path("<int:pk>/convert/", views.lead_convert, name="convert"),
]
